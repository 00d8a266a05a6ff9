#!/usr/bin/env python3
"""Join per-sample bins (features) with gene TPMs (targets) into one dataset file.

Rows are samples in the same order on both sides; a sample present on one side only is an error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli
from atac2expr.cli import InputError
from atac2expr.dataset import Dataset, save_dataset
from atac2expr.regions import format_regions, make_bins, parse_regions

log = logging.getLogger("build_matrix")


def read_bins(paths: list[Path], region: str, bin_size: int, n_bins: int) -> dict[str, np.ndarray]:
    values: dict[str, np.ndarray] = {}
    for path in paths:
        with np.load(path, allow_pickle=False) as npz:
            sample, file_region, file_bin_size, vector = str(npz["sample"]), str(npz["region"]), int(npz["bin_size"]), npz["values"]
        if file_region != region or file_bin_size != bin_size or len(vector) != n_bins:
            raise InputError(f"{path}: bins of region {file_region} at {file_bin_size} bp, expected {region} at {bin_size} bp")
        if sample in values:
            raise InputError(f"{path}: sample {sample} has two bin files")
        values[sample] = vector
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bins", type=Path, nargs="+", required=True, help="per-sample .npz from binarize_peaks.py")
    parser.add_argument("--gene_tpm", type=Path, required=True, help="gene_tpm_matrix.tsv from gene_tpm.py")
    parser.add_argument("--genes", type=Path, required=True, help="genes.tsv from gene_tpm.py")
    parser.add_argument("--region", required=True)
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    regions = parse_regions(args.region)
    region = format_regions(regions)
    bins = make_bins(regions, args.bin_size)
    features = read_bins(args.bins, region, args.bin_size, len(bins))

    matrix = pd.read_csv(args.gene_tpm, sep="\t", dtype={"gene_id": str, "gene_name": str})
    genes = pd.read_csv(args.genes, sep="\t", dtype={"gene_id": str, "gene_name": str, "chrom": str})
    if list(matrix["gene_id"]) != list(genes["gene_id"]):
        raise InputError(f"{args.gene_tpm} and {args.genes} list different genes")
    target_samples = [c for c in matrix.columns if c not in ("gene_id", "gene_name")]
    only_bins = sorted(set(features) - set(target_samples))
    only_tpm = sorted(set(target_samples) - set(features))
    if only_bins or only_tpm:
        parts = []
        if only_bins:
            parts.append(f"sample(s) {', '.join(only_bins)} have peaks but no expression in {args.gene_tpm}")
        if only_tpm:
            parts.append(f"sample(s) {', '.join(only_tpm)} have expression but no peaks")
        raise InputError("; ".join(parts))
    samples = np.array(sorted(target_samples))
    X = np.stack([features[s] for s in samples]).astype(np.uint8)
    Y = matrix[list(samples)].to_numpy(dtype=np.float32).T
    dataset = Dataset(X, Y, samples, bins, genes, region, args.bin_size)
    save_dataset(dataset, args.output)
    log.info("dataset: %d samples x %d bins (%.1f%% open) -> %d genes", len(samples), X.shape[1], 100 * X.mean(), Y.shape[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
