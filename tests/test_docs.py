"""The documentation: docs/usage.md's generated sections match the schemas, the README stays a short front page, and
every relative link of the README and docs/ points to a file (and a heading) that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from atac2expr import __version__
from atac2expr.cli import InputError
from atac2expr.parameters import load_schema, schema_properties
from atac2expr.schema_docs import generated, main, render, replace_section, section
from conftest import REPO

USAGE = REPO / "docs" / "usage.md"
SCHEMA = REPO / "nextflow_schema.json"
INPUT_SCHEMA = REPO / "assets" / "schema_input.json"
REGISTRY = REPO / "bin" / "atac2expr" / "model_registry.json"
README_MAX_LINES = 250
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "benchmarks" / "README.md"]

REGISTRY_STUB = {"models": {"mean": {"saveable": False}, "mlp": {"saveable": True}, "tss_window": {"saveable": True}}}


def schema_of(**properties: dict) -> dict:
    return {"$defs": {"group": {"title": "Some options", "description": "What they do.", "properties": properties}}}


def rows(text: str) -> dict[str, list[str]]:
    """The parameter rows of a rendered reference: name -> [type, default, description] (cells as written)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\| `--([A-Za-z0-9_]+)`( \(hidden\))? \| (.*) \|$", line)
        if match:
            found[match.group(1)] = [cell.strip() for cell in re.split(r"(?<!\\)\|", match.group(3))]
    return found


def test_usage_generated_sections_are_current():
    """docs/usage.md's parameter reference and samplesheet table are what the generator writes from the schemas
    now: after a schema change, `make docs`."""
    text = USAGE.read_text()
    for name, body in generated(SCHEMA, INPUT_SCHEMA, REGISTRY).items():
        assert section(text, name, str(USAGE)) == body, f"docs/usage.md: the {name} section is stale: run `make docs`"


def test_parameter_reference_lists_every_schema_parameter_once_with_its_default():
    text = section(USAGE.read_text(), "parameters")
    listed = rows(text)
    properties = schema_properties(load_schema(SCHEMA))
    assert set(listed) == set(properties)
    assert sum(line.startswith("| `--") for line in text.splitlines()) == len(properties)
    for name, spec in properties.items():
        default = listed[name][1]
        if spec.get("default") is None:
            assert default == "", name
        else:
            shown = spec["default"] if isinstance(spec["default"], str) else str(spec["default"]).lower() \
                if isinstance(spec["default"], bool) else str(spec["default"])
            assert default == f"`{shown}`", (name, default)
    assert f"`atac2expr:{__version__}`" in text  # '${version}' read as the pipeline's version, as --help shows it


def test_readme_is_a_short_front_page():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines: move detail into docs/"


def _auto_bullet(text: str, parameter: str) -> str:
    """The bullet of docs/usage.md that says what `<parameter> auto` runs (to the next bullet or blank line)."""
    match = re.search(rf"^- `{parameter} auto` (.*?)(?=^- |^$)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"docs/usage.md has no bullet saying what {parameter} auto runs"
    return match.group(1)


@pytest.mark.parametrize("parameter, flag", [("--model", "train_by_default"), ("--eval_models", "evaluate_by_default")])
def test_usage_names_the_models_auto_runs_as_the_registry_says(parameter: str, flag: str):
    """The prose of 'Which models run' names exactly the models the registry marks for auto: after a change of the
    defaults in model_registry.json, the docs say so."""
    registry = json.loads(REGISTRY.read_text())["models"]
    named = set(re.findall(r"`([a-z_]+)`", _auto_bullet(USAGE.read_text(), parameter))) & set(registry)
    assert named == {name for name, spec in registry.items() if spec[flag]}, parameter


def test_readme_names_the_models_auto_trains():
    text = (REPO / "README.md").read_text()
    registry = json.loads(REGISTRY.read_text())["models"]
    missing = [name for name, spec in registry.items() if spec["train_by_default"] and f"`{name}`" not in text]
    assert not missing, f"README.md does not name {missing}, which --model auto trains"


def _without_code(text: str) -> str:
    """Markdown without fenced code blocks and inline code (brackets there are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation but '-' and '_' dropped, spaces to
    '-', repeats numbered."""
    anchors: set[str] = set()
    body = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    for match in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", body, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", match.group(1).replace("`", "").lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in anchors:
            n += 1
            candidate = f"{slug}-{n}"
        anchors.add(candidate)
    return anchors


def relative_links(path: Path) -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _without_code(path.read_text()))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_heading_anchors_follow_github():
    text = "# A: `b/`, c\n## Predicting: `-entry PREDICT`\n```\n# not a heading\n```\n## A: b, c\n## links.py: x\n"
    assert heading_anchors(text) == {"a-b-c", "predicting--entry-predict", "a-b-c-1", "linkspy-x"}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_to_files_and_headings_that_exist(document: Path):
    broken = []
    for target in relative_links(document):
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text()):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{document.relative_to(REPO)}: {broken}"


def test_every_doc_is_linked_from_the_readme():
    linked = {(REPO / t.partition("#")[0]).resolve() for t in relative_links(REPO / "README.md")}
    for document in DOCUMENTS[1:]:
        assert document.resolve() in linked, f"README.md does not link {document.relative_to(REPO)}"


def test_render_shows_type_default_choices_and_range():
    text = render(schema_of(
        bin_value={"type": "string", "default": "binary", "enum": ["binary", "signal"], "description": "What a bin holds."},
        folds={"type": "integer", "default": 5, "minimum": 2, "maximum": 1000, "description": "k of k-fold."},
        dropout={"type": "number", "default": 0, "minimum": 0, "exclusiveMaximum": 1, "description": "Dropout."},
        evaluate={"type": "boolean", "default": True, "description": "Evaluate."},
        gtf={"type": ["string", "null"], "description": "GTF |weight| <name>."},
    ), None)
    listed = rows(text)
    assert listed["bin_value"] == ["string", "`binary`", "What a bin holds. Choices: `binary`, `signal`."]
    assert listed["folds"] == ["integer", "`5`", "k of k-fold. Range: at least 2, at most 1000."]
    assert listed["dropout"] == ["number", "`0`", "Dropout. Range: at least 0, below 1."]
    assert listed["evaluate"] == ["boolean", "`true`", "Evaluate."]
    assert listed["gtf"] == ["string", "", "GTF \\|weight\\| &lt;name>."]  # a cell's '|' escaped, '<' not read as HTML
    assert "### Some options\n\nWhat they do.\n" in text


def test_render_marks_hidden_and_operational_parameters():
    text = render({"$defs": {
        "generic": {"title": "Generic", "operational": True, "properties": {
            "help": {"type": "boolean", "default": False, "description": "Help."},
            "profile_name": {"type": "string", "hidden": True, "description": "Set by profiles."}}},
        "io": {"title": "IO", "properties": {"outdir": {"type": "string", "default": "results", "operational": True,
                                                         "description": "Results folder."}}}}}, None)
    assert "| `--profile_name` (hidden) | string | | Set by profiles. |" in text
    assert "These parameters are operational" in text.split("### IO")[0]
    assert "| `--outdir` | string | `results` | Results folder. Operational. |" in text


def test_render_lists_the_registry_models_a_parameter_accepts():
    text = render(schema_of(
        model={"type": "string", "default": "auto", "x-choices": "saveable models", "description": "Trained."},
        eval_models={"type": "string", "default": "auto", "x-choices": "models", "description": "Evaluated."},
    ), REGISTRY_STUB)
    listed = rows(text)
    assert listed["model"][2] == "Trained. Choices: `auto`, or a comma-separated list of `mlp`, `tss_window`."
    assert listed["eval_models"][2] == "Evaluated. Choices: `auto`, or a comma-separated list of `mean`, `mlp`, `tss_window`."


def test_render_refuses_model_choices_without_a_registry_or_of_an_unknown_kind():
    with pytest.raises(InputError, match="model_registry.json"):
        render(schema_of(model={"type": "string", "x-choices": "models"}), None)
    with pytest.raises(InputError, match="x-choices 'networks'"):
        render(schema_of(model={"type": "string", "x-choices": "networks"}), REGISTRY_STUB)


def test_replace_section_rewrites_only_between_its_markers():
    text = "intro\n<!-- parameters:start -->\nold\n<!-- parameters:end -->\noutro\n"
    assert replace_section(text, "parameters", "new\nlines") == \
        "intro\n<!-- parameters:start -->\nnew\nlines\n<!-- parameters:end -->\noutro\n"
    for broken in ("no markers", "<!-- parameters:end --> <!-- parameters:start -->",
                   "<!-- parameters:start --><!-- parameters:start --><!-- parameters:end -->"):
        with pytest.raises(InputError, match="parameters:start"):
            replace_section(broken, "parameters", "x")


def test_cli_check_fails_on_a_stale_document_and_update_makes_it_current(tmp_path, capsys):
    document = tmp_path / "usage.md"
    document.write_text("# Usage\n<!-- samplesheet:start -->\nold\n<!-- samplesheet:end -->\n"
                        "<!-- parameters:start -->\n<!-- parameters:end -->\nafter\n")
    args = ["--schema", str(SCHEMA), "--samplesheet_schema", str(INPUT_SCHEMA), "--registry", str(REGISTRY)]
    assert main([*args, "--check", str(document)]) == 1
    assert main([*args, "--update", str(document)]) == 0
    assert main([*args, "--check", str(document)]) == 0
    text = document.read_text()
    assert text.startswith("# Usage\n") and text.endswith("<!-- parameters:end -->\nafter\n")
    assert section(text, "parameters") == section(USAGE.read_text(), "parameters")

    document.write_text("no markers\n")
    assert main([*args, "--update", str(document)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"ERROR: {document}: needs one")
    assert document.read_text() == "no markers\n"
