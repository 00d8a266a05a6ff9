"""Integrated gradients of the pipeline's networks, computed exactly (no sampling of the path).

Both networks have one hidden ReLU layer: f(x) = W2 relu(W1 x + c) + b, where x is what is attributed (the bins;
tss_window's open channel) and c the rest of the pre-activation (the bias; tss_window's mask channel too).
Dropout is the identity at prediction. Integrated gradients (Sundararajan et al. 2017) from the baseline 0
(every bin closed) to x integrate the gradient along alpha * x, alpha in [0, 1]: the pre-activation of hidden
unit h is alpha * a_h + c_h with a = W1 x, so the unit is active on a part of [0, 1] whose length phi_h is known
exactly, and

    IG_i(x) = x_i * sum_h W1[h, i] * phi_h * W2[out, h]

Their sum over the inputs is f(x) - f(0) (completeness: tests/test_links.py checks it). Unlike gradient x input,
a unit that switches on halfway along the path counts for half.
"""

from __future__ import annotations

import numpy as np


def active_fraction(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The share of alpha in [0, 1] where alpha * a + c > 0, elementwise."""
    a = np.asarray(a, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(a != 0, -c / np.where(a != 0, a, 1.0), 0.0)  # where the pre-activation crosses 0
    rising = np.clip(1.0 - root, 0.0, 1.0)  # a > 0: active for alpha > root
    falling = np.clip(root, 0.0, 1.0)  # a < 0: active for alpha < root
    return np.where(a > 0, rising, np.where(a < 0, falling, (c > 0).astype(np.float64)))


def path_weights(X: np.ndarray, W1: np.ndarray, c: np.ndarray) -> np.ndarray:
    """phi (rows x hidden) of each row of X (rows x inputs) for the layer W1 (hidden x inputs) with offsets c
    (hidden, or rows x hidden)."""
    X = np.asarray(X, dtype=np.float64)
    return active_fraction(X @ np.asarray(W1, dtype=np.float64).T, c)


def integrated_gradients(X: np.ndarray, W1: np.ndarray, c: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """rows x outputs x inputs attributions of f(x) = W2 relu(W1 x + c) (dense: for tests and small layers)."""
    X = np.asarray(X, dtype=np.float64)
    phi = path_weights(X, W1, c)
    W1 = np.asarray(W1, dtype=np.float64)
    W2 = np.asarray(W2, dtype=np.float64)
    return np.einsum("oh,rh,hi,ri->roi", W2, phi, W1, X)


def pair_sums(left: np.ndarray, right: np.ndarray, rows_left: np.ndarray, rows_right: np.ndarray,
              chunk: int = 1 << 15) -> np.ndarray:
    """sum_h left[rows_left[k], h] * right[rows_right[k], h] for every k, in chunks (the pairs can be millions)."""
    out = np.empty(len(rows_left))
    for first in range(0, len(rows_left), chunk):
        part = slice(first, first + chunk)
        out[part] = np.einsum("kh,kh->k", left[rows_left[part]], right[rows_right[part]])
    return out
