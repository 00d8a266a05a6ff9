#!/usr/bin/env python3
"""Benchmark (not a test): train the TSS-window model on a synthetic whole-genome-sized input on the CPU.

Default size: 3,000,000 bins of 1 kb over the GRCh38 chromosomes 1-22, X, Y (lengths scaled to the bin
count), 20,000 genes with random TSS and strands, 50 samples (X about half open), targets with a planted
signal at each TSS. Prints the time of each stage and the peak memory: ru_maxrss of the process (all of
numpy, pandas and torch) and the tracemalloc peak (allocations made through Python/numpy; torch's own
buffers are not traced).

  benchmarks/bench_tss_window.py                 # full size, 2 epochs
  benchmarks/bench_tss_window.py --quick         # full size, 1 epoch capped at --max_steps steps
  benchmarks/bench_tss_window.py --bins 300000 --genes 2000 --epochs 3
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bin"))

from atac2expr import regions, targets  # noqa: E402
from atac2expr.modelling import runtime, tss_window  # noqa: E402

GRCH38 = REPO / "assets" / "GRCh38.chrom.sizes"
MAIN_CHROMS = [str(c) for c in range(1, 23)] + ["X", "Y"]


def synthetic_bins(n_bins: int, bin_size: int) -> tuple[pd.DataFrame, str]:
    sizes = pd.read_csv(GRCH38, sep="\t", header=None, usecols=[0, 1], names=["chrom", "length"], dtype={"chrom": str})
    sizes["chrom"] = regions.normalize_chroms(sizes["chrom"])
    sizes = sizes[sizes["chrom"].isin(MAIN_CHROMS)]
    counts = np.floor(sizes["length"].to_numpy() / sizes["length"].sum() * n_bins).astype(np.int64)
    counts[0] += n_bins - counts.sum()
    region_list = [regions.Region(c, 0, int(n) * bin_size) for c, n in zip(sizes["chrom"], counts, strict=False) if n > 0]
    layout = regions.BinLayout.of(region_list, bin_size)
    return layout.bins(), layout.describe()


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bins", type=int, default=3_000_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--window", type=int, default=50_000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=8192)
    parser.add_argument("--max_steps", type=int, default=None, help="stop each epoch after this many steps (timing extrapolated)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="1 epoch of at most 30 steps; the epoch time is extrapolated")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.max_steps = 1, args.max_steps or 30
    if args.threads:
        torch.set_num_threads(args.threads)
    tracemalloc.start()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    bins, region = synthetic_bins(args.bins, args.bin_size)
    X = (rng.random((args.samples, len(bins)), dtype=np.float32) < 0.5).astype(np.uint8)
    chrom_of = bins["chrom"].to_numpy()
    pick = rng.integers(0, len(bins), args.genes)
    strand = rng.choice(np.array(["+", "-"]), args.genes)
    tss = bins["start"].to_numpy()[pick] + rng.integers(0, args.bin_size, args.genes)
    genes = pd.DataFrame({"chrom": chrom_of[pick], "tss": tss, "strand": strand})
    Y = (1.0 + 1.5 * X[:, pick] + 0.1 * rng.standard_normal((args.samples, args.genes))).astype(np.float32)
    timings["synthetic data"] = time.perf_counter() - t

    t = time.perf_counter()
    index, mask = tss_window.build_window_index(bins, genes["chrom"].to_numpy(), genes["tss"].to_numpy(), genes["strand"].to_numpy(),
                                                args.bin_size, args.window)
    timings["window index (vectorised)"] = time.perf_counter() - t

    runtime.seed_everything(args.seed)
    width = tss_window.window_width(args.window, args.bin_size)
    model = tss_window.TSSWindowNetwork(width, args.genes, args.hidden)
    n_examples = args.samples * args.genes
    steps_per_epoch = -(-n_examples // args.batch_size)
    if args.max_steps and args.max_steps < steps_per_epoch:
        # train on a prefix of the examples: same per-step cost, epoch time extrapolated below
        n_rows = max(1, args.max_steps * args.batch_size // args.genes)
        X_train, Y_train = X[:n_rows], Y[:n_rows]
    else:
        X_train, Y_train = X, Y
    done_examples = len(X_train) * args.genes
    t = time.perf_counter()
    result = tss_window.train_tss_window(model, X_train, Y_train, index, mask, epochs=args.epochs, lr=1e-3,
                                         batch_size=args.batch_size, seed=args.seed, log_every=1)
    train_s = time.perf_counter() - t
    timings[f"training ({args.epochs} epoch(s) over {done_examples:,} examples)"] = train_s
    per_example = train_s / (args.epochs * done_examples)

    t = time.perf_counter()
    pred = tss_window.predict_tss_window(model, X[: min(len(X), 10)], index, mask)
    timings[f"prediction ({len(pred)} samples x {args.genes} genes)"] = time.perf_counter() - t
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"TSS-window benchmark: {len(bins):,} bins of {args.bin_size} bp on {len(region.split(','))} chromosomes, "
          f"{args.genes:,} genes, {args.samples} samples, window +/-{args.window} bp ({width} bins), hidden {args.hidden}, "
          f"batch {args.batch_size}, torch {torch.__version__} on CPU with {torch.get_num_threads()} thread(s)")
    for name, seconds in timings.items():
        print(f"  {name:<60s} {seconds:8.2f} s")
    print(f"  {'training time per full epoch (' + format(n_examples, ',') + ' examples, ' + str(steps_per_epoch) + ' steps)':<60s} "
          f"{per_example * n_examples:8.2f} s{' (extrapolated)' if done_examples < n_examples else ''}")
    print(f"  final training MSE {result.train_loss[-1]:.4f} (per-gene mean baseline {targets.mean_baseline_mse(Y_train):.4f})")
    print(f"  genes with no bin in their window: {int((mask.sum(axis=1) == 0).sum())}")
    print(f"  peak memory: ru_maxrss {rss_gib():.2f} GiB (whole process); tracemalloc peak {traced_peak / 2**30:.2f} GiB (numpy/Python)")
    print(f"  input sizes: X {X.nbytes / 2**30:.2f} GiB uint8, window index {index.nbytes / 2**20:.1f} MiB, "
          f"(samples, genes, window) uint8 feature tensor {args.samples * args.genes * width / 2**30:.2f} GiB "
          f"({'built once' if args.samples * args.genes * width <= tss_window.MAX_FEATURE_BYTES else 'too big: gathered per batch'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
