#!/usr/bin/env python3
"""Train the expression model on ALL samples of a dataset (the original study's fit) and save it.

Inputs: dataset.npz from build_matrix.py (X samples x bins 0/1, Y samples x genes TPM).
Outputs in --outdir (each written atomically):
  model.pt          weights + metadata (region, bins, genes, parameters); load with weights_only=True
  loss.tsv          epoch, train_loss (MSE in the target's units, per epoch)
  predictions.tsv   in-sample predictions: sample, gene_id, gene_name, observed, predicted (target units),
                    observed_tpm, predicted_tpm (inverse transform, clipped at 0)
  training.json     parameters, sizes, final and baseline losses, device, seed, software versions

How well the model predicts samples it has not seen is evaluate.py's job (cross-validation);
the losses here are in-sample.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli, dataset, files, models, predictors

log = logging.getLogger("train_model")

TRANSFORM_LABEL = {"log1p": "log1p(TPM)", "none": "TPM"}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--outdir", required=True, help="output folder (created)")
    parser.add_argument("--model", default="mlp", choices=predictors.MODEL_KINDS,
                        help="mlp: bins -> hidden -> genes (default); tss_window: bins around each TSS, weights shared by genes")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units (default 500 for mlp, 64 for tss_window)")
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight_decay", type=float, default=0.0, help="Adam weight decay (L2)")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout after the hidden layer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target_transform", default="log1p", choices=models.TRANSFORMS,
                        help="log1p: the model predicts log(1 + TPM) (default); none: TPM")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--window", type=int, default=50_000, help="tss_window: bp either side of the TSS (default 50000)")
    parser.add_argument("--batch_size", type=int, default=8192, help="tss_window: (sample, gene) examples per step")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def predictions_frame(samples: np.ndarray, genes: pd.DataFrame, observed: np.ndarray, predicted: np.ndarray,
                      observed_tpm: np.ndarray, transform: str) -> pd.DataFrame:
    """Tidy samples x genes table (sample-major)."""
    n_samples, n_genes = observed.shape
    return pd.DataFrame({
        "sample": np.repeat(np.asarray(samples).astype(str), n_genes),
        "gene_id": np.tile(genes["gene_id"].to_numpy(str), n_samples),
        "gene_name": np.tile(genes["gene_name"].to_numpy(str), n_samples),
        "observed": observed.reshape(-1),
        "predicted": predicted.reshape(-1),
        "observed_tpm": observed_tpm.reshape(-1),
        "predicted_tpm": np.clip(models.inverse_transform(predicted.astype(np.float64), transform), 0, None).reshape(-1),
    })


def write_tsv(frame: pd.DataFrame, path) -> None:
    with files.atomic_output(path) as handle:
        frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    params = predictors.FitParams(kind=args.model, hidden=args.hidden, dropout=args.dropout, epochs=args.epochs, lr=args.lr,
                                  weight_decay=args.weight_decay, window=args.window, batch_size=args.batch_size, seed=args.seed)
    device = models.resolve_device(args.device)
    ds = dataset.load_dataset(args.dataset)
    n_samples, n_bins, n_genes = len(ds.samples), len(ds.bins), len(ds.genes)
    if n_samples == 0 or n_genes == 0 or n_bins == 0:
        raise cli.InputError(f"{args.dataset}: nothing to train on ({n_samples} samples, {n_bins} bins, {n_genes} genes)")
    log.info("%s: %d samples, %d bins of %d bp (%s), %d genes; model %s on %s",
             args.dataset, n_samples, n_bins, ds.bin_size, ds.region, n_genes, args.model, device)
    Y = models.transform_targets(ds.Y, args.target_transform)
    constant = models.gene_variance_report(Y, ds.genes["gene_id"].to_numpy(str))
    if n_samples < 2:
        log.warning("only %d sample: the model can only memorise it", n_samples)

    geometry = predictors.Geometry.of(ds)
    predictor, result = predictors.fit(params, geometry, ds.X, Y, device=device)
    predicted = predictor.predict(ds.X)
    final_loss = result.train_loss[-1]
    baseline = models.mean_baseline_mse(Y)
    in_sample_mse = float(np.mean((predicted.astype(np.float64) - Y) ** 2))
    log.info("final training MSE %.5f (in-sample MSE after training %.5f); per-gene mean baseline %.5f (%s)",
             final_loss, in_sample_mse, baseline, TRANSFORM_LABEL[args.target_transform])

    outdir = args.outdir
    meta = predictors.model_meta(predictor, target_transform=args.target_transform, n_train_samples=n_samples,
                                 train_samples=list(ds.samples.astype(str)))
    predictors.save(f"{outdir}/model.pt", predictor, meta)
    write_tsv(pd.DataFrame({"epoch": np.arange(1, len(result.train_loss) + 1), "train_loss": result.train_loss}), f"{outdir}/loss.tsv")
    write_tsv(predictions_frame(ds.samples, ds.genes, Y, predicted, ds.Y, args.target_transform), f"{outdir}/predictions.tsv")
    summary = {
        "model": args.model,
        "params": {**params.as_dict(), "target_transform": args.target_transform, "device": str(device)},
        "dataset": str(args.dataset),
        "region": ds.region,
        "bin_size": int(ds.bin_size),
        "n_samples": n_samples,
        "n_bins": n_bins,
        "n_genes": n_genes,
        "samples": list(ds.samples.astype(str)),
        "target_transform": TRANSFORM_LABEL[args.target_transform],
        "loss": f"mean squared error in {TRANSFORM_LABEL[args.target_transform]} units, in-sample (all samples are training samples)",
        "epochs_run": result.epochs_run,
        "final_train_loss": final_loss,
        "in_sample_mse": in_sample_mse,
        "mean_baseline_loss": baseline,
        "mean_baseline": "MSE of predicting each gene's mean over the same samples, same units",
        "n_constant_genes": len(constant),
        "constant_genes": constant,
        "device": str(device),
        "seed": args.seed,
        "versions": models.software_versions(),
    }
    with files.atomic_output(f"{outdir}/training.json") as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")
    log.info("wrote %s/{model.pt,loss.tsv,predictions.tsv,training.json}", outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
