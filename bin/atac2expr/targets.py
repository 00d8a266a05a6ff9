"""Expression targets: the transform the models learn in (log1p(TPM) by default) and what the targets say
about the genes. numpy only: the tables and the evaluation read them without torch."""

from __future__ import annotations

import logging

import numpy as np

from .cli import InputError
from .settings import TRANSFORMS

log = logging.getLogger(__name__)


def transform_targets(tpm: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.log1p(tpm).astype(np.float32)
    if transform == "none":
        return tpm.astype(np.float32)
    raise InputError(f"--target_transform {transform}: choose one of {', '.join(TRANSFORMS)}")


def inverse_transform(values: np.ndarray, transform: str) -> np.ndarray:
    return np.expm1(values) if transform == "log1p" else values


def constant_columns(Y: np.ndarray) -> np.ndarray:
    """The genes (columns) whose targets do not vary across the samples (rows); every gene when there are none."""
    return np.ptp(np.asarray(Y), axis=0) == 0 if len(Y) else np.ones(np.asarray(Y).shape[1], dtype=bool)


def gene_variance_report(Y: np.ndarray, gene_ids: np.ndarray) -> list[str]:
    """Ids of the genes whose targets do not vary across the given samples (logged as a warning)."""
    Y = np.asarray(Y)
    constant = np.asarray(gene_ids).astype(str)[constant_columns(Y)]
    if len(constant):
        log.warning(
            "%d of %d genes have no variance across the %d samples (kept for training; a mean predicts them exactly): %s%s",
            len(constant), Y.shape[1], Y.shape[0], ", ".join(constant[:10]), " ..." if len(constant) > 10 else "",
        )
    return [str(g) for g in constant]


def mean_baseline_mse(Y: np.ndarray) -> float:
    """MSE of predicting each gene's mean over the same samples (population variance, averaged over genes)."""
    Y = np.asarray(Y, dtype=np.float64)
    return float(np.mean((Y - Y.mean(axis=0, keepdims=True)) ** 2)) if Y.size else float("nan")
