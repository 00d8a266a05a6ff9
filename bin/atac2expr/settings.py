"""The settings of training and evaluation: one definition shared by train_model.py and evaluate.py.

Defaults, types and ranges of every pipeline parameter are defined once, in nextflow_schema.json,
and checked there first (CHECK_PARAMS); the scripts take each setting as a required argument, so
no default is repeated here. The bounds below guard the scripts when they run on their own; a test
keeps them equal to the schema's.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import model_registry
from .cli import InputError

log = logging.getLogger(__name__)

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
    def add_arguments(cls, parser: argparse.ArgumentParser, required: bool = True, title: str | None = None) -> None:
        group = parser.add_argument_group(title or cls.__name__)
        for f in dataclasses.fields(cls):
            kind = {"int": int, "float": float}.get(str(f.type), str)
            group.add_argument(f"--{f.name}", type=kind, required=required, help=f.metadata.get("help", ""))

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


@dataclass(frozen=True)
class LinkSettings(_Settings):
    """Which links are written and how they are scored (links.py, predict.py, link_scores.py; atac2expr/link_scores.py)."""

    links_top: int = field(metadata=_bound(minimum=0, maximum=100_000,
                                           help="links kept per gene (per sample and gene for a sample's links); 0: every candidate"))
    links_max_distance: int = field(metadata=_bound(minimum=0, maximum=100_000_000, help="bp from the TSS within which a bin can be a link"))
    links_fdr: float = field(metadata=_bound(minimum=0, maximum=1, help="keep links whose cross-sample evidence has this FDR or less"))
    abc_gamma: float = field(metadata=_bound(minimum=0, maximum=10, help="activity by contact: the power law's exponent"))
    abc_min_distance: int = field(metadata=_bound(minimum=1, maximum=100_000_000, help="activity by contact: the power law's floor, bp"))
    abc_max_distance: int = field(metadata=_bound(minimum=0, maximum=100_000_000,
                                                  help="activity by contact: normalised over the open bins within this many bp of the TSS"))


# ---------------------------------------------------------------- memory of the MLP

# The peak RSS of a whole TRAIN_MODEL or EVALUATE task, measured by benchmarks/bench_mlp_memory.py (the table is in
# docs/deployment.md): the interpreter with torch (a CUDA build imports at ~620 MiB), the dataset and the
# outputs, ~730 MiB, up to ~900 MiB at the smallest size; then full-batch Adam holds the weights, gradients, two moments
# and the best epoch's copy, 24 bytes per parameter measured in TRAIN_MODEL and 28 in EVALUATE (its folds' models).
# The estimate takes EVALUATE's (the larger) and adds MLP_MARGIN: it lies 12-29% above every measured peak of
# EVALUATE and 18-35% above those of TRAIN_MODEL.
MLP_BYTES_PER_PARAMETER = 28
MLP_FIXED_BYTES = 900 << 20
MLP_MARGIN = 1.10
_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def parse_memory(text: str) -> int:
    """Nextflow's memory notation ('8.GB', '512 MB', '2GB') in bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*\.?\s*([KMGT]?B)\s*", str(text), flags=re.IGNORECASE)
    if not match:
        raise InputError(f"memory '{text}': expected a number and a unit, e.g. 8.GB")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def mlp_memory_bytes(n_bins: int, n_genes: int, hidden: int, n_samples: int) -> int:
    """Peak memory of a task that trains the bins -> hidden -> genes MLP full-batch (TRAIN_MODEL, EVALUATE)."""
    parameters = n_bins * hidden + hidden + hidden * n_genes + n_genes
    inputs = 4 * n_samples * (n_bins + n_genes)  # float32 copies of X and Y
    return math.ceil(MLP_MARGIN * (MLP_BYTES_PER_PARAMETER * parameters + inputs + MLP_FIXED_BYTES))


def largest_mlp_hidden(n_bins: int, n_genes: int, n_samples: int, memory: int) -> int:
    """The most hidden units whose training fits in `memory` bytes (0 when none does)."""
    per_unit = MLP_BYTES_PER_PARAMETER * (n_bins + n_genes + 1)
    spare = memory / MLP_MARGIN - MLP_FIXED_BYTES - 4 * n_samples * (n_bins + n_genes) - MLP_BYTES_PER_PARAMETER * n_genes
    fits = max(0, int(spare // per_unit))
    while fits and mlp_memory_bytes(n_bins, n_genes, fits, n_samples) > memory:  # the ceiling of the estimate
        fits -= 1
    return fits


# Full-batch Adam on tens of samples costs about the same per weight and epoch whatever the samples: 50-65 ns per
# parameter-epoch measured on one core (benchmarks/bench_mlp_scaling.py --timing: 20,000-100,000 bins, 400-2,000 genes,
# 14-40 samples), so 65 ns, rounded up
MLP_SECONDS_PER_PARAMETER_EPOCH = 65e-9
MLP_WARN_SECONDS = 3600


def mlp_seconds(n_bins: int, n_genes: int, hidden: int, epochs: int, fits: int) -> float:
    """CPU seconds of `fits` trainings of the MLP for `epochs` epochs at most (early stopping may end them sooner)."""
    return MLP_SECONDS_PER_PARAMETER_EPOCH * (n_bins * hidden + hidden + hidden * n_genes + n_genes) * epochs * fits


def warn_mlp_time(n_bins: int, n_genes: int, hidden: int, epochs: int, fits: int) -> None:
    """One warning, before any training, when the MLP's trainings would take more than an hour of CPU: the estimate and
    what to do instead."""
    seconds = mlp_seconds(n_bins, n_genes, hidden, epochs, fits)
    if seconds > MLP_WARN_SECONDS:
        log.warning(f"the mlp model ({n_bins:,} bins -> {hidden} hidden -> about {n_genes:,} genes) would train for up to about "
                    f"{seconds / 3600:.1f} CPU hours ({fits} training(s) of up to {epochs} epochs; early stopping may end them "
                    f"sooner); leave mlp out of --model and --eval_models (--model auto does above "
                    f"{model_registry.small_layout_bins():,} bins), or choose a smaller --region, fewer --epochs or --hidden")


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


# ---------------------------------------------------------------- what the links of a run cost

# One LINKS task (bin/links.py) weighs every candidate (gene, bin) pair within --links_max_distance of a gene's TSS, in
# chunks, and keeps each gene's --links_top strongest: its time grows with the pairs and the rows kept, its memory and
# files with the rows. Measured by benchmarks/bench_links_cost.py (whole links.py runs; the table is in
# docs/deployment.md) and rounded up: seconds per pair and per row of the slowest cases, the MLP's (integrated
# gradients through its hidden layer) apart from the others'; bytes per row at the peak and in the files.
LINKS_SECONDS_PER_PAIR = {"mlp": 15e-6, "other": 1e-6}
LINKS_SECONDS_PER_ROW = {"mlp": 80e-6, "other": 30e-6}
LINKS_FIXED_SECONDS = 5.0
LINKS_BYTES_PER_ROW = 500  # the table, the interact and BEDPE frames and their text, at the peak
LINKS_FIXED_BYTES = {"mlp": 1100 << 20, "other": 750 << 20}  # the interpreter, torch, the dataset, the model, a chunk of pairs
LINKS_FILE_BYTES_PER_ROW = 240  # links.tsv.gz + .interact + .bedpe (the bigWigs are small beside them)
LINKS_WARN_FILE_BYTES = 2 << 30  # a run whose links would write more is warned about
LINKS_WARN_SECONDS = 3600  # a run whose links would take longer (CPU time, all tasks) is warned about
GENES_PER_MB = 20  # Ensembl's genes of every biotype per Mb (GRCh38: ~62,700 in 3.1 Gb; GRCm39: ~57,000 in 2.7 Gb)


def links_pairs(layout, chroms: np.ndarray, tss: np.ndarray, max_distance: int, top: int) -> tuple[int, int]:
    """(candidate pairs, rows at most) of the links of genes at `tss` on `chroms`: each gene's bins of the layout within
    max_distance of its TSS (those a LINKS task weighs), and the most it keeps, min(top, those) per gene (top 0: all)."""
    chroms, tss = np.asarray(chroms).astype(str), np.asarray(tss, dtype=np.int64)
    pairs = np.zeros(len(tss), dtype=np.int64)
    for region in layout.regions:
        on = chroms == region.chrom
        if not on.any():
            continue
        n = -(-region.length // layout.bin_size)
        first = np.clip((tss[on] - max_distance - region.start) // layout.bin_size, 0, n)
        last = np.clip(-(-(tss[on] + max_distance + 1 - region.start) // layout.bin_size), 0, n)
        pairs[on] += np.maximum(last - first, 0)
    return int(pairs.sum()), int((pairs if top == 0 else np.minimum(pairs, top)).sum())  # top 0: every candidate


@dataclass(frozen=True)
class LinksEstimate:
    """What the links of a run cost: `models` LINKS tasks (or one task holding `copies` sets of rows: -entry PREDICT's
    samples), each weighing `pairs` candidate pairs of `genes` genes and keeping at most `rows`."""

    genes: int
    pairs: int
    rows: int
    models: tuple[str, ...]
    copies: int = 1

    def _kind(self, model: str) -> str:
        return "mlp" if model == "mlp" else "other"

    @property
    def seconds(self) -> float:
        """CPU seconds of every task together."""
        return sum(LINKS_FIXED_SECONDS + self.copies * (LINKS_SECONDS_PER_PAIR[self._kind(m)] * self.pairs
                                                        + LINKS_SECONDS_PER_ROW[self._kind(m)] * self.rows) for m in self.models)

    @property
    def memory(self) -> int:
        """Peak bytes of the largest task."""
        return max(LINKS_FIXED_BYTES[self._kind(m)] for m in self.models) + LINKS_BYTES_PER_ROW * self.rows * self.copies

    @property
    def file_bytes(self) -> int:
        """Bytes of every task's files."""
        return LINKS_FILE_BYTES_PER_ROW * self.rows * self.copies * len(self.models)

    def describe(self) -> str:
        gib = 1 << 30
        copies = f" x {self.copies} samples" if self.copies > 1 else ""
        return (f"{len(self.models)} model(s) ({', '.join(self.models)}) x up to {self.rows:,} links{copies} of {self.genes:,} genes "
                f"({self.pairs:,} candidate bins weighed): about {self.file_bytes / gib:.2f} GiB of files, {self.seconds / 60:.0f} CPU "
                f"minutes, {self.memory / gib:.1f} GiB per task")


def estimate_links(layout, chroms: np.ndarray, tss: np.ndarray, max_distance: int, top: int, models: list[str] | tuple[str, ...],
                   copies: int = 1) -> LinksEstimate:
    pairs, rows = links_pairs(layout, chroms, tss, max_distance, top)
    return LinksEstimate(len(tss), pairs, rows, tuple(models), copies)


def typical_genes(layout, genes_per_mb: float = GENES_PER_MB) -> tuple[np.ndarray, np.ndarray]:
    """(chromosome, TSS) of genes spread evenly over the regions, end to end, at genes_per_mb (one at least): the genes
    CHECK_PARAMS assumes before the annotation is read."""
    lengths = np.array([region.length for region in layout.regions], dtype=np.int64)
    ends = np.cumsum(lengths)
    n = max(1, round(int(ends[-1]) / 1e6 * genes_per_mb))
    along = ((np.arange(n) + 0.5) * (int(ends[-1]) / n)).astype(np.int64)
    which = np.searchsorted(ends, along, side="right")
    starts = np.array([region.start for region in layout.regions], dtype=np.int64)
    chroms = np.array([region.chrom for region in layout.regions])
    return chroms[which], starts[which] + along - (ends[which] - lengths[which])


def check_links(estimate: LinksEstimate, memory: int | None, where: str) -> None:
    """Warn about links above the documented size or time; refuse, before any work, links that cannot fit `memory`."""
    gib = 1 << 30
    if memory and estimate.memory > memory:
        raise InputError(f"--links_top and --links_max_distance: the links would need about {estimate.memory / gib:.1f} GiB per LINKS "
                         f"task ({estimate.describe()}), more than the {memory / gib:.1f} GiB {where}; lower --links_top or "
                         f"--links_max_distance, or give --skip_links, or raise --max_memory to {math.ceil(estimate.memory / gib) + 1}.GB")
    if estimate.file_bytes > LINKS_WARN_FILE_BYTES or estimate.seconds > LINKS_WARN_SECONDS:
        log.warning("the links are large: %s (warned above %.0f GiB or %.0f CPU minutes); lower --links_top or --links_max_distance, "
                    "or give --skip_links, if you do not need them all", estimate.describe(), LINKS_WARN_FILE_BYTES / gib,
                    LINKS_WARN_SECONDS / 60)
