"""PyTorch models of expression from accessibility, their training, and the model file.

The model file is a torch.save() of plain data only (tensors, str, int, float, lists, dicts)
and is always loaded with weights_only=True, so loading never runs pickled code.
"""

from __future__ import annotations

import logging
import platform
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from .cli import InputError
from .files import atomic_path

log = logging.getLogger(__name__)

TRANSFORMS = ("log1p", "none")


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
    if requested == "cpu":
        return torch.device("cpu")
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {requested}: CUDA is not available on this machine (torch {torch.__version__}); use --device cpu")
        return torch.device(requested)
    raise InputError(f"--device {requested}: choose cpu or cuda")


class ExpressionMLP(nn.Module):
    """The original study's network: bins -> hidden (ReLU) -> genes."""

    def __init__(self, n_bins: int, n_genes: int, hidden: int = 500, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_bins, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_genes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train_full_batch(
    model: nn.Module, X: np.ndarray, Y: np.ndarray, *, epochs: int, lr: float,
    weight_decay: float = 0.0, device: torch.device = torch.device("cpu"),
) -> list[float]:
    """Full-batch Adam on MSE (the sample counts here are tens, not millions). Returns loss per epoch."""
    model.to(device)
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    y = torch.as_tensor(Y, dtype=torch.float32, device=device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    model.train()
    for epoch in range(epochs):
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if epoch == 0 or (epoch + 1) % max(1, epochs // 10) == 0:
            log.info("epoch %d/%d: training MSE %.5f", epoch + 1, epochs, losses[-1])
    return losses


@torch.no_grad()
def predict(model: nn.Module, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
    model.to(device).eval()
    return model(torch.as_tensor(X, dtype=torch.float32, device=device)).cpu().numpy()


def software_versions() -> dict[str, str]:
    return {"atac2expr": __version__, "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}


def save_model(path: str | Path, model: nn.Module, meta: dict[str, Any]) -> None:
    """Weights (state dict, on the CPU) plus the metadata needed to reuse them."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"format": "atac2expr-model/1", "meta": {**meta, "versions": software_versions()}, "state_dict": state}, tmp)


def load_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, state_dict) of a model file; never unpickles code (weights_only=True)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a foreign or corrupt file
        raise InputError(f"{path}: not a model file written by train_model ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") != "atac2expr-model/1":
        raise InputError(f"{path}: not a model file written by train_model (format marker missing)")
    return payload["meta"], payload["state_dict"]
