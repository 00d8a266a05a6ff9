"""Kernel ridge regression per gene, and the choice of its penalty inside the training samples.

A gene's expression over the training samples is regressed on a kernel between samples (how alike two samples'
chromatin is), with an unpenalised intercept: the kernel is centred on the training samples, as X - mean(X) is in
the primal. Many genes share one kernel (the similarity of whole samples) or each has its own (the bins near its
TSS); both are solved through an eigendecomposition of the centred training kernel, so that every penalty of a
grid costs a matrix product, not a solve.

The penalty is chosen by leave-one-out over the training samples, pooled over genes, and the per-gene training
mean is itself a candidate: it is kept unless the best penalty beats it by more than one standard error of the
paired per-sample differences (`choose_with_mean_gate`). That is what makes a model predict the mean where nothing
predicts, and show no skill on shuffled labels. With 10-50 training samples, hyperparameters chosen per gene are
noise; one choice shared by all genes is not.
"""

from __future__ import annotations

from typing import Hashable

import numpy as np

MEAN = "mean"  # the candidate that predicts each gene's training mean


def centre_train(K: np.ndarray) -> np.ndarray:
    """Double-centre the (..., m, m) training Gram block."""
    return K - K.mean(-1, keepdims=True) - K.mean(-2, keepdims=True) + K.mean((-2, -1), keepdims=True)


def centre_cross(K_new: np.ndarray, K_train: np.ndarray) -> np.ndarray:
    """Centre the (..., s, m) new-vs-training block on the training samples (x - mean_train in feature space)."""
    return K_new - K_new.mean(-1, keepdims=True) - K_train.mean(-2, keepdims=True) + K_train.mean((-2, -1), keepdims=True)


def open_gram(A: np.ndarray, B: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """(A > 0) @ (B > 0).T: shared open bins between samples, in chunks of bins (the bins may be millions)."""
    out = np.zeros((len(A), len(B)))
    for first in range(0, A.shape[1], chunk):
        cols = slice(first, first + chunk)
        out += (A[:, cols] > 0).astype(np.float32) @ (B[:, cols] > 0).astype(np.float32).T
    return out


def cosine(K: np.ndarray, norms_a: np.ndarray, norms_b: np.ndarray) -> np.ndarray:
    """A Gram of open-bin indicators divided by the samples' numbers of open bins (square roots): cosine similarity,
    which divides out how many peaks were called in each sample (it varies about twofold between samples)."""
    return K / np.sqrt(np.outer(np.maximum(norms_a, 1.0), np.maximum(norms_b, 1.0)))


class EigenRidge:
    """Kernel ridge of targets R (m, G) on centred training kernels Kc ((m, m) shared, or (G, m, m) per gene),
    for any penalty: Kc = V diag(s) V', dual = V diag(1 / (s + lam)) V' (R - mean)."""

    def __init__(self, Kc: np.ndarray, R: np.ndarray) -> None:
        self.shared = Kc.ndim == 2
        s, V = np.linalg.eigh(Kc)
        self.s, self.V = np.maximum(s, 0.0), V
        self.r_mean = R.mean(0)
        Rc = R - self.r_mean
        # projections of the centred targets on the eigenvectors: (m, G) shared, (G, m) per gene
        self.proj = V.T @ Rc if self.shared else np.einsum("gmk,mg->gk", V, Rc)

    def dual(self, lam: float) -> np.ndarray:
        """(G, m) dual coefficients."""
        if self.shared:
            return (self.V @ (self.proj / (self.s + lam)[:, None])).T
        return np.einsum("gmk,gk->gm", self.V, self.proj / (self.s + lam))

    def loo_residuals(self, lam: float, R: np.ndarray) -> np.ndarray:
        """(m, G) exact leave-one-out residuals: (r_i - fit_i) / (1 - H_ii), H = J/m + Kc (Kc + lam I)^-1 (the hat
        matrix of ridge with an unpenalised intercept, for which this shortcut is exact)."""
        m = len(R)
        shrink = self.s / (self.s + lam)
        if self.shared:
            H = self.V @ (shrink[:, None] * self.V.T)
            fit = self.r_mean + H @ (R - self.r_mean)
            h = (1.0 / m + np.diag(H))[:, None]
        else:
            fit = self.r_mean + np.einsum("gmk,gk->mg", self.V, self.proj * shrink)
            h = (1.0 / m + np.einsum("gmk,gk->gm", self.V**2, np.broadcast_to(shrink, self.s.shape))).T
        return (R - fit) / np.maximum(1.0 - h, 1e-9)


def apply_dual(Kc_new: np.ndarray, dual: np.ndarray) -> np.ndarray:
    """(s, G) predicted deviations from the training mean. Kc_new: (s, m) shared or (G, s, m) per gene; dual (G, m)."""
    if Kc_new.ndim == 2:
        return Kc_new @ dual.T
    return np.einsum("gsm,gm->sg", Kc_new, dual)


def choose_with_mean_gate(errors: dict[Hashable, np.ndarray], order: dict[Hashable, float] | None = None,
                          n_se: float = 1.0) -> Hashable:
    """The candidate with the lowest total leave-one-out error (errors: candidate -> per left-out sample summed
    squared error, MEAN among them), unless its gain over MEAN is within `n_se` standard errors of the paired
    per-sample differences: then MEAN. Ties go to the larger order[candidate] (e.g. the larger penalty)."""
    order = order or {}
    best = min(errors, key=lambda k: (float(errors[k].sum()), -order.get(k, 0.0)))
    if best == MEAN:
        return MEAN
    gain = errors[MEAN] - errors[best]  # > 0 where the candidate beat the mean on that left-out sample
    se = gain.std(ddof=1) * np.sqrt(len(gain)) if len(gain) > 1 else 0.0
    return best if gain.sum() > n_se * se else MEAN


def mean_loo_errors(Y: np.ndarray) -> np.ndarray:
    """Per left-out sample, the summed squared error of predicting each gene's mean of the other samples."""
    m = len(Y)
    loo_mean = (Y.sum(0) - Y) / max(m - 1, 1)
    return ((Y - loo_mean) ** 2).sum(axis=1)
