"""Cut the regions of interest into bins: write the bin layout (regions in order + bin size) every later step uses.

--region (or --region_file, a file holding it) is chr:start-end (1-based, inclusive; thousands separators allowed), a whole
chromosome (chr1 or 1), or `genome` (the primary chromosomes of --genome: human 1-22, X, Y, mouse 1-19, X, Y; MT and unplaced
contigs are left out); several separated by commas.
A region's last bin is shorter when the bin size does not divide its length.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli, genomes
from atac2expr.files import read_text
from atac2expr.regions import BinLayout, parse_regions, read_chrom_sizes

log = logging.getLogger("define_bins")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    region = parser.add_mutually_exclusive_group(required=True)
    region.add_argument("--region", help="e.g. chr1:1-1000000, chr1, genome")
    # thousands of regions are longer than one command-line argument may be (128 kB on Linux): they come as a file
    region.add_argument("--region_file", type=Path, help="a file holding the --region text")
    parser.add_argument("--bin_size", type=int, required=True)
    parser.add_argument("--chrom_sizes", type=Path, required=True)
    parser.add_argument("--genome", required=True, help="the assembly: its primary chromosomes are what 'genome' means")
    parser.add_argument("--output", type=Path, required=True, help="the bin layout table (chrom, start, end, bin_size)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    sizes = read_chrom_sizes(args.chrom_sizes)
    genome = genomes.resolve(args.genome)
    region = args.region if args.region is not None else read_text(args.region_file).strip()
    layout = BinLayout.of(parse_regions(region, sizes, primary=genome.primary), args.bin_size)
    left_out = [c for c in sizes if c not in layout.chroms]
    if region.strip().lower() == "genome" and left_out:
        log.info("genome: the primary chromosomes of %s; %d other sequences of %s left out (%s)", genome.label, len(left_out),
                 args.chrom_sizes, ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else ""))
    partial = sum(1 for r in layout.regions if r.length % layout.bin_size)
    log.info("%s (%d regions end in a shorter bin)", layout.describe(), partial)
    layout.write(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
