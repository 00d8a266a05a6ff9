#!/usr/bin/env python3
"""Benchmark (not a test): the largest region the bins -> 500 -> genes MLP can train within a memory budget.

The MLP has n_bins * hidden + hidden * n_genes weights (1 kb bins: a 1 Mb region is the study's 1000 bins;
genes grow with the region at --genes_per_mb). Full-batch Adam keeps, per weight, the weight, its gradient
and two moment estimates (16 bytes in float32) plus the optimiser's temporaries; the inputs (samples x bins
float32) and activations are small next to them. The script

1. estimates memory analytically: 16 bytes/parameter + X, Y + activations;
2. measures it: trains a few full-batch steps (mlp.train_full_batch) at increasing sizes, each in a fresh
   process (peak RSS minus the RSS after imports), doubling the bins while the estimate stays under
   --max_try_gib and the total time under --max_seconds;
3. calibrates bytes per parameter (+ a fixed overhead) by least squares over the measured sizes and solves for the largest region whose
   estimate fits --budget_gib (default 24 GiB), minus --reserve_gib for the framework (a CUDA context is
   about 0.5-1 GiB).

  benchmarks/bench_mlp_scaling.py --quick          # sizes up to ~0.5 GiB, about a minute on 2 cores
  benchmarks/bench_mlp_scaling.py --max_try_gib 8  # measure larger sizes
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENOME_BP = 3_088_269_832  # GRCh38 chromosomes 1-22, X, Y


def n_params(n_bins: int, n_genes: int, hidden: int) -> int:
    return n_bins * hidden + hidden + hidden * n_genes + n_genes


def genes_for(n_bins: int, bin_size: int, genes_per_mb: float) -> int:
    return max(1, int(round(n_bins * bin_size / 1e6 * genes_per_mb)))


def estimate_bytes(n_bins: int, n_genes: int, hidden: int, samples: int, bytes_per_param: float = 16.0) -> float:
    """weights + gradients + Adam moments (16 B/param by default) + X, Y (float32) + activations."""
    data = 4 * samples * (n_bins + n_genes)
    activations = 4 * samples * (3 * hidden + 3 * n_genes)
    return bytes_per_param * n_params(n_bins, n_genes, hidden) + data + activations


def vm_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def child(n_bins: int, n_genes: int, hidden: int, samples: int, steps: int) -> None:
    """Train a few full-batch steps at one size; print peak memory above the post-import baseline as JSON."""
    import logging

    import numpy as np
    import torch

    from atac2expr.modelling import mlp

    logging.disable(logging.INFO)
    torch.manual_seed(0)
    base = vm_rss_bytes()
    rng = np.random.default_rng(0)
    X = (rng.random((samples, n_bins), dtype=np.float32) < 0.5).astype(np.uint8)
    Y = rng.random((samples, n_genes), dtype=np.float32)
    data_np = X.nbytes + Y.nbytes  # the uint8 matrix as a dataset holds it (not part of the estimate)
    started = time.perf_counter()
    model = mlp.MLPNetwork(n_bins, n_genes, hidden)
    mlp.train_full_batch(model, X, Y, epochs=steps, lr=1e-3)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_above_baseline": peak - base - data_np, "seconds": seconds}))


def timing(hidden: int, epochs: int = 20) -> int:
    """Seconds per full-batch Adam epoch on one core, per parameter, beside the pipeline's constant."""
    import numpy as np
    import torch

    from atac2expr.modelling import mlp
    from atac2expr.settings import MLP_SECONDS_PER_PARAMETER_EPOCH

    torch.set_num_threads(1)
    print(f"MLP epoch time on one core (hidden {hidden}); the pipeline estimates {MLP_SECONDS_PER_PARAMETER_EPOCH * 1e9:.0f} ns per parameter")
    for bins, genes, samples in ((20_000, 400, 14), (100_000, 2_000, 14), (100_000, 2_000, 40)):
        X = (np.random.default_rng(0).random((samples, bins)) < 0.05).astype(np.float32)
        Y = np.random.default_rng(1).random((samples, genes)).astype(np.float32)
        start = time.perf_counter()
        mlp.train_full_batch(mlp.MLPNetwork(bins, genes, hidden), X, Y, epochs=epochs, lr=1e-3)
        per_epoch = (time.perf_counter() - start) / epochs
        print(f"  {bins:>7,} bins {genes:>5,} genes {samples:>3} samples: {per_epoch:.3f} s per epoch, "
              f"{per_epoch / n_params(bins, genes, hidden) * 1e9:.1f} ns per parameter")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget_gib", type=float, default=24.0)
    parser.add_argument("--reserve_gib", type=float, default=1.0, help="left for the framework / CUDA context")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--genes_per_mb", type=float, default=20.0,
                        help="genes per Mb of region (GRCh38 Ensembl: ~62,700 genes in 3.1 Gb = 20/Mb; 6.5/Mb protein-coding only)")
    parser.add_argument("--start_bins", type=int, default=25_000)
    parser.add_argument("--steps", type=int, default=3, help="full-batch Adam steps per measured size")
    parser.add_argument("--max_try_gib", type=float, default=3.0, help="largest estimated size actually trained")
    parser.add_argument("--max_seconds", type=float, default=240.0, help="stop trying larger sizes after this long")
    parser.add_argument("--quick", action="store_true", help="--max_try_gib 0.6 --max_seconds 90")
    parser.add_argument("--timing", action="store_true",
                        help="seconds per epoch of one core at a few sizes, per parameter: settings.MLP_SECONDS_PER_PARAMETER_EPOCH")
    parser.add_argument("--child", nargs=5, type=int, metavar=("BINS", "GENES", "HIDDEN", "SAMPLES", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.timing:
        return timing(args.hidden)
    if args.quick:
        args.max_try_gib, args.max_seconds = min(args.max_try_gib, 0.6), min(args.max_seconds, 90)

    gib = 2**30
    print(f"MLP scaling: bins -> {args.hidden} -> genes, {args.samples} samples, {args.bin_size} bp bins, "
          f"{args.genes_per_mb:g} genes/Mb, full-batch Adam float32")
    print(f"{'bins':>10} {'region Mb':>10} {'genes':>7} {'params':>12} {'estimate GiB':>13} {'measured GiB':>13} {'B/param':>8} {'s/step':>7}")
    started = time.perf_counter()
    measured = []
    n_bins = args.start_bins
    while True:
        n_genes = genes_for(n_bins, args.bin_size, args.genes_per_mb)
        est = estimate_bytes(n_bins, n_genes, args.hidden, args.samples)
        if est > args.max_try_gib * gib or time.perf_counter() - started > args.max_seconds:
            break
        run = subprocess.run([sys.executable, __file__, "--child", str(n_bins), str(n_genes), str(args.hidden), str(args.samples), str(args.steps)],
                             capture_output=True, text=True, check=True)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        p = n_params(n_bins, n_genes, args.hidden)
        other = estimate_bytes(n_bins, n_genes, args.hidden, args.samples, bytes_per_param=0)
        per_param = (result["peak_above_baseline"] - other) / p
        measured.append((n_bins, n_genes, result["peak_above_baseline"], per_param))
        print(f"{n_bins:>10,} {n_bins * args.bin_size / 1e6:>10.1f} {n_genes:>7,} {p:>12,} {est / gib:>13.2f} "
              f"{result['peak_above_baseline'] / gib:>13.2f} {per_param:>8.1f} {result['seconds'] / args.steps:>7.2f}")
        n_bins *= 2
    print(f"(measured {len(measured)} sizes in {time.perf_counter() - started:.0f} s; stopped at the --max_try_gib "
          f"{args.max_try_gib:g} GiB / --max_seconds {args.max_seconds:g} s bound)")

    usable = (args.budget_gib - args.reserve_gib) * gib
    rows = [("analytic (16 B/param)", 16.0, 0.0)]
    if len(measured) >= 2:
        # least squares: measured - (X, Y, activations) = fixed + slope * params
        import numpy as np

        P = np.array([n_params(b, g, args.hidden) for b, g, _, _ in measured], dtype=float)
        rest = np.array([m - estimate_bytes(b, g, args.hidden, args.samples, bytes_per_param=0) for b, g, m, _ in measured])
        slope, fixed = np.polyfit(P, rest, 1)
        print(f"calibration: {slope:.1f} bytes/parameter + {fixed / 2**20:.0f} MiB fixed (least squares over the measured sizes)")
        rows.append((f"calibrated ({slope:.1f} B/param + {fixed / 2**20:.0f} MiB)", float(slope), float(max(fixed, 0.0))))
    elif measured:
        rows.append((f"calibrated ({measured[-1][3]:.1f} B/param at {measured[-1][0]:,} bins)", measured[-1][3], 0.0))
    print(f"largest region within {args.budget_gib:g} GiB ({args.reserve_gib:g} GiB reserved):")
    for label, bpp, fixed_bytes in rows:
        usable = (args.budget_gib - args.reserve_gib) * gib - fixed_bytes
        lo, hi = 1, 1
        while estimate_bytes(hi, genes_for(hi, args.bin_size, args.genes_per_mb), args.hidden, args.samples, bpp) <= usable:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if estimate_bytes(mid, genes_for(mid, args.bin_size, args.genes_per_mb), args.hidden, args.samples, bpp) <= usable:
                lo = mid
            else:
                hi = mid
        mb = lo * args.bin_size / 1e6
        print(f"  {label:<55s} {lo:>10,} bins = {mb:,.0f} Mb ({100 * mb * 1e6 / GENOME_BP:.0f}% of GRCh38), "
              f"{genes_for(lo, args.bin_size, args.genes_per_mb):,} genes, "
              f"{n_params(lo, genes_for(lo, args.bin_size, args.genes_per_mb), args.hidden) / 1e9:.2f} G params")
    whole = estimate_bytes(GENOME_BP // args.bin_size, genes_for(GENOME_BP // args.bin_size, args.bin_size, args.genes_per_mb), args.hidden, args.samples,
                           rows[-1][1]) + rows[-1][2]
    print(f"  whole genome ({GENOME_BP // args.bin_size:,} bins) would need about {whole / gib:.1f} GiB (+ reserve)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
