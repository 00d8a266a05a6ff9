#!/usr/bin/env python3
"""Benchmark: binning peaks over a whole genome of 1 kb bins, 0/1 and signal (not a test; prints figures).

Synthetic peaks in memory, placed on chromosomes in proportion to their length; the same code that bins one
region bins the whole genome (3.1 million 1 kb bins, each chromosome's last bin shorter), and also a layout of
5,000 small regions (one pass over the peaks, whatever the number of regions). The real files and bedtools
are compared in bench_scale.py.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from atac2expr.peaks import bin_peaks
from atac2expr.regions import BinLayout, Region, parse_regions, read_chrom_sizes

SIZES = Path(__file__).resolve().parents[1] / "assets" / "GRCh38.chrom.sizes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peaks", type=int, default=150_000, help="peaks per sample (ENCODE ATAC: ~100-300k)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = pd.read_csv(SIZES, sep="\t", header=None, names=["chrom", "length"], dtype={"chrom": str})
    genome = BinLayout.of(parse_regions("genome", read_chrom_sizes(SIZES)), 1000)
    rng = np.random.default_rng(0)
    primary = sizes[sizes["chrom"].isin(genome.chroms)]
    weights = primary["length"] / primary["length"].sum()
    chroms = rng.choice(primary["chrom"].to_numpy(), size=args.peaks, p=weights.to_numpy())
    lengths = dict(zip(primary["chrom"], primary["length"], strict=True))
    starts = (rng.random(args.peaks) * np.array([lengths[c] - 3000 for c in chroms])).astype(np.int64)
    peaks = pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + rng.integers(150, 2000, args.peaks),
                          "signal": rng.lognormal(1.5, 1.0, args.peaks) + 2})
    # 5,000 regions of 100 kb, spread over the genome
    picks = rng.choice(len(chroms), 5000, replace=False)
    many = BinLayout.of(sorted({Region(chroms[i], int(starts[i]) // 100_000 * 100_000, int(starts[i]) // 100_000 * 100_000 + 100_000)
                                for i in picks}, key=lambda r: (r.chrom, r.start)), 1000)
    for name, layout in (("whole genome", genome), (f"{len(many.regions):,} regions of 100 kb", many)):
        for bin_value in ("binary", "signal"):
            timings = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                values = bin_peaks(peaks, layout, bin_value)
                timings.append(time.perf_counter() - t0)
            print(f"{name}: {layout.n_bins:,} bins of 1 kb, {args.peaks:,} peaks; bin_peaks {bin_value} best {min(timings):.3f} s, "
                  f"median {np.median(timings):.3f} s over {args.repeats} runs; {np.count_nonzero(values):,} bins nonzero "
                  f"({100 * np.count_nonzero(values) / len(values):.2f}%)")
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak_rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
