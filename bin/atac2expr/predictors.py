"""The trainable models behind one interface: fit on samples x bins -> samples x genes, predict, save, load.

Used by train_model.py (fit on all samples, save), evaluate.py (fit per fold) and predict.py (load, predict).
Kinds:
  mlp         models.ExpressionMLP (bins -> hidden -> genes), full-batch Adam (the original study's fit)
  tss_window  tss_window.TSSWindowModel (bins around each gene's TSS, weights shared by genes), mini-batches
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import models, tss_window
from .cli import InputError

log = logging.getLogger(__name__)

MODEL_KINDS = ("mlp", "tss_window")
DEFAULT_HIDDEN = {"mlp": 500, "tss_window": 64}


@dataclass
class FitParams:
    kind: str = "mlp"
    hidden: int | None = None  # None: DEFAULT_HIDDEN[kind]
    dropout: float = 0.0
    epochs: int = 1000
    lr: float = 1e-3
    weight_decay: float = 0.0
    window: int = 50_000  # tss_window: bp either side of the TSS
    batch_size: int = 8192  # tss_window: (sample, gene) examples per step
    patience: int = 0  # early stopping (only with validation data); 0 = off
    seed: int = 1

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise InputError(f"--model {self.kind}: choose one of {', '.join(MODEL_KINDS)}")
        if self.hidden is None:
            self.hidden = DEFAULT_HIDDEN[self.kind]
        for name in ("hidden", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name} {getattr(self, name)}: must be at least 1")
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout {self.dropout}: must be in [0, 1)")
        if self.lr <= 0:
            raise InputError(f"--lr {self.lr}: must be positive")
        if self.weight_decay < 0:
            raise InputError(f"--weight_decay {self.weight_decay}: must be >= 0")
        if self.window < 0:
            raise InputError(f"--window {self.window}: must be >= 0 bp")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Geometry:
    """What a model needs to know about its inputs and outputs besides the numbers."""

    bins: pd.DataFrame  # chrom, start, end
    genes: pd.DataFrame  # gene_id, gene_name, chrom, start, end, strand, tss
    bin_size: int
    region: str

    @classmethod
    def of(cls, ds) -> "Geometry":
        return cls(ds.bins, ds.genes, int(ds.bin_size), str(ds.region))


class Predictor:
    """A model plus what it takes to run it on samples x bins."""

    def __init__(self, kind: str, model: nn.Module, geometry: Geometry, params: FitParams) -> None:
        self.kind, self.model, self.geometry, self.params = kind, model, geometry, params
        self._index: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def window_index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._index is None:
            g = self.geometry
            self._index = tss_window.build_window_index(
                g.bins, g.genes["chrom"].to_numpy(str), g.genes["tss"].to_numpy(np.int64),
                g.genes["strand"].to_numpy(str), g.bin_size, self.params.window)
        return self._index

    def predict(self, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
        """samples x genes, in the target's (transformed) units."""
        if X.shape[1] != len(self.geometry.bins):
            raise InputError(f"{X.shape[1]} bins given to a model of {len(self.geometry.bins)} bins")
        if self.kind == "mlp":
            return models.predict(self.model, X, device)
        index, mask = self.window_index
        return tss_window.predict_tss_window(self.model, X, index, mask, device=device)


def build(params: FitParams, geometry: Geometry) -> Predictor:
    n_bins, n_genes = len(geometry.bins), len(geometry.genes)
    if params.kind == "mlp":
        model: nn.Module = models.ExpressionMLP(n_bins, n_genes, params.hidden, params.dropout)
    else:
        model = tss_window.TSSWindowModel(tss_window.window_width(params.window, geometry.bin_size), n_genes, params.hidden, params.dropout)
    return Predictor(params.kind, model, geometry, params)


def fit(
    params: FitParams, geometry: Geometry, X: np.ndarray, Y: np.ndarray, *,
    X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None,
    device: torch.device = torch.device("cpu"),
) -> tuple[Predictor, models.TrainResult]:
    """Seed, build and train a model on X (samples x bins) -> Y (samples x genes, transformed units).

    Without validation data (or patience 0 and no validation) the MLP gets exactly models.train_full_batch's
    updates. Same seed and inputs -> same weights on the CPU.
    """
    models.seed_everything(params.seed)
    predictor = build(params, geometry)
    if params.kind == "mlp":
        result = models.train_full_batch_validated(
            predictor.model, X, Y, epochs=params.epochs, lr=params.lr, weight_decay=params.weight_decay,
            X_val=X_val, Y_val=Y_val, patience=params.patience, device=device)
    else:
        index, mask = predictor.window_index
        inside = mask.any(axis=1)
        if not inside.all():
            log.warning("%d of %d genes have no bin within %d bp of their TSS; the TSS-window model gives each of them one value for every sample (its per-gene offset, about its training mean)",
                        int((~inside).sum()), len(inside), params.window)
        result = tss_window.train_tss_window(
            predictor.model, X, Y, index, mask, epochs=params.epochs, lr=params.lr, weight_decay=params.weight_decay,
            batch_size=params.batch_size, seed=params.seed, X_val=X_val, Y_val=Y_val, patience=params.patience, device=device)
    predictor.model.to("cpu")
    return predictor, result


def model_meta(predictor: Predictor, *, target_transform: str, n_train_samples: int, train_samples: list[str]) -> dict[str, Any]:
    """Everything predict.py needs besides the weights (plain data only: loads with weights_only=True)."""
    g, p = predictor.geometry, predictor.params
    genes = g.genes
    return {
        "model": predictor.kind,
        "region": g.region,
        "bin_size": g.bin_size,
        "n_bins": len(g.bins),
        "bins": models.encode_bins(g.bins["chrom"].to_numpy(str), g.bins["start"].to_numpy(np.int64), g.bin_size),
        "gene_ids": genes["gene_id"].astype(str).tolist(),
        "gene_names": genes["gene_name"].astype(str).tolist(),
        "gene_chrom": genes["chrom"].astype(str).tolist(),
        "gene_start": [int(v) for v in genes["start"]],
        "gene_end": [int(v) for v in genes["end"]],
        "gene_strand": genes["strand"].astype(str).tolist(),
        "gene_tss": [int(v) for v in genes["tss"]],
        "hidden": int(p.hidden),
        "dropout": float(p.dropout),
        "window": int(p.window),
        "window_bins": tss_window.window_width(p.window, g.bin_size) if predictor.kind == "tss_window" else None,
        "target_transform": target_transform,
        "seed": int(p.seed),
        "n_train_samples": int(n_train_samples),
        "train_samples": [str(s) for s in train_samples],
        "params": p.as_dict(),
    }


def save(path: str | Path, predictor: Predictor, meta: dict[str, Any]) -> None:
    models.save_model(path, predictor.model, meta)


REQUIRED_META = ("model", "region", "bin_size", "bins", "gene_ids", "gene_names", "gene_chrom", "gene_strand", "gene_tss", "hidden", "target_transform")


def load(path: str | Path) -> tuple[dict[str, Any], Predictor]:
    """(meta, predictor) of a model file written by train_model.py (loaded with weights_only=True)."""
    meta, state = models.load_model_file(path)
    missing = [key for key in REQUIRED_META if key not in meta]
    if missing or meta.get("model") not in MODEL_KINDS:
        raise InputError(f"{path}: model file lacks {', '.join(missing) or 'a known model kind'}; was it written by train_model.py?")
    bin_size = int(meta["bin_size"])
    bins = models.decode_bins(meta["bins"], bin_size)
    n_genes = len(meta["gene_ids"])
    genes = pd.DataFrame({
        "gene_id": meta["gene_ids"], "gene_name": meta["gene_names"], "chrom": meta["gene_chrom"],
        "start": meta.get("gene_start", meta["gene_tss"]), "end": meta.get("gene_end", meta["gene_tss"]),
        "strand": meta["gene_strand"], "tss": np.asarray(meta["gene_tss"], dtype=np.int64),
    })
    saved = dict(meta.get("params") or {})
    params = FitParams(kind=meta["model"], hidden=int(meta["hidden"]), dropout=float(meta.get("dropout", 0.0)),
                       window=int(meta.get("window") or 0), seed=int(meta.get("seed", 1)),
                       **{k: saved[k] for k in ("epochs", "lr", "weight_decay", "batch_size", "patience") if k in saved})
    predictor = build(params, Geometry(bins, genes, bin_size, str(meta["region"])))
    try:
        predictor.model.load_state_dict(state)
    except RuntimeError as err:
        raise InputError(f"{path}: weights do not fit a {meta['model']} model of {len(bins)} bins and {n_genes} genes ({str(err).splitlines()[0]})") from None
    predictor.model.eval()
    return meta, predictor
