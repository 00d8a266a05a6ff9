"""Check the content of one sample's FASTQ files before kallisto reads them.

Streams every record of every lane once: gzip integrity (or plain text), whole 4-line records
('@' header, '+' third line, quality as long as the sequence), R1 and R2 mates in the same order
by read name and in the same number, no empty file, and reads shorter than kallisto's k (all of
them: an error; some: a warning). kallisto 0.48 itself stops silently at a malformed record and
pairs mates by position.

Writes <sample>.fastq_check.json (reads per lane, total reads: pairs for paired-end, read
lengths, reads shorter than k, seconds), only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli
from atac2expr.fastq import check_sample
from atac2expr.files import atomic_output, staged_source

log = logging.getLogger("check_fastq")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", required=True, help="sample id, named in every error")
    parser.add_argument("--fastq_1", type=Path, nargs="+", required=True, help="R1 (or single-end) FASTQ, one file per lane; gz or plain")
    parser.add_argument("--fastq_2", type=Path, nargs="+", help="R2 FASTQ, one file per lane, in the order of --fastq_1")
    parser.add_argument("--min_read_length", type=int, required=True,
                        help="kallisto's k-mer length: shorter reads cannot pseudoalign")
    parser.add_argument("--output", type=Path, required=True, help="the report, e.g. <sample>.fastq_check.json")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    # the users' own files, not the names the task stages them under: errors and the report name them
    fastq_1 = [staged_source(p) for p in args.fastq_1]
    fastq_2 = [staged_source(p) for p in args.fastq_2] if args.fastq_2 else None
    report = check_sample(args.sample, fastq_1, fastq_2, args.min_read_length)
    with atomic_output(args.output) as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    unit = "pairs" if report["paired"] else "reads"
    log.info("sample %s: %s %s in %d lane(s), read length %d-%d, checked in %.1f s", args.sample, f"{report['total_reads']:,}",
             unit, len(report["lanes"]), report["read_length"]["min"], report["read_length"]["max"], report["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
