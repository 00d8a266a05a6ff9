"""The modelling dataset: features (samples x bins) joined with targets (samples x genes).

Stored as one .npz (no pickled objects: strings are fixed-width unicode arrays), so numpy,
pandas and torch read it without parsing text:
  X            uint8   samples x bins    1 = an ATAC peak overlaps the bin
  Y            float32 samples x genes   TPM (not transformed)
  samples      str     sample ids, row order of X and Y
  bin_chrom, bin_start, bin_end          bins (0-based half-open)
  gene_id, gene_name, gene_chrom, gene_start, gene_end, gene_strand, gene_tss
  region       str     the region string (1-based, as given to --region, normalised)
  bin_size     int
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .cli import InputError
from .files import atomic_path

GENE_FIELDS = ["gene_id", "gene_name", "chrom", "start", "end", "strand", "tss"]


@dataclass
class Dataset:
    X: np.ndarray
    Y: np.ndarray
    samples: np.ndarray
    bins: pd.DataFrame  # chrom, start, end
    genes: pd.DataFrame  # GENE_FIELDS
    region: str
    bin_size: int

    def __post_init__(self) -> None:
        n = len(self.samples)
        if self.X.shape != (n, len(self.bins)) or self.Y.shape != (n, len(self.genes)):
            raise ValueError(f"inconsistent dataset shapes X{self.X.shape} Y{self.Y.shape} for {n} samples, {len(self.bins)} bins, {len(self.genes)} genes")

    def subset(self, rows: np.ndarray) -> "Dataset":
        return Dataset(self.X[rows], self.Y[rows], self.samples[rows], self.bins, self.genes, self.region, self.bin_size)


def save_dataset(ds: Dataset, path: str | Path) -> None:
    arrays = {
        "X": ds.X.astype(np.uint8), "Y": ds.Y.astype(np.float32), "samples": ds.samples.astype(str),
        "bin_chrom": ds.bins["chrom"].to_numpy(str), "bin_start": ds.bins["start"].to_numpy(np.int64),
        "bin_end": ds.bins["end"].to_numpy(np.int64),
        "region": np.array(ds.region), "bin_size": np.array(ds.bin_size, dtype=np.int64),
    }
    for field in GENE_FIELDS:
        values = ds.genes[field].to_numpy()
        arrays[f"gene_{field}" if not field.startswith("gene_") else field] = values.astype(np.int64 if field in ("start", "end", "tss") else str)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def load_dataset(path: str | Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a dataset .npz written by build_matrix ({err})") from None
    genes = pd.DataFrame({field: data[f"gene_{field}" if not field.startswith("gene_") else field] for field in GENE_FIELDS})
    bins = pd.DataFrame({"chrom": data["bin_chrom"], "start": data["bin_start"], "end": data["bin_end"]})
    return Dataset(data["X"], data["Y"], data["samples"], bins, genes, str(data["region"]), int(data["bin_size"]))
