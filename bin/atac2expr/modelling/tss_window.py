"""The TSS-window model: weights shared by all genes, by distance to each gene's TSS.

Real cell types tell apart what accessibility near a TSS can say from what it cannot: the same open promoter goes
with a silent gene and with a highly expressed one (the gene's level is its own), but when a gene's promoter or
nearby elements open in one cell type and close in another, its expression tends to follow. So the model learns
one rule for how a gene moves from its own level, and leaves the level to each gene:

- Window. For a gene with TSS t (0-based, strand-aware) and half-width h = window // bin_size, slot k (k = 0 .. 2h)
  reads the bin that contains t + (k - h) * bin_size on the plus strand and t + (h - k) * bin_size on the minus
  strand: slot 0 is the most upstream, slot h the TSS's own bin. A slot outside every bin (past a region's or a
  chromosome's end, between regions, on a chromosome without bins) reads 0. Bins are looked up by (chromosome,
  position), so a window never reads another chromosome.
- Distance classes. The slots are pooled into classes: the TSS bin, then rings upstream and downstream with edges
  at DISTANCE_EDGES (1, 2, 5, 10, 20 kb, then the window's end): 13 classes at 1 kb bins and a 50 kb window. For
  gene g and sample s, a_gsc = the sum of the bin values in class c (0/1, or peak signal with --bin_value signal).
- Fit. Per gene, the training samples' targets become standardised deviations z_gs = (y_gs - mean_g) / sd_g (genes
  that do not vary give 0), and the class sums deviations da_gs = a_gs - mean_g(a). One weight per class, theta,
  shared by all genes, is the pooled least-squares fit of z on da over every (sample, gene) pair.
  Standardising makes a near-silent gene and a highly variable one count the same; fitted on raw deviations the
  rule is driven by the few variable genes and then adds noise to every barely-varying one.
- Prediction: mean_g + kappa * sd_g * theta . (a_g(x) - mean_g(a)). kappa, from KAPPAS, is chosen by leave-one-out
  over the training samples (theta refitted without the left-out sample, error pooled over genes on the
  standardised scale); kappa = 0, each gene's training mean, is kept unless the best kappa beats it by more than
  one standard error (kernels.choose_with_mean_gate): where the rule does not predict held-out samples, the model
  is the per-gene mean, and shuffled labels show no skill.
The fit is closed form (13 numbers and a grid of 5), so the model runs on the whole genome in seconds; a gene's
prediction is linear in its window, so its links are exact: kappa * sd_g * theta[class of the slot] per bin.

Why the earlier network version of this model lost to the per-gene mean on real cell types: its per-gene offsets
were the mean of the inner-training samples only (the held-out metric compares with the mean of all training
samples); early stopping on 2 validation samples stopped it at epoch 1 in most folds; fed raw windows it learnt
the between-gene rule "open promoter, highly expressed gene", far steeper than how a gene moves across cell types;
and unstandardised targets let the few highly variable genes drive it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import kernels

log = logging.getLogger(__name__)

_POS_SPAN = np.int64(1) << np.int64(40)  # > any chromosome position; chrom code * span + position is a sort key
DISTANCE_EDGES = (1_000, 2_000, 5_000, 10_000, 20_000)  # bp: ring edges of the distance classes
KAPPAS = (0.0, 0.25, 0.5, 0.75, 1.0)  # how much of the shared rule each gene takes, chosen by leave-one-out
_TINY = 1e-6  # a gene's sd below this is no variation
_RIDGE = 1e-6  # times the number of (sample, gene) pairs: numerical safety of theta's normal equations only


def half_width(window: int, bin_size: int) -> int:
    return int(window) // int(bin_size)


def window_width(window: int, bin_size: int) -> int:
    return 2 * half_width(window, bin_size) + 1


def build_window_index(
    bins: pd.DataFrame, gene_chrom: np.ndarray, gene_tss: np.ndarray, gene_strand: np.ndarray,
    bin_size: int, window: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(index, mask) of shape (genes, W): index[g, k] is the bin read by slot k of gene g, or n_bins
    (a padding column of zeros) where the slot is outside every bin; mask is 1 inside, 0 for padding.

    Vectorised: one searchsorted over genes x W points against the bins sorted by (chromosome, start).
    """
    n_bins = len(bins)
    h = half_width(window, bin_size)
    offsets = np.arange(-h, h + 1, dtype=np.int64) * int(bin_size)
    gene_chrom = np.asarray(gene_chrom).astype(str)
    gene_tss = np.asarray(gene_tss, dtype=np.int64)
    minus = np.asarray(gene_strand).astype(str) == "-"
    if n_bins == 0 or len(gene_tss) == 0:
        return np.full((len(gene_tss), len(offsets)), n_bins, dtype=np.int64), np.zeros((len(gene_tss), len(offsets)), dtype=np.uint8)

    codes, chroms = pd.factorize(pd.Series(bins["chrom"]).astype(str), sort=False)  # hashing, not string sorting
    bin_code = codes.astype(np.int64)
    gene_code = pd.Index(chroms).get_indexer(gene_chrom).astype(np.int64)  # -1: a chromosome without bins
    bin_start = bins["start"].to_numpy(np.int64)
    bin_end = bins["end"].to_numpy(np.int64)
    bin_key = bin_code * _POS_SPAN + bin_start
    order = np.argsort(bin_key, kind="stable")
    sorted_key = bin_key[order]

    # genes x W genomic points, strand-aware so slot 0 is upstream of transcription
    signed = np.where(minus[:, None], -offsets[None, :], offsets[None, :])
    points = gene_tss[:, None] + signed
    query = gene_code[:, None] * _POS_SPAN + points
    pos = np.searchsorted(sorted_key, query, side="right") - 1
    cand = order[np.clip(pos, 0, n_bins - 1)]
    inside = ((pos >= 0) & (points >= 0) & (gene_code[:, None] >= 0) & (bin_code[cand] == gene_code[:, None])
              & (points >= bin_start[cand]) & (points < bin_end[cand]))
    index = np.where(inside, cand, n_bins).astype(np.int64)
    return index, inside.astype(np.uint8)


def window_features(X: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The (samples, genes, W) tensor of the window bins' values (padding reads 0): for inspection and small data;
    the models read the windows slot by slot instead."""
    X = np.asarray(X)
    X_pad = np.concatenate([X, np.zeros((len(X), 1), dtype=X.dtype)], axis=1)
    return X_pad[:, index]


def distance_classes(width: int, bin_size: int, edges: tuple[int, ...] = DISTANCE_EDGES) -> np.ndarray:
    """Class (0 .. C-1) of each of the `width` slots: 0 the TSS bin, then per ring (0, e1], (e1, e2], ... and beyond
    the last edge: odd upstream, even downstream; rings that no slot falls in are dropped."""
    h = width // 2
    offset = np.arange(-h, h + 1)
    ring = np.searchsorted(np.array([0.0, *(e / bin_size for e in edges)]), np.abs(offset), side="left")
    classes = np.where(offset < 0, 2 * ring - 1, 2 * ring)
    classes[offset == 0] = 0
    return np.unique(classes, return_inverse=True)[1]


def class_sums(X: np.ndarray, index: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(samples, genes, classes) sums of the window bins' values per distance class, one slot at a time (the
    (samples, genes, W) tensor of every window is 1.2 GB for 50 samples on the genome)."""
    X = np.asarray(X)
    n_classes = int(classes.max()) + 1 if len(classes) else 0
    sums = np.zeros((len(X), index.shape[0], n_classes))
    inside = index < X.shape[1]
    for slot, c in enumerate(classes):
        rows = inside[:, slot]
        sums[:, rows, c] += X[:, index[rows, slot]]
    return sums


def fit_theta(A: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(theta, y_mean, y_sd, a_mean) from class sums A (n, G, C) and targets Y (n, G) of the training samples."""
    y_mean, y_sd, a_mean = Y.mean(0), Y.std(0), A.mean(0)
    Z = np.where(y_sd > _TINY, (Y - y_mean) / np.maximum(y_sd, _TINY), 0.0)
    D = (A - a_mean).reshape(-1, A.shape[2])
    z = Z.reshape(-1)
    theta = np.linalg.solve(D.T @ D + _RIDGE * len(z) * np.eye(D.shape[1]), D.T @ z)
    return theta, y_mean, np.where(y_sd > _TINY, y_sd, 0.0), a_mean


def deviation(theta: np.ndarray, y_sd: np.ndarray, a_mean: np.ndarray, A: np.ndarray) -> np.ndarray:
    """(n, G) the rule's deviation from each gene's mean: sd_g * theta . (a_g - mean_g(a))."""
    return y_sd * ((A - a_mean) @ theta)


def choose_kappa(A: np.ndarray, Y: np.ndarray) -> tuple[float, dict[str, float]]:
    """kappa by leave-one-out over the training samples, pooled over genes on the standardised scale, with the
    per-gene mean (kappa 0) kept unless another beats it by more than one standard error."""
    n = len(Y)
    if n < 3:
        return 0.0, {}
    errors = {k: np.zeros(n) for k in KAPPAS}
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        theta, y_mean, y_sd, a_mean = fit_theta(A[keep], Y[keep])
        varies = y_sd > 0
        rule = ((A[i] - a_mean) @ theta)[varies]
        observed = ((Y[i] - y_mean) / np.maximum(y_sd, _TINY))[varies]
        for k in KAPPAS:
            errors[k][i] = float(((observed - k * rule) ** 2).sum())
    errors = {kernels.MEAN if k == 0.0 else k: v for k, v in errors.items()}
    best = kernels.choose_with_mean_gate(errors, {k: k for k in KAPPAS})
    return (0.0 if best == kernels.MEAN else float(best)), {str(k): float(v.sum()) for k, v in errors.items()}


class TSSWindowRule:
    """The fitted model: kappa, theta and each gene's training mean, sd and mean class sums."""

    def __init__(self, index: np.ndarray, classes: np.ndarray) -> None:
        self.index, self.classes = index, classes

    def class_sums_of(self, X: np.ndarray) -> np.ndarray:
        return class_sums(X, self.index, self.classes)

    def fit(self, X: np.ndarray, Y: np.ndarray, A: np.ndarray | None = None) -> dict:
        """A: X's class sums, when the caller has them."""
        Y = np.asarray(Y, dtype=np.float64)
        A = self.class_sums_of(X) if A is None else A
        self.kappa, scores = choose_kappa(A, Y)
        self.theta, self.y_mean, self.y_sd, self.a_mean = fit_theta(A, Y)
        return {"kappa": self.kappa, "theta": [round(float(t), 5) for t in self.theta], "loo_error": scores}

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.y_mean + self.kappa * deviation(self.theta, self.y_sd, self.a_mean, class_sums(X, self.index, self.classes))

    def slot_weights(self) -> np.ndarray:
        """(genes, W) the weight of each window slot in a gene's prediction: kappa * sd_g * theta[class]."""
        return self.kappa * self.y_sd[:, None] * self.theta[self.classes][None, :]

    def state(self) -> dict[str, np.ndarray]:
        return {"theta": self.theta, "kappa": np.array(self.kappa), "y_mean": self.y_mean, "y_sd": self.y_sd, "a_mean": self.a_mean}

    def state_shapes(self, n_train: int, n_bins: int) -> dict[str, tuple[int, ...]]:
        genes, n_classes = len(self.index), int(self.classes.max()) + 1
        return {"theta": (n_classes,), "kappa": (), "y_mean": (genes,), "y_sd": (genes,), "a_mean": (genes, n_classes)}

    def load_state(self, state: dict[str, np.ndarray], n_train: int = 0, n_bins: int = 0) -> None:
        self.theta, self.y_mean, self.y_sd, self.a_mean = (state[k] for k in ("theta", "y_mean", "y_sd", "a_mean"))
        self.kappa = float(state["kappa"])
