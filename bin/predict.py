#!/usr/bin/env python3
"""Predict gene expression of new samples with a model from train_model.py.

Input: the samples' bins from binarize_peaks.py, binned with the model's own layout and bin value (check_model.py
writes both); each file names its sample. Bins of another layout or bin value are refused. A model file is checked field by field before it is used.

Output (--output, TSV): sample, gene_id, gene_name, predicted (the model's units, log1p(TPM) by default),
predicted_tpm (inverse transform, clipped at 0).

With --links_outdir, which of each sample's open bins drove each prediction (the model's links rule applied to that
sample alone: bin/atac2expr/modelling/predictors.py): links.tsv.gz (formats.SAMPLE_LINKS, a sample column first) and,
per sample, <sample>.interact, <sample>.bedpe and <sample>.bw, as the links of the main run
(bin/atac2expr/links.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli, dataset, links
from atac2expr.modelling import model_file, runtime
from atac2expr.regions import read_chrom_sizes
from atac2expr.settings import check_links, estimate_links
from atac2expr.tables import prediction_table, write_tsv

log = logging.getLogger("predict")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.pt from train_model.py")
    parser.add_argument("--model_source", help="the model's name in messages (the user's path; default: --model)")
    parser.add_argument("--bins", nargs="+", required=True, help="<sample>.bins.npz files from binarize_peaks.py")
    parser.add_argument("--output", required=True, help="predictions TSV")
    parser.add_argument("--device", required=True, help="cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch")
    parser.add_argument("--links_outdir", type=Path, help="write each sample's links here (needs the three below)")
    parser.add_argument("--links_top", type=int, help="links kept per sample and gene (the strongest)")
    parser.add_argument("--links_max_distance", type=int, help="bp from the TSS within which a bin can be a link")
    parser.add_argument("--chrom_sizes", type=Path, help="the assembly's chromosome sizes (the bigWig headers)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.links_outdir:
        missing = [f"--{name}" for name in ("links_top", "links_max_distance", "chrom_sizes") if getattr(args, name) is None]
        if missing:
            raise cli.InputError(f"--links_outdir needs {', '.join(missing)}")
    runtime.set_threads(args.threads)
    device = runtime.resolve_device(args.device)
    source = args.model_source or args.model
    predictor, train_samples = model_file.load(args.model, source=source)
    layout, bin_value = predictor.geometry.layout, predictor.geometry.bin_value
    log.info("%s: %s", source, model_file.describe(predictor, train_samples))

    names, rows = [], []
    for path in sorted(args.bins):
        sample_bins = dataset.load_sample_bins(path, layout, bin_value)
        if sample_bins.sample in names:
            raise cli.InputError(f"{path}: sample {sample_bins.sample} given twice")
        names.append(sample_bins.sample)
        rows.append(sample_bins.values)
        log.info("%s: %d of %d bins open (%s)", sample_bins.sample, np.count_nonzero(sample_bins.values), layout.n_bins, bin_value)
    X = np.stack(rows)
    predicted = predictor.predict(X, device)
    write_tsv(prediction_table(np.array(names), predictor.geometry.genes, predicted, predictor.settings.target_transform), args.output)
    log.info("wrote %s: %d samples x %d genes", args.output, len(names), predicted.shape[1])
    if args.links_outdir:
        write_sample_links(predictor, X, np.array(names), args, device)
    return 0


def write_sample_links(predictor, X: np.ndarray, names: np.ndarray, args: argparse.Namespace, device) -> None:
    genes = predictor.geometry.genes
    estimate = estimate_links(predictor.geometry.layout, genes["chrom"].to_numpy(str), genes["tss"].to_numpy(), args.links_max_distance,
                              args.links_top, [predictor.kind], copies=len(names))  # every sample's links in this one task
    log.info("links of %d samples: %s", len(names), estimate.describe())
    check_links(estimate, None, "")
    found = predictor.links(X, args.links_max_distance, args.links_top, per_sample=True, device=device)
    if found is None:
        log.warning("a %s model has no links: none written", predictor.kind)
        return
    genes, bins = predictor.geometry.genes, predictor.geometry.bins
    table = links.links_table(found, genes, bins, names)
    chrom_sizes = read_chrom_sizes(args.chrom_sizes)
    links.write_table(table, args.links_outdir / "links.tsv.gz")
    for sample in names:
        rows = table[table["sample"] == sample].drop(columns="sample")
        description = f"atac2expr {predictor.kind}: the open bins that drove {sample}'s predictions (top {args.links_top} per gene)"
        links.write_links(rows, args.links_outdir, str(sample), description, genes, chrom_sizes, with_table=False)
        log.info("%s: %d links for %d genes", sample, len(rows), rows["gene_id"].nunique())
    log.info("wrote %s/links.tsv.gz and each sample's .interact, .bedpe, .bw", args.links_outdir)


if __name__ == "__main__":
    sys.exit(main())
