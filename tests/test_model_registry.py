"""The models are named once, in bin/atac2expr/model_registry.json: Python builds its predictors from it, CHECK_PARAMS
resolves --model and --eval_models with it (auto: the MLP only on small layouts), the schema and --help take their
choices from it, and no other file of the pipeline lists model names."""

from __future__ import annotations

import json
import re

import pytest
from planted import REPO

from atac2expr import model_registry
from atac2expr.cli import InputError
from atac2expr.modelling import predictors
from atac2expr.parameters import load_schema, schema_properties

NAMES = list(json.loads((REPO / "bin" / "atac2expr" / "model_registry.json").read_text())["models"])


def test_every_registered_model_is_a_predictor_of_its_name():
    assert list(predictors.PREDICTORS) == NAMES
    for name, cls in predictors.PREDICTORS.items():
        spec = model_registry.models()[name]
        assert cls.__name__ == spec.predictor_class and cls.kind == name and cls.saveable == spec.saveable
        assert (cls.links_rule is not None) == spec.links, name
    assert predictors.SAVEABLE == model_registry.names(saveable=True)


def test_schema_takes_its_model_choices_from_the_registry():
    properties = schema_properties(load_schema(REPO / "nextflow_schema.json"))
    assert properties["model"]["x-choices"] == "saveable models" and properties["eval_models"]["x-choices"] == "models"
    assert properties["model"]["default"] == properties["eval_models"]["default"] == model_registry.AUTO


def _name_lists(text: str) -> list[str]:
    """Lines that list three or more model names: a regex alternation, a quoted list, or a comma-separated default."""
    found = []
    for line in text.splitlines():
        quoted = {n for n in NAMES if re.search(rf"['\"]{n}['\"]", line)}
        alternation = {n for n in NAMES if re.search(rf"(?<![\w-]){n}\|", line) or re.search(rf"\|{n}(?![\w-])", line)}
        joined = re.search(r"\b(" + "|".join(NAMES) + r")(,(" + "|".join(NAMES) + r"))+\b", line)
        if len(quoted) >= 3 or len(alternation) >= 2 or (joined and joined.group(0).count(",") >= 2):
            found.append(line.strip()[:100])
    return found


def test_no_other_file_of_the_pipeline_lists_the_model_names():
    files = [REPO / "main.nf", REPO / "nextflow.config", REPO / "nextflow_schema.json", *REPO.glob("workflows/*.nf"),
             *REPO.glob("subworkflows/**/*.nf"), *REPO.glob("modules/*.nf"), *REPO.glob("conf/*.config"), *REPO.glob("bin/*.py"),
             *REPO.glob("bin/atac2expr/**/*.py")]
    listed = {str(path.relative_to(REPO)): _name_lists(path.read_text()) for path in files}
    assert {path: lines for path, lines in listed.items() if lines} == {}
    # the check itself finds a list where there is one
    assert _name_lists('MODELS = ("mean", "ridge", "archr")') and _name_lists('"pattern": "^(mlp|tss_window)$"')


@pytest.mark.parametrize("n_bins, expected_train, mlp_evaluated", [
    (1_000, ["mlp", "blend"], True),
    (model_registry.small_layout_bins(), ["mlp", "blend"], True),
    (model_registry.small_layout_bins() + 1, ["blend"], False),
    (3_088_281, ["blend"], False),
])
def test_auto_trains_the_mlp_only_where_it_is_cheap(n_bins, expected_train, mlp_evaluated):
    plan = model_registry.model_plan("auto", "auto", True, True, n_bins)
    assert [m for m in plan["train"] if m in expected_train] == expected_train and set(plan["train"]) == set(expected_train)
    assert ("mlp" in plan["evaluate"]) == mlp_evaluated
    assert set(plan["evaluate"]) >= {"mean", "ridge", "promoter", "tss_window", "tss_similarity", "blend"}
    if not mlp_evaluated:
        assert "mlp left out" in plan["why"]["train"] and f"{n_bins:,} bins" in plan["why"]["train"]


def test_named_models_are_taken_as_named_and_links_come_from_the_plan():
    plan = model_registry.model_plan("tss_window,mlp", "mean,ridge,mlp,local_ridge", True, True, 3_088_281)
    assert plan["train"] == ["tss_window", "mlp"] and plan["evaluate"] == ["mean", "ridge", "mlp", "local_ridge"]
    # trained models link from their files; evaluated ones that can be fitted for links are; the mean has none
    assert plan["links"] == [["tss_window", "saved"], ["mlp", "saved"], ["ridge", "fitted"], ["local_ridge", "fitted"]]
    assert model_registry.model_plan("auto", "auto", False, False, 100)["evaluate"] == []
    assert model_registry.model_plan("auto", "auto", True, False, 100)["links"] == []


def test_unknown_or_unsaveable_models_refused_naming_the_choices():
    with pytest.raises(InputError, match="--model 'ridge': unknown ridge; choose from mlp, tss_window"):
        model_registry.resolve_models("ridge", "train", 10, "--model")
    with pytest.raises(InputError, match="--eval_models '': unknown empty list"):
        model_registry.resolve_models("", "evaluate", 10, "--eval_models")


def test_parse_model_list_keeps_the_order_and_drops_repeats():
    assert model_registry.parse_model_list("mlp, ridge,mlp", ("mlp", "ridge"), "--models") == ["mlp", "ridge"]
    with pytest.raises(InputError, match="--models 'mlp,svm': unknown svm; choose from mlp, ridge"):
        model_registry.parse_model_list("mlp,svm", ("mlp", "ridge"), "--models")
    with pytest.raises(InputError, match="empty list"):
        model_registry.parse_model_list(" , ", ("mlp",), "--models")
