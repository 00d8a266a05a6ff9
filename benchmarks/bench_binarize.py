#!/usr/bin/env python3
"""Benchmark: binarising peaks over a whole genome of 1 kb bins (not a test; prints figures).

Goal (issue 2): the same code handles the whole genome (~3.1 million 1 kb bins) in seconds.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bin"))
from atac2expr.peaks import binarize_peaks  # noqa: E402
from atac2expr.regions import Region  # noqa: E402

SIZES = Path(__file__).resolve().parents[1] / "assets" / "GRCh38.chrom.sizes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peaks", type=int, default=150_000, help="peaks per sample (ENCODE ATAC: ~100-300k)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = pd.read_csv(SIZES, sep="\t", header=None, names=["chrom", "length"], dtype={"chrom": str})
    regions = [Region(c, 0, (n // 1000) * 1000) for c, n in zip(sizes["chrom"], sizes["length"], strict=False)]
    n_bins = sum(r.length for r in regions) // 1000
    rng = np.random.default_rng(0)
    weights = sizes["length"] / sizes["length"].sum()
    chroms = rng.choice(sizes["chrom"].to_numpy(), size=args.peaks, p=weights.to_numpy())
    lengths = dict(zip(sizes["chrom"], sizes["length"], strict=False))
    starts = (rng.random(args.peaks) * np.array([lengths[c] - 3000 for c in chroms])).astype(np.int64)
    peaks = pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + rng.integers(150, 2000, args.peaks)})
    timings = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        values = binarize_peaks(peaks, regions, 1000)
        timings.append(time.perf_counter() - t0)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"whole genome: {len(regions)} chromosomes, {n_bins:,} bins of 1 kb, {args.peaks:,} peaks")
    print(f"binarize_peaks: best {min(timings):.3f} s, median {np.median(timings):.3f} s over {args.repeats} runs; "
          f"{values.sum():,} bins open ({100 * values.mean():.2f}%)")
    print(f"peak RSS of the process: {peak_rss_mb:.0f} MB; bins per second: {n_bins / min(timings):,.0f}")
    print(f"ratio to the 'seconds' goal (1 s): {min(timings) / 1.0:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
