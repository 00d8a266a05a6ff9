"""PyTorch models of expression from accessibility, their training, and the model file.

The model file is a torch.save() of plain data only (tensors, str, int, float, lists, dicts)
and is always loaded with weights_only=True, so loading never runs pickled code.
"""

from __future__ import annotations

import logging
import os
import platform
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from .cli import InputError
from .files import atomic_path
from .settings import TRANSFORMS

log = logging.getLogger(__name__)

MODEL_FORMAT = "atac2expr-model/2"


def transform_targets(tpm: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log1p":
        return np.log1p(tpm).astype(np.float32)
    if transform == "none":
        return tpm.astype(np.float32)
    raise InputError(f"--target_transform {transform}: choose one of {', '.join(TRANSFORMS)}")


def inverse_transform(values: np.ndarray, transform: str) -> np.ndarray:
    return np.expm1(values) if transform == "log1p" else values


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(requested: str) -> torch.device:
    """cpu, cuda or cuda:N; a GPU that this machine lacks is an error here, where training runs."""
    match = re.fullmatch(r"cpu|cuda(?::(\d+))?", str(requested))
    if not match:
        raise InputError(f"--device {requested}: choose cpu, cuda or cuda:N")
    if requested == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(f"--device {requested}: CUDA is not available on this machine (torch {torch.__version__}); use --device cpu")
    if match[1] is not None and int(match[1]) >= torch.cuda.device_count():
        raise InputError(f"--device {requested}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(requested)


def set_threads(threads: int) -> None:
    """Use the task's CPUs and no more: torch otherwise starts a thread per core of the machine, and tasks
    sharing a node slow each other down many times over."""
    if threads < 1:
        raise InputError(f"--threads {threads}: must be at least 1")
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


class ExpressionMLP(nn.Module):
    """The original study's network: bins -> hidden (ReLU) -> genes."""

    def __init__(self, n_bins: int, n_genes: int, hidden: int = 500, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_bins, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_genes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@torch.no_grad()
def predict(model: nn.Module, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
    model.to(device).eval()
    return model(torch.as_tensor(X, dtype=torch.float32, device=device)).cpu().numpy()


def software_versions() -> dict[str, str]:
    # str(): torch.__version__ is a TorchVersion, which torch.load(weights_only=True) refuses to unpickle
    return {"atac2expr": str(__version__), "torch": str(torch.__version__), "numpy": str(np.__version__), "python": platform.python_version()}


def save_model(path: str | Path, model: nn.Module, meta: dict[str, Any]) -> None:
    """Weights (state dict, on the CPU) plus the metadata needed to reuse them."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"format": MODEL_FORMAT, "meta": {**meta, "versions": software_versions()}, "state_dict": state}, tmp)


def load_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, state_dict) of a model file; never unpickles code (weights_only=True)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a foreign or corrupt file
        raise InputError(f"{path}: not a model file written by train_model ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise InputError(f"{path}: not a model file written by train_model (format marker missing)")
    return payload["meta"], payload["state_dict"]


def constant_columns(Y: np.ndarray) -> np.ndarray:
    """The genes (columns) whose targets do not vary across the samples (rows); every gene when there are none."""
    return np.ptp(np.asarray(Y), axis=0) == 0 if len(Y) else np.ones(np.asarray(Y).shape[1], dtype=bool)


def gene_variance_report(Y: np.ndarray, gene_ids: np.ndarray) -> list[str]:
    """Ids of the genes whose targets do not vary across the given samples (logged as a warning)."""
    Y = np.asarray(Y)
    constant = np.asarray(gene_ids).astype(str)[constant_columns(Y)]
    if len(constant):
        log.warning(
            "%d of %d genes have no variance across the %d samples (kept for training; a mean predicts them exactly): %s%s",
            len(constant), Y.shape[1], Y.shape[0], ", ".join(constant[:10]), " ..." if len(constant) > 10 else "",
        )
    return [str(g) for g in constant]


def mean_baseline_mse(Y: np.ndarray) -> float:
    """MSE of predicting each gene's mean over the same samples (population variance, averaged over genes)."""
    Y = np.asarray(Y, dtype=np.float64)
    return float(np.mean((Y - Y.mean(axis=0, keepdims=True)) ** 2)) if Y.size else float("nan")


class TrainResult:
    """Loss curves of one training run; best_epoch is 1-based (the epoch whose weights were kept)."""

    def __init__(self, train_loss: list[float], val_loss: list[float], best_epoch: int) -> None:
        self.train_loss = train_loss
        self.val_loss = val_loss
        self.best_epoch = best_epoch

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)


class EarlyStopping:
    """Keeps the weights of the epoch with the lowest validation loss; says stop after `patience` worse epochs.

    patience <= 0 or no validation data: never stops early and keeps the last weights.
    """

    def __init__(self, model: nn.Module, patience: int) -> None:
        self.model = model
        self.patience = patience
        self.best = float("inf")
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, val_loss: float) -> bool:
        """Record epoch (1-based); True when training should stop."""
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, epoch
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return False
        return self.patience > 0 and epoch - self.best_epoch >= self.patience

    def restore(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)


class EpochTracker:
    """Bookkeeping shared by the training loops: losses per epoch, a progress line every ~10% of the
    epochs, early stopping on the validation loss and, at the end, the best epoch's weights."""

    def __init__(self, model: nn.Module, epochs: int, patience: int, has_val: bool, log_every: int | None = None,
                 logger: logging.Logger = log) -> None:
        self.stopper = EarlyStopping(model, patience)
        self.epochs, self.patience, self.has_val, self.log = epochs, patience, has_val, logger
        self.every = log_every or max(1, epochs // 10)
        self.train_losses: list[float] = []
        self.val_losses: list[float] = []

    def end_epoch(self, epoch: int, train_loss: float, val_loss: float | None = None) -> bool:
        """Record epoch (1-based); True when training should stop."""
        self.train_losses.append(train_loss)
        stop = False
        if val_loss is not None:
            self.val_losses.append(val_loss)
            stop = self.stopper.update(epoch, val_loss)
        if epoch == 1 or epoch % self.every == 0 or stop:
            self.log.info("epoch %d/%d: training MSE %.5f%s", epoch, self.epochs, train_loss,
                          f", validation MSE {val_loss:.5f}" if val_loss is not None else "")
        if stop:
            self.log.info("early stop at epoch %d: no validation improvement for %d epochs (best epoch %d)",
                          epoch, self.patience, self.stopper.best_epoch)
        return stop

    def result(self) -> TrainResult:
        if self.has_val:
            self.stopper.restore()
            return TrainResult(self.train_losses, self.val_losses, self.stopper.best_epoch)
        return TrainResult(self.train_losses, self.val_losses, len(self.train_losses))


def train_full_batch(
    model: nn.Module, X: np.ndarray, Y: np.ndarray, *, epochs: int, lr: float, weight_decay: float = 0.0,
    X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None, patience: int = 0,
    device: torch.device = torch.device("cpu"), log_every: int | None = None,
) -> TrainResult:
    """Full-batch Adam on MSE (the sample counts are tens, not millions), with an optional validation set:
    validation MSE per epoch, early stopping after `patience` epochs without improvement, and the best
    epoch's weights restored. Without validation data it runs all epochs and keeps the last weights.
    """
    model.to(device)
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    y = torch.as_tensor(Y, dtype=torch.float32, device=device)
    has_val = X_val is not None and Y_val is not None and len(X_val) > 0
    if has_val:
        xv = torch.as_tensor(X_val, dtype=torch.float32, device=device)
        yv = torch.as_tensor(Y_val, dtype=torch.float32, device=device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.MSELoss()
    tracker = EpochTracker(model, epochs, patience, has_val, log_every)
    for epoch in range(1, epochs + 1):
        model.train()
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        val_loss = None
        if has_val:
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(model(xv), yv))
        if tracker.end_epoch(epoch, float(loss.detach()), val_loss):
            break
    return tracker.result()
