"""Cross-validate expression models over samples and compare them with baselines.

Every model is fitted on the training folds and scored on the held-out fold only; the folds are the same for
every model. Models: mean (per-gene mean of the training samples), ridge (closed form on the same bins), archr
and signac (gene activity scores turned into expression by a per-gene line), mlp (bins -> hidden -> genes),
tss_window (bins around each gene's TSS, weights shared by all genes by distance), local_ridge (per-gene kernel
ridge on the bins near each TSS), tss_similarity (tss_window plus per-gene kernel ridge on the samples'
similarity), promoter (the sample's own promoter activity through one rule for all genes) and blend (the gene's
training mean, its own chromatin and the similarity part, weighed by how alike the new sample is to the training ones).

When the dataset has groups (the samplesheet's optional `group` column, at least 2 of them: a lineage, tissue, donor
or lab), every model is also evaluated with each group held out in turn (leave-group-out): what a user's new
sample from another group would get. Both are reported side by side, with the same metrics and verdicts.

Outputs in --outdir:
  metrics.tsv              one row per fold scheme and model: folds (random, or group: leave-group-out), model, mse,
                           r2, per-gene skill (all genes and the variable ones), r2_total, correlations, counts,
                           fit_seconds_per_fold
  per_gene_metrics.tsv     folds, model, gene_id, gene_name, pearson, spearman, r2, mse, observed_variance, status
  heldout_predictions.tsv  model, fold, sample, gene_id, gene_name, observed, predicted, observed_tpm, predicted_tpm
                           (random folds)
  heldout_predictions_group.tsv  the same for the leave-group-out folds (with groups; fold: the group's number in
                           folds.tsv)
  folds.tsv                sample, fold (the random fold in which the sample is held out); with groups also group and
                           group_fold (the leave-group-out fold in which it is held out)
  splits.tsv               fold, sample, role (inner_train / validation / test) for every fold
  learning_curves.tsv      model, fold, epoch, train_loss, val_loss
  constant_genes.tsv       gene_id, gene_name of genes with no variance (left out of correlations)
  evaluation.json          settings, per-fold choices and seconds per fit, metrics, versions, seed
  deviations_<model>.png   held-out observed and predicted minus each gene's training mean (what R² measures)
  scatter_<model>.png      held-out predicted vs observed, pooled over genes (secondary: the spread between genes
                           dominates it, so it looks convincing even for a model worse than the mean)
  gene_correlations.png, learning_curves.png, evaluation.md (report page: which models beat the mean and ridge)
The definitions of the metrics are in bin/atac2expr/evaluation.py and in evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli, dataset, evaluation, files, targets
from atac2expr.annotation import TSS_ONLY_NOTE, tss_only
from atac2expr.formats import FOLDS, FOLDS_GROUPS, GENE_MATRIX_KEYS, LEARNING_CURVES, METRICS, PER_GENE_METRICS, SPLITS
from atac2expr.model_registry import parse_model_list
from atac2expr.modelling import cross_validation, predictors, runtime
from atac2expr.settings import EvaluationSettings, ModelSettings
from atac2expr.tables import prediction_table, write_tsv

log = logging.getLogger("evaluate")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--models", required=True, help=f"comma-separated, from {','.join(predictors.ALL_MODELS)}")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch (the task's CPUs)")
    parser.add_argument("--max_memory", type=int, required=True, help="the task's memory in bytes: an MLP that needs more is refused (0: no limit)")
    ModelSettings.add_arguments(parser)
    EvaluationSettings.add_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def write_figures(outdir: str, Y: np.ndarray, cv: cross_validation.CrossValidation, per_gene: pd.DataFrame, summaries: dict[str, dict],
                  units: str, seed: int) -> dict[str, str]:
    figures = {}
    for name in cv.models:
        with files.atomic_path(f"{outdir}/deviations_{name}.png") as tmp:
            evaluation.plot_deviations(Y, cv.predictions[name], cv.train_means, name, summaries[name], units, tmp, seed=seed)
        figures[f"{name}: held-out deviations from each gene's training mean (what R² measures)"] = f"deviations_{name}.png"
    for name in cv.models:
        with files.atomic_path(f"{outdir}/scatter_{name}.png") as tmp:
            evaluation.plot_scatter(Y, cv.predictions[name], name, units, tmp, seed=seed)
        figures[f"{name}: held-out predicted vs observed, pooled over genes (secondary)"] = f"scatter_{name}.png"
    with files.atomic_path(f"{outdir}/gene_correlations.png") as tmp:
        evaluation.plot_gene_correlations(per_gene, cv.models, tmp)
    figures["Per-gene skill across held-out samples"] = "gene_correlations.png"
    with files.atomic_path(f"{outdir}/learning_curves.png") as tmp:
        evaluation.plot_learning_curves(cv.curves, tmp)
    figures["Learning curves"] = "learning_curves.png"
    return figures


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    model_names = parse_model_list(args.models, predictors.ALL_MODELS, "--models")
    settings = ModelSettings.from_args(args)
    evaluation_settings = EvaluationSettings.from_args(args)
    runtime.set_threads(args.threads)
    device = runtime.resolve_device(settings.device)

    ds = dataset.load_dataset(args.dataset)
    n, n_genes = len(ds.samples), len(ds.genes)
    Y = targets.transform_targets(ds.Y, settings.target_transform)
    constant = targets.constant_columns(Y)
    log.info("%s: %d samples, %s (%s), %d genes; cross-validation of %s (%s)", args.dataset, n, ds.layout.describe(), ds.bin_value,
             n_genes, ", ".join(model_names), settings.units)
    if evaluation_settings.folds > n:
        log.info("--folds %d but %d samples: leave-one-out", evaluation_settings.folds, n)
    if constant.any():
        log.warning("%d of %d genes have no variance across the %d samples; they are left out of the correlations (constant_genes.tsv)",
                    int(constant.sum()), n_genes, n)

    geometry = predictors.Geometry.of(ds)
    reads = {name for m in model_names for name in predictors.PREDICTORS[m].reads}
    inputs = {"activity": ds.activity if "activity" in reads else None, "groups": ds.groups}
    schemes = ["random", "group"] if ds.n_groups >= 2 else ["random"]
    if ds.groups is not None and ds.n_groups < 2:
        log.warning("every sample is in group '%s': leave-group-out folds need at least 2 groups; random folds only", ds.groups[0])
    if len(schemes) == 2:
        log.info("groups %s: leave-group-out folds (each group held out in turn) beside the random folds",
                 ", ".join(f"{g} ({int((ds.groups == g).sum())})" for g in sorted(set(ds.groups))))
    runs = {scheme: cross_validation.cross_validate(ds.X, Y, geometry, model_names, settings, evaluation_settings, device=device,
                                                    memory_limit=args.max_memory or None, scheme=scheme, **inputs)
            for scheme in schemes}
    cv = runs["random"]

    outdir = args.outdir
    metric_rows, per_gene_frames = [], []
    for scheme, run in runs.items():
        # one model's rows at a time: at genome scale the table is models x samples x genes (millions of rows)
        name_of = "heldout_predictions.tsv" if scheme == "random" else f"heldout_predictions_{scheme}.tsv"
        with files.atomic_output(f"{outdir}/{name_of}") as handle:
            for number, name in enumerate(model_names):
                table = prediction_table(ds.samples, ds.genes, run.predictions[name], settings.target_transform, observed=Y,
                                         observed_tpm=ds.Y, leading={"model": np.full(n, name), "fold": run.fold_of})
                table.to_csv(handle, sep="\t", index=False, header=number == 0)
                del table
    variable = evaluation.variable_genes(ds.Y)
    for scheme, run in runs.items():
        for name in model_names:
            result = evaluation.compute_metrics(Y, run.predictions[name], run.train_means, ds.genes, constant, variable)
            seconds = float(np.mean([fold[f"{name}_seconds"] for fold in run.folds]))
            metric_rows.append({"folds": scheme, "model": name, **result.summary, "fit_seconds_per_fold": seconds})
            per_gene_frames.append(result.per_gene.assign(folds=scheme, model=name))
            log.info("%-6s %-14s held-out R2 %.3f  median per-gene R2 %.3f  better than the mean %.0f%% of genes (%d variable: %.3f, "
                     "%.0f%%)  %.1f s per fold", scheme, name, result.summary["r2"], result.summary["r2_gene_median"],
                     100 * result.summary["fraction_genes_better_than_mean"], result.summary["n_genes_variable"],
                     result.summary["r2_gene_median_variable"], 100 * result.summary["fraction_genes_better_than_mean_variable"], seconds)
    metrics = METRICS.frame(pd.DataFrame(metric_rows))
    per_gene = PER_GENE_METRICS.frame(pd.concat(per_gene_frames, ignore_index=True))

    write_tsv(metrics, f"{outdir}/metrics.tsv")
    write_tsv(per_gene, f"{outdir}/per_gene_metrics.tsv")
    folds = {"sample": ds.samples.astype(str), "fold": cv.fold_of}
    if "group" in runs:
        folds |= {"group": ds.groups, "group_fold": runs["group"].fold_of}
    write_tsv((FOLDS_GROUPS if "group" in runs else FOLDS).frame(folds), f"{outdir}/folds.tsv")
    split_rows = [(s.fold, ds.samples[i], role) for s in cv.splits
                  for role, rows in (("inner_train", s.inner_train), ("validation", s.validation), ("test", s.test)) for i in rows]
    write_tsv(pd.DataFrame(split_rows, columns=SPLITS.columns), f"{outdir}/splits.tsv")
    write_tsv(LEARNING_CURVES.frame(cv.curves), f"{outdir}/learning_curves.tsv")
    write_tsv(ds.genes.loc[constant, list(GENE_MATRIX_KEYS)], f"{outdir}/constant_genes.tsv")
    random_rows = {row["model"]: row for row in metric_rows if row["folds"] == "random"}
    figures = write_figures(outdir, Y, cv, per_gene[per_gene["folds"] == "random"], random_rows, settings.units, settings.seed)

    summary = {
        "settings": {**settings.as_dict(), **evaluation_settings.as_dict(), "models": model_names, "ridge_alphas": evaluation_settings.alphas,
                     "device": str(device), "threads": args.threads},
        "seed": settings.seed,
        "cv": cv.mode,
        "n_folds": len(cv.splits),
        "n_samples": n, "n_bins": ds.layout.n_bins, "n_genes": n_genes, "region": ds.layout.describe(), "bin_size": int(ds.bin_size),
        "bin_value": ds.bin_value,
        "target_transform": settings.units,
        "n_constant_genes": int(constant.sum()),
        "folds": cv.folds,
        "metrics": {model: {k: v for k, v in row.items() if k not in ("model", "folds")} for model, row in random_rows.items()},
        "versions": runtime.software_versions(),
    }
    if "group" in runs:
        group_run = runs["group"]
        summary["leave_group_out"] = {
            "cv": group_run.mode, "groups": {g: [str(s) for s in ds.samples[ds.groups == g]] for g in sorted(set(ds.groups))},
            "folds": group_run.folds,
            "metrics": {row["model"]: {k: v for k, v in row.items() if k not in ("model", "folds")} for row in metric_rows
                        if row["folds"] == "group"}}
    with files.atomic_output(f"{outdir}/evaluation.json") as handle:
        json.dump(summary, handle, indent=2, default=float)
        handle.write("\n")
    notes = [f"dataset: {args.dataset} ({n} samples, {ds.layout.describe()}, {ds.bin_value} bins, {n_genes} genes)",
             f"{cv.mode} cross-validation over samples, seed {settings.seed}; targets in {settings.units}; metrics on held-out samples only",
             f"{int(constant.sum())} genes without variance left out of correlations ([constant_genes.tsv](constant_genes.tsv))"]
    if "group" in runs:
        notes.append(f"{runs['group'].mode} cross-validation too: each group held out in turn, as a new sample from another "
                     f"group would be ([folds.tsv](folds.tsv) says which sample is in which group)")
    if tss_only(ds.genes) and {"archr", "signac"} & set(model_names):
        log.info(TSS_ONLY_NOTE)
        notes.append(TSS_ONLY_NOTE)
    report = evaluation.Report("atac2expr: cross-validated evaluation", summary["settings"], metrics, figures, notes)
    with files.atomic_output(f"{outdir}/evaluation.md") as handle:
        handle.write(report.render())
    log.info("wrote %s", outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
