"""What every training loop of the networks shares: losses per epoch, progress lines, early stopping on the
validation samples and the best epoch's weights."""

from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


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
