#!/usr/bin/env python3
"""One sample's ATAC-seq peaks -> one 0/1 value per bin of the region (1 = a peak overlaps the bin)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli
from atac2expr.files import atomic_path
from atac2expr.peaks import binarize_peaks, read_peaks
from atac2expr.regions import format_regions, parse_regions

log = logging.getLogger("binarize_peaks")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peaks", type=Path, required=True, help="BED3+ or narrowPeak, gz or plain")
    parser.add_argument("--sample", required=True)
    parser.add_argument("--region", required=True, help="e.g. chr1:1-1000000 (1-based, inclusive; commas separate regions)")
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--output", type=Path, required=True, help=".npz with the bin values")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    regions = parse_regions(args.region)
    peaks = read_peaks(args.peaks)
    region_chroms = {r.chrom for r in regions}
    on_region_chroms = peaks["chrom"].isin(region_chroms)
    if len(peaks) and not on_region_chroms.any():
        log.warning("%s: none of its %d peaks is on a chromosome of the region (%s; the file has %s); every bin is 0",
                    args.peaks, len(peaks), ", ".join(sorted(region_chroms)), ", ".join(sorted(peaks["chrom"].unique())[:5]))
    values = binarize_peaks(peaks, regions, args.bin_size)
    log.info("%s: %d peaks (%d on the region's chromosomes) -> %d of %d bins open",
             args.sample, len(peaks), int(on_region_chroms.sum()), int(values.sum()), len(values))
    with atomic_path(args.output) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, values=values, sample=np.array(args.sample),
                                region=np.array(format_regions(regions)), bin_size=np.array(args.bin_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
