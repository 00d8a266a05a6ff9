"""Where and how torch runs: seeds, the device, the task's threads, and the versions a model file records."""

from __future__ import annotations

import os
import platform
import random
import re

import numpy as np
import torch

from .. import __version__
from ..cli import InputError


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


def software_versions() -> dict[str, str]:
    # str(): torch.__version__ is a TorchVersion, which torch.load(weights_only=True) refuses to unpickle
    return {"atac2expr": str(__version__), "torch": str(torch.__version__), "numpy": str(np.__version__), "python": platform.python_version()}
