"""Check after kallisto quant that it processed every read of the sample.

kallisto 0.48 exits 0 after a malformed FASTQ record, having quantified only the reads before
it (or all but a few). Its run_info.json `n_processed` (pairs for paired-end) must equal the
reads that check_fastq.py counted (`total_reads` of <sample>.fastq_check.json).

Standard library only (besides atac2expr.cli): it runs in kallisto's task, whose environment
needs Python but no numpy.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli
from atac2expr.cli import InputError

log = logging.getLogger("check_quant")


def load_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise InputError(f"{path}: file not found ({what})")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a JSON file ({what}): {err}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object ({what})")
    return data


def check_quant(sample: str, run_info: Path, fastq_check: Path) -> dict:
    """kallisto's numbers once n_processed equals the reads check_fastq.py counted; InputError otherwise."""
    info = load_json(run_info, "kallisto run_info.json")
    counted = load_json(fastq_check, "FASTQ check")
    for data, path, key in ((info, run_info, "n_processed"), (counted, fastq_check, "total_reads")):
        if not isinstance(data.get(key), int):
            raise InputError(f"{path}: no integer '{key}' (sample {sample})")
    if counted.get("sample") != sample:
        raise InputError(f"{fastq_check}: is the check of sample '{counted.get('sample')}', not of sample {sample}")
    processed, total = info["n_processed"], counted["total_reads"]
    unit = "pairs" if counted.get("paired") else "reads"
    if processed != total:
        raise InputError(f"{run_info}: kallisto processed {processed:,} {unit} of sample {sample} but its FASTQ files hold {total:,} "
                         f"({fastq_check}); kallisto stopped early or read other files")
    return {"sample": sample, "unit": unit, "n_processed": processed, "n_pseudoaligned": info.get("n_pseudoaligned"),
            "p_pseudoaligned": info.get("p_pseudoaligned")}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", required=True)
    parser.add_argument("--run_info", type=Path, required=True, help="kallisto quant's run_info.json")
    parser.add_argument("--fastq_check", type=Path, required=True, help="check_fastq.py's <sample>.fastq_check.json")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    result = check_quant(args.sample, args.run_info, args.fastq_check)
    log.info("sample %s: kallisto processed all %s %s, %s pseudoaligned (%s%%)", args.sample, f"{result['n_processed']:,}",
             result["unit"], result["n_pseudoaligned"], result["p_pseudoaligned"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
