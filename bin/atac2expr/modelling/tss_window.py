"""The TSS-window model: one small network shared by all genes, reading the bins around each gene's TSS.

Design:
- Window. For a gene with TSS t (0-based, strand-aware, from the GTF) and half-width h = window // bin_size,
  slot k (k = 0 .. 2h) reads the bin that contains the genomic point t + (k - h) * bin_size on the
  plus strand and t + (h - k) * bin_size on the minus strand. So slot 0 is always the most upstream
  position relative to transcription, slot h is the TSS's own bin and slot 2h the most downstream.
  The width is W = 2h + 1 bins (window 50 kb, 1 kb bins -> 101 bins).
- Padding. A slot whose point is in no bin of the dataset (past the end of the region or of the
  chromosome, in a gap between two regions of a comma-separated list, or on a chromosome with no bins)
  reads 0 ("closed"), and a second channel, the mask, says 1 = the slot is inside the bins, 0 = padding.
  Bins are looked up by (chromosome, position), so a window never reads a bin of another chromosome.
- Network. input = [open (W), mask (W)] -> Linear(2W, hidden) -> ReLU -> Dropout -> Linear(hidden, 1),
  plus a learned per-gene offset (initialised to the gene's mean target over the training samples).
  The offset carries each gene's baseline level, which accessibility near the TSS cannot explain
  across genes; the shared weights carry how accessibility moves a gene away from its baseline.
  Because of the offset the model predicts only the genes it was trained on (as the MLP does).
- Bin values. The open channel reads the bins as they are: 0/1 (uint8) for binary bins, log1p of the
  strongest peak's signal (float32) for signal bins; the features keep the bins' dtype.
- Training. One example per (sample, gene); Adam on MSE over shuffled mini-batches (seeded). The
  (samples, genes, W) feature tensor is gathered with the precomputed (genes, W) index matrix
  (one vectorised gather per sample, no per-gene Python loop), or, when it would exceed
  MAX_FEATURE_BYTES, each batch's windows are gathered on demand from the (samples, bins + 1) matrix.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
from torch import nn

from .training import EpochTracker, TrainResult

log = logging.getLogger(__name__)

_POS_SPAN = np.int64(1) << np.int64(40)  # > any chromosome position; chrom code * span + position is a sort key


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


def _bin_dtype(X: np.ndarray) -> type:
    """The dtype the windows keep: float32 for signal bins, uint8 for 0/1 bins."""
    return np.float32 if np.asarray(X).dtype.kind == "f" else np.uint8


def window_features(X: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The (samples, genes, W) tensor of window accessibility, in the bins' dtype (padding reads 0). For inspection
    and small data; training gathers the same values batch by batch instead."""
    dtype = _bin_dtype(X)
    X_pad = np.concatenate([np.asarray(X, dtype=dtype), np.zeros((len(X), 1), dtype=dtype)], axis=1)
    return X_pad[:, index]


class TSSWindowNetwork(nn.Module):
    """[open (W), mask (W)] -> hidden (ReLU, dropout) -> 1, plus a per-gene offset."""

    def __init__(self, width: int, n_genes: int, hidden: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.width = width
        self.net = nn.Sequential(nn.Linear(2 * width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.gene_offset = nn.Embedding(n_genes, 1)
        nn.init.zeros_(self.gene_offset.weight)

    def init_offsets(self, gene_means: np.ndarray) -> None:
        with torch.no_grad():
            self.gene_offset.weight.copy_(torch.as_tensor(np.asarray(gene_means, dtype=np.float32)).reshape(-1, 1))

    def forward(self, open_: torch.Tensor, mask: torch.Tensor, gene: torch.Tensor) -> torch.Tensor:
        """open_, mask: (B, W) float; gene: (B,) long -> (B,) prediction."""
        return self.net(torch.cat([open_, mask], dim=1)).squeeze(1) + self.gene_offset(gene).squeeze(1)


MAX_FEATURE_BYTES = 4 << 30  # build the (samples, genes, W) feature tensor up front when it is at most this big


class _Windows:
    """Device-resident inputs of the model for a set of samples.

    When the (samples, genes, W) feature tensor fits in max_feature_bytes (50 samples x 20,000 genes x 101 bins
    is 0.1 GB of 0/1 bins, 0.4 GB of signal bins) it is gathered once, sample by sample, with the index matrix
    and a batch is a row lookup; otherwise each batch's windows are gathered from the (samples, bins + 1)
    matrix on demand.
    """

    def __init__(self, X: np.ndarray, index: np.ndarray, mask: np.ndarray, device: torch.device,
                 max_feature_bytes: int = MAX_FEATURE_BYTES) -> None:
        X = np.asarray(X, dtype=_bin_dtype(X))
        self.n_samples, self.n_genes = X.shape[0], index.shape[0]
        self.width = index.shape[1]
        self.index = torch.as_tensor(index, dtype=torch.long, device=device)
        self.mask = torch.as_tensor(mask, dtype=torch.float32, device=device)
        x = torch.as_tensor(X, device=device)
        x_pad = torch.zeros((X.shape[0], X.shape[1] + 1), dtype=x.dtype, device=device)
        x_pad[:, : X.shape[1]] = x
        self.precomputed = self.n_samples * self.n_genes * self.width * X.itemsize <= max_feature_bytes
        if self.precomputed:
            self.features = torch.empty((self.n_samples * self.n_genes, self.width), dtype=x.dtype, device=device)
            for i in range(self.n_samples):
                self.features[i * self.n_genes : (i + 1) * self.n_genes] = x_pad[i][self.index]
        else:
            self.x_pad = x_pad

    def batch(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """flat = sample * n_genes + gene -> (open (B, W), mask (B, W), gene (B,))."""
        sample = torch.div(flat, self.n_genes, rounding_mode="floor")
        gene = flat - sample * self.n_genes
        if self.precomputed:
            open_ = self.features[flat].to(torch.float32)
        else:
            open_ = self.x_pad[sample[:, None], self.index[gene]].to(torch.float32)
        return open_, self.mask[gene], gene


def _loss_over(model: TSSWindowNetwork, windows: _Windows, y: torch.Tensor, batch_size: int) -> float:
    total, n = 0.0, windows.n_samples * windows.n_genes
    model.eval()
    with torch.no_grad():
        for first in range(0, n, batch_size):
            flat = torch.arange(first, min(first + batch_size, n), device=y.device)
            open_, mask, gene = windows.batch(flat)
            total += float(((model(open_, mask, gene) - y.reshape(-1)[flat]) ** 2).sum())
    return total / max(n, 1)


def train_tss_window(
    model: TSSWindowNetwork, X: np.ndarray, Y: np.ndarray, index: np.ndarray, mask: np.ndarray, *,
    epochs: int, lr: float, weight_decay: float = 0.0, batch_size: int = 8192, seed: int = 1,
    X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None, patience: int = 0,
    device: torch.device = torch.device("cpu"), log_every: int | None = None,
) -> TrainResult:
    """Mini-batch Adam on MSE over all (sample, gene) pairs; Y is samples x genes in the target's units.

    The per-gene offsets start at the genes' means over X's samples. With validation data: validation
    MSE per epoch, early stopping after `patience` epochs without improvement, best weights restored.
    train_loss per epoch is the mean of the batch losses weighted by batch size.
    """
    model.to(device)
    model.init_offsets(np.asarray(Y, dtype=np.float64).mean(axis=0) if len(Y) else np.zeros(Y.shape[1]))
    windows = _Windows(X, index, mask, device)
    y = torch.as_tensor(np.asarray(Y, dtype=np.float32), device=device)
    has_val = X_val is not None and Y_val is not None and len(X_val) > 0
    if has_val:
        val_windows = _Windows(X_val, index, mask, device)
        yv = torch.as_tensor(np.asarray(Y_val, dtype=np.float32), device=device)
    n = windows.n_samples * windows.n_genes
    batch_size = max(1, min(batch_size, n))
    generator = torch.Generator(device="cpu").manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    tracker = EpochTracker(model, epochs, patience, has_val, log_every, logger=log)
    y_flat = y.reshape(-1)
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for first in range(0, n, batch_size):
            flat = perm[first : first + batch_size]
            open_, m, gene = windows.batch(flat)
            optimiser.zero_grad()
            loss = ((model(open_, m, gene) - y_flat[flat]) ** 2).mean()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(flat)
        val_loss = _loss_over(model, val_windows, yv, max(batch_size, 65536)) if has_val else None
        if tracker.end_epoch(epoch, total / n, val_loss):
            break
    return tracker.result()


@torch.no_grad()
def predict_tss_window(
    model: TSSWindowNetwork, X: np.ndarray, index: np.ndarray, mask: np.ndarray, *,
    batch_size: int = 65536, device: torch.device = torch.device("cpu"),
) -> np.ndarray:
    """samples x genes predictions (target units)."""
    model.to(device).eval()
    windows = _Windows(X, index, mask, device)
    n = windows.n_samples * windows.n_genes
    out = torch.empty(n, dtype=torch.float32, device=device)
    for first in range(0, n, batch_size):
        flat = torch.arange(first, min(first + batch_size, n), device=device)
        out[flat] = model(*windows.batch(flat))
    return out.reshape(windows.n_samples, windows.n_genes).cpu().numpy()
