"""Every model of expression from accessibility behind one interface: fit, predict (and save, load for the networks).

  mean        each gene's mean over the training samples
  ridge       ridge regression on all bins, closed form in the sample space (KernelRidge); alpha chosen
              on the validation samples, then refitted on training + validation samples
  archr       ArchR's gene score (bins around the gene body, distance-weighted) -> a per-gene linear fit
  signac      Signac's gene activity (open bins in the gene body + 2 kb upstream) -> a per-gene linear fit
  mlp         the original study's network, bins -> hidden -> genes (mlp.MLPNetwork), full-batch Adam
  tss_window  bins around each gene's TSS, weights shared by all genes by distance to the TSS (tss_window.py)
  local_ridge per-gene kernel ridge on the bins near each gene's TSS (local_ridge.py)
  tss_similarity  the TSS-window rule plus per-gene kernel ridge on the cell types' similarity (tss_similarity.py)

fit() takes the training samples and, optionally, validation samples: the MLP stops early on them, ridge chooses
its alpha on them; the other models add them to the training samples (tss_window, local_ridge and tss_similarity
choose their few settings by leave-one-out over all of them). Targets are in the transformed units (log1p(TPM) by
default) throughout. Bins are read as they are, whatever their kind (formats.BIN_VALUES: uint8 0/1, or float32 log1p
signal): the linear models and the MLP multiply them by weights, so a signal bin counts as an open bin scaled by its
peak's strength; the similarity kernels of tss_similarity compare which bins are open.

A saveable predictor gives its fitted state as named arrays (state) and takes it back (load_state), with the shape
of every array known beforehand (state_shapes), so that modelling/model_file.py checks a file before using it.
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
from . import gene_activity, local_ridge, mlp, runtime, tss_similarity, tss_window
from .training import TrainResult

log = logging.getLogger(__name__)

BASELINES = ("mean", "ridge", "archr", "signac")
SAVEABLE = ("mlp", "tss_window", "local_ridge", "tss_similarity")  # trained on all samples (--model) and saved
ALL_MODELS = BASELINES + SAVEABLE

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
    gene_local: ClassVar[bool] = False  # predicts each gene from its own neighbourhood only

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

    # the saved state of a saveable predictor (modelling/model_file.py)
    def state(self) -> dict[str, Any]:
        raise NotImplementedError(f"{self.kind} models are not saved")

    def state_shapes(self, n_train: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError(f"{self.kind} models are not saved")

    def load_state(self, state: dict[str, np.ndarray], n_train: int) -> None:
        raise NotImplementedError(f"{self.kind} models are not saved")


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

    def state(self) -> dict[str, Any]:
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def state_shapes(self, n_train: int) -> dict[str, tuple[int, ...]]:
        with torch.device("meta"):  # shapes without allocating: crafted metadata cannot claim gigabytes here
            return {name: tuple(t.shape) for name, t in self.build().state_dict().items()}

    def load_state(self, state: dict[str, np.ndarray], n_train: int) -> None:
        network = self.build()
        network.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
        network.eval()
        self.model = network


class _WindowPredictor(Predictor):
    """A predictor that reads the bins around each gene's TSS (the window index is built once, from the geometry)."""

    @property
    def window_index(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "_index"):
            g = self.geometry
            self._index = tss_window.build_window_index(
                g.bins, g.genes["chrom"].to_numpy(str), g.genes["tss"].to_numpy(np.int64),
                g.genes["strand"].to_numpy(str), g.layout.bin_size, self.settings.window)
            inside = self._index[1].any(axis=1)
            if not inside.all():
                log.warning("%d of %d genes have no bin within %d bp of their TSS; %s predicts each of them at its training mean",
                            int((~inside).sum()), len(inside), self.settings.window, self.kind)
        return self._index

    @property
    def distance_classes(self) -> np.ndarray:
        return tss_window.distance_classes(self.window_index[0].shape[1], self.geometry.layout.bin_size)

    def state(self) -> dict[str, Any]:
        return self.model.state()

    def state_shapes(self, n_train: int) -> dict[str, tuple[int, ...]]:
        return self.model.state_shapes(n_train, self.geometry.layout.n_bins)

    def load_state(self, state: dict[str, np.ndarray], n_train: int) -> None:
        self.model.load_state(state, n_train, self.geometry.layout.n_bins)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self._check_bins(X)
        info = self.model.fit(_stack(X, X_val), _stack(Y, Y_val))
        return FitReport(info={f"{self.kind}_{key}": value for key, value in info.items()})

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return self.model.predict(X)


class TSSWindowPredictor(_WindowPredictor):
    kind = "tss_window"
    saveable = True
    gene_local = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = tss_window.TSSWindowRule(self.window_index[0], self.distance_classes)


class LocalRidgePredictor(_WindowPredictor):
    kind = "local_ridge"
    saveable = True
    gene_local = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = local_ridge.LocalRidge(self.window_index[0])


class TSSSimilarityPredictor(_WindowPredictor):
    kind = "tss_similarity"
    saveable = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = tss_similarity.TSSSimilarity(self.window_index[0], self.distance_classes)


PREDICTORS: dict[str, type[Predictor]] = {cls.kind: cls for cls in (
    MeanPredictor, RidgePredictor, ArchRPredictor, SignacPredictor, MLPPredictor, TSSWindowPredictor, LocalRidgePredictor,
    TSSSimilarityPredictor)}


def make(kind: str, settings: ModelSettings, geometry: Geometry, evaluation: EvaluationSettings | None = None,
         memory_limit: int | None = None) -> Predictor:
    if kind not in PREDICTORS:
        raise InputError(f"model {kind}: choose one of {', '.join(PREDICTORS)}")
    return PREDICTORS[kind](settings, geometry, evaluation, memory_limit)
