#!/usr/bin/env python3
"""Check a samplesheet before any heavy work starts: its columns, sample ids and lanes.

  sample,fastq_1,fastq_2,peaks      (the main run; fastq_2 empty for single-end; lanes joined with ';')
  sample,peaks                      (-entry PREDICT, with --peaks_only)

Paths are made absolute (a relative path is relative to the samplesheet's folder); the files are not opened
here: the workflow checks that each exists, and the per-sample tasks check their content. Writes the rows back
as JSON (a list of objects with single_end and the row's line), for the workflow to read: any character of a
path, quotes and commas included, survives it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli
from atac2expr.files import atomic_output
from atac2expr.samples import PREDICT_COLUMNS, SAMPLESHEET_COLUMNS, read_samplesheet

log = logging.getLogger("check_inputs")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samplesheet", type=Path, required=True)
    parser.add_argument("--peaks_only", action="store_true", help="a samplesheet of sample,peaks (-entry PREDICT)")
    parser.add_argument("--min_samples", type=int, default=1, help="fewer samples are an error")
    parser.add_argument("--output", type=Path, required=True, help="the checked samplesheet (JSON, absolute paths)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    columns = PREDICT_COLUMNS if args.peaks_only else SAMPLESHEET_COLUMNS
    rows = read_samplesheet(args.samplesheet, columns, args.min_samples)
    single = sum(r.get("single_end") == "true" for r in rows)
    log.info("%s: %d samples%s", args.samplesheet, len(rows), "" if args.peaks_only else f" ({single} single-end)")
    with atomic_output(args.output) as handle:
        json.dump(rows, handle, indent=1)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
