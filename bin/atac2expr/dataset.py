"""The files of binned accessibility: one sample's bins, and the modelling dataset.

Both are .npz files without pickled objects (strings are fixed-width unicode arrays), so numpy,
pandas and torch read them without parsing text, and 0/1 values are bit-packed along the bins
(np.packbits: 8 bins per byte; a genome of 3.1 M bins is 386 kB per sample).

Sample bins (<sample>.bins.npz, written by binarize_peaks.py):
  sample       str     the sample id
  open_bits    uint8   packed 0/1 per bin (1 = an ATAC peak overlaps the bin)
  n_bins       int
  region_chrom, region_start, region_end, bin_size    the bin layout (regions.BinLayout)

Dataset (dataset.npz, written by build_matrix.py):
  X_bits       uint8   samples x ceil(bins / 8), packed 0/1 per bin
  n_bins       int
  Y            float64 samples x genes, TPM (not transformed, full precision)
  samples      str     sample ids, row order of X and Y
  region_chrom, region_start, region_end, bin_size    the bin layout; bins are derived from it
  gene_id, gene_name, gene_biotype, gene_chrom, gene_start, gene_end, gene_strand, gene_tss
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .cli import InputError
from .files import atomic_path
from .formats import GENES, gene_array_name
from .regions import BinLayout


def pack_bits(values: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(values, dtype=np.uint8) != 0, axis=-1)


def unpack_bits(bits: np.ndarray, n_bins: int) -> np.ndarray:
    return np.unpackbits(bits, axis=-1, count=n_bins)


def _save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def _load_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: not a {what} ({err})") from None


@dataclass
class SampleBins:
    sample: str
    values: np.ndarray  # uint8 0/1 per bin
    layout: BinLayout


def save_sample_bins(path: str | Path, bins: SampleBins) -> None:
    if len(bins.values) != bins.layout.n_bins:
        raise ValueError(f"{len(bins.values)} values for {bins.layout.n_bins} bins")
    _save_npz(path, {"sample": np.array(bins.sample), "open_bits": pack_bits(bins.values),
                     "n_bins": np.array(bins.layout.n_bins, dtype=np.int64), **bins.layout.to_arrays()})


def load_sample_bins(path: str | Path, layout: BinLayout | None = None) -> SampleBins:
    """A sample's bins; refused unless its layout is `layout` (when given)."""
    data = _load_npz(path, "sample bins file written by binarize_peaks.py")
    try:
        file_layout = BinLayout.from_arrays(data)
        n_bins = int(data["n_bins"])
        values = unpack_bits(data["open_bits"], n_bins)
        sample = str(data["sample"])
    except (KeyError, ValueError, InputError) as err:
        raise InputError(f"{path}: not a sample bins file written by binarize_peaks.py ({err})") from None
    if n_bins != file_layout.n_bins:
        raise InputError(f"{path}: {n_bins} bins, its layout has {file_layout.n_bins}")
    if layout is not None and file_layout != layout:
        raise InputError(f"{path}: binned on {file_layout.describe()}, expected {layout.describe()}; binarise the peaks again")
    return SampleBins(sample, values, file_layout)


@dataclass
class Dataset:
    X: np.ndarray  # uint8 samples x bins
    Y: np.ndarray  # float64 samples x genes, TPM
    samples: np.ndarray
    layout: BinLayout
    genes: pd.DataFrame  # formats.GENES

    def __post_init__(self) -> None:
        n = len(self.samples)
        if self.X.shape != (n, self.layout.n_bins) or self.Y.shape != (n, len(self.genes)):
            raise ValueError(f"inconsistent dataset shapes X{self.X.shape} Y{self.Y.shape} for {n} samples, "
                             f"{self.layout.n_bins} bins, {len(self.genes)} genes")

    @cached_property
    def bins(self) -> pd.DataFrame:
        """chrom, start, end of every column of X (a region's last bin may be shorter)."""
        return self.layout.bins()

    @property
    def bin_size(self) -> int:
        return self.layout.bin_size

    @property
    def region(self) -> str:
        return self.layout.describe()



def genes_to_arrays(genes: pd.DataFrame) -> dict[str, np.ndarray]:
    ints = set(GENES.of_type("int"))
    return {gene_array_name(f): genes[f].to_numpy().astype(np.int64 if f in ints else str) for f in GENES.columns}


def genes_from_arrays(arrays) -> pd.DataFrame:
    return pd.DataFrame({f: np.asarray(arrays[gene_array_name(f)]) for f in GENES.columns})


def save_dataset(ds: Dataset, path: str | Path) -> None:
    arrays = {
        "X_bits": pack_bits(ds.X), "n_bins": np.array(ds.layout.n_bins, dtype=np.int64),
        "Y": np.asarray(ds.Y, dtype=np.float64), "samples": ds.samples.astype(str),
        **ds.layout.to_arrays(), **genes_to_arrays(ds.genes),
    }
    _save_npz(path, arrays)


def load_dataset(path: str | Path) -> Dataset:
    data = _load_npz(path, "dataset .npz written by build_matrix.py")
    try:
        layout = BinLayout.from_arrays(data)
        X = unpack_bits(data["X_bits"], int(data["n_bins"]))
        return Dataset(X, data["Y"], data["samples"], layout, genes_from_arrays(data))
    except (KeyError, ValueError, InputError) as err:
        raise InputError(f"{path}: not a dataset .npz written by build_matrix.py ({err})") from None
