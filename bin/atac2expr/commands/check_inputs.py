"""Check a samplesheet before any heavy work starts: its columns, sample ids and lanes.

  reads: sample,fastq_1,fastq_2,peaks   (the main run; fastq_2 empty for single-end; lanes joined with ';')
  peaks: sample,peaks                   (with --expression, and -entry PREDICT)
The layouts, columns and the sample-id rule are those of assets/schema_input.json.

Paths are made absolute (a relative path is relative to the samplesheet's folder, or --base); the files are not
opened here: the workflow checks that each exists, and the per-sample tasks check their content. Writes the rows
back as JSON (a list of objects: lane columns as lists of paths, single_end, the row's line), for the workflow to
read: any character of a path, quotes and commas included, survives it.
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
from atac2expr.formats import use_samplesheet_schema
from atac2expr.samples import read_samplesheet

log = logging.getLogger("check_inputs")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samplesheet", type=Path, required=True)
    parser.add_argument("--layout", required=True,
                        help="reads: sample,fastq_1,fastq_2,peaks; peaks: sample,peaks (--expression, -entry PREDICT)")
    parser.add_argument("--samplesheet_schema", type=Path, help="assets/schema_input.json (default: the pipeline's own)")
    parser.add_argument("--base", type=Path, help="relative paths are relative to this folder (default: the samplesheet's)")
    parser.add_argument("--min_samples", type=int, default=1, help="fewer samples are an error")
    parser.add_argument("--output", type=Path, required=True, help="the checked samplesheet (JSON, absolute paths)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.samplesheet_schema:
        use_samplesheet_schema(args.samplesheet_schema)
    rows = read_samplesheet(args.samplesheet, args.layout, args.min_samples, args.base)
    single = sum(bool(r.get("single_end")) for r in rows)
    log.info("%s: %d samples%s", args.samplesheet, len(rows), f" ({single} single-end)" if "single_end" in (rows or [{}])[0] else "")
    with atomic_output(args.output) as handle:
        json.dump(rows, handle, indent=1)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
