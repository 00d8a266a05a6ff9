"""The pipeline's parameters checked against nextflow_schema.json (JSON Schema, validated with jsonschema) and
against each other, before any other task starts.

Nextflow passes every parameter it was given, also misspelt ones (`--bin-size 3000` becomes `binSize`, and
`bin_size` keeps its default): a name the schema does not know is an error that suggests the closest one.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from pathlib import Path
from typing import Any

import jsonschema

from . import __version__, genomes, model_registry
from .cli import InputError
from .model_registry import model_plan
from .regions import BinLayout, parse_regions
from .samples import _shown
from .settings import GENES_PER_MB, check_links, check_mlp_memory, estimate_links, parse_memory, typical_genes, warn_mlp_time

log = logging.getLogger(__name__)

SPARSE_GENES_PER_MB = 5  # fewer genes than the sparsest human or mouse chromosome has: the refusal's lower bound
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# JSON Schema counts 3000.0 as an integer; a script's int argument does not, so an integer parameter refuses it
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)))


def load_schema(path: str | Path) -> dict[str, Any]:
    """The schema, with '${version}' in its defaults read as the pipeline's version (as nextflow.config does)."""
    try:
        text = Path(path).read_text()
        return json.loads(text.replace("${version}", __version__))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a JSON schema ({err})") from None


def schema_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every parameter's definition, from all groups."""
    properties: dict[str, dict[str, Any]] = {}
    for group in schema.get("$defs", {}).values():
        properties.update(group.get("properties", {}))
    properties.update(schema.get("properties", {}))
    return properties


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


def unknown_parameters(params: dict[str, Any], known: dict[str, Any]) -> list[str]:
    """One message per misspelt parameter (Nextflow's camelCase copies of --a-b counted once)."""
    messages, seen = [], set()
    for name in params:
        if name in known:
            continue
        key = _snake(name)
        if key in seen:
            continue
        seen.add(key)
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean --{close[0]}?" if close else "; see `nextflow run main.nf --help`"
        written = name if "-" in name or not re.search(r"[A-Z]", name) else f"{name} (--{key.replace('_', '-')})"
        messages.append(f"--{written}: unknown parameter{hint}")
    return messages


def _coerce(value: Any, spec: dict[str, Any]) -> Any:
    """Command-line text to the schema's type: '1e-3' -> 0.001, '3000' -> 3000, 'false' -> False, 1 -> '1'."""
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "string" in types and not {"integer", "number"} & set(types):
        return str(value)  # Nextflow reads `--region 1` as the number 1
    if not isinstance(value, str):
        if isinstance(value, float) and "integer" in types and value.is_integer() and "number" not in types:
            return value  # 3000.0 stays a float: an integer parameter refuses it
        return value
    text = value.strip()
    if ("integer" in types or "number" in types) and _NUMBER.fullmatch(text):
        number = float(text)
        if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return number if "number" in types else value
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return value


def _message(error: jsonschema.ValidationError, known: dict[str, dict[str, Any]]) -> str:
    name = error.path[0] if error.path else None
    value, limit, kind = error.instance, error.validator_value, error.validator
    shown = f"'{_shown(value)}'" if isinstance(value, str) else json.dumps(value)
    if kind == "type":
        what = f"expected {limit if isinstance(limit, str) else ' or '.join(t for t in limit if t != 'null')}"
    elif kind == "enum":
        what = f"choose one of {', '.join(map(str, limit))}"
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        what = f"must be {dict(minimum='>=', maximum='<=', exclusiveMinimum='>', exclusiveMaximum='<')[kind]} {limit}"
    elif kind == "pattern":
        what = f"not of the expected form: {known.get(name, {}).get('description', 'see --help')}"
    else:
        what = error.message
    return f"--{name} {shown}: {what}" if name else what


EXPRESSION_ROUTES = ("reads", "table")  # expression quantified from reads, or read from a table (the workflow decides)


def _input_problems(values: dict[str, Any], genome: genomes.Genome, route: str) -> list[str]:
    """What the main entry's inputs lack or have twice: samples (--input or --encode), expression (reads, or a table:
    --expression or ENCODE's quantifications; `route` is the workflow's decision), the annotation (--gtf or
    --gene_bed, or Ensembl's through --encode)."""
    problems = []
    encode, table = bool(values.get("encode")), values.get("expression") not in (None, "")
    quantified = encode and route == "table"
    if values.get("gtf") and values.get("gene_bed"):
        problems.append("--gtf and --gene_bed: give one annotation")
    if encode:
        if values.get("input"):
            problems.append("--input and --encode: give one of them (--encode writes its own samplesheet)")
        if table:
            problems.append("--expression and --encode: give one of them (--encode_expression quantifications takes ENCODE's own)")
        if genome.encode is None:
            problems.append(f"--encode with --genome {genome.name}: ENCODE has no processed data of this assembly")
        annotated = values.get("gtf") or values.get("gene_bed")
        if not annotated or (not quantified and not values.get("transcriptome")):
            try:
                genomes.ensembl_files(genome, values["ensembl_release"], values["ensembl_url"])
            except InputError as err:
                problems.append(f"{err} (Ensembl's references are downloaded because --gtf or --transcriptome is not given)")
        return problems
    if values.get("encode_samplesheet_only"):
        problems.append("--encode_samplesheet_only needs --encode")
    if values.get("input") in (None, ""):
        problems.append("--input is required (or --encode to fetch ENCODE data)")
    if not values.get("gtf") and not values.get("gene_bed"):
        problems.append("--gtf is required (or --gene_bed; or --encode to download Ensembl's)")
    if route == "reads" and not values.get("transcriptome"):
        problems.append("--transcriptome is required (to quantify the reads; or --expression with a table of expression, or --encode)")
    return problems


def check_parameters(params: dict[str, Any], schema: dict[str, Any], sizes: dict[str, int], entry: str,
                     sizes_source: str = "--chrom_sizes", route: str = "reads") -> tuple[dict[str, Any], BinLayout | None]:
    """(parameters with the schema's types, the bin layout of --region) or InputError: one line naming every
    problem found (names, types, ranges, patterns, then the parameters against each other)."""
    known = schema_properties(schema)
    problems = unknown_parameters(params, known)
    values = {name: _coerce(value, known[name]) for name, value in params.items() if name in known}
    validator = _Validator(schema)
    problems += [_message(e, known) for e in sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.path])]
    for name, purpose in (("model", "train"), ("eval_models", "evaluate")):  # the names model_registry.json knows
        if isinstance(values.get(name), str) and not any(p.startswith(f"--{name} ") for p in problems):
            try:
                model_registry.resolve_models(values[name], purpose, 0, f"--{name}")
            except InputError as err:
                problems.append(str(err))
    if problems:
        raise InputError("; ".join(problems))

    def need(name: str, why: str) -> None:
        if values.get(name) in (None, ""):
            problems.append(f"--{name} is required {why}")

    try:
        genome = genomes.resolve(values.get("genome"))
    except InputError as err:
        problems.append(str(err))
        genome = genomes.resolve(None)
    if values.get("chrom_sizes") in (None, ""):
        sizes_source = f"--genome {genome.name} (assets/{genome.chrom_sizes})"
    if entry == "PREDICT":
        need("model_file", "with -entry PREDICT (a model.pt of an earlier run)")
        need("input", "with -entry PREDICT (a samplesheet: sample,peaks)")
    else:
        problems += _input_problems(values, genome, route)
    if values.get("kmer_size", 31) % 2 == 0:
        problems.append(f"--kmer_size {values['kmer_size']}: kallisto needs an odd k-mer length")
    layout = None
    try:
        layout = BinLayout.of(parse_regions(values["region"], sizes, sizes_source=sizes_source, primary=genome.primary), values["bin_size"])
    except InputError as err:
        problems.append(str(err))
    if problems:
        raise InputError("; ".join(problems))

    return values, layout


def run_plan(values: dict[str, Any], layout: BinLayout, entry: str) -> dict[str, Any]:
    """The models the main entry trains, evaluates and links (model_registry.model_plan), a network among them (the
    MLP) checked against --max_memory; -entry PREDICT's plan is empty."""
    if entry == "PREDICT":
        return {"train": [], "evaluate": [], "links": [], "why": {}}
    plan = model_plan(values["model"], values["eval_models"], values["evaluate"], not values["skip_links"], layout.n_bins)
    networks = [name for name in plan["train"] + plan["evaluate"] if model_registry.models()[name].torch]
    if networks:
        # a lower bound (no genes, no samples yet): TRAIN_MODEL and EVALUATE check the exact need again
        check_mlp_memory(layout.n_bins, 0, values["hidden"], 0, parse_memory(values["max_memory"]), "that --max_memory allows any task")
        # the time: one training per trained network and one per fold per evaluated one, genes at Ensembl's density
        fits = sum(1 for name in plan["train"] if name in networks) + values["folds"] * sum(1 for name in plan["evaluate"] if name in networks)
        warn_mlp_time(layout.n_bins, len(typical_genes(layout, GENES_PER_MB)[1]), values["hidden"], values["epochs"], fits)
    if plan["links"]:
        check_links_size(values, layout, [name for name, _ in plan["links"]])
    return plan


def check_links_size(values: dict[str, Any], layout: BinLayout, models: list[str]) -> None:
    """The links' rows, time and size from the layout and genes at Ensembl's density (GENES_PER_MB; the annotation is read
    later): a warning above the documented size; refused when even a sparse genome's genes (SPARSE_GENES_PER_MB) cannot fit
    --max_memory. The LINKS task checks again with the real genes before weighing any bin."""
    top, reach = values["links_top"], values["links_max_distance"]
    sparse = estimate_links(layout, *typical_genes(layout, SPARSE_GENES_PER_MB), reach, top, models)
    check_links(sparse, parse_memory(values["max_memory"]), "that --max_memory allows any task")
    typical = estimate_links(layout, *typical_genes(layout, GENES_PER_MB), reach, top, models)
    log.info("links at %d genes per Mb: %s", GENES_PER_MB, typical.describe())
    check_links(typical, None, "")
