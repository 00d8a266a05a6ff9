#!/usr/bin/env python3
"""Predict gene expression of new samples from their ATAC-seq peaks with a model from train_model.py.

Peaks (BED3+ or narrowPeak, gz or plain) are binarised with the region and bin size recorded in the
model, exactly as binarize_peaks.py does for training; pre-binarised per-sample .npz files from
binarize_peaks.py (--bins) are accepted when their region and bin size are the model's.

Output (--output, TSV): sample, gene_id, gene_name, predicted (the model's units, log1p(TPM) by default),
predicted_tpm (inverse transform, clipped at 0).

Refused with a one-line error: a file that is not a model, pre-binarised input of another region or bin
size, repeated sample names. Warned about: peaks with none on the model's chromosomes (every bin 0, the
prediction is the model's response to a closed region), and contig names of another assembly's style
(e.g. hg19's chr1_gl000191_random) since the model's coordinates are those of its own assembly.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli, files, models, peaks, predictors, regions

log = logging.getLogger("predict")

# hg19 (UCSC) contig names: lower-case gl scaffolds (chr1_gl000191_random, chrUn_gl000220) and the named
# haplotypes (chr6_apd_hap1, chr17_ctg5_hap1). GRCh38 spells them chr1_KI270706v1_random, chr6_GL000250v2_alt.
_HG19_CONTIG = re.compile(r"(^|_)gl\d{6}(_random)?$|^(4|6|17)_[a-z0-9]+_hap\d+$")
_PEAK_SUFFIXES = (".gz", ".bed", ".narrowPeak", ".broadPeak", ".txt")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.pt from train_model.py")
    parser.add_argument("--peaks", nargs="+", default=[], help="peak files of the new samples (BED3+/narrowPeak, gz or plain)")
    parser.add_argument("--samples", nargs="+", default=None, help="names of the --peaks samples, in order (default: file names)")
    parser.add_argument("--bins", nargs="+", default=[], help="pre-binarised samples: .npz files from binarize_peaks.py")
    parser.add_argument("--output", required=True, help="predictions TSV")
    parser.add_argument("--chrom_sizes", default=None,
                        help="optional chrom.sizes of the model's assembly: peaks past a chromosome's end are reported")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def sample_name(path: str) -> str:
    name = Path(path).name
    changed = True
    while changed:
        changed = False
        for suffix in _PEAK_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, changed = name[: -len(suffix)], True
    return name


def check_assembly(path: str, frame: pd.DataFrame, model_chroms: set[str], sizes: dict[str, int] | None) -> None:
    """Warnings (not errors) for peaks that cannot be on the model's assembly or region."""
    if frame.empty:
        return
    chroms = pd.unique(frame["chrom"])
    foreign = [c for c in chroms if _HG19_CONTIG.search(c)]
    if foreign:
        log.warning("%s: contig names of another assembly's style (%s); the model's coordinates are of its training "
                    "assembly (GRCh38 in this pipeline), so predictions from hg19/GRCh37 peaks are meaningless", path, ", ".join(foreign[:3]))
    if sizes:
        lengths = frame["chrom"].map(sizes)
        past = frame[lengths.notna() & (frame["end"] > lengths)]
        if len(past):
            row = past.iloc[0]
            log.warning("%s: %d peaks end past their chromosome's end in --chrom_sizes (e.g. %s:%d-%d); another assembly?",
                        path, len(past), row.chrom, row.start, row.end)
    on_model = frame["chrom"].isin(model_chroms)
    if not on_model.any():
        log.warning("%s: none of its %d peaks is on the model's chromosomes (%s; the file has %s); every bin is 0",
                    path, len(frame), ", ".join(sorted(model_chroms)), ", ".join(sorted(map(str, chroms))[:5]))


def read_binned(path: str, meta: dict, n_bins: int) -> tuple[str, np.ndarray]:
    """(sample, values) of a binarize_peaks.py .npz, refused unless its region and bin size are the model's."""
    if not Path(path).is_file():
        raise cli.InputError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            sample, region, bin_size, values = str(npz["sample"]), str(npz["region"]), int(npz["bin_size"]), npz["values"]
    except (OSError, ValueError, KeyError) as err:
        raise cli.InputError(f"{path}: not a bins .npz written by binarize_peaks.py ({err})") from None
    model_region = regions.format_regions(regions.parse_regions(meta["region"]))
    if regions.format_regions(regions.parse_regions(region)) != model_region or bin_size != int(meta["bin_size"]):
        raise cli.InputError(f"{path}: binarised for region {region} at {bin_size} bp bins, but the model was trained on "
                             f"region {meta['region']} at {meta['bin_size']} bp bins; binarise the peaks again (or pass them with --peaks)")
    if len(values) != n_bins:
        raise cli.InputError(f"{path}: {len(values)} bins, the model has {n_bins}")
    return sample, np.asarray(values, dtype=np.uint8)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if not args.peaks and not args.bins:
        raise cli.InputError("nothing to predict: give --peaks and/or --bins")
    if args.samples is not None and len(args.samples) != len(args.peaks):
        raise cli.InputError(f"--samples: {len(args.samples)} names for {len(args.peaks)} --peaks files")
    device = models.resolve_device(args.device)
    meta, predictor = predictors.load(args.model)
    region_list = regions.parse_regions(meta["region"])
    bin_size = int(meta["bin_size"])
    n_bins = len(predictor.geometry.bins)
    expected = regions.make_bins(region_list, bin_size)
    if len(expected) != n_bins or not (expected["start"].to_numpy() == predictor.geometry.bins["start"].to_numpy()).all():
        raise cli.InputError(f"{args.model}: its bins are not those of its region {meta['region']} at {bin_size} bp; the model file is inconsistent")
    log.info("%s: %s model of %d bins (%s, %d bp) -> %d genes (%s)", args.model, meta["model"], n_bins, meta["region"], bin_size,
             len(meta["gene_ids"]), meta["target_transform"])
    sizes = regions.read_chrom_sizes(args.chrom_sizes) if args.chrom_sizes else None
    model_chroms = {r.chrom for r in region_list}

    names, rows = [], []
    for i, path in enumerate(args.peaks):
        frame = peaks.read_peaks(path)
        check_assembly(path, frame, model_chroms, sizes)
        values = peaks.binarize_peaks(frame, region_list, bin_size)
        names.append(args.samples[i] if args.samples else sample_name(path))
        rows.append(values)
        log.info("%s: %d peaks -> %d of %d bins open", names[-1], len(frame), int(values.sum()), n_bins)
    for path in args.bins:
        sample, values = read_binned(path, meta, n_bins)
        names.append(sample)
        rows.append(values)
        log.info("%s: %d of %d bins open (pre-binarised)", sample, int(values.sum()), n_bins)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise cli.InputError(f"sample name(s) {', '.join(duplicated)} given twice; name the samples with --samples")

    X = np.stack(rows).astype(np.uint8)
    predicted = predictor.predict(X, device)
    n_genes = predicted.shape[1]
    out = pd.DataFrame({
        "sample": np.repeat(np.asarray(names), n_genes),
        "gene_id": np.tile(np.asarray(meta["gene_ids"], dtype=str), len(names)),
        "gene_name": np.tile(np.asarray(meta["gene_names"], dtype=str), len(names)),
        "predicted": predicted.reshape(-1),
        "predicted_tpm": np.clip(models.inverse_transform(predicted.astype(np.float64), meta["target_transform"]), 0, None).reshape(-1),
    })
    with files.atomic_output(args.output) as handle:
        out.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    log.info("wrote %s: %d samples x %d genes", args.output, len(names), n_genes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
