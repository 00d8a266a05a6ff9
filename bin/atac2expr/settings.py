"""The settings of training and evaluation: one definition shared by train_model.py and evaluate.py.

Defaults, types and ranges of every pipeline parameter are defined once, in nextflow_schema.json,
and checked there first (CHECK_PARAMS); the scripts take each setting as a required argument, so
no default is repeated here. The bounds below guard the scripts when they run on their own; a test
keeps them equal to the schema's.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .cli import InputError

TRANSFORMS = ("log1p", "none")
TRANSFORM_UNITS = {"log1p": "log1p(TPM)", "none": "TPM"}


def _bound(minimum: float | None = None, maximum: float | None = None, exclusive_minimum: float | None = None,
           exclusive_maximum: float | None = None, enum: tuple[str, ...] | None = None, help: str = "") -> dict[str, Any]:
    spec = {"minimum": minimum, "maximum": maximum, "exclusiveMinimum": exclusive_minimum,
            "exclusiveMaximum": exclusive_maximum, "enum": enum}
    return {"schema": {k: v for k, v in spec.items() if v is not None}, "help": help}


def _check(name: str, value: Any, spec: dict[str, Any]) -> None:
    def fail(what: str) -> None:
        raise InputError(f"--{name} {value}: {what}")

    if "enum" in spec and value not in spec["enum"]:
        fail(f"choose one of {', '.join(spec['enum'])}")
    if "minimum" in spec and value < spec["minimum"]:
        fail(f"must be >= {spec['minimum']}")
    if "maximum" in spec and value > spec["maximum"]:
        fail(f"must be <= {spec['maximum']}")
    if "exclusiveMinimum" in spec and value <= spec["exclusiveMinimum"]:
        fail(f"must be > {spec['exclusiveMinimum']}")
    if "exclusiveMaximum" in spec and value >= spec["exclusiveMaximum"]:
        fail(f"must be < {spec['exclusiveMaximum']}")


class _Settings:
    """add_arguments / from_args / as_dict for a dataclass whose fields carry _bound metadata."""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group(cls.__name__)
        for f in dataclasses.fields(cls):
            kind = {"int": int, "float": float}.get(str(f.type), str)
            group.add_argument(f"--{f.name}", type=kind, required=True, help=f.metadata.get("help", ""))

    @classmethod
    def from_args(cls, args: argparse.Namespace):
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(f.name, getattr(self, f.name), f.metadata.get("schema", {}))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cli_args(self) -> list[str]:
        """The arguments that give these settings to a script (for tests and benchmarks)."""
        return [part for f in dataclasses.fields(self) for part in (f"--{f.name}", str(getattr(self, f.name)))]


@dataclass(frozen=True)
class ModelSettings(_Settings):
    """How the models are built and trained (the per-gene mean, ridge and gene-activity baselines need none)."""

    hidden: int = field(metadata=_bound(minimum=1, maximum=100_000, help="MLP hidden units"))
    epochs: int = field(metadata=_bound(minimum=1, maximum=1_000_000, help="MLP epochs (full-batch steps)"))
    lr: float = field(metadata=_bound(exclusive_minimum=0, maximum=10, help="MLP: Adam learning rate"))
    weight_decay: float = field(metadata=_bound(minimum=0, help="MLP: Adam weight decay (L2)"))
    dropout: float = field(metadata=_bound(minimum=0, exclusive_maximum=1, help="MLP: dropout after the hidden layer"))
    window: int = field(metadata=_bound(minimum=0, maximum=10_000_000,
                                        help="tss_window, local_ridge, tss_similarity: bases either side of each gene's TSS"))
    patience: int = field(metadata=_bound(minimum=0, help="MLP early stopping: epochs without validation improvement (0 = off)"))
    target_transform: str = field(metadata=_bound(enum=TRANSFORMS, help="log1p: model log(1 + TPM); none: TPM"))
    seed: int = field(metadata=_bound(minimum=0, maximum=2_147_483_647, help="seeds weights, batches, folds and splits"))
    device: str = field(metadata=_bound(help="cpu or cuda[:N]"))

    @property
    def units(self) -> str:
        return TRANSFORM_UNITS[self.target_transform]


@dataclass(frozen=True)
class EvaluationSettings(_Settings):
    """How the held-out evaluation splits the samples and tunes the ridge baseline."""

    folds: int = field(metadata=_bound(minimum=2, maximum=1000, help="k of k-fold cross-validation over samples (leave-one-out with fewer samples)"))
    val_fraction: float = field(metadata=_bound(minimum=0, exclusive_maximum=1,
                                                help="share of each fold's training samples held out for early stopping and ridge's alpha"))
    ridge_alpha: str = field(metadata=_bound(help="ridge penalty, or comma-separated penalties to choose from on the validation split"))

    @property
    def alphas(self) -> list[float]:
        try:
            alphas = [float(a) for a in str(self.ridge_alpha).split(",") if a.strip()]
        except ValueError:
            raise InputError(f"--ridge_alpha {self.ridge_alpha}: expected a number or a comma-separated list of numbers") from None
        if not alphas or any(a <= 0 for a in alphas):
            raise InputError(f"--ridge_alpha {self.ridge_alpha}: alphas must be positive")
        return alphas

    def __post_init__(self) -> None:
        super().__post_init__()
        self.alphas  # noqa: B018  (parses, raising InputError when malformed)


# ---------------------------------------------------------------- memory of the MLP

# Calibrated by benchmarks/bench_mlp_scaling.py: full-batch Adam holds weights, gradients, two moments and the
# best epoch's copy (~24 bytes per parameter with the allocator's slack) plus the interpreter and torch.
MLP_BYTES_PER_PARAMETER = 24
MLP_FIXED_BYTES = 168 << 20
_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def parse_memory(text: str) -> int:
    """Nextflow's memory notation ('8.GB', '512 MB', '2GB') in bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*\.?\s*([KMGT]?B)\s*", str(text), flags=re.IGNORECASE)
    if not match:
        raise InputError(f"memory '{text}': expected a number and a unit, e.g. 8.GB")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def mlp_memory_bytes(n_bins: int, n_genes: int, hidden: int, n_samples: int) -> int:
    """Peak memory of full-batch training of the bins -> hidden -> genes MLP."""
    parameters = n_bins * hidden + hidden + hidden * n_genes + n_genes
    inputs = 4 * n_samples * (n_bins + n_genes)  # float32 copies of X and Y
    return MLP_BYTES_PER_PARAMETER * parameters + inputs + MLP_FIXED_BYTES


def largest_mlp_hidden(n_bins: int, n_genes: int, n_samples: int, memory: int) -> int:
    """The most hidden units whose training fits in `memory` bytes (0 when none does)."""
    per_unit = MLP_BYTES_PER_PARAMETER * (n_bins + n_genes + 1)
    spare = memory - MLP_FIXED_BYTES - 4 * n_samples * (n_bins + n_genes) - MLP_BYTES_PER_PARAMETER * n_genes
    return max(0, spare // per_unit)


def check_mlp_memory(n_bins: int, n_genes: int, hidden: int, n_samples: int, memory: int | None, where: str) -> None:
    """Refuse, before any training, an MLP whose training would not fit in `memory` bytes."""
    if not memory:
        return
    need = mlp_memory_bytes(n_bins, n_genes, hidden, n_samples)
    if need > memory:
        fits = largest_mlp_hidden(n_bins, n_genes, n_samples, memory)
        gib = 1 << 30
        raise InputError(
            f"the mlp model ({n_bins:,} bins -> {hidden} hidden -> {n_genes:,} genes) needs about {need / gib:.1f} GiB to train, "
            f"more than the {memory / gib:.1f} GiB {where}; instead leave mlp out of --model and --eval_models and use tss_window "
            f"(bins around each TSS, any region size) beside the ridge, archr and signac baselines, or a smaller --region, "
            f"or {'--hidden ' + str(fits) if fits else 'no --hidden fits'}, or raise --max_memory to {math.ceil(need / gib) + 1}.GB")
