#!/usr/bin/env python3
"""Predict gene expression of new samples with a model from train_model.py.

Input: the samples' bins from binarize_peaks.py, binned with the model's own layout and bin value (check_model.py
writes both); each file names its sample. Bins of another layout or bin value are refused. A model file is checked field by field before it is used.

Output (--output, TSV): sample, gene_id, gene_name, predicted (the model's units, log1p(TPM) by default),
predicted_tpm (inverse transform, clipped at 0).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

import numpy as np

from atac2expr import cli, dataset
from atac2expr.modelling import model_file, runtime
from atac2expr.tables import prediction_table, write_tsv

log = logging.getLogger("predict")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.pt from train_model.py")
    parser.add_argument("--bins", nargs="+", required=True, help="<sample>.bins.npz files from binarize_peaks.py")
    parser.add_argument("--output", required=True, help="predictions TSV")
    parser.add_argument("--device", required=True, help="cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    runtime.set_threads(args.threads)
    device = runtime.resolve_device(args.device)
    predictor, train_samples = model_file.load(args.model)
    layout, bin_value = predictor.geometry.layout, predictor.geometry.bin_value
    log.info("%s: %s", args.model, model_file.describe(predictor, train_samples))

    names, rows = [], []
    for path in sorted(args.bins):
        sample_bins = dataset.load_sample_bins(path, layout, bin_value)
        if sample_bins.sample in names:
            raise cli.InputError(f"{path}: sample {sample_bins.sample} given twice")
        names.append(sample_bins.sample)
        rows.append(sample_bins.values)
        log.info("%s: %d of %d bins open (%s)", sample_bins.sample, np.count_nonzero(sample_bins.values), layout.n_bins, bin_value)
    predicted = predictor.predict(np.stack(rows), device)
    write_tsv(prediction_table(np.array(names), predictor.geometry.genes, predicted, predictor.settings.target_transform), args.output)
    log.info("wrote %s: %d samples x %d genes", args.output, len(names), predicted.shape[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
