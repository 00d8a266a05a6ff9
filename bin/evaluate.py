#!/usr/bin/env python3
"""Cross-validate expression models over samples and compare them with baselines (issue 4).

Every model is trained on the training folds and scored on the held-out fold only; the folds are the
same for every model. Models: mean (per-gene mean of the training samples), ridge (closed form on the
same bins), mlp (bins -> hidden -> genes) and tss_window (bins around each gene's TSS, shared weights).

Outputs in --outdir:
  metrics.tsv              one row per model: mse, r2, r2_total, per-gene/per-sample correlations, counts
  per_gene_metrics.tsv     model, gene_id, gene_name, pearson, spearman, mse, observed_variance, status
  heldout_predictions.tsv  model, fold, sample, gene_id, gene_name, observed, predicted, observed_tpm, predicted_tpm
  folds.tsv                sample, fold (the fold in which the sample is held out)
  splits.tsv               fold, sample, role (inner_train / validation / test) for every fold
  learning_curves.tsv      model, fold, epoch, train_loss, val_loss
  constant_genes.tsv       gene_id, gene_name of genes with no variance (left out of correlations)
  evaluation.json          parameters, per-fold choices (ridge alpha, best epochs), metrics, versions, seed
  scatter_<model>.png, gene_correlations.png, learning_curves.png, evaluation.md (report page)
The definitions of the metrics are in bin/atac2expr/evaluation.py and in evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli, dataset, evaluation, files, models, predictors

log = logging.getLogger("evaluate")

UNITS = {"log1p": "log1p(TPM)", "none": "TPM"}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--models", default="mean,ridge,mlp,tss_window",
                        help=f"comma-separated, from {','.join(evaluation.ALL_MODELS)} (default: all)")
    parser.add_argument("--folds", type=int, default=5, help="k of k-fold CV over samples; leave-one-out when fewer samples")
    parser.add_argument("--seed", type=int, default=1, help="seeds the folds, the inner splits and the networks")
    parser.add_argument("--val_fraction", type=float, default=0.2, help="share of each fold's training samples used for early stopping / alpha choice")
    parser.add_argument("--patience", type=int, default=50, help="early stopping: epochs without validation improvement (0 = off)")
    parser.add_argument("--epochs", type=int, default=1000, help="maximum epochs of the MLP")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--hidden", type=int, default=500, help="MLP hidden units")
    parser.add_argument("--tss_hidden", type=int, default=64, help="TSS-window model hidden units")
    parser.add_argument("--tss_epochs", type=int, default=None, help="maximum epochs of the TSS-window model (default: --epochs)")
    parser.add_argument("--tss_lr", type=float, default=None, help="learning rate of the TSS-window model (default: --lr)")
    parser.add_argument("--window", type=int, default=50_000, help="TSS-window model: bp either side of the TSS")
    parser.add_argument("--batch_size", type=int, default=8192, help="TSS-window model: examples per step")
    parser.add_argument("--ridge_alpha", default="0.1,1,10,100,1000",
                        help="ridge penalty, or a comma-separated list to choose from on the inner validation split")
    parser.add_argument("--target_transform", default="log1p", choices=models.TRANSFORMS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def parse_models(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in evaluation.ALL_MODELS]
    if unknown or not names:
        raise cli.InputError(f"--models {text}: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(evaluation.ALL_MODELS)}")
    return list(dict.fromkeys(names))


def write_tsv(frame: pd.DataFrame, path) -> None:
    with files.atomic_output(path) as handle:
        frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    model_names = parse_models(args.models)
    alphas = evaluation.parse_alphas(args.ridge_alpha)
    device = models.resolve_device(args.device)
    net_params = {
        "mlp": predictors.FitParams(kind="mlp", hidden=args.hidden, dropout=args.dropout, epochs=args.epochs, lr=args.lr,
                                    weight_decay=args.weight_decay, patience=args.patience, seed=args.seed),
        "tss_window": predictors.FitParams(kind="tss_window", hidden=args.tss_hidden, dropout=args.dropout,
                                           epochs=args.tss_epochs or args.epochs, lr=args.tss_lr or args.lr,
                                           weight_decay=args.weight_decay, window=args.window, batch_size=args.batch_size,
                                           patience=args.patience, seed=args.seed),
    }
    if args.patience < 0:
        raise cli.InputError(f"--patience {args.patience}: must be >= 0")

    ds = dataset.load_dataset(args.dataset)
    n, n_genes = len(ds.samples), len(ds.genes)
    Y = models.transform_targets(ds.Y, args.target_transform)
    units = UNITS[args.target_transform]
    splits = evaluation.make_splits(n, args.folds, args.seed, args.val_fraction)
    mode = "leave-one-out" if len(splits) == n else f"{len(splits)}-fold"
    log.info("%s: %d samples, %d bins, %d genes; %s cross-validation of %s (%s)", args.dataset, n, len(ds.bins), n_genes, mode, ", ".join(model_names), units)
    constant = evaluation.constant_columns(Y)
    if constant.any():
        log.warning("%d of %d genes have no variance across the %d samples; they are left out of the correlations (listed in constant_genes.tsv)",
                    int(constant.sum()), n_genes, n)

    geometry = predictors.Geometry.of(ds)
    preds = {m: np.full((n, n_genes), np.nan) for m in model_names}
    train_means = np.full((n, n_genes), np.nan)
    fold_of = np.full(n, -1)
    curves, fold_info, split_rows = [], [], []
    for split in splits:
        fold = split.fold
        fold_of[split.test] = fold
        for role, rows in (("inner_train", split.inner_train), ("validation", split.validation), ("test", split.test)):
            split_rows += [(fold, ds.samples[i], role) for i in rows]
        info = {"fold": fold, "n_train": len(split.train), "n_inner_train": len(split.inner_train),
                "n_validation": len(split.validation), "n_test": len(split.test)}
        train_mean = Y[split.train].astype(np.float64).mean(axis=0)
        train_means[split.test] = train_mean
        log.info("fold %d: %d training (%d inner + %d validation), %d held out", fold, len(split.train), len(split.inner_train), len(split.validation), len(split.test))
        for name in model_names:
            started = time.perf_counter()
            if name == "mean":
                preds[name][split.test] = train_mean
            elif name == "ridge":
                alpha, scores = evaluation.choose_ridge_alpha(ds.X, Y, split.inner_train, split.validation, alphas)
                preds[name][split.test] = evaluation.KernelRidge(alpha).fit(ds.X, Y, split.train).predict(split.test)
                info["ridge_alpha"] = alpha
                info["ridge_validation_mse"] = {str(a): s for a, s in scores.items()}
            else:
                val = split.validation
                predictor, result = predictors.fit(net_params[name], geometry, ds.X[split.inner_train], Y[split.inner_train],
                                                   X_val=ds.X[val] if len(val) else None, Y_val=Y[val] if len(val) else None, device=device)
                preds[name][split.test] = predictor.predict(ds.X[split.test], device)
                info[f"{name}_best_epoch"] = result.best_epoch
                info[f"{name}_epochs_run"] = result.epochs_run
                epochs = np.arange(1, result.epochs_run + 1)
                val_loss = result.val_loss if result.val_loss else [np.nan] * result.epochs_run
                curves.append(pd.DataFrame({"model": name, "fold": fold, "epoch": epochs, "train_loss": result.train_loss, "val_loss": val_loss}))
            info[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
        fold_info.append(info)

    outdir = args.outdir
    metric_rows, per_gene_frames, heldout_frames = [], [], []
    for name in model_names:
        result = evaluation.compute_metrics(Y, preds[name], train_means, ds.genes, constant)
        metric_rows.append({"model": name, **result.summary})
        per_gene_frames.append(result.per_gene.assign(model=name))
        heldout_frames.append(pd.DataFrame({
            "model": name, "fold": np.repeat(fold_of, n_genes), "sample": np.repeat(ds.samples.astype(str), n_genes),
            "gene_id": np.tile(ds.genes["gene_id"].to_numpy(str), n), "gene_name": np.tile(ds.genes["gene_name"].to_numpy(str), n),
            "observed": Y.reshape(-1), "predicted": preds[name].reshape(-1), "observed_tpm": ds.Y.reshape(-1),
            "predicted_tpm": np.clip(models.inverse_transform(preds[name], args.target_transform), 0, None).reshape(-1),
        }))
        log.info("%-10s held-out MSE %.4f  R2 %.3f  median per-gene Pearson %.3f  Spearman %.3f",
                 name, result.summary["mse"], result.summary["r2"], result.summary["pearson_gene_median"], result.summary["spearman_gene_median"])
    metrics = pd.DataFrame(metric_rows)
    per_gene = pd.concat(per_gene_frames, ignore_index=True)[["model", "gene_id", "gene_name", "pearson", "spearman", "mse", "observed_variance", "status"]]
    curves_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["model", "fold", "epoch", "train_loss", "val_loss"])

    write_tsv(metrics, f"{outdir}/metrics.tsv")
    write_tsv(per_gene, f"{outdir}/per_gene_metrics.tsv")
    write_tsv(pd.concat(heldout_frames, ignore_index=True), f"{outdir}/heldout_predictions.tsv")
    write_tsv(pd.DataFrame({"sample": ds.samples.astype(str), "fold": fold_of}), f"{outdir}/folds.tsv")
    write_tsv(pd.DataFrame(split_rows, columns=["fold", "sample", "role"]), f"{outdir}/splits.tsv")
    write_tsv(curves_frame, f"{outdir}/learning_curves.tsv")
    write_tsv(ds.genes.loc[constant, ["gene_id", "gene_name"]], f"{outdir}/constant_genes.tsv")

    figures = {}
    for name in model_names:
        with files.atomic_path(f"{outdir}/scatter_{name}.png") as tmp:
            evaluation.plot_scatter(Y, preds[name], name, units, tmp, seed=args.seed)
        figures[f"{name}: held-out predicted vs observed"] = f"scatter_{name}.png"
    with files.atomic_path(f"{outdir}/gene_correlations.png") as tmp:
        evaluation.plot_gene_correlations(per_gene, model_names, tmp)
    figures["Per-gene correlation across held-out samples"] = "gene_correlations.png"
    with files.atomic_path(f"{outdir}/learning_curves.png") as tmp:
        evaluation.plot_learning_curves(curves_frame, tmp)
    figures["Learning curves"] = "learning_curves.png"

    params = {k: v for k, v in vars(args).items() if k not in ("verbose",)}
    summary = {
        "params": {**params, "models": model_names, "ridge_alphas": alphas, "tss_epochs": net_params["tss_window"].epochs,
                   "tss_lr": net_params["tss_window"].lr, "device": str(device)},
        "seed": args.seed,
        "cv": mode,
        "n_folds": len(splits),
        "n_samples": n, "n_bins": len(ds.bins), "n_genes": n_genes, "region": ds.region, "bin_size": int(ds.bin_size),
        "target_transform": units,
        "n_constant_genes": int(constant.sum()),
        "folds": fold_info,
        "metrics": {row["model"]: {k: v for k, v in row.items() if k != "model"} for row in metric_rows},
        "versions": models.software_versions(),
    }
    with files.atomic_output(f"{outdir}/evaluation.json") as handle:
        json.dump(summary, handle, indent=2, default=float)
        handle.write("\n")
    notes = [f"dataset: {args.dataset} ({n} samples, {len(ds.bins)} bins of {ds.bin_size} bp in {ds.region}, {n_genes} genes)",
             f"{mode} cross-validation over samples, seed {args.seed}; targets in {units}; metrics on held-out samples only",
             f"{int(constant.sum())} genes without variance left out of correlations ([constant_genes.tsv](constant_genes.tsv))"]
    report = evaluation.Report("atac2expr: cross-validated evaluation", summary["params"], metrics, figures, notes)
    with files.atomic_output(f"{outdir}/evaluation.md") as handle:
        handle.write(report.render())
    log.info("wrote %s", outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
