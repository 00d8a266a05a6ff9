"""Check every pipeline parameter against nextflow_schema.json and against the others, before any other task.

Misspelt names, wrong types, values out of range or of the wrong form, missing required parameters, a --region
that is not on --chrom_sizes, an MLP that cannot fit in --max_memory: one ERROR line naming each problem, exit 2.
Writes the parameters, with the schema's types, as JSON; the run's plan: the models it trains, evaluates and links
(--model and --eval_models resolved with bin/atac2expr/model_registry.json), with the reasons; and its warnings (links
above the documented size), one a line, to --warnings: the workflow shows them on the console, where a task's log is
not read.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli, genomes
from atac2expr.files import atomic_output
from atac2expr.parameters import EXPRESSION_ROUTES, check_parameters, load_schema, run_plan
from atac2expr.regions import read_chrom_sizes

log = logging.getLogger("check_params")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, required=True, help="the run's parameters (JSON)")
    parser.add_argument("--schema", type=Path, required=True, help="nextflow_schema.json")
    sizes = parser.add_mutually_exclusive_group(required=True)
    sizes.add_argument("--chrom_sizes", type=Path, help="the user's chromosome sizes (--chrom_sizes): --region is checked against them")
    sizes.add_argument("--bundled_sizes", type=Path,
                       help="the folder of the pipeline's chromosome sizes (assets/*.chrom.sizes): --genome chooses one")
    parser.add_argument("--genome_output", type=Path,
                        help="the run's assembly and, when --genome chose them, the file name of its bundled chromosome sizes (JSON)")
    parser.add_argument("--entry", choices=("main", "PREDICT"), required=True, help="the workflow entry being run")
    parser.add_argument("--expression_route", choices=EXPRESSION_ROUTES, default="reads",
                        help="the main entry's expression: quantified from reads, or read from a table (the workflow's decision)")
    parser.add_argument("--output", type=Path, required=True, help="the checked parameters (JSON)")
    parser.add_argument("--plan", type=Path, help="the models the run trains, evaluates and links, and why (JSON)")
    parser.add_argument("--warnings", type=Path, help="the warnings, one a line (written, maybe empty, when the parameters pass)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    warnings = _Collect()
    logging.getLogger().addHandler(warnings)
    try:
        params = json.loads(args.params.read_text())
    except (OSError, ValueError) as err:
        raise cli.InputError(f"{args.params}: not a JSON object of parameters ({err})") from None
    if not isinstance(params, dict):
        raise cli.InputError(f"{args.params}: not a JSON object of parameters")
    # the assembly --genome names (a bad name is reported with the other parameters; the default stands in)
    try:
        genome = genomes.resolve(str(params["genome"]) if params.get("genome") else None)
    except cli.InputError:
        genome = genomes.resolve(None)
    sizes_file = args.chrom_sizes if args.chrom_sizes is not None else args.bundled_sizes / genome.chrom_sizes
    values, layout = check_parameters(params, load_schema(args.schema), read_chrom_sizes(sizes_file), args.entry,
                                      route=args.expression_route)
    plan = run_plan(values, layout, args.entry)
    log.info("%d parameters checked; region %s", len(values), layout.describe() if layout else "-")
    for purpose in ("train", "evaluate"):
        if purpose in plan["why"]:
            log.info("models to %s: %s (%s)", purpose, ", ".join(plan[purpose]) or "none", plan["why"][purpose])
    with atomic_output(args.output) as handle:
        json.dump(values, handle, indent=2, sort_keys=True)
        handle.write("\n")
    if args.genome_output:
        # the workflow stages the bundled file from the pipeline's own assets (the same path in every run, so that a
        # resumed run's tasks find their inputs unchanged)
        with atomic_output(args.genome_output) as handle:
            json.dump({"genome": genome.name, "chrom_sizes": None if args.chrom_sizes is not None else genome.chrom_sizes}, handle)
            handle.write("\n")
    if args.plan:
        with atomic_output(args.plan) as handle:
            json.dump(plan, handle, indent=2)
            handle.write("\n")
    if args.warnings:
        with atomic_output(args.warnings) as handle:
            handle.writelines(f"{' '.join(message.split())}\n" for message in warnings.messages)
    return 0


class _Collect(logging.Handler):
    """The messages of WARNING records."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


if __name__ == "__main__":
    sys.exit(main())
