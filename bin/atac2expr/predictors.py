"""Every model of expression from accessibility behind one interface: fit, predict (and save, load for the networks).

  mean        each gene's mean over the training samples
  ridge       ridge regression on all bins, closed form in the sample space (KernelRidge); alpha chosen
              on the validation samples, then refitted on training + validation samples
  archr       ArchR's gene score (bins around the gene body, distance-weighted) -> a per-gene linear fit
  signac      Signac's gene activity (open bins in the gene body + 2 kb upstream) -> a per-gene linear fit
  mlp         the original study's network, bins -> hidden -> genes (models.ExpressionMLP), full-batch Adam
  tss_window  bins around each gene's TSS, one network shared by all genes (tss_window.TSSWindowModel)

fit() takes the training samples and, optionally, validation samples: the networks stop early on them, ridge
chooses its alpha on them; the other models add them to the training samples. Targets are in the
transformed units (log1p(TPM) by default) throughout.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from . import gene_activity, models, tss_window
from .cli import InputError
from .dataset import GENE_FIELDS, Dataset
from .regions import BinLayout
from .settings import TRANSFORMS, EvaluationSettings, ModelSettings, check_mlp_memory

log = logging.getLogger(__name__)

BASELINES = ("mean", "ridge", "archr", "signac")
NETWORKS = ("mlp", "tss_window")
ALL_MODELS = BASELINES + NETWORKS

@dataclass
class Geometry:
    """What a model knows about its inputs and outputs besides the numbers."""

    layout: BinLayout
    genes: pd.DataFrame  # dataset.GENE_FIELDS

    @classmethod
    def of(cls, ds: Dataset) -> "Geometry":
        return cls(ds.layout, ds.genes)

    @property
    def bins(self) -> pd.DataFrame:
        if "_bins" not in self.__dict__:
            self.__dict__["_bins"] = self.layout.bins()
        return self.__dict__["_bins"]


@dataclass
class FitReport:
    """What a fit chose or learnt: loss curves of the networks, ridge's alpha."""

    curves: models.TrainResult | None = None
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
        """Learn from X (samples x bins, 0/1) -> Y (samples x genes, transformed units)."""

    @abstractmethod
    def predict(self, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
        """samples x genes, transformed units."""

    def _check_bins(self, X: np.ndarray) -> None:
        if X.shape[1] != self.geometry.layout.n_bins:
            raise InputError(f"{X.shape[1]} bins given to a model of {self.geometry.layout.n_bins} bins")


class MeanModel(Predictor):
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
    """(XA - mean) @ (XB - mean).T, in chunks of bins (X may be samples x millions of uint8 bins)."""
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


class RidgeModel(Predictor):
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
        self.model = gene_activity.GeneActivityModel(self.kind, self.geometry.bins, self.geometry.genes)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self.model.fit(_stack(X, X_val), _stack(Y, Y_val))
        return FitReport()

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return self.model.predict(X)


class ArchRModel(GeneActivityPredictor):
    kind = "archr"


class SignacModel(GeneActivityPredictor):
    kind = "signac"


class MLPModel(Predictor):
    kind = "mlp"
    saveable = True

    def build(self) -> torch.nn.Module:
        return models.ExpressionMLP(self.geometry.layout.n_bins, len(self.geometry.genes), self.settings.hidden, self.settings.dropout)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self._check_bins(X)
        check_mlp_memory(X.shape[1], Y.shape[1], self.settings.hidden, len(X) + (0 if X_val is None else len(X_val)),
                         self.memory_limit, "this task has")
        models.seed_everything(self.settings.seed)
        self.model = self.build()
        s = self.settings
        curves = models.train_full_batch(self.model, X, Y, epochs=s.epochs, lr=s.lr, weight_decay=s.weight_decay,
                                         X_val=X_val, Y_val=Y_val, patience=s.patience, device=device)
        self.model.to("cpu")
        return FitReport(curves)

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return models.predict(self.model, X, device)


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
        return tss_window.TSSWindowModel(width, len(self.geometry.genes), self.settings.tss_hidden, self.settings.dropout)

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        self._check_bins(X)
        models.seed_everything(self.settings.seed)
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


MODELS: dict[str, type[Predictor]] = {cls.kind: cls for cls in (MeanModel, RidgeModel, ArchRModel, SignacModel, MLPModel, TSSWindowPredictor)}


def make(kind: str, settings: ModelSettings, geometry: Geometry, evaluation: EvaluationSettings | None = None,
         memory_limit: int | None = None) -> Predictor:
    if kind not in MODELS:
        raise InputError(f"model {kind}: choose one of {', '.join(MODELS)}")
    return MODELS[kind](settings, geometry, evaluation, memory_limit)


# ---------------------------------------------------------------- the model file of the networks

_MAX_ITEMS = 50_000_000  # refuse crafted metadata that would allocate without bound


def model_meta(predictor: Predictor, train_samples: list[str]) -> dict[str, Any]:
    """Everything predict.py needs besides the weights: plain data only, so the file loads with weights_only=True."""
    layout, genes = predictor.geometry.layout, predictor.geometry.genes
    return {
        "model": predictor.kind,
        "settings": predictor.settings.as_dict(),
        "layout": {"chrom": [r.chrom for r in layout.regions], "start": [r.start for r in layout.regions],
                   "end": [r.end for r in layout.regions], "bin_size": layout.bin_size},
        "genes": {f: [int(v) for v in genes[f]] if f in ("start", "end", "tss") else genes[f].astype(str).tolist() for f in GENE_FIELDS},
        "train_samples": [str(s) for s in train_samples],
    }


def save(path: str | Path, predictor: Predictor, train_samples: list[str]) -> None:
    if not predictor.saveable:
        raise ValueError(f"{predictor.kind} models are not saved")
    models.save_model(path, predictor.model, model_meta(predictor, train_samples))


def _field(meta: dict, key: str, kind: type | tuple[type, ...], path) -> Any:
    value = meta.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{path}: model metadata field '{key}' is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def _list(container: dict, key: str, kind: type, path, where: str, length: int | None = None) -> list:
    values = container.get(key)
    if not isinstance(values, list) or len(values) > _MAX_ITEMS or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values):
        raise InputError(f"{path}: model metadata field '{where}{key}' is missing or not a list of {kind.__name__}")
    if length is not None and len(values) != length:
        raise InputError(f"{path}: model metadata field '{where}{key}' has {len(values)} entries, expected {length}")
    return values


def read_meta(meta: Any, path) -> tuple[str, ModelSettings, Geometry, list[str]]:
    """Validated (kind, settings, geometry, train_samples) of a model file's metadata; one-line errors name the field."""
    if not isinstance(meta, dict):
        raise InputError(f"{path}: model metadata is not a mapping")
    kind = _field(meta, "model", str, path)
    if kind not in NETWORKS:
        raise InputError(f"{path}: model metadata field 'model' is {kind[:40]!r}, expected one of {', '.join(NETWORKS)}")
    raw = _field(meta, "settings", dict, path)
    expected = {f for f in ModelSettings.__dataclass_fields__}
    if set(raw) != expected:
        missing, extra = sorted(expected - set(raw)), sorted(set(raw) - expected)
        raise InputError(f"{path}: model metadata field 'settings' lacks {missing} / has unknown {extra}")
    for name, f in ModelSettings.__dataclass_fields__.items():
        want = {"int": int, "float": (int, float), "str": str}[str(f.type)]
        if not isinstance(raw[name], want) or isinstance(raw[name], bool):
            raise InputError(f"{path}: model metadata field 'settings.{name}' is not a {str(f.type)}")
    if raw["target_transform"] not in TRANSFORMS:
        raise InputError(f"{path}: model metadata field 'settings.target_transform' is {str(raw['target_transform'])[:40]!r}, "
                         f"expected one of {', '.join(TRANSFORMS)}")
    try:
        settings = ModelSettings(**raw)
    except InputError as err:
        raise InputError(f"{path}: model metadata field 'settings': {err}") from None
    layout_meta = _field(meta, "layout", dict, path)
    chroms = _list(layout_meta, "chrom", str, path, "layout.")
    starts = _list(layout_meta, "start", int, path, "layout.", len(chroms))
    ends = _list(layout_meta, "end", int, path, "layout.", len(chroms))
    if not isinstance(layout_meta.get("bin_size"), int) or isinstance(layout_meta.get("bin_size"), bool):
        raise InputError(f"{path}: model metadata field 'layout.bin_size' is missing or not an int")
    bin_size = layout_meta["bin_size"]
    try:
        layout = BinLayout.from_arrays({"region_chrom": chroms, "region_start": starts, "region_end": ends, "bin_size": bin_size})
    except (ValueError, InputError) as err:
        raise InputError(f"{path}: model metadata field 'layout': {err}") from None
    if max(ends) >= 1 << 40 or layout.n_bins > _MAX_ITEMS:
        raise InputError(f"{path}: model metadata field 'layout' describes {layout.n_bins:,} bins, more than any genome")
    genes_meta = _field(meta, "genes", dict, path)
    n_genes = len(_list(genes_meta, "gene_id", str, path, "genes."))
    if n_genes == 0:
        raise InputError(f"{path}: model metadata field 'genes.gene_id' is empty")
    genes = pd.DataFrame({f: _list(genes_meta, f, int if f in ("start", "end", "tss") else str, path, "genes.", n_genes) for f in GENE_FIELDS})
    strands = set(genes["strand"])
    if not strands <= {"+", "-", "."}:
        raise InputError(f"{path}: model metadata field 'genes.strand' holds {sorted(strands - {'+', '-', '.'})[:3]}, expected + or -")
    train_samples = _list(meta, "train_samples", str, path, "")
    return kind, settings, Geometry(layout, genes), train_samples


def describe(predictor: Predictor, train_samples: list[str]) -> str:
    """One line on a loaded model: kind, bins, genes, units, training samples."""
    return (f"{predictor.kind} model of {predictor.geometry.layout.describe()} -> {len(predictor.geometry.genes)} genes "
            f"({predictor.settings.units}), trained on {len(train_samples)} samples")


def load(path: str | Path) -> tuple[Predictor, list[str]]:
    """(predictor, training samples) of a model file written by train_model.py, checked field by field."""
    meta, state = models.load_model_file(path)
    kind, settings, geometry, train_samples = read_meta(meta, path)
    predictor = make(kind, settings, geometry)
    shapes = {name: tuple(t.shape) for name, t in state.items()} if isinstance(state, dict) else {}
    with torch.device("meta"):  # shapes without allocating: crafted metadata cannot claim gigabytes here
        expected = {name: tuple(t.shape) for name, t in predictor.build().state_dict().items()}
    if shapes != expected:
        raise InputError(f"{path}: weights do not fit a {kind} model of {geometry.layout.n_bins:,} bins and {len(geometry.genes):,} genes "
                         f"(weights {sorted(shapes.items())[:2]}, expected {sorted(expected.items())[:2]})")
    model = predictor.build()
    model.load_state_dict(state)
    model.eval()
    predictor.model = model
    return predictor, train_samples
