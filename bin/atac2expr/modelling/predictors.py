"""Every model of expression from accessibility behind one interface: fit, predict (and save, load for the networks).

The models, their names and what each can do are in model_registry.json (bin/atac2expr/); each names its class here:
  MeanPredictor        each gene's mean over the training samples
  RidgePredictor       ridge regression on all bins, closed form in the sample space (KernelRidge); alpha chosen
                       on the validation samples, then refitted on training + validation samples
  ArchRPredictor       ArchR's gene score (bins around the gene body, distance-weighted) -> a per-gene linear fit
  SignacPredictor      Signac's gene activity (open bins in the gene body + 2 kb upstream) -> a per-gene linear fit
  MLPPredictor         the original study's network, bins -> hidden -> genes (mlp.MLPNetwork), full-batch Adam
  TSSWindowPredictor   bins around each gene's TSS, weights shared by all genes by distance to the TSS (tss_window.py)
  LocalRidgePredictor  per-gene kernel ridge on the bins near each gene's TSS (local_ridge.py)
  TSSSimilarityPredictor  the TSS-window rule plus per-gene kernel ridge on the cell types' similarity (tss_similarity.py)
  PromoterPredictor    the sample's own promoter activity mapped to expression by one rule fitted across genes (promoter.py)
  BlendPredictor       the gene's training mean, the TSS-window rule and the similarity part on activity ranks and the
                       promoter rule, weighed by how similar the new sample is to the training samples (blend.py)

fit() takes the training samples and, optionally, validation samples: the MLP stops early on them, ridge chooses
its alpha on them; the other models add them to the training samples (tss_window, local_ridge and tss_similarity
choose their few settings by leave-one-out over all of them). Targets are in the transformed units (log1p(TPM) by
default) throughout. Bins are read as they are, whatever their kind (formats.BIN_VALUES: uint8 0/1, or float32 log1p
signal): ridge, the MLP and tss_window multiply them by weights, so a signal bin counts as an open bin scaled by its
peak's strength; the kernels of local_ridge and tss_similarity compare which bins are open.

Besides the bins, a predictor may read what `reads` names (the callers give it only those, through `inputs_for`):
"activity", each bin's activity (samples x bins float32: the strongest overlapping peak's signalValue, dataset.py),
in fit and predict; "groups", the training samples' groups (the samplesheet's `group` column, or None), in fit. Such
a predictor is fitted on all of a fold's training samples (no validation split: it chooses its settings inside them).

A saveable predictor gives its fitted state as named arrays (state) and takes it back (load_state), with the shape
of every array known beforehand (state_shapes), so that modelling/model_file.py checks a file before using it.

links() says which bins drive each gene's prediction (atac2expr/links.py writes them). A predictor that can say
it sets `links_rule` (how a bin's weight is defined; docs/modelling.md lists them) and gives the weight of
(gene, bin) pairs: `link_weights` for the model (its coefficients, or the MLP's attribution averaged over samples)
and `sample_link_weights` for what each given sample's bins contribute (-entry PREDICT). Linear models define
`coefficients` and get both; the others say None (the mean has no bins). Only bins within max_distance of a gene's
TSS are candidates.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from .. import model_registry
from ..cli import InputError
from ..dataset import Dataset
from ..links import Links, signed_distance, top_links
from ..regions import BinLayout
from ..settings import EvaluationSettings, ModelSettings, check_mlp_memory
from . import attribution, blend, gene_activity, local_ridge, mlp, promoter, runtime, tss_similarity, tss_window
from .training import TrainResult

log = logging.getLogger(__name__)

LINK_PAIRS = 2_000_000  # candidate (gene, bin) pairs weighed at a time

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


@dataclass(frozen=True)
class CisPairs:
    """The candidate links: (gene row, bin row) of every bin within max_distance bp of a gene's TSS, sorted by gene
    then bin, with the bin's |distance| to the TSS (bp, to its centre)."""

    gene: np.ndarray
    bin: np.ndarray
    distance: np.ndarray

    @classmethod
    def of(cls, geometry: "Geometry", max_distance: int, genes: np.ndarray | None = None) -> "CisPairs":
        """The pairs of every gene, or of the gene rows `genes` (sorted)."""
        if max_distance < 0:
            raise InputError(f"--links_max_distance {max_distance}: must be >= 0")
        rows = np.arange(len(geometry.genes)) if genes is None else np.asarray(genes, dtype=np.int64)
        table, bins = geometry.genes.iloc[rows], geometry.bins
        tss = table["tss"].to_numpy(np.int64)
        query, bin_ = gene_activity.bins_overlapping(bins, table["chrom"].to_numpy(str), tss - max_distance, tss + max_distance + 1)
        gene, tss = rows[query], tss[query]
        minus = table["strand"].to_numpy(str)[query] == "-"
        distance = signed_distance(bins["start"].to_numpy(np.int64)[bin_], bins["end"].to_numpy(np.int64)[bin_], tss, minus)
        return cls(gene, bin_, np.abs(distance))

    def __len__(self) -> int:
        return len(self.gene)


@dataclass
class FitReport:
    """What a fit chose or learnt: loss curves of the networks, ridge's alpha."""

    curves: TrainResult | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _stack(X: np.ndarray, X_val: np.ndarray | None) -> np.ndarray:
    return X if X_val is None or len(X_val) == 0 else np.concatenate([X, X_val])


INPUTS = ("activity", "groups")  # what a predictor may read besides the bins (module docstring)


def inputs_for(predictor: "Predictor", **given: Any) -> dict[str, Any]:
    """The inputs of `given` (activity=..., groups=...) that the predictor reads (its `reads`); one it reads and is
    not given is an error."""
    unknown = set(given) - set(INPUTS)
    if unknown:
        raise ValueError(f"unknown predictor inputs {sorted(unknown)}")
    missing = [name for name in predictor.reads if name not in given or (name == "activity" and given[name] is None)]
    if missing:
        raise ValueError(f"{predictor.kind} reads {', '.join(missing)}, not given")
    return {name: given[name] for name in predictor.reads}


def predict_inputs(predictor: "Predictor", activity: np.ndarray | None) -> dict[str, Any]:
    """What predict() takes besides the bins: the samples' activity, for a predictor that reads it."""
    if "activity" not in predictor.reads:
        return {}
    if activity is None:
        raise ValueError(f"{predictor.kind} reads the samples' activity, not given")
    return {"activity": activity}


class Predictor(ABC):
    kind: ClassVar[str]
    saveable: ClassVar[bool] = False
    gene_local: ClassVar[bool] = False  # predicts each gene from its own neighbourhood only
    reads: ClassVar[tuple[str, ...]] = ()  # what it reads besides the bins: "activity" (fit and predict), "groups" (fit)
    # the training samples' cross-sample evidence of the links' score (link_scores.Evidence), kept in the model file
    evidence: Any = None

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
    # ------------------------------------------------------------ links

    links_rule: ClassVar[str | None] = None  # how a bin's weight for a gene is defined; None: the model has no links

    def links(self, X: np.ndarray, max_distance: int, top: int, *, per_sample: bool = False,
              device: torch.device = torch.device("cpu")) -> Links | None:
        """Each gene's `top` strongest bins within max_distance of its TSS (None: the model has no links).

        per_sample=False: the model's links (X: the samples a network's attributions are averaged over, its training
        samples); per_sample=True: for each sample of X, what its bins contributed to its prediction of each gene."""
        if self.links_rule is None:
            return None
        self._check_bins(X)
        parts = []
        # genes in chunks of about LINK_PAIRS pairs: at genome scale every gene's window holds hundreds of bins
        per_gene = 2 * max_distance // self.geometry.layout.bin_size + 2
        n_genes = len(self.geometry.genes)
        step = max(1, LINK_PAIRS // per_gene)
        for first in range(0, n_genes, step):
            pairs = CisPairs.of(self.geometry, max_distance, np.arange(first, min(first + step, n_genes)))
            if not per_sample:
                weight = self.link_weights(pairs, X, device)
                keep, rank = top_links(pairs.gene, weight, pairs.distance, top)
                parts.append(Links(pairs.gene[keep], pairs.bin[keep], weight[keep], rank))
                continue
            for row in range(len(X)):  # one sample at a time: samples x pairs can be large
                weight = self.sample_link_weights(pairs, X[row : row + 1], device)[0]
                keep, rank = top_links(pairs.gene, weight, pairs.distance, top)
                parts.append(Links(pairs.gene[keep], pairs.bin[keep], weight[keep], rank, np.full(len(keep), row, dtype=np.int64)))
        fields = ("gene", "bin", "weight", "rank") + (("sample",) if per_sample else ())
        empty = {"weight": np.zeros(0)}
        return Links(*(np.concatenate([getattr(p, f) for p in parts]) if parts else empty.get(f, np.zeros(0, dtype=np.int64))
                       for f in fields))

    def coefficients(self, pairs: CisPairs) -> np.ndarray:
        """A linear model's coefficient of each pair: the change in the gene's prediction when the bin opens by 1."""
        raise NotImplementedError(f"{self.kind} has no coefficients")

    def link_weights(self, pairs: CisPairs, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
        """The weight of each pair (linear models: their coefficient; X is not read)."""
        return self.coefficients(pairs)

    def sample_link_weights(self, pairs: CisPairs, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
        """samples x pairs: what each sample's bin contributes to its prediction (linear models: coefficient x value)."""
        return self.coefficients(pairs)[None, :] * np.asarray(X, dtype=np.float64)[:, pairs.bin]


class MeanPredictor(Predictor):

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

    def primal_weights(self, gene: np.ndarray, bin_: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        """W[bin, gene] of the primal solution, W = Xc' dual, for the given pairs only (W has bins x genes entries)."""
        out = np.empty(len(gene))
        for first in range(0, len(gene), chunk):
            part = slice(first, first + chunk)
            columns = self.X[:, bin_[part]].astype(np.float64) - self.x_mean[bin_[part]]
            out[part] = np.einsum("sk,sk->k", columns, self.dual[:, gene[part]])
        return out


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
    links_rule = ("the bin's coefficient in the ridge fit on all samples (the primal weights W = Xc' dual of the kernel form): "
                  "the change in the prediction when the bin opens. With far more bins than samples ridge spreads a gene's weight "
                  "over every bin whose pattern across the samples resembles the gene's, so its links mark bins that are open in "
                  "the samples expressing the gene (sample similarity), not bins shown to regulate it")

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu")) -> FitReport:
        alphas = self.evaluation.alphas if self.evaluation else [1.0]
        alpha, scores = choose_ridge_alpha(X, Y, X_val, Y_val, alphas)
        self.ridge = KernelRidge(alpha).fit(_stack(X, X_val), _stack(Y, Y_val))
        return FitReport(info={"ridge_alpha": alpha, "ridge_validation_mse": {str(a): s for a, s in scores.items()}})

    def predict(self, X, device=torch.device("cpu")) -> np.ndarray:
        self._check_bins(X)
        return self.ridge.predict(X)

    def coefficients(self, pairs: CisPairs) -> np.ndarray:
        return self.ridge.primal_weights(pairs.gene, pairs.bin)


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

    def coefficients(self, pairs: CisPairs) -> np.ndarray:
        return self.model.coefficients(pairs.gene, pairs.bin)


class ArchRPredictor(GeneActivityPredictor):
    links_rule = ("the gene's fitted slope times the bin's ArchR gene-score weight (distance-weighted, gene body and up to "
                  "100 kb around it): the change in the prediction when the bin opens")


class SignacPredictor(GeneActivityPredictor):
    links_rule = ("the gene's fitted slope for every bin in its body and 2 kb upstream (Signac's gene activity counts them "
                  "alike, so they tie and the bins nearer the TSS rank first)")


_NETWORK_RULE = ("integrated gradients from every bin closed to each training sample ({what}), exact for the one-hidden-layer "
                 "ReLU network, averaged over the training samples: what the bin's openness adds to the gene's prediction "
                 "on average; for one sample (-entry PREDICT), that sample's own attribution")


class MLPPredictor(Predictor):

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
    links_rule = _NETWORK_RULE.format(what="the bins -> hidden -> genes network")

    def _layers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        first, last = self.model.net[0], self.model.net[-1]
        return (first.weight.detach().cpu().double().numpy(), first.bias.detach().cpu().double().numpy(),
                last.weight.detach().cpu().double().numpy())

    def link_weights(self, pairs, X, device=torch.device("cpu")) -> np.ndarray:
        # the mean over samples of x_sb * sum_h W1[h,b] phi_sh W2[g,h] is sum_h (W1' * X'phi / n)[b,h] W2[g,h]
        W1, b1, W2 = self._layers()
        X = np.asarray(X, dtype=np.float64)
        phi = attribution.path_weights(X, W1, b1)
        per_bin = W1.T * (X.T @ phi) / max(len(X), 1)
        return attribution.pair_sums(per_bin, W2, pairs.bin, pairs.gene)

    def sample_link_weights(self, pairs, X, device=torch.device("cpu")) -> np.ndarray:
        W1, b1, W2 = self._layers()
        X = np.asarray(X, dtype=np.float64)
        phi = attribution.path_weights(X, W1, b1)
        return np.stack([attribution.pair_sums(W1.T * np.outer(x, p), W2, pairs.bin, pairs.gene) for x, p in zip(X, phi, strict=True)])


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

    # links: each model is linear in its window's bins (tss_similarity in its rule part), so a bin's weight for a gene is
    # exact: the weight of the window slot that reads the bin
    def slot_weights(self) -> np.ndarray:
        """(genes, W) each window slot's weight in the gene's prediction."""
        return self.model.slot_weights()

    def _slots_of(self, pairs: CisPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(the positions among the pairs whose bin is in its gene's window, and for those the gene and the window slot)."""
        index, mask = self.window_index
        genes = np.unique(pairs.gene)
        key_of = lambda gene, bin_: gene * np.int64(self.geometry.layout.n_bins + 1) + bin_  # noqa: E731
        local, slot = np.nonzero(mask[genes])
        keys = key_of(genes[local], index[genes[local], slot])
        order = np.argsort(keys, kind="stable")
        keys, local, slot = keys[order], local[order], slot[order]
        wanted = key_of(pairs.gene, pairs.bin)
        found = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        hit = np.flatnonzero(keys[found] == wanted) if len(keys) else np.zeros(0, dtype=np.int64)
        return hit, genes[local[found[hit]]], slot[found[hit]]

    def coefficients(self, pairs: CisPairs) -> np.ndarray:
        hit, gene, slot = self._slots_of(pairs)
        out = np.zeros(len(pairs))
        out[hit] = self.slot_weights()[gene, slot]
        return out


class TSSWindowPredictor(_WindowPredictor):
    gene_local = True
    links_rule = ("kappa x the gene's training sd x the weight of the bin's distance class from the TSS (the prediction "
                  "is linear in the window's bins, so this is exact)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = tss_window.TSSWindowRule(self.window_index[0], self.distance_classes)


class LocalRidgePredictor(_WindowPredictor):
    gene_local = True
    links_rule = ("the bin's primal weight in the gene's kernel ridge fit on its window (a linear kernel on open bins: "
                  "exact; the change in the prediction when the bin opens)")

    def sample_link_weights(self, pairs, X, device=torch.device("cpu")) -> np.ndarray:
        # the kernel reads which bins are open, not their signal
        return self.coefficients(pairs)[None, :] * (np.asarray(X)[:, pairs.bin] != 0)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = local_ridge.LocalRidge(self.window_index[0])


class TSSSimilarityPredictor(_WindowPredictor):
    links_rule = ("the weight of its tss_window rule for the bin (kappa x the gene's training sd x the weight of the bin's "
                  "distance class); the per-gene term on the similarity of whole samples has no single bins and is not in "
                  "the links")

    def slot_weights(self) -> np.ndarray:
        return self.model.rule.slot_weights()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = tss_similarity.TSSSimilarity(self.window_index[0], self.distance_classes)


class PromoterPredictor(Predictor):
    reads = ("activity",)

    @property
    def promoter_bins(self) -> promoter.PromoterBins:
        if not hasattr(self, "_promoter_bins"):
            self._promoter_bins = promoter.PromoterBins(self.geometry.bins, self.geometry.genes)
        return self._promoter_bins

    def promoter_activity(self, activity: np.ndarray) -> np.ndarray:
        return np.concatenate([self.promoter_bins.activity(promoter.activity_ranks(row)) for row in activity]) if len(activity) \
            else np.zeros((0, len(self.geometry.genes)))

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu"), *, activity=None) -> FitReport:
        self._check_bins(X)
        self.rule = promoter.PromoterRule().fit(self.promoter_activity(activity), _stack(Y, Y_val))
        return FitReport(info={"promoter_levels": [round(float(v), 4) for v in self.rule.levels]})

    def predict(self, X, device=torch.device("cpu"), *, activity=None) -> np.ndarray:
        self._check_bins(X)
        return self.rule.predict(self.promoter_activity(activity))


class BlendPredictor(_WindowPredictor):
    reads = ("activity", "groups")
    links_rule = ("the weight of its rule part for the bin at a typical training sample's similarity (the rule's weight x the "
                  "gene's training sd x the weight of the bin's distance class, per unit of activity rank); the similarity and "
                  "promoter parts have no single bins and are not in the links")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.model = blend.Blend(self.window_index[0], self.distance_classes,
                                 promoter.PromoterBins(self.geometry.bins, self.geometry.genes))

    def fit(self, X, Y, X_val=None, Y_val=None, device=torch.device("cpu"), *, activity=None, groups=None) -> FitReport:
        self._check_bins(X)
        if X_val is not None and len(X_val):
            raise ValueError("blend is fitted on all training samples (its activity and groups have no validation split)")
        info = self.model.fit(X, Y, activity, groups)
        return FitReport(info={f"blend_{key}": value for key, value in info.items()})

    def predict(self, X, device=torch.device("cpu"), *, activity=None) -> np.ndarray:
        self._check_bins(X)
        return self.model.predict(X, activity)

    def sample_link_weights(self, pairs, X, device=torch.device("cpu")) -> np.ndarray:
        # a sample's open bins with the rule's weight at that sample's similarity to the training samples
        X = np.asarray(X)
        similarity = self.model.nearest_similarity((X > 0).astype(np.uint8))
        hit, gene, slot = self._slots_of(pairs)
        out = np.zeros((len(X), len(pairs)))
        for row, s in enumerate(similarity):
            out[row, hit] = self.model.slot_weights(float(s))[gene, slot]
        return out * (X[:, pairs.bin] != 0)


def _register() -> dict[str, type[Predictor]]:
    """Every model of model_registry.json by name, its class's kind set to that name."""
    classes = {cls.__name__: cls for cls in (MeanPredictor, RidgePredictor, ArchRPredictor, SignacPredictor, MLPPredictor,
                                             TSSWindowPredictor, LocalRidgePredictor, TSSSimilarityPredictor,
                                             PromoterPredictor, BlendPredictor)}
    registered = {}
    for name, spec in model_registry.models().items():
        cls = classes[spec.predictor_class]
        cls.kind, cls.saveable = name, spec.saveable
        registered[name] = cls
    return registered


PREDICTORS: dict[str, type[Predictor]] = _register()
SAVEABLE = model_registry.names(saveable=True)  # trained on all samples (--model) and saved
ALL_MODELS = tuple(PREDICTORS)


def make(kind: str, settings: ModelSettings, geometry: Geometry, evaluation: EvaluationSettings | None = None,
         memory_limit: int | None = None) -> Predictor:
    if kind not in PREDICTORS:
        raise InputError(f"model {kind}: choose one of {', '.join(PREDICTORS)}")
    return PREDICTORS[kind](settings, geometry, evaluation, memory_limit)
