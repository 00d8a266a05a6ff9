"""Cross-validation over samples: folds, each fold's inner validation split, and every model fitted on the same folds.

The metrics of the held-out predictions are evaluation.py's (numpy only).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..cli import InputError
from ..settings import EvaluationSettings, ModelSettings
from . import predictors

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- folds

def make_folds(n_samples: int, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k'-1) of each sample; k' = min(k, n_samples) (leave-one-out when n_samples <= k)."""
    if k < 2:
        raise InputError(f"--folds {k}: at least 2 folds are needed for cross-validation")
    if n_samples < 2:
        raise InputError(f"cross-validation needs at least 2 samples, the dataset has {n_samples}")
    k = min(k, n_samples)
    order = np.random.default_rng(seed).permutation(n_samples)
    folds = np.empty(n_samples, dtype=np.int64)
    folds[order] = np.arange(n_samples) % k
    return folds


def inner_split(train: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(inner_train, validation), both subsets of `train` (sample indices), disjoint, seeded."""
    train = np.asarray(train, dtype=np.int64)
    if not 0 <= val_fraction < 1:
        raise InputError(f"--val_fraction {val_fraction}: must be in [0, 1)")
    if len(train) < 3 or val_fraction == 0:
        return np.sort(train), np.zeros(0, dtype=np.int64)
    n_val = min(len(train) - 2, max(1, int(round(val_fraction * len(train)))))
    perm = np.random.default_rng(seed).permutation(train)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@dataclass
class Split:
    fold: int
    test: np.ndarray
    train: np.ndarray
    inner_train: np.ndarray
    validation: np.ndarray


def group_folds(groups: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Leave-group-out: fold number of each sample (its group's place among the sorted group names) and the names."""
    names, folds = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    if len(names) < 2:
        raise InputError(f"leave-group-out folds need at least 2 groups; every sample is in group '{names[0] if len(names) else ''}'")
    return folds.astype(np.int64), [str(n) for n in names]


def make_splits(n_samples: int, k: int, seed: int, val_fraction: float, groups: np.ndarray | None = None) -> list[Split]:
    """Random k folds, or with `groups` one fold per group (each group held out in turn)."""
    folds = make_folds(n_samples, k, seed) if groups is None else group_folds(groups)[0]
    splits = []
    for fold in range(int(folds.max()) + 1):
        test = np.flatnonzero(folds == fold)
        train = np.flatnonzero(folds != fold)
        inner, val = inner_split(train, val_fraction, seed * 1000 + fold + 1)
        splits.append(Split(fold, test, train, inner, val))
    return splits


@dataclass
class CrossValidation:
    """Held-out predictions of every model on the same folds, and what each fit chose."""

    models: list[str]
    splits: list[Split]
    predictions: dict[str, np.ndarray]  # model -> samples x genes, each sample predicted by its fold's fit
    train_means: np.ndarray  # samples x genes: the per-gene mean of the training samples of each sample's fold
    fold_of: np.ndarray
    curves: pd.DataFrame  # model, fold, epoch, train_loss, val_loss
    folds: list[dict]  # per fold: sizes, seconds per model, ridge alpha, best epochs
    scheme: str = "random"  # FOLD_SCHEMES: random k folds, or one fold per group

    @property
    def mode(self) -> str:
        if self.scheme == "group":
            return f"leave-group-out ({len(self.splits)} groups)"
        return "leave-one-out" if len(self.splits) == len(self.fold_of) else f"{len(self.splits)}-fold"


FOLD_SCHEMES = ("random", "group")  # metrics.tsv's folds column: random k folds; leave-group-out


def cross_validate(X: np.ndarray, Y: np.ndarray, geometry: predictors.Geometry, model_names: list[str], settings: ModelSettings,
                   evaluation_settings: EvaluationSettings, *, device: torch.device = torch.device("cpu"),
                   memory_limit: int | None = None, activity: np.ndarray | None = None, groups: np.ndarray | None = None,
                   scheme: str = "random", X_test: np.ndarray | None = None, activity_test: np.ndarray | None = None) -> CrossValidation:
    """Cross-validation over samples of every model in `model_names` (Y in the target's units): random k folds, or
    (scheme "group") each group of `groups` held out in turn. activity (samples x bins) and the groups go to the
    models that read them (predictors.inputs_for); those are fitted on all of a fold's training samples.
    X_test, activity_test: the held-out samples' bins and activity as they are predicted, when not X and activity
    (the same samples' peaks cut another way: how much a new sample's peak caller moves the predictions)."""
    X_test = X if X_test is None else X_test
    activity_test = activity if activity_test is None else activity_test
    if scheme not in FOLD_SCHEMES:
        raise ValueError(f"fold scheme {scheme!r}: one of {', '.join(FOLD_SCHEMES)}")
    if scheme == "group" and groups is None:
        raise InputError("leave-group-out folds need the samples' groups (the samplesheet's 'group' column)")
    n, n_genes = Y.shape
    splits = make_splits(n, evaluation_settings.folds, settings.seed, evaluation_settings.val_fraction,
                         groups if scheme == "group" else None)
    predictions = {m: np.full((n, n_genes), np.nan) for m in model_names}
    train_means = np.full((n, n_genes), np.nan)
    fold_of = np.full(n, -1)
    curves, folds = [], []
    for split in splits:
        fold_of[split.test] = split.fold
        train_means[split.test] = Y[split.train].astype(np.float64).mean(axis=0)
        info: dict = {"fold": split.fold, "n_train": len(split.train), "n_inner_train": len(split.inner_train),
                      "n_validation": len(split.validation), "n_test": len(split.test)}
        log.info("fold %d: %d training (%d inner + %d validation), %d held out", split.fold, len(split.train),
                 len(split.inner_train), len(split.validation), len(split.test))
        X_val = X[split.validation] if len(split.validation) else None
        Y_val = Y[split.validation] if len(split.validation) else None
        for name in model_names:
            started = time.perf_counter()
            predictor = predictors.make(name, settings, geometry, evaluation_settings, memory_limit)
            if predictor.reads:
                train = split.train
                given = {"activity": activity[train] if activity is not None else None,
                         "groups": groups[train] if groups is not None else None}
                report = predictor.fit(X[train], Y[train], device=device, **predictors.inputs_for(predictor, **given))
                test_activity = activity_test[split.test] if activity_test is not None else None
                predictions[name][split.test] = predictor.predict(X_test[split.test], device,
                                                                  **predictors.predict_inputs(predictor, test_activity))
            else:
                report = predictor.fit(X[split.inner_train], Y[split.inner_train], X_val, Y_val, device)
                predictions[name][split.test] = predictor.predict(X_test[split.test], device)
            info.update(report.info)
            if report.curves is not None:
                result = report.curves
                info[f"{name}_best_epoch"] = result.best_epoch
                info[f"{name}_epochs_run"] = result.epochs_run
                val_loss = result.val_loss if result.val_loss else [np.nan] * result.epochs_run
                curves.append(pd.DataFrame({"model": name, "fold": split.fold, "epoch": np.arange(1, result.epochs_run + 1),
                                            "train_loss": result.train_loss, "val_loss": val_loss}))
            info[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
            log.info("fold %d: %s fitted in %.1f s", split.fold, name, info[f"{name}_seconds"])
        folds.append(info)
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["model", "fold", "epoch", "train_loss", "val_loss"])
    return CrossValidation(model_names, splits, predictions, train_means, fold_of, curves_frame, folds, scheme)
