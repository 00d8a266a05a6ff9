"""The files of binned accessibility: one sample's bins, and the modelling dataset.

Both are .npz files without pickled objects (strings are fixed-width unicode arrays), so numpy,
pandas and torch read them without parsing text. Which bins are nonzero is bit-packed along the bins
(np.packbits: 8 bins per byte; a genome of 3.1 M bins is 386 kB per sample); that is the whole of binary
(0/1) bins, and signal bins add their nonzero values (formats.BIN_VALUES says what each kind holds).

Every file also holds each bin's activity, whatever the bin value (peaks.bin_activity: the strongest overlapping
peak's signalValue as the file gives it, or 1 per overlapped bin when the peaks have no signal; activity_kind says
which), stored the same way: the packed mask of nonzero activity and its values. The models read the bins; what reads
one sample's own chromatin (links' activity-by-contact, promoter signal) reads the activity. A file without it (written
before activity existed) has the activity its bins imply: 1 per open binary bin, expm1 of a signal bin.

Sample bins (<sample>.bins.npz, written by binarize_peaks.py):
  sample       str     the sample id
  bin_value    str     binary or signal (absent: binary)
  open_bits    uint8   packed, 1 per nonzero bin (binary: an ATAC peak overlaps the bin)
  signal       float32 signal bins only: the nonzero bins' values, in bin order
  activity_kind  str   signal or binary
  activity_bits  uint8 packed, 1 per bin of nonzero activity
  activity     float32 the nonzero activities, in bin order
  n_bins       int
  region_chrom, region_start, region_end, bin_size    the bin layout (regions.BinLayout)

Dataset (dataset.npz, written by build_matrix.py):
  X_bits       uint8   samples x ceil(bins / 8), packed, 1 per nonzero bin
  X_signal     float32 signal bins only: the nonzero values of X, row-major
  bin_value    str     binary or signal (absent: binary)
  activity_kind  str   per sample: signal or binary
  A_bits       uint8   samples x ceil(bins / 8), packed, 1 per bin of nonzero activity
  A_values     float32 the nonzero activities, row-major
  n_bins       int
  Y            float64 samples x genes, TPM (not transformed, full precision)
  samples      str     sample ids, row order of X and Y
  groups       str     each sample's group (the samplesheet's optional 'group' column); absent when not given
  region_chrom, region_start, region_end, bin_size    the bin layout; bins are derived from it
  gene_id, gene_name, gene_biotype, gene_chrom, gene_start, gene_end, gene_strand, gene_tss

In memory, X is uint8 0/1 (binary) or float32 (signal): formats.BIN_DTYPES; activity is float32, read from the
file only when asked for (Dataset.activity).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .cli import InputError
from .files import atomic_path
from .formats import ACTIVITY_KINDS, BIN_DTYPES, BIN_VALUES, GENES, gene_array_name
from .regions import BinLayout


def pack_bits(values: np.ndarray) -> np.ndarray:
    """1 bit per value, set where the value is nonzero (compared as it is: a signal of 0.5 is nonzero)."""
    return np.packbits(np.asarray(values) != 0, axis=-1)


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


def check_bin_values(values: np.ndarray, bin_value: str) -> None:
    """Bin values in memory are of their kind's dtype (formats.BIN_DTYPES), so every model reads them the same way."""
    if bin_value not in BIN_VALUES:
        raise ValueError(f"bin value {bin_value!r}: one of {', '.join(BIN_VALUES)}")
    if values.dtype != BIN_DTYPES[bin_value]:
        raise ValueError(f"{bin_value} bins must be {np.dtype(BIN_DTYPES[bin_value]).name}, not {values.dtype}")


def _bin_arrays(values: np.ndarray, bin_value: str, bits: str, signal: str) -> dict[str, np.ndarray]:
    """The stored form of bin values (module docstring): the packed nonzero mask and, for signal bins, the nonzero values."""
    arrays = {"bin_value": np.array(bin_value), bits: pack_bits(values)}
    if bin_value == "signal":
        arrays[signal] = values[values != 0].astype(np.float32)
    return arrays


def _file_bin_value(data: dict[str, np.ndarray]) -> str:
    bin_value = str(data["bin_value"]) if "bin_value" in data else "binary"
    if bin_value not in BIN_VALUES:
        raise ValueError(f"bin_value {bin_value[:40]!r} is not one of {', '.join(BIN_VALUES)}")
    return bin_value


def _bin_values(data: dict[str, np.ndarray], bin_value: str, bits: str, signal: str, n_bins: int) -> np.ndarray:
    """Bin values from their stored form; the nonzero values must fill the mask exactly."""
    mask = unpack_bits(data[bits], n_bins)
    if bin_value == "binary":
        return mask
    values = np.asarray(data[signal])
    if values.dtype != np.float32 or values.ndim != 1 or len(values) != np.count_nonzero(mask):
        raise ValueError(f"{signal} holds {values.size} {values.dtype} values for {np.count_nonzero(mask)} nonzero bins")
    out = np.zeros(mask.shape, dtype=np.float32)
    out[mask.astype(bool)] = values
    return out


def implied_activity(values: np.ndarray, bin_value: str) -> tuple[np.ndarray, str]:
    """(activity, kind) that bins imply when no activity was recorded: 1 per open binary bin, or the signalValue of a
    signal bin (the inverse of peaks.signal_value)."""
    if bin_value == "signal":
        return np.expm1(np.asarray(values, dtype=np.float64)).astype(np.float32), "signal"
    return np.asarray(values != 0, dtype=np.float32), "binary"


def _activity_arrays(activity: np.ndarray, kind: str | np.ndarray, bits: str, values: str) -> dict[str, np.ndarray]:
    activity = np.asarray(activity, dtype=np.float32)
    return {"activity_kind": np.asarray(kind).astype(str), bits: pack_bits(activity), values: activity[activity != 0]}


def _activity_of(data: dict[str, np.ndarray], bits: str, values: str, shape: tuple[int, ...]) -> np.ndarray:
    """The stored activity (module docstring); the nonzero values must fill the mask exactly."""
    mask = unpack_bits(data[bits], shape[-1]).astype(bool)
    nonzero = np.asarray(data[values])
    if mask.shape != shape or nonzero.dtype != np.float32 or nonzero.ndim != 1 or len(nonzero) != np.count_nonzero(mask):
        raise ValueError(f"{values} holds {nonzero.size} {nonzero.dtype} values for {np.count_nonzero(mask)} bins of nonzero activity")
    out = np.zeros(shape, dtype=np.float32)
    out[mask] = nonzero
    return out


def _check_activity_kinds(kinds: np.ndarray) -> None:
    wrong = sorted(set(np.asarray(kinds).astype(str).ravel()) - set(ACTIVITY_KINDS))
    if wrong:
        raise ValueError(f"activity kind {wrong[0][:40]!r} is not one of {', '.join(ACTIVITY_KINDS)}")


@dataclass
class SampleBins:
    sample: str
    values: np.ndarray  # per bin: uint8 0/1 (binary) or float32 (signal)
    layout: BinLayout
    bin_value: str = "binary"
    activity: np.ndarray | None = None  # per bin, float32 (module docstring); None: the activity the bins imply
    activity_kind: str = "binary"

    def __post_init__(self) -> None:
        check_bin_values(self.values, self.bin_value)
        if self.activity is None:
            self.activity, self.activity_kind = implied_activity(self.values, self.bin_value)
        if self.activity.shape != self.values.shape or self.activity.dtype != np.float32:
            raise ValueError(f"activity of {self.activity.shape} {self.activity.dtype} for {self.values.shape} bins: float32, one per bin")
        _check_activity_kinds(np.array(self.activity_kind))


def save_sample_bins(path: str | Path, bins: SampleBins) -> None:
    if len(bins.values) != bins.layout.n_bins:
        raise ValueError(f"{len(bins.values)} values for {bins.layout.n_bins} bins")
    _save_npz(path, {"sample": np.array(bins.sample), **_bin_arrays(bins.values, bins.bin_value, "open_bits", "signal"),
                     **_activity_arrays(bins.activity, bins.activity_kind, "activity_bits", "activity"),
                     "n_bins": np.array(bins.layout.n_bins, dtype=np.int64), **bins.layout.to_arrays()})


def load_sample_bins(path: str | Path, layout: BinLayout | None = None, bin_value: str | None = None) -> SampleBins:
    """A sample's bins; refused unless its layout is `layout` and its bin value `bin_value` (each when given)."""
    data = _load_npz(path, "sample bins file written by binarize_peaks.py")
    try:
        file_layout = BinLayout.from_arrays(data)
        n_bins = int(data["n_bins"])
        file_bin_value = _file_bin_value(data)
        values = _bin_values(data, file_bin_value, "open_bits", "signal", n_bins)
        sample = str(data["sample"])
        if "activity_bits" in data:
            activity, activity_kind = _activity_of(data, "activity_bits", "activity", (n_bins,)), str(data["activity_kind"])
        else:
            activity, activity_kind = implied_activity(values, file_bin_value)
    except (KeyError, ValueError, InputError) as err:
        raise InputError(f"{path}: not a sample bins file written by binarize_peaks.py ({err})") from None
    if n_bins != file_layout.n_bins:
        raise InputError(f"{path}: {n_bins} bins, its layout has {file_layout.n_bins}")
    if layout is not None and file_layout != layout:
        raise InputError(f"{path}: binned on {file_layout.describe()}, expected {layout.describe()}; binarise the peaks again")
    if bin_value is not None and file_bin_value != bin_value:
        raise InputError(f"{path}: binned with --bin_value {file_bin_value}, expected --bin_value {bin_value}; "
                         f"bin the peaks again with --bin_value {bin_value}")
    try:
        return SampleBins(sample, values, file_layout, file_bin_value, activity, activity_kind)
    except ValueError as err:
        raise InputError(f"{path}: not a sample bins file written by binarize_peaks.py ({err})") from None


@dataclass
class Dataset:
    X: np.ndarray  # samples x bins: uint8 0/1 (binary) or float32 (signal)
    Y: np.ndarray  # float64 samples x genes, TPM
    samples: np.ndarray
    layout: BinLayout
    genes: pd.DataFrame  # formats.GENES
    bin_value: str = "binary"
    activity_kind: np.ndarray | None = None  # per sample, signal or binary; None: what the bins imply
    # samples x bins float32, or what reads it from the file (loaded when first asked for); None: what the bins imply
    _activity: np.ndarray | Callable[[], np.ndarray] | None = field(default=None, repr=False)
    groups: np.ndarray | None = None  # str per sample (the samplesheet's 'group'), None when the samplesheet has none

    def __post_init__(self) -> None:
        n = len(self.samples)
        if self.X.shape != (n, self.layout.n_bins) or self.Y.shape != (n, len(self.genes)):
            raise ValueError(f"inconsistent dataset shapes X{self.X.shape} Y{self.Y.shape} for {n} samples, "
                             f"{self.layout.n_bins} bins, {len(self.genes)} genes")
        check_bin_values(self.X, self.bin_value)
        if self.groups is not None:
            self.groups = np.asarray(self.groups).astype(str)
            if self.groups.shape != (n,) or not all(self.groups):
                raise ValueError(f"groups: {self.groups.size} values for {n} samples (every sample needs one)")
        if self.activity_kind is None:
            self.activity_kind = np.full(n, "signal" if self.bin_value == "signal" else "binary")
        self.activity_kind = np.asarray(self.activity_kind).astype(str)
        if self.activity_kind.shape != (n,):
            raise ValueError(f"{self.activity_kind.size} activity kinds for {n} samples")
        _check_activity_kinds(self.activity_kind)

    @property
    def activity(self) -> np.ndarray:
        """samples x bins, float32: each bin's activity in each sample (module docstring)."""
        if callable(self._activity):
            self._activity = self._activity()
        if self._activity is None:
            self._activity = implied_activity(self.X, self.bin_value)[0]
        if self._activity.shape != self.X.shape or self._activity.dtype != np.float32:
            raise ValueError(f"activity of {self._activity.shape} {self._activity.dtype} for X of {self.X.shape}")
        return self._activity

    @property
    def n_groups(self) -> int:
        return 0 if self.groups is None else len(set(self.groups))

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
        **_bin_arrays(ds.X, ds.bin_value, "X_bits", "X_signal"), "n_bins": np.array(ds.layout.n_bins, dtype=np.int64),
        **_activity_arrays(ds.activity, ds.activity_kind, "A_bits", "A_values"),
        "Y": np.asarray(ds.Y, dtype=np.float64), "samples": ds.samples.astype(str),
        **ds.layout.to_arrays(), **genes_to_arrays(ds.genes),
    }
    if ds.groups is not None:
        arrays["groups"] = ds.groups.astype(str)
    _save_npz(path, arrays)


def load_dataset(path: str | Path) -> Dataset:
    data = _load_npz(path, "dataset .npz written by build_matrix.py")
    try:
        layout = BinLayout.from_arrays(data)
        bin_value = _file_bin_value(data)
        X = _bin_values(data, bin_value, "X_bits", "X_signal", int(data["n_bins"]))
        activity, kinds = None, None
        if "A_bits" in data:
            kinds = data["activity_kind"]
            activity = lambda: _load_activity(path, X.shape)  # noqa: E731 - read only by the steps that use it
        return Dataset(X, data["Y"], data["samples"], layout, genes_from_arrays(data), bin_value, kinds, activity,
                       groups=data.get("groups"))
    except (KeyError, ValueError, InputError) as err:
        raise InputError(f"{path}: not a dataset .npz written by build_matrix.py ({err})") from None


def mean_activity(path: str | Path) -> np.ndarray:
    """Each bin's activity averaged over the dataset's samples (float64), read a sample at a time: the samples x bins
    activity matrix is never in memory at once (a genome's is 4 bytes per bin and sample)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            n_bins = int(npz["n_bins"])
            if "A_bits" not in npz.files:
                ds = load_dataset(path)
                return ds.activity.mean(axis=0, dtype=np.float64) if len(ds.samples) else np.zeros(n_bins)
            bits, values = npz["A_bits"], npz["A_values"]
        total = np.zeros(n_bins)
        used = 0
        for row in range(len(bits)):
            mask = unpack_bits(bits[row], n_bins).astype(bool)
            count = int(mask.sum())
            total[mask] += values[used:used + count]
            used += count
        if used != len(values):
            raise ValueError(f"A_values holds {len(values)} values for {used} bins of nonzero activity")
        return total / max(len(bits), 1)
    except (KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: not a dataset .npz written by build_matrix.py (its activity: {err})") from None


def _load_activity(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return _activity_of({key: npz[key] for key in ("A_bits", "A_values")}, "A_bits", "A_values", shape)
    except (KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: not a dataset .npz written by build_matrix.py (its activity: {err})") from None
