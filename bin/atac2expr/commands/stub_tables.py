"""Write the header line of pipeline tables, each from its definition in formats.py: what a process's stub (a -stub
run) writes in place of its tables, so that the stubs' tables and the real ones cannot drift apart.

Each argument is TABLE=PATH: TABLE one of the names --help lists (formats.py's tables, lower case), PATH the file to
write; a .csv path gets commas, any other tabs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from atac2expr import cli, formats
from atac2expr.files import atomic_output

log = logging.getLogger("stub_tables")


def headers() -> dict[str, Callable[[], list[str]]]:
    """table name -> its columns (a function: the samplesheets' are read from the samplesheet schema when asked)."""
    found: dict[str, Callable[[], list[str]]] = {
        name.lower(): (lambda table=table: table.columns) for name, table in vars(formats).items() if isinstance(table, formats.Table)
    }
    found |= {
        "gene_tpm_matrix": lambda: list(formats.GENE_MATRIX_KEYS),  # the sample columns follow in a real one
        "predictions": lambda: formats.PREDICTIONS.columns(),  # predict.py's: no observed values
        "predictions_observed": lambda: formats.PREDICTIONS.columns(observed=True),  # train_model.py's
        "encode_samplesheet": formats.encode_samplesheet_columns,
        "encode_provenance": lambda: list(formats.ENCODE_PROVENANCE_COLUMNS),
        "downloads": lambda: list(formats.DOWNLOAD_COLUMNS),
        "quantifications": lambda: list(formats.QUANTIFICATIONS_COLUMNS),
        **{f"samplesheet_{layout}": (lambda layout=layout: formats.samplesheet_columns(layout)) for layout in ("reads", "peaks")},
    }
    return dict(sorted(found.items()))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="tables: " + ", ".join(headers()))
    parser.add_argument("tables", nargs="+", metavar="TABLE=PATH", help="a table's name and the file to write its header to")
    parser.add_argument("--samplesheet_schema", type=Path, help="assets/schema_input.json: the samplesheets' columns (default: the pipeline's own)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.samplesheet_schema:
        formats.use_samplesheet_schema(args.samplesheet_schema)
    known = headers()
    wanted = []
    for item in args.tables:
        name, _, path = item.partition("=")
        if name not in known or not path:
            raise cli.InputError(f"{item}: not TABLE=PATH with TABLE one of {', '.join(known)}")
        wanted.append((known[name](), Path(path)))
    for columns, path in wanted:
        with atomic_output(path) as handle:
            handle.write(("," if path.suffix == ".csv" else "\t").join(columns) + "\n")
    log.info("wrote the header of %s", ", ".join(args.tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
