"""The TSS window and the similarity of cell types together: the model that beats ridge on real cell types.

Two things predict a gene's expression in a new sample, and real data needs both:
1. its own chromatin: the TSS-window rule (tss_window.py: weights shared by all genes, by distance to the TSS,
   on each gene's standardised deviation from its mean, kappa by leave-one-out);
2. which training samples the new one resembles, over all its open chromatin (what ridge on all bins exploits):
   per gene, kernel ridge on what the rule leaves, with one kernel shared by all genes, the cosine similarity of
   the samples' open bins (shared open bins divided by the square roots of each sample's open bins: peak calls
   vary about twofold in number between samples, and raw counts would make the deepest sample everyone's
   neighbour), centred on the training samples and scaled by its mean diagonal.
One penalty, shared by all genes, comes from PENALTIES by exact leave-one-out over the training samples (the rule
refitted without the left-out sample too), pooled over genes; the per-gene training mean is a candidate and wins
unless the best penalty beats it by more than one standard error (kernels.choose_with_mean_gate).

On 14 sorted blood cell types (22 chromosomes at 1 kb, 5-fold cross-validation) it beats ridge on all bins on every
chromosome in overall R², median per-gene R² and the share of genes better than the mean (docs/models.md, real data).
"""

from __future__ import annotations

import numpy as np

from ..dataset import pack_bits, unpack_bits
from . import kernels
from .tss_window import TSSWindowRule, deviation, fit_theta

PENALTIES = (1e-3, 1e-2, 0.1, 1.0)


def _scaled(Kc: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.trace(Kc) / len(Kc))
    return (Kc / scale if scale > 0 else Kc), (scale if scale > 0 else 1.0)


class TSSSimilarity:
    """The fitted model: the TSS-window rule, the training samples' open bins, the penalty and the dual coefficients."""

    def __init__(self, index: np.ndarray, classes: np.ndarray) -> None:
        self.rule = TSSWindowRule(index, classes)

    def _similarity(self, X: np.ndarray, open_counts: np.ndarray) -> np.ndarray:
        """Cosine similarity of X's samples (rows) to the training samples."""
        return kernels.cosine(kernels.open_gram(X, self.train_open), (np.asarray(X) > 0).sum(axis=1), open_counts)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> dict:
        Y = np.asarray(Y, dtype=np.float64)
        n = len(Y)
        A = self.rule.class_sums_of(X)
        info = {f"rule_{k}": v for k, v in self.rule.fit(X, Y, A).items()}
        self.y_mean = Y.mean(0)
        self.train_open = (np.asarray(X) > 0).astype(np.uint8)
        self.open_counts = self.train_open.sum(axis=1).astype(np.float64)
        K = self._similarity(X, self.open_counts)
        errors: dict = {kernels.MEAN: np.zeros(n), **{p: np.zeros(n) for p in PENALTIES}}
        everyone = np.arange(n)
        for i in range(n if n >= 3 else 0):
            T = np.delete(everyone, i)
            theta, y_mean, y_sd, a_mean = fit_theta(A[T], Y[T])
            base = y_mean + self.rule.kappa * deviation(theta, y_sd, a_mean, A)
            R = Y - base
            K_train = K[np.ix_(T, T)]
            Kc, scale = _scaled(kernels.centre_train(K_train))
            ridge = kernels.EigenRidge(Kc, R[T])
            K_left = kernels.centre_cross(K[np.ix_([i], T)], K_train) / scale
            errors[kernels.MEAN][i] = float(((Y[T].mean(0) - Y[i]) ** 2).sum())
            for penalty in PENALTIES:
                predicted = base[i] + ridge.r_mean + kernels.apply_dual(K_left, ridge.dual(penalty))[0]
                errors[penalty][i] = float(((predicted - Y[i]) ** 2).sum())
        best = kernels.choose_with_mean_gate(errors, {p: p for p in PENALTIES}) if n >= 3 else kernels.MEAN
        self.penalty = None if best == kernels.MEAN else float(best)
        info.update({"penalty": self.penalty, "loo_error": {str(k): float(v.sum()) for k, v in errors.items()}})
        if self.penalty is None:
            return info
        R = Y - (self.rule.y_mean + self.rule.kappa * deviation(self.rule.theta, self.rule.y_sd, self.rule.a_mean, A))
        self.K_train = K
        Kc, self.scale = _scaled(kernels.centre_train(K))
        ridge = kernels.EigenRidge(Kc, R)
        self.r_mean, self.dual = ridge.r_mean, ridge.dual(self.penalty)
        return info

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.penalty is None:
            return np.tile(self.y_mean, (len(X), 1))
        K_new = kernels.centre_cross(self._similarity(X, self.open_counts), self.K_train) / self.scale
        return self.rule.predict(X) + self.r_mean + kernels.apply_dual(K_new, self.dual)

    def state(self) -> dict[str, np.ndarray]:
        fitted = self.penalty is not None
        n, genes = len(self.train_open), len(self.y_mean)
        return {**{f"rule_{k}": v for k, v in self.rule.state().items()}, "y_mean": self.y_mean,
                "penalty": np.array(self.penalty if fitted else 0.0), "scale": np.array(self.scale if fitted else 1.0),
                "open_bits": pack_bits(self.train_open), "r_mean": self.r_mean if fitted else np.zeros(genes),
                "dual": self.dual if fitted else np.zeros((genes, n))}

    def load_state(self, state: dict[str, np.ndarray], n_train: int, n_bins: int) -> None:
        self.rule.load_state({k.removeprefix("rule_"): v for k, v in state.items() if k.startswith("rule_")})
        self.y_mean, self.r_mean, self.dual = state["y_mean"], state["r_mean"], state["dual"]
        self.penalty = float(state["penalty"]) if float(state["penalty"]) > 0 else None  # 0: the mean won
        self.scale = float(state["scale"])
        self.train_open = unpack_bits(state["open_bits"], n_bins)
        self.open_counts = self.train_open.sum(axis=1).astype(np.float64)
        if self.penalty is not None:
            self.K_train = self._similarity(self.train_open, self.open_counts)

    def state_shapes(self, n_train: int, n_bins: int) -> dict[str, tuple[int, ...]]:
        genes = len(self.rule.index)
        return {**{f"rule_{k}": v for k, v in self.rule.state_shapes(n_train, n_bins).items()}, "y_mean": (genes,), "penalty": (),
                "scale": (), "open_bits": (n_train, -(-n_bins // 8)), "r_mean": (genes,), "dual": (genes, n_train)}
