"""Every model of expression from accessibility behind one interface: fit, predict (and save, load for the networks).

  mean        each gene's mean over the training samples
  ridge       ridge regression on all bins, closed form in the sample space (KernelRidge); alpha chosen
              on the validation samples, then refitted on training + validation samples
  archr       ArchR's gene score (bins around the gene body, distance-weighted) -> a per-gene linear fit
  signac      Signac's gene activity (open bins in the gene body + 2 kb upstream) -> a per-gene linear fit
  mlp         the original study's network, bins -> hidden -> genes (mlp.MLPNetwork), full-batch Adam
  tss_window  bins around each gene's TSS, one network shared by all genes (tss_window.TSSWindowNetwork)

fit() takes the training samples and, optionally, validation samples: the networks stop early on them, ridge
chooses its alpha on them; the other models add them to the training samples. Targets are in the
transformed units (log1p(TPM) by default) throughout. Bins are read as they are, whatever their kind
(formats.BIN_VALUES: uint8 0/1, or float32 log1p signal): every model multiplies them by weights, so a signal
bin counts as an open bin scaled by its peak's strength.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from ..cli import InputError
from ..dataset import Dataset
from ..regions import BinLayout
from ..settings import EvaluationSettings, ModelSettings, check_mlp_memory
from . import gene_activity, mlp, runtime, tss_window
from .training import TrainResult

log = logging.getLogger(__name__)

BASELINES = ("mean", "ridge", "archr", "signac")
NETWORKS = ("mlp", "tss_window")
ALL_MODELS = BASELINES + NETWORKS

@dataclass
class Geometry:
    """What a model knows about its inputs and outputs besides the numbers."""

    layout: BinLayout
    genes: pd.DataFrame  # formats.GENES
    bin_value: str = "binary"  # what the bins hold (formats.BIN_VALUES); a model predicts from bins of its own kind only

    @classmethod
    def of(cls, ds: Dataset) -> "Geometry":
        return cls(ds.layout, ds.genes, ds.bin_value)

    @property
    def bins(self) -> pd.DataFrame:
        if "_bins" not in self.__dict__:
            self.__dict__["_bins"] = self.layout.bins()
        return self.__dict__["_bins"]


@dataclass
class FitReport:
    """What a fit chose or learnt: loss curves of the networks, ridge's alpha."""

    curves: TrainResult | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _stack(X: np.ndarray, X_val: np.ndarray | None) -> np.ndarray:
    return X if X_val is None or len(X_val) == 0 else np.concatenate([X, X_val])


class Predictor(ABC):
    kind: ClassVar[str]
    saveable: ClassVar[bool] = False

    def __init__(self, settings: ModelSettings, geometry: Geometry, evaluation: EvaluationSettings | None = None,
                 memory_limit: int | None = None) -> None:
        self.settings, self.geometry, self.evaluation, self.memory_limit = settings, geometry, evaluation, memory_limit

    @abstractmethod
    def fit(self, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None,
            device: torch.device = torch.device("cpu")) -> FitReport:
        """Learn from X (samples x bins: 0/1, or signal) -> Y (samples x genes, transformed units)."""

    @abstractmethod
    def predict(self, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
        """samples x genes, transformed units."""

    def _check_bins(self, X: np.ndarray) -> None:
        if X.shape[1] != self.geometry.layout.n_bins:
            raise InputError(f"{X.shape[1]} bins given to a model of {self.geometry.layout.n_bins} bins")


class MeanPredictor(Predictor):
    kind = "mean"

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self.mean = _stack(Y, Y_val).astype(np.float64).mean(axis=0)
        return FitReport()

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        return np.tile(self.mean, (len(X), 1))


class KernelRidge:
    """Linear ridge regression of Y on X with an unpenalised intercept, solved in the sample space:
    W = Xc' (Xc Xc' + alpha I)^-1 Yc, prediction (x - x_mean) W + y_mean, so bins can be millions.

    The predictions equal those of the primal solution (Xc'Xc + alpha I)^-1 Xc'Yc.
    """

    def __init__(self, alpha: float) -> None:
        if alpha <= 0:
            raise InputError(f"--ridge_alpha {alpha}: must be positive")
        self.alpha = alpha

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "KernelRidge":
        self.X = X
        self.x_mean = X.mean(axis=0, dtype=np.float64) if len(X) else np.zeros(X.shape[1])
        self.y_mean = Y.astype(np.float64).mean(axis=0)
        K = _centred_gram(X, X, self.x_mean)
        self.dual = np.linalg.solve(K + self.alpha * np.eye(len(X)), Y.astype(np.float64) - self.y_mean)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return _centred_gram(X, self.X, self.x_mean) @ self.dual + self.y_mean


def _centred_gram(XA: np.ndarray, XB: np.ndarray, mean: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """(XA - mean) @ (XB - mean).T, in chunks of bins (X may be samples x millions of uint8 or float32 bins)."""
    out = np.zeros((len(XA), len(XB)))
    for first in range(0, XA.shape[1], chunk):
        cols = slice(first, first + chunk)
        out += (XA[:, cols].astype(np.float64) - mean[cols]) @ (XB[:, cols].astype(np.float64) - mean[cols]).T
    return out


def choose_ridge_alpha(X: np.ndarray, Y: np.ndarray, X_val: np.ndarray | None, Y_val: np.ndarray | None,
                       alphas: list[float]) -> tuple[float, dict[float, float]]:
    """The alpha with the lowest validation MSE (the first alpha when there is no validation split)."""
    if len(alphas) == 1 or X_val is None or len(X_val) == 0 or len(X) < 2:
        return alphas[0], {}
    scores = {alpha: float(np.mean((KernelRidge(alpha).fit(X, Y).predict(X_val) - Y_val) ** 2)) for alpha in alphas}
    return min(alphas, key=lambda a: (scores[a], a)), scores


class RidgePredictor(Predictor):
    kind = "ridge"

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        alphas = self.evaluation.alphas if self.evaluation else [1.0]
        alpha, scores = choose_ridge_alpha(X, Y, X_val, Y_val, alphas)
        self.ridge = KernelRidge(alpha).fit(_stack(X, X_val), _stack(Y, Y_val))
        return FitReport(info={"ridge_alpha": alpha, "ridge_validation_mse": {str(a): s for a, s in scores.items()}})

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return self.ridge.predict(X)


class GeneActivityPredictor(Predictor):
    """A gene activity score per gene and sample, turned into expression by a per-gene linear fit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = gene_activity.GeneActivityScores(self.kind, self.geometry.bins, self.geometry.genes)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self.model.fit(_stack(X, X_val), _stack(Y, Y_val))
        return FitReport()

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return self.model.predict(X)


class ArchRPredictor(GeneActivityPredictor):
    kind = "archr"


class SignacPredictor(GeneActivityPredictor):
    kind = "signac"


class MLPPredictor(Predictor):
    kind = "mlp"
    saveable = True

    def build(self) -> torch.nn.Module:
        return mlp.MLPNetwork(self.geometry.layout.n_bins, len(self.geometry.genes), self.settings.hidden, self.settings.dropout)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self._check_bins(X)
        check_mlp_memory(X.shape[1], Y.shape[1], self.settings.hidden, len(X) + (0 if X_val is None else len(X_val)),
                         self.memory_limit, "this task has")
        runtime.seed_everything(self.settings.seed)
        self.model = self.build()
        s = self.settings
        curves = mlp.train_full_batch(self.model, X, Y, epochs=s.epochs, lr=s.lr, weight_decay=s.weight_decay,
                                         X_val=X_val, Y_val=Y_val, patience=s.patience, device=device)
        self.model.to("cpu")
        return FitReport(curves)

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return mlp.predict_mlp(self.model, X, device)


class TSSWindowPredictor(Predictor):
    kind = "tss_window"
    saveable = True

    @property
    def window_index(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "_index"):
            g = self.geometry
            self._index = tss_window.build_window_index(
                g.bins, g.genes["chrom"].to_numpy(str), g.genes["tss"].to_numpy(np.int64),
                g.genes["strand"].to_numpy(str), g.layout.bin_size, self.settings.window)
        return self._index

    def build(self) -> torch.nn.Module:
        width = tss_window.window_width(self.settings.window, self.geometry.layout.bin_size)
        return tss_window.TSSWindowNetwork(width, len(self.geometry.genes), self.settings.tss_hidden, self.settings.dropout)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self._check_bins(X)
        runtime.seed_everything(self.settings.seed)
        self.model = self.build()
        index, mask = self.window_index
        inside = mask.any(axis=1)
        if not inside.all():
            log.warning("%d of %d genes have no bin within %d bp of their TSS; the TSS-window model gives each of them one value "
                        "for every sample (its per-gene offset, about its training mean)", int((~inside).sum()), len(inside), self.settings.window)
        s = self.settings
        curves = tss_window.train_tss_window(
            self.model, X, Y, index, mask, epochs=s.tss_epochs, lr=s.lr, weight_decay=s.weight_decay, batch_size=s.batch_size,
            seed=s.seed, X_val=X_val, Y_val=Y_val, patience=s.patience, device=device)
        self.model.to("cpu")
        return FitReport(curves)

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        index, mask = self.window_index
        return tss_window.predict_tss_window(self.model, X, index, mask, device=device)


PREDICTORS: dict[str, type[Predictor]] = {
    cls.kind: cls for cls in (MeanPredictor, RidgePredictor, ArchRPredictor, SignacPredictor, MLPPredictor, TSSWindowPredictor)}


def make(kind: str, settings: ModelSettings, geometry: Geometry, evaluation: EvaluationSettings | None = None,
         memory_limit: int | None = None) -> Predictor:
    if kind not in PREDICTORS:
        raise InputError(f"model {kind}: choose one of {', '.join(PREDICTORS)}")
    return PREDICTORS[kind](settings, geometry, evaluation, memory_limit)
