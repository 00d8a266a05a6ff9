"""The original study's network: bins -> hidden (ReLU, dropout) -> one output per gene."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .training import EpochTracker, TrainResult


class MLPNetwork(nn.Module):
    """bins -> hidden (ReLU, dropout) -> genes."""

    def __init__(self, n_bins: int, n_genes: int, hidden: int = 500, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_bins, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_genes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@torch.no_grad()
def predict_mlp(model: nn.Module, X: np.ndarray, device: torch.device = torch.device("cpu")) -> np.ndarray:
    model.to(device).eval()
    return model(torch.as_tensor(X, dtype=torch.float32, device=device)).cpu().numpy()


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
