#!/usr/bin/env python3
"""How to store X (samples x bins, 0/1) at genome scale: a benchmark, not a test (prints figures).

Binarises the peak files of a folder (e.g. the scale benchmark's data-x1/peaks: 50 samples x ~140,000 peaks)
over the whole genome in 1 kb bins (3.1 M bins), then writes and reads X as
  - uint8, np.savez_compressed (one byte per bin, zlib);
  - bit-packed, np.savez_compressed of np.packbits (8 bins per byte; what dataset.py stores);
  - sparse: the open bins' column indices per sample (int32, CSR-like), np.savez_compressed;
and prints size on disk, write and read seconds, and the memory the loaded form takes before it is dense.

  python benchmarks/bench_dataset_storage.py --peaks ~/.cache/atac2expr/scale/data-x1/peaks [--samples 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr.peaks import bin_peaks, read_peaks
from atac2expr.regions import BinLayout, parse_regions, read_chrom_sizes

REPO = Path(__file__).resolve().parents[1]

def write_uint8(X: np.ndarray, path: Path) -> None:
    np.savez_compressed(path, X=X)


def read_uint8(path: Path) -> np.ndarray:
    with np.load(path) as npz:
        return npz["X"]


def write_bits(X: np.ndarray, path: Path) -> None:
    np.savez_compressed(path, X_bits=np.packbits(X, axis=1), n_bins=np.array(X.shape[1]))


def read_bits(path: Path) -> np.ndarray:
    with np.load(path) as npz:
        return np.unpackbits(npz["X_bits"], axis=1, count=int(npz["n_bins"]))


def write_sparse(X: np.ndarray, path: Path) -> None:
    rows, cols = np.nonzero(X)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(X)))])
    np.savez_compressed(path, indices=cols.astype(np.int32), indptr=indptr.astype(np.int64), shape=np.array(X.shape))


def read_sparse(path: Path) -> np.ndarray:
    with np.load(path) as npz:
        indices, indptr, shape = npz["indices"], npz["indptr"], tuple(npz["shape"])
    X = np.zeros(shape, dtype=np.uint8)
    X[np.repeat(np.arange(shape[0]), np.diff(indptr)), indices] = 1
    return X


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peaks", type=Path, required=True, help="a folder of peak files (BED/narrowPeak, gz or plain)")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bin_size", type=int, default=1000)
    args = parser.parse_args(argv)

    layout = BinLayout.of(parse_regions("genome", read_chrom_sizes(REPO / "assets" / "GRCh38.chrom.sizes")), args.bin_size)
    files = sorted(p for p in args.peaks.iterdir() if p.is_file())[: args.samples]
    began = time.perf_counter()
    X = np.stack([bin_peaks(read_peaks(f), layout, "binary") for f in files])
    print(f"X: {X.shape[0]} samples x {X.shape[1]:,} bins, {100 * X.mean():.2f}% open; binarised in {time.perf_counter() - began:.1f} s")
    print(f"{'format':28s} {'MB on disk':>10s} {'write s':>8s} {'read s':>8s} {'MB loaded':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, write, read, loaded in (
            ("uint8, compressed", write_uint8, read_uint8, X.nbytes),
            ("bit-packed, compressed", write_bits, read_bits, (X.shape[1] + 7) // 8 * X.shape[0]),
            ("sparse indices, compressed", write_sparse, read_sparse, 4 * int(X.sum()) + 8 * (X.shape[0] + 1)),
        ):
            path = Path(tmp) / f"{name.split(',')[0].replace(' ', '_')}.npz"
            t0 = time.perf_counter()
            write(X, path)
            t1 = time.perf_counter()
            back = read(path)
            t2 = time.perf_counter()
            assert np.array_equal(back, X), name
            print(f"{name:28s} {path.stat().st_size / 1e6:10.1f} {t1 - t0:8.2f} {t2 - t1:8.2f} {loaded / 1e6:10.1f}")
    print(f"dense uint8 in memory, as every model reads it: {X.nbytes / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
