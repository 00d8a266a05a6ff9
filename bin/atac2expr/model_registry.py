"""The models of the pipeline, once: model_registry.json beside this file names each model, the predictor class that
implements it and what it can do (saved for -entry PREDICT, has links, fits at genome scale, needs torch).
Python reads it here; CHECK_PARAMS resolves --model and --eval_models with it (resolve_models), so the workflow runs
the lists it is handed and names no model itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .cli import InputError

REGISTRY_PATH = Path(__file__).with_name("model_registry.json")
AUTO = "auto"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    predictor_class: str
    saveable: bool
    links: bool
    fit_for_links: bool
    genome_scale: bool
    torch: bool
    train_by_default: bool
    evaluate_by_default: bool
    summary: str


@cache
def _registry() -> dict:
    with open(REGISTRY_PATH) as handle:
        return json.load(handle)


@cache
def models() -> dict[str, ModelSpec]:
    """Every model by name, in the registry's order."""
    return {name: ModelSpec(name, spec["class"], spec["saveable"], spec["links"], spec["fit_for_links"],
                            spec["genome_scale"], spec["torch"],
                            spec["train_by_default"], spec["evaluate_by_default"], spec["summary"])
            for name, spec in _registry()["models"].items()}


def names(**capabilities: bool) -> tuple[str, ...]:
    """The models with the given capabilities (e.g. names(saveable=True)), in the registry's order."""
    return tuple(name for name, spec in models().items() if all(getattr(spec, key) == value for key, value in capabilities.items()))


def small_layout_bins() -> int:
    """The largest layout on which 'auto' includes the models that are not genome_scale."""
    return int(_registry()["small_layout_bins"])


def parse_model_list(text: str, choices: tuple[str, ...], param: str) -> list[str]:
    """'a,b' -> ['a', 'b'] (order kept, duplicates dropped), each one of `choices`."""
    listed = [m.strip() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in listed if m not in choices]
    if unknown or not listed:
        raise InputError(f"{param} '{text}': unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(choices)}")
    return list(dict.fromkeys(listed))


def resolve_models(text: str, purpose: str, n_bins: int, param: str) -> tuple[list[str], str]:
    """(model names, why) of --model (purpose 'train': the saveable models) or --eval_models (purpose 'evaluate').

    'auto' means the models marked train_by_default (evaluate_by_default), leaving out those that are not genome_scale
    when the layout has more than small_layout_bins bins; named models are taken as named."""
    choices = names(saveable=True) if purpose == "train" else tuple(models())
    if str(text).strip() != AUTO:
        return parse_model_list(text, choices, param), f"{param} names them"
    flag = "train_by_default" if purpose == "train" else "evaluate_by_default"
    wanted = [name for name in choices if getattr(models()[name], flag)]
    small = small_layout_bins()
    chosen = [name for name in wanted if models()[name].genome_scale or n_bins <= small]
    left_out = [name for name in wanted if name not in chosen]
    why = f"{param} auto: the default models"
    if left_out:
        why += (f"; {', '.join(left_out)} left out: {n_bins:,} bins is more than the {small:,} on which it fits in minutes "
                f"(name it in {param} to run it anyway)")
    elif any(not models()[name].genome_scale for name in chosen):
        why += f" ({n_bins:,} bins: at most {small:,}, so {', '.join(n for n in chosen if not models()[n].genome_scale)} too)"
    return chosen, why


def model_plan(model: str, eval_models: str, evaluate: bool, links: bool, n_bins: int) -> dict:
    """What a run trains, evaluates and writes links of, and why (CHECK_PARAMS' models.json, read by the workflow):
      train     --model resolved: each trained on all samples and saved
      evaluate  --eval_models resolved (empty without --evaluate)
      links     [model, 'saved' | 'fitted']: every trained model with links (from its model file) and every evaluated
                one that is not trained and can be fitted for its links (empty with --skip_links)
      why       the reasons, for the log and the report."""
    train, why_train = resolve_models(model, "train", n_bins, "--model")
    evaluated, why_evaluate = resolve_models(eval_models, "evaluate", n_bins, "--eval_models") if evaluate else ([], "--evaluate false")
    specs = models()
    linked = []
    if links:
        linked = [[name, "saved"] for name in train if specs[name].links]
        linked += [[name, "fitted"] for name in evaluated if name not in train and specs[name].fit_for_links]
    return {"train": train, "evaluate": evaluated, "links": linked, "why": {"train": why_train, "evaluate": why_evaluate}}
