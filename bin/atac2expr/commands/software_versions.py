"""Merge the versions.yml of every process (one file or several) into software_versions.yml: process -> tool -> version."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import yaml

from atac2expr import cli
from atac2expr.files import atomic_output

log = logging.getLogger("software_versions")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=Path, nargs="+", required=True, help="versions.yml files of the processes")
    parser.add_argument("--pipeline_version", required=True)
    parser.add_argument("--nextflow_version", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    merged: dict[str, dict[str, str]] = {}
    for path in args.versions:
        try:
            content = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise cli.InputError(f"{path}: not YAML ({' '.join(str(err).split())})") from None
        if not isinstance(content, dict) or not all(isinstance(tools, dict) or tools is None for tools in content.values()):
            raise cli.InputError(f"{path}: not a mapping of process -> tool -> version")
        for process, tools in content.items():
            name = str(process).split(":")[-1]
            merged.setdefault(name, {}).update({str(k): str(v) for k, v in (tools or {}).items()})
    merged["Workflow"] = {"atac2expr": args.pipeline_version, "Nextflow": args.nextflow_version}
    with atomic_output(args.output) as handle:
        yaml.safe_dump(dict(sorted(merged.items())), handle, sort_keys=True, default_flow_style=False)
    log.info("%d processes' versions in %s", len(merged) - 1, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
