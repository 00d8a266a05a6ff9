"""The parameter reference and the samplesheet's columns as markdown, from the schemas that define them
(nextflow_schema.json, assets/schema_input.json), as `nf-core pipelines schema docs` writes a pipeline's parameters.

docs/usage.md holds both between marker comments (`<!-- parameters:start -->` ... `<!-- parameters:end -->`, the
same for `samplesheet`); `make docs` rewrites them in place and tests/test_docs.py fails when they are stale. The
wording follows `nextflow run main.nf --help`: the same groups in the same order, `--name`, the type without null,
the default as the schema gives it ('${version}' read as the pipeline's version), the description; choices of an
enum, and of a parameter marked "x-choices" the model names of bin/atac2expr/model_registry.json.

    python -m atac2expr.schema_docs --schema nextflow_schema.json --samplesheet_schema assets/schema_input.json \\
        --registry bin/atac2expr/model_registry.json --update docs/usage.md      (from bin/; --check: exit 1 if stale)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from . import cli
from .files import atomic_output
from .parameters import load_schema

log = logging.getLogger("schema_docs")

SECTIONS = ("samplesheet", "parameters")
AUTO = "auto"  # what --model and --eval_models accept besides model names (model_registry.json says what it means)
STALE = 1  # --check's exit status when a section differs from what the schemas give


def marker(section: str, end: bool = False) -> str:
    return f"<!-- {section}:{'end' if end else 'start'} -->"


def load_registry(path: str | Path) -> dict[str, Any]:
    """The model registry (bin/atac2expr/model_registry.json): {"models": {name: {"saveable": bool, ...}}}."""
    try:
        registry = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise cli.InputError(f"{path}: not the model registry ({err})") from None
    if not isinstance(registry, dict) or not isinstance(registry.get("models"), dict):
        raise cli.InputError(f"{path}: not the model registry (no \"models\" object)")
    return registry


def model_choices(registry: dict[str, Any] | None, kind: str, param: str) -> list[str]:
    """The model names a parameter marked "x-choices": kind accepts: every model ("models") or those saved for
    -entry PREDICT ("saveable models"), in the registry's order."""
    if registry is None:
        raise cli.InputError(f"--{param}: its choices are the models of bin/atac2expr/model_registry.json; give --registry")
    models = registry["models"]
    if kind == "models":
        return list(models)
    if kind == "saveable models":
        return [name for name, spec in models.items() if spec.get("saveable")]
    raise cli.InputError(f"--{param}: x-choices '{kind}' is not 'models' or 'saveable models'")


def _cell(text: str) -> str:
    """Text for a markdown table cell: one line, '|' escaped, '<' kept from being read as HTML."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")


def shown_type(spec: dict[str, Any]) -> str:
    """The type as --help shows it: the schema's types without null, joined by '|'."""
    types = spec.get("type", "")
    return "|".join(t for t in types if t != "null") if isinstance(types, list) else str(types)


def shown_default(spec: dict[str, Any]) -> str:
    """The default as the schema gives it: strings as they are, booleans and numbers as JSON writes them; '' when none."""
    if "default" not in spec or spec["default"] is None:
        return ""
    value = spec["default"]
    return value if isinstance(value, str) else json.dumps(value)


def _bound(value: Any) -> str:
    return json.dumps(value)


def allowed(spec: dict[str, Any], name: str, registry: dict[str, Any] | None) -> str:
    """What values a parameter takes beyond its type: the enum's choices, the registry's models, the range."""
    parts = []
    if "enum" in spec:
        parts.append("Choices: " + ", ".join(f"`{choice}`" for choice in spec["enum"]) + ".")
    if "x-choices" in spec:
        names = ", ".join(f"`{choice}`" for choice in model_choices(registry, spec["x-choices"], name))
        parts.append(f"Choices: `{AUTO}`, or a comma-separated list of {names}.")
    bounds = []
    if "minimum" in spec:
        bounds.append(f"at least {_bound(spec['minimum'])}")
    if "exclusiveMinimum" in spec:
        bounds.append(f"above {_bound(spec['exclusiveMinimum'])}")
    if "maximum" in spec:
        bounds.append(f"at most {_bound(spec['maximum'])}")
    if "exclusiveMaximum" in spec:
        bounds.append(f"below {_bound(spec['exclusiveMaximum'])}")
    if bounds:
        parts.append("Range: " + ", ".join(bounds) + ".")
    return " ".join(parts)


def render(schema: dict[str, Any], registry: dict[str, Any] | None) -> str:
    """The parameter reference: one section per group of the schema ($defs, in its order), one table row per
    parameter (hidden ones marked, as `--help hidden` shows them; operational ones said so)."""
    lines = ["<!-- Written by `make docs` from nextflow_schema.json and bin/atac2expr/model_registry.json: edit those, "
             "not this section. -->", ""]
    for group in schema.get("$defs", {}).values():
        properties = group.get("properties", {})
        if not properties:
            continue
        lines += [f"### {group.get('title', '')}", ""]
        intro = group.get("description", "")
        if group.get("operational"):
            intro += (" These parameters are operational: they change how a run executes, not what it computes, and "
                      "the results folder's run record leaves them out.")
        if intro.strip():
            lines += [intro.strip(), ""]
        lines += ["| Parameter | Type | Default | Description |", "|---|---|---|---|"]
        for name, spec in properties.items():
            shown = f"`--{name}`" + (" (hidden)" if spec.get("hidden") else "")
            default = shown_default(spec)
            description = spec.get("description", "")
            extra = allowed(spec, name, registry)
            if spec.get("operational") and not group.get("operational"):
                extra = (extra + " Operational.").strip()
            text = f"{description} {extra}".strip()
            cells = [shown, shown_type(spec), f"`{_cell(default)}`" if default else "", _cell(text)]
            lines.append("| " + " | ".join(cells).replace("|  |", "| |") + " |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def render_samplesheet(input_schema: dict[str, Any]) -> str:
    """The samplesheet's columns (assets/schema_input.json): in which layouts, required in which, what each holds."""
    layouts = input_schema["x-layouts"]
    lines = ["| column | layouts | required in | what |", "|---|---|---|---|"]
    for column, spec in input_schema["items"]["properties"].items():
        where = [name for name, layout in layouts.items() if column in layout["columns"] + layout.get("optional", [])]
        required = [name for name, layout in layouts.items() if column in layout["required"]]
        lines.append(f"| `{column}` | {', '.join(where)} | {', '.join(required) or '-'} | {spec['description']} |")
    return "\n".join(lines)


def section(text: str, name: str, source: str = "the document") -> str:
    """What a document holds between a section's markers (without the blank lines around it)."""
    start, end = marker(name), marker(name, end=True)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise cli.InputError(f"{source}: needs one '{start}' and, after it, one '{end}'")
    return text[text.index(start) + len(start):text.index(end)].strip("\n")


def replace_section(text: str, name: str, body: str, source: str = "the document") -> str:
    """The document with a section's content between its markers replaced by `body`."""
    section(text, name, source)  # the markers are there, once each, in order
    start, end = marker(name), marker(name, end=True)
    return text[:text.index(start) + len(start)] + "\n" + body + "\n" + text[text.index(end):]


def generated(schema_path: Path, input_schema_path: Path, registry_path: Path | None) -> dict[str, str]:
    """Every generated section, by name, from the schema files."""
    registry = load_registry(registry_path) if registry_path is not None and registry_path.exists() else None
    try:
        input_schema = json.loads(input_schema_path.read_text())
    except (OSError, ValueError) as err:
        raise cli.InputError(f"{input_schema_path}: not the samplesheet schema ({err})") from None
    return {"samplesheet": render_samplesheet(input_schema), "parameters": render(load_schema(schema_path), registry)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", type=Path, required=True, help="nextflow_schema.json")
    parser.add_argument("--samplesheet_schema", type=Path, required=True, help="assets/schema_input.json")
    parser.add_argument("--registry", type=Path, required=True,
                        help="bin/atac2expr/model_registry.json (the choices of the parameters marked x-choices)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update", type=Path, help="rewrite the generated sections of this document in place")
    action.add_argument("--check", type=Path, help=f"exit {STALE} when this document's generated sections are stale")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    sections = generated(args.schema, args.samplesheet_schema, args.registry)
    document = args.update or args.check
    if document is None:
        sys.stdout.write("\n\n".join(sections.values()) + "\n")
        return 0
    try:
        text = document.read_text()
    except OSError as err:
        raise cli.InputError(f"{document}: cannot be read ({err})") from None
    new = text
    for name, body in sections.items():
        new = replace_section(new, name, body, str(document))
    if args.check:
        stale = [name for name in sections if section(text, name) != section(new, name)]
        if stale:
            log.error("%s: the %s section(s) differ from the schemas: run `make docs`", document, ", ".join(stale))
            return STALE
        log.info("%s: the generated sections are current", document)
        return 0
    if new != text:
        with atomic_output(document) as handle:
            handle.write(new)
        log.info("%s: rewrote the %s sections", document, ", ".join(sections))
    else:
        log.info("%s: already current", document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
