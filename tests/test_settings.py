"""atac2expr.settings: one definition of the training and evaluation settings, kept equal to nextflow_schema.json and
conf/modules.config, given to the scripts as required arguments (defaults live only in the schema)."""

from __future__ import annotations

import argparse
import dataclasses
import math
import re

import pytest
from planted import REPO

from atac2expr.cli import InputError
from atac2expr.commands import evaluate, links, sample_links, train_model
from atac2expr.parameters import load_schema, schema_properties
from atac2expr.settings import (
    EvaluationSettings,
    LinkSettings,
    ModelSettings,
    check_mlp_memory,
    largest_mlp_hidden,
    mlp_memory_bytes,
    parse_memory,
)

PROPERTIES = schema_properties(load_schema(REPO / "nextflow_schema.json"))
SETTINGS = (ModelSettings, EvaluationSettings, LinkSettings)
JSON_TYPE = {"int": "integer", "float": "number", "str": "string"}
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum")
FIELDS = [(cls, f) for cls in SETTINGS for f in dataclasses.fields(cls)]


def field_id(item) -> str:
    return f"{item[0].__name__}.{item[1].name}"


@pytest.mark.parametrize("item", FIELDS, ids=field_id)
def test_every_field_is_a_schema_parameter_of_the_same_type_and_bounds(item):
    _, f = item
    assert f.name in PROPERTIES, f"--{f.name} is not in nextflow_schema.json"
    spec = PROPERTIES[f.name]
    assert spec["type"] == JSON_TYPE[str(f.type)], f"--{f.name}: schema type {spec['type']}, field type {f.type}"
    schema_bounds = {k: spec[k] for k in BOUNDS if k in spec}
    field_bounds = {k: list(v) if k == "enum" else v for k, v in f.metadata["schema"].items()}
    assert field_bounds == schema_bounds, f"--{f.name}"


@pytest.mark.parametrize("item", FIELDS, ids=field_id)
def test_the_schema_default_is_a_valid_setting(item):
    """Defaults live only in the schema; each one passes the field's own check."""
    cls, f = item
    values = {g.name: PROPERTIES[g.name]["default"] for g in dataclasses.fields(cls)}
    assert getattr(cls(**values), f.name) == PROPERTIES[f.name]["default"]


def groovy_list(text: str, name: str) -> list[str]:
    match = re.search(rf"^def {name} = \[(.*?)\]", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"{name} is not defined in conf/modules.config"
    return re.findall(r"'([^']*)'", match[1])


@pytest.mark.parametrize("name, cls", [("MODEL_SETTINGS", ModelSettings), ("EVALUATION_SETTINGS", EvaluationSettings),
                                       ("LINK_SETTINGS", LinkSettings)])
def test_modules_config_passes_exactly_the_fields(name, cls):
    listed = groovy_list((REPO / "conf" / "modules.config").read_text(), name)
    assert listed == [f.name for f in dataclasses.fields(cls)]


def test_no_field_has_a_default():
    for cls in SETTINGS:
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, f"{cls.__name__}.{f.name}"


def schema_values(cls) -> dict:
    return {f.name: PROPERTIES[f.name]["default"] for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda c: c.__name__)
def test_add_arguments_makes_every_field_a_required_argument(cls, capsys):
    parser = argparse.ArgumentParser(prog="script")
    cls.add_arguments(parser)
    settings = cls(**schema_values(cls))
    args = settings.cli_args()
    assert cls.from_args(parser.parse_args(args)) == settings  # a round trip through the command line
    for f in dataclasses.fields(cls):
        without = [a for i, a in enumerate(args) if f"--{f.name}" not in (a, args[i - 1] if i else "")]
        assert len(without) == len(args) - 2
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(without)
        assert exit_.value.code == 2 and f"--{f.name}" in capsys.readouterr().err


def test_arguments_are_typed():
    parser = argparse.ArgumentParser()
    ModelSettings.add_arguments(parser)
    args = ModelSettings(**schema_values(ModelSettings)).cli_args()
    args[args.index("--lr") + 1] = "1e-2"
    args[args.index("--epochs") + 1] = "7"
    settings = ModelSettings.from_args(parser.parse_args(args))
    assert settings.lr == 0.01 and settings.epochs == 7 and isinstance(settings.epochs, int)
    assert settings.as_dict()["epochs"] == 7 and settings.units == "log1p(TPM)"


@pytest.mark.parametrize("cls, name, value, message", [
    (ModelSettings, "epochs", 0, "--epochs 0: must be >= 1"),
    (ModelSettings, "hidden", 100_001, "--hidden 100001: must be <= 100000"),
    (ModelSettings, "lr", 0.0, "--lr 0.0: must be > 0"),
    (ModelSettings, "dropout", 1.0, "--dropout 1.0: must be < 1"),
    (ModelSettings, "weight_decay", -0.1, "--weight_decay -0.1: must be >= 0"),
    (ModelSettings, "target_transform", "log", "--target_transform log: choose one of log1p, none"),
    (ModelSettings, "seed", -1, "--seed -1: must be >= 0"),
    (EvaluationSettings, "folds", 1, "--folds 1: must be >= 2"),
    (EvaluationSettings, "val_fraction", 1.0, "--val_fraction 1.0: must be < 1"),
    (EvaluationSettings, "ridge_alpha", "1,x", "--ridge_alpha 1,x: expected a number or a comma-separated list"),
    (EvaluationSettings, "ridge_alpha", "1,0", "--ridge_alpha 1,0: alphas must be positive"),
    (EvaluationSettings, "ridge_alpha", ",", "--ridge_alpha ,: alphas must be positive"),
])
def test_out_of_range_settings_refused(cls, name, value, message):
    with pytest.raises(InputError) as err:
        cls(**{**schema_values(cls), name: value})
    assert str(err.value) == message or str(err.value).startswith(message)


def test_ridge_alphas():
    assert EvaluationSettings(**{**schema_values(EvaluationSettings), "ridge_alpha": " 0.1, 10 ,1e3"}).alphas == [0.1, 10.0, 1000.0]


# ---------------------------------------------------------------- the scripts repeat no schema default

class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def script_parser(module, monkeypatch) -> argparse.ArgumentParser:
    """The argparse parser a script's parse_args builds."""
    def capture(self, args=None, namespace=None):
        raise _Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Parsed) as parsed:
        module.parse_args([])
    return parsed.value.parser


@pytest.mark.parametrize("module", [train_model, evaluate, links, sample_links], ids=lambda m: m.__name__)
def test_scripts_take_every_schema_parameter_without_a_default(module, monkeypatch):
    parser = script_parser(module, monkeypatch)
    # argparse's own --help is not the pipeline's --help
    options = {a.dest: a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)}
    in_schema = sorted(name for name in options if name in PROPERTIES)
    if module is not sample_links:
        assert set(f.name for f in dataclasses.fields(ModelSettings)) <= set(in_schema)
    if module in (evaluate, links):
        assert set(f.name for f in dataclasses.fields(EvaluationSettings)) <= set(in_schema)
    if module in (links, sample_links):
        assert set(f.name for f in dataclasses.fields(LinkSettings)) <= set(in_schema)
    if module is links:
        assert "links_genes" in in_schema
    if module is train_model:
        assert "links_max_distance" in in_schema  # the reach of the evidence the model file keeps
    for name in in_schema:
        assert options[name].default is None and options[name].required, f"{module.__name__} --{name}: a default beside the schema's"


# ---------------------------------------------------------------- the MLP's memory

@pytest.mark.parametrize("text, expected", [("8.GB", 8 << 30), ("512 MB", 512 << 20), ("2GB", 2 << 30), ("1.5.GB", int(1.5 * (1 << 30))),
                                            ("100 B", 100), ("1 TB", 1 << 40), ("4 kb", 4 << 10)])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["8", "GB", "8 XB", "-1 GB", "lots"])
def test_parse_memory_refusals(text):
    with pytest.raises(InputError, match="expected a number and a unit"):
        parse_memory(text)


def test_mlp_memory_estimate_and_the_largest_hidden_that_fits():
    need = mlp_memory_bytes(1000, 50, 500, 20)
    assert need == math.ceil(1.1 * (28 * (1000 * 500 + 500 + 500 * 50 + 50) + 4 * 20 * 1050 + (900 << 20)))
    memory = 8 << 30
    fits = largest_mlp_hidden(3_088_281, 0, 0, memory)
    assert mlp_memory_bytes(3_088_281, 0, fits, 0) <= memory < mlp_memory_bytes(3_088_281, 0, fits + 1, 0)
    assert largest_mlp_hidden(3_088_281, 0, 0, 100 << 20) == 0


def test_check_mlp_memory():
    check_mlp_memory(1000, 50, 500, 20, 1 << 30, "this task has")
    check_mlp_memory(3_088_281, 20_000, 500, 50, None, "no limit")
    with pytest.raises(InputError) as err:
        check_mlp_memory(3_088_281, 20_000, 500, 50, 8 << 30, "this task has")
    message = str(err.value)
    assert "needs about" in message and "more than the 8.0 GiB this task has" in message and "\n" not in message
    with pytest.raises(InputError, match="no --hidden fits"):
        check_mlp_memory(3_088_281, 0, 500, 0, 100 << 20, "x")


def test_check_params_places_genes_at_ensembls_density_over_the_regions_end_to_end():
    """20,000 regions of 1 kb hold 20 Mb: 400 genes at 20 per Mb, not one per region."""
    from atac2expr.regions import BinLayout, Region
    from atac2expr.settings import typical_genes

    many = BinLayout.of([Region("1", 10_000 * i, 10_000 * i + 1000) for i in range(20_000)], 1000)
    chroms, tss = typical_genes(many)
    assert len(tss) == 400 and set(chroms) == {"1"}
    assert (tss % 10_000 < 1000).all()  # each inside a region
    chroms, tss = typical_genes(BinLayout.of([Region("2", 0, 50_000_000), Region("X", 100, 1100)], 1000))
    assert len(tss) == 1000 and (chroms == "2").all() and tss.min() >= 0 and tss.max() < 50_000_000
