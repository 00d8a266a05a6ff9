"""Join per-sample bins (features) with gene TPMs (targets) into one dataset file.

Rows are samples in the same order on both sides; a sample present on one side only is an error, and so is a
dataset with nothing to learn from: no open bin in any sample, or no expression in any gene. Every sample's bins
must hold the same bin value (binary or signal; the dataset records which). With --samplesheet (CHECK_INPUTS'
checked samplesheet), each sample's group (its optional 'group' column) goes into the dataset too. X is filled in
place, row by row (no copy of the whole matrix). Also writes the bins table (chrom, start, end of every column
of X, 0-based half-open; a region's last bin may be shorter) as bins.tsv.gz.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli
from atac2expr.cli import InputError
from atac2expr.dataset import Dataset, load_sample_bins, save_dataset
from atac2expr.files import atomic_path, read_text
from atac2expr.formats import BIN_DTYPES, GENE_MATRIX_KEYS, GENES, read_tsv
from atac2expr.regions import BinLayout

log = logging.getLogger("build_matrix")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bins", type=Path, nargs="+", required=True, help="per-sample .bins.npz from binarize_peaks.py")
    parser.add_argument("--gene_tpm", type=Path, required=True, help="gene_tpm_matrix.tsv from gene_tpm.py")
    parser.add_argument("--genes", type=Path, required=True, help="genes.tsv from gene_tpm.py")
    parser.add_argument("--layout", type=Path, required=True, help="the bin layout (define_bins.py)")
    parser.add_argument("--samplesheet", type=Path, help="CHECK_INPUTS' samplesheet.valid.json: the samples' groups, when it has them")
    parser.add_argument("--output", type=Path, required=True, help="dataset.npz")
    parser.add_argument("--bins_table", type=Path, help="also write the bins (chrom, start, end) here (.tsv.gz)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def read_groups(path: Path, samples: np.ndarray) -> np.ndarray | None:
    """Each sample's group from the checked samplesheet (JSON rows), None when it has no group column."""
    try:
        rows = json.loads(read_text(path))
        by_sample = {str(row["sample"]): row.get("group") for row in rows}
    except (ValueError, TypeError, KeyError) as err:
        raise InputError(f"{path}: not a checked samplesheet written by check_inputs.py ({err})") from None
    if not any(group is not None for group in by_sample.values()):
        return None
    missing = [s for s in samples if not by_sample.get(str(s))]
    if missing:
        raise InputError(f"{path}: no group for sample(s) {', '.join(missing[:5])}")
    groups = np.array([by_sample[str(s)] for s in samples])
    log.info("groups: %s", ", ".join(f"{g} ({int((groups == g).sum())})" for g in sorted(set(groups))))
    return groups


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    layout = BinLayout.read(args.layout)
    matrix = read_tsv(args.gene_tpm, dtype={key: str for key in GENE_MATRIX_KEYS}, keep_default_na=False)
    genes = GENES.read(args.genes)
    if list(matrix["gene_id"]) != list(genes["gene_id"]):
        raise InputError(f"{args.gene_tpm} and {args.genes} list different genes")
    target_samples = [c for c in matrix.columns if c not in GENE_MATRIX_KEYS]

    by_sample = {}
    bin_value = None  # the first file's: every other file must hold the same
    for path in args.bins:
        sample_bins = load_sample_bins(path, layout, bin_value)
        bin_value, sample = sample_bins.bin_value, sample_bins.sample
        if sample in by_sample:
            raise InputError(f"{path}: sample {sample} has two bin files ({by_sample[sample]})")
        by_sample[sample] = path
    only_bins = sorted(set(by_sample) - set(target_samples))
    only_tpm = sorted(set(target_samples) - set(by_sample))
    if only_bins or only_tpm:
        parts = []
        if only_bins:
            parts.append(f"sample(s) {', '.join(only_bins)} have peaks but no expression in {args.gene_tpm}")
        if only_tpm:
            parts.append(f"sample(s) {', '.join(only_tpm)} have expression but no peaks")
        raise InputError("; ".join(parts))

    samples = np.array(sorted(target_samples))
    X = np.empty((len(samples), layout.n_bins), dtype=BIN_DTYPES[bin_value])
    activity = np.empty((len(samples), layout.n_bins), dtype=np.float32)
    activity_kind = np.empty(len(samples), dtype=object)
    for row, sample in enumerate(samples):
        sample_bins = load_sample_bins(by_sample[sample], layout, bin_value)
        X[row], activity[row], activity_kind[row] = sample_bins.values, sample_bins.activity, sample_bins.activity_kind
    binary_activity = [str(s) for s in samples[activity_kind == "binary"]]
    if binary_activity:
        log.warning("%d of %d samples have peaks without signalValue: their activity is open/closed (%s)", len(binary_activity),
                    len(samples), ", ".join(binary_activity[:10]))
    Y = matrix[list(samples)].to_numpy(dtype=np.float64).T
    if not X.any():
        raise InputError(f"no sample has a peak in {layout.describe()}: nothing to learn from (are the peaks of this region?)")
    if not Y.any():
        raise InputError(f"{args.gene_tpm}: every TPM of every gene in every sample is 0: nothing to learn (did kallisto pseudoalign any read?)")
    silent = int((Y.max(axis=0) == 0).sum())
    if silent:
        log.warning("%d of %d genes have TPM 0 in every sample; kept (a constant target)", silent, Y.shape[1])
    groups = read_groups(args.samplesheet, samples) if args.samplesheet else None
    dataset = Dataset(X, Y, samples, layout, genes, bin_value, activity_kind.astype(str), activity, groups=groups)
    save_dataset(dataset, args.output)
    if args.bins_table:
        # mtime 0 and no file name in the gzip header: the same bins give the same bytes
        with atomic_path(args.bins_table) as tmp, open(tmp, "wb") as out:
            with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6, mtime=0) as raw:
                with io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
                    dataset.bins.to_csv(handle, sep="\t", index=False)
    log.info("dataset: %d samples x %d %s bins (%.2f%% open) -> %d genes", len(samples), X.shape[1], bin_value,
             100 * np.count_nonzero(X) / max(X.size, 1), Y.shape[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
