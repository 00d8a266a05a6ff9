"""Per-gene kernel ridge on the bins near each gene's TSS: a gene-local model that shrinks to the gene's mean.

For gene g, the kernel between two samples counts the bins within `window` bp of its TSS that are open in both
(0/1: any bin value > 0 is open), centred on the training samples (unpenalised intercept). Every gene's kernel is
divided by one scale shared by all genes (the mean, over genes, of the centred kernel's mean diagonal), so that a
gene with more varying bins nearby gets a stronger local signal, and a gene with no varying bin nearby is predicted
at its training mean. One penalty, shared by all genes, comes from PENALTIES by exact leave-one-out over the
training samples, pooled over genes, and the per-gene training mean is a candidate too
(kernels.choose_with_mean_gate): where the local bins do not predict held-out samples, the model is the mean.
"""

from __future__ import annotations

import numpy as np

from ..dataset import pack_bits, unpack_bits
from . import kernels

PENALTIES = (1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0)


def window_open(X: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(samples, genes, W) uint8: 1 where the window slot's bin is open (padding reads 0)."""
    open_ = np.asarray(X) > 0
    padded = np.concatenate([open_, np.zeros((len(open_), 1), dtype=bool)], axis=1)
    return padded[:, index].astype(np.uint8)


def local_gram(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(genes, a, b) per-gene linear kernel between window tensors A (a, G, W) and B (b, G, W): shared open bins."""
    return np.einsum("agw,bgw->gab", A.astype(np.float32), B.astype(np.float32), optimize=True).astype(np.float64)


class LocalRidge:
    """The fitted model: training windows, the shared scale and penalty, and the dual coefficients per gene."""

    def __init__(self, index: np.ndarray) -> None:
        self.index = index

    def fit(self, X: np.ndarray, Y: np.ndarray) -> dict:
        Y = np.asarray(Y, dtype=np.float64)
        self.y_mean = Y.mean(0)
        self.windows = window_open(X, self.index)
        K = local_gram(self.windows, self.windows)
        Kc = kernels.centre_train(K)
        self.scale = float(np.trace(Kc, axis1=1, axis2=2).mean() / len(Y))
        if self.scale <= 0 or len(Y) < 3:  # no bin near any TSS varies: nothing to learn
            self.penalty = None
            return {"penalty": None}
        ridge = kernels.EigenRidge(Kc / self.scale, Y)
        errors: dict = {kernels.MEAN: kernels.mean_loo_errors(Y)}
        for penalty in PENALTIES:
            errors[penalty] = (ridge.loo_residuals(penalty, Y) ** 2).sum(axis=1)
        best = kernels.choose_with_mean_gate(errors, {p: p for p in PENALTIES})
        self.penalty = None if best == kernels.MEAN else float(best)
        if self.penalty is not None:
            self.K_train, self.dual = K, ridge.dual(self.penalty)
        return {"penalty": self.penalty, "loo_error": {str(k): float(v.sum()) for k, v in errors.items()}}

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.penalty is None:
            return np.tile(self.y_mean, (len(X), 1))
        K_new = local_gram(window_open(X, self.index), self.windows)
        return self.y_mean + kernels.apply_dual(kernels.centre_cross(K_new, self.K_train) / self.scale, self.dual)

    def state(self) -> dict[str, np.ndarray]:
        fitted = self.penalty is not None
        n, genes, width = self.windows.shape
        return {"y_mean": self.y_mean, "penalty": np.array(self.penalty if fitted else 0.0), "scale": np.array(self.scale),
                "window_bits": pack_bits(self.windows.reshape(n, genes * width)),
                "dual": self.dual if fitted else np.zeros((genes, n))}

    def load_state(self, state: dict[str, np.ndarray], n_train: int, n_bins: int) -> None:
        genes, width = self.index.shape
        self.y_mean, self.scale = state["y_mean"], float(state["scale"])
        self.penalty = float(state["penalty"]) if float(state["penalty"]) > 0 else None  # 0: the mean won
        self.windows = unpack_bits(state["window_bits"], genes * width).reshape(n_train, genes, width)
        self.dual = state["dual"]
        if self.penalty is not None:
            self.K_train = local_gram(self.windows, self.windows)

    def state_shapes(self, n_train: int, n_bins: int) -> dict[str, tuple[int, ...]]:
        genes, width = self.index.shape
        return {"y_mean": (genes,), "penalty": (), "scale": (), "window_bits": (n_train, -(-genes * width // 8)), "dual": (genes, n_train)}

    def slot_weights(self) -> np.ndarray:
        """(genes, W) each window slot's primal weight in the gene's prediction (for an open bin, relative to the
        training samples' mean openness): the local kernel is linear, so w_g = Wc_g' dual_g / scale."""
        if self.penalty is None:
            return np.zeros(self.index.shape)
        centred = self.windows - self.windows.mean(0, keepdims=True)
        return np.einsum("ngw,gn->gw", centred, self.dual) / self.scale
