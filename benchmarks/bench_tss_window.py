#!/usr/bin/env python3
"""Benchmark (not a test): fit and predict the TSS-window models on a synthetic whole-genome-sized input on the CPU.

The models: tss_window (weights shared by all genes by distance to the TSS), local_ridge (per-gene kernel ridge on
the bins near each TSS) and tss_similarity (the TSS window plus per-gene kernel ridge on the similarity of samples):
closed forms, with their settings chosen by leave-one-out over the training samples. Default size: 3,000,000 bins of
1 kb over the GRCh38 chromosomes 1-22, X, Y (lengths scaled to the bin count), 20,000 genes with random TSSs and
strands, 50 samples (about 10% of the bins open), targets with a planted signal at each TSS. Prints the time of each
fit and prediction and the peak memory (ru_maxrss of the process, and the tracemalloc peak of numpy/Python).

  benchmarks/bench_tss_window.py                  # genome size, 50 samples
  benchmarks/bench_tss_window.py --quick          # 300,000 bins, 5,000 genes, 20 samples
  benchmarks/bench_tss_window.py --models tss_similarity --samples 100
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

from atac2expr import regions
from atac2expr.modelling import predictors
from atac2expr.settings import ModelSettings

REPO = Path(__file__).resolve().parents[1]

GRCH38 = REPO / "assets" / "GRCh38.chrom.sizes"
MAIN_CHROMS = [str(c) for c in range(1, 23)] + ["X", "Y"]


def synthetic_layout(n_bins: int, bin_size: int) -> regions.BinLayout:
    sizes = pd.read_csv(GRCH38, sep="\t", header=None, usecols=[0, 1], names=["chrom", "length"], dtype={"chrom": str})
    sizes["chrom"] = regions.normalize_chroms(sizes["chrom"])
    sizes = sizes[sizes["chrom"].isin(MAIN_CHROMS)]
    counts = np.floor(sizes["length"].to_numpy() / sizes["length"].sum() * n_bins).astype(np.int64)
    counts[0] += n_bins - counts.sum()
    return regions.BinLayout.of([regions.Region(c, 0, int(n) * bin_size) for c, n in zip(sizes["chrom"], counts, strict=False) if n > 0],
                                bin_size)


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bins", type=int, default=3_000_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--window", type=int, default=50_000)
    parser.add_argument("--models", default="tss_window,local_ridge,tss_similarity")
    parser.add_argument("--quick", action="store_true", help="300,000 bins, 5,000 genes, 20 samples")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.bins, args.genes, args.samples = 300_000, 5_000, 20
    tracemalloc.start()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    layout = synthetic_layout(args.bins, args.bin_size)
    bins = layout.bins()
    X = (rng.random((args.samples, len(bins)), dtype=np.float32) < 0.1).astype(np.uint8)
    pick = rng.integers(0, len(bins), args.genes)
    strand = rng.choice(np.array(["+", "-"]), args.genes)
    tss = bins["start"].to_numpy()[pick] + rng.integers(0, args.bin_size, args.genes)
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(args.genes)], "gene_name": [f"g{i}" for i in range(args.genes)],
                          "gene_biotype": "protein_coding", "chrom": bins["chrom"].to_numpy()[pick], "start": tss, "end": tss + 1,
                          "strand": strand, "tss": tss})
    Y = (1.0 + 1.5 * X[:, pick] + 0.3 * rng.standard_normal((args.samples, args.genes))).astype(np.float32)
    n_train = args.samples * 4 // 5
    print(f"TSS-window models: {len(bins):,} bins of {args.bin_size} bp, {args.genes:,} genes, {args.samples} samples "
          f"({n_train} fitted, {args.samples - n_train} predicted), window +/-{args.window} bp; "
          f"synthetic data in {time.perf_counter() - started:.1f} s")
    settings = ModelSettings(hidden=1, epochs=1, lr=0.001, weight_decay=0.0, dropout=0.0, window=args.window, patience=0,
                             target_transform="log1p", seed=args.seed, device="cpu")
    geometry = predictors.Geometry(layout, genes)
    for kind in args.models.split(","):
        t = time.perf_counter()
        predictor = predictors.make(kind, settings, geometry)
        built = time.perf_counter() - t
        t = time.perf_counter()
        report = predictor.fit(X[:n_train], Y[:n_train])
        fitted = time.perf_counter() - t
        t = time.perf_counter()
        predicted = predictor.predict(X[n_train:])
        done = time.perf_counter() - t
        mse = float(np.mean((predicted - Y[n_train:]) ** 2))
        base = float(np.mean((Y[:n_train].mean(0) - Y[n_train:]) ** 2))
        chosen = {k: v for k, v in report.info.items() if k.endswith(("kappa", "penalty"))}
        print(f"  {kind:<15s} window index {built:6.1f} s  fit {fitted:7.1f} s  predict {done:6.1f} s  held-out MSE {mse:.3f} "
              f"(the mean: {base:.3f})  chosen {chosen}")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak memory: ru_maxrss {rss_gib():.2f} GiB (whole process); tracemalloc peak {traced_peak / 2**30:.2f} GiB (numpy/Python); "
          f"X {X.nbytes / 2**30:.2f} GiB uint8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
