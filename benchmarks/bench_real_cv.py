#!/usr/bin/env python3
"""Benchmark (not a test): the held-out evaluation of every model on every chromosome of the real development data,
in random folds and with a whole lineage held out.

The data are ../shared/data/heme_hg19 (14 blood cell types, hg19 narrowPeak peaks, RNA-seq read counts per gene
symbol as CPM, RefSeq TSSs), one whole chromosome at a time in --bin_size bins, built as bench_links_real.py builds
them (the pipeline's own readers and binning, each bin's activity, each sample's lineage as its group:
bench_links_real.LINEAGES). Each chromosome goes through the pipeline's cross-validation
(modelling.cross_validation.cross_validate) and metrics (evaluation.compute_metrics), so the numbers are those
EVALUATE would write; `make bench-real` runs the real `nextflow run` on a few chromosomes, this covers all of them.

--folds random: 5 random folds (evaluate.py's); group: leave-lineage-out (progenitor, myeloid, lymphoid, erythroid,
each held out in turn); both (default): both tables. Per chromosome and model: R² against each gene's training
mean, the median per-gene R², the share of genes better than the mean. Then per fold scheme and model, the mean over
chromosomes and the worst chromosome, and on how many chromosomes it beats ridge, tss_window and promoter on both
R² and median per-gene R².

With the group folds it also prints the proxy of a new cell type's "expressed or not" check: per held-out sample,
the AUROC over genes of expressed (CPM > --expressed_cpm) against each predictor: the sample's own promoter signal
(the strongest peak within 1 kb of the TSS), the rank combination (rank of the gene's training mean + rank of the
promoter signal), the training mean, and every model's held-out prediction; mean over samples and chromosomes.

--heldout_peaks summit150: the held-out samples are predicted from their peaks re-cut to 150 bp around each summit
(K562's uniform DNase peaks are 150 bp; the signalValue kept), the models trained on the peaks as called: how much a
new sample's peak caller moves the predictions. --peaks summit150: every sample's peaks re-cut so, training and
held-out alike (what binning by summit at a fixed width would give every sample).

  benchmarks/bench_real_cv.py                                   # every chromosome, both fold schemes
  benchmarks/bench_real_cv.py --chroms chr19,chr2 --folds group --output real_cv.tsv
  benchmarks/bench_real_cv.py --chroms chr19 --folds group --heldout_peaks summit150
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import bench_links_real
import numpy as np
import pandas as pd

from atac2expr import evaluation, targets
from atac2expr.modelling import cross_validation, predictors, promoter, runtime
from atac2expr.peaks import bin_activity, bin_peaks, read_peaks
from atac2expr.settings import EvaluationSettings, ModelSettings

REPO = Path(__file__).resolve().parent.parent

METRICS = ("r2", "r2_gene_median", "fraction_genes_better_than_mean")
MODELS = "mean,ridge,archr,signac,promoter,tss_window,local_ridge,tss_similarity,blend"
RIVALS = ("mean", "promoter", "tss_window", "ridge", "tss_similarity")  # what each model is compared with
SCHEME_NAMES = {"random": "random 5 folds", "group": "leave-lineage-out"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=bench_links_real.DATA, help=f"the heme_hg19 folder (default {bench_links_real.DATA})")
    parser.add_argument("--chroms", help="comma-separated chromosomes (default: every one with peaks in the data)")
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--folds", choices=("random", "group", "both"), default="both")
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--bin_value", choices=("binary", "signal"), default="binary")
    parser.add_argument("--heldout_peaks", choices=("as_called", "summit150"), default="as_called")
    parser.add_argument("--peaks", choices=("as_called", "summit150"), default="as_called", help="every sample's peaks")
    parser.add_argument("--expressed_cpm", type=float, default=10.0, help="expressed: CPM above this (the AUROC proxy)")
    parser.add_argument("--output", type=Path, help="write the per-chromosome table here too (TSV)")
    return parser.parse_args(argv)


def chromosomes_of(data: Path) -> list[str]:
    """The chromosomes the first sample's peaks are on, in the order of the chromosome sizes."""
    first = sorted((data / "peaks").glob("*.narrowPeak.gz"))[0]
    on = set(read_peaks(first)["chrom"].astype(str))
    sizes = pd.read_csv(data / "annotation" / "hg19.chrom.sizes", sep="\t", header=None, usecols=[0])[0].astype(str)
    return [c for c in sizes if c in on or c.removeprefix("chr") in on]


def summit_peaks(path: Path, width: int = 150) -> pd.DataFrame:
    """The file's peaks re-cut to `width` bp centred on each summit (narrowPeak column 10; the centre without one),
    signalValue kept."""
    raw = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2, 6, 9], names=["chrom", "start", "end", "signal", "summit"])
    centre = np.where(raw["summit"] >= 0, raw["start"] + raw["summit"], (raw["start"] + raw["end"]) // 2)
    start = np.maximum(centre - width // 2, 0)
    frame = pd.DataFrame({"chrom": raw["chrom"].str.removeprefix("chr"), "start": start, "end": start + width,
                          "signal": raw["signal"].astype(np.float64)})
    return frame.drop_duplicates(["chrom", "start", "end"]).assign(chrom=lambda f: pd.Categorical(f["chrom"]))


def auroc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of `score` for `label` (ties averaged): the chance a random expressed gene scores above
    a random silent one."""
    positives, negatives = int(label.sum()), int((~label).sum())
    if not positives or not negatives:
        return float("nan")
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def expressed_aurocs(ds, cv: cross_validation.CrossValidation, activity: np.ndarray, models: list[str], cpm: float) -> pd.DataFrame:
    """Per held-out sample (group folds): AUROC of expressed (CPM > cpm) for each predictor (module docstring)."""
    promoter_signal = promoter.PromoterBins(ds.bins, ds.genes).activity(promoter.activity_ranks(activity))
    rank = lambda values: pd.Series(values).rank(method="average").to_numpy()  # noqa: E731
    rows = []
    for i, sample in enumerate(ds.samples):
        label = ds.Y[i] > cpm
        scores = {"promoter signal": promoter_signal[i], "rank combination": rank(cv.train_means[i]) + rank(promoter_signal[i]),
                  "training mean": cv.train_means[i], **{m: cv.predictions[m][i] for m in models if m not in ("mean", "promoter")}}
        rows += [{"sample": str(sample), "predictor": name, "auroc": auroc(score, label)} for name, score in scores.items()]
    return pd.DataFrame(rows)


def evaluate_chromosome(args: argparse.Namespace, chrom: str, models: list[str], schemes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = bench_links_real.build_dataset(args.data, chrom, args.bin_size)
    X = ds.X
    if args.bin_value == "signal":
        X = np.stack([bin_peaks(read_peaks(args.data / "peaks" / f"{s}.narrowPeak.gz", signal=True), ds.layout, "signal") for s in ds.samples])
    heldout, activity = {}, ds.activity
    if "summit150" in (args.heldout_peaks, args.peaks):
        recut = [summit_peaks(args.data / "peaks" / f"{s}.narrowPeak.gz") for s in ds.samples]
        recut_bins = np.stack([bin_peaks(p, ds.layout, args.bin_value) for p in recut])
        recut_activity = np.stack([bin_activity(p, ds.layout)[0] for p in recut])
        if args.peaks == "summit150":
            X, activity = recut_bins, recut_activity
        else:
            heldout = {"X_test": recut_bins, "activity_test": recut_activity}
    settings = ModelSettings(**bench_links_real.SETTINGS)
    evaluation_settings = EvaluationSettings(folds=5, val_fraction=0.2, ridge_alpha="0.1,1,10,100,1000")
    Y = targets.transform_targets(ds.Y, settings.target_transform)
    geometry = predictors.Geometry(ds.layout, ds.genes, args.bin_value)
    constant, variable = targets.constant_columns(Y), evaluation.variable_genes(ds.Y)
    rows, aurocs = [], []
    for scheme in schemes:
        cv = cross_validation.cross_validate(X, Y, geometry, models, settings, evaluation_settings, activity=activity,
                                             groups=ds.groups, scheme=scheme, **heldout)
        for model in models:
            summary = evaluation.compute_metrics(Y, cv.predictions[model], cv.train_means, ds.genes, constant, variable).summary
            seconds = float(np.mean([fold[f"{model}_seconds"] for fold in cv.folds]))
            rows.append({"chrom": chrom, "folds": scheme, "bins": ds.layout.n_bins, "genes": len(ds.genes), "model": model,
                         **{k: summary[k] for k in METRICS}, "seconds_per_fit": seconds})
        if scheme == "group":
            aurocs.append(expressed_aurocs(ds, cv, heldout.get("activity_test", activity), models, args.expressed_cpm).assign(chrom=chrom))
    return pd.DataFrame(rows), (pd.concat(aurocs, ignore_index=True) if aurocs else pd.DataFrame())


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per fold scheme and model: the mean of each metric over chromosomes, the worst chromosome's R² and median
    per-gene R², and on how many chromosomes it beats each rival on both R² and median per-gene R²."""
    rows = []
    for scheme, part in table.groupby("folds", sort=False):
        wide = part.pivot(index="chrom", columns="model", values=list(METRICS))
        for model in part["model"].unique():
            row = {"folds": SCHEME_NAMES.get(scheme, scheme), "model": model, **{f"mean {m}": wide[(m, model)].mean() for m in METRICS},
                   "worst r2": wide[("r2", model)].min(), "worst r2_gene_median": wide[("r2_gene_median", model)].min()}
            for rival in RIVALS:
                if rival != model and ("r2", rival) in wide:
                    beats = (wide[("r2", model)] > wide[("r2", rival)]) & (wide[("r2_gene_median", model)] > wide[("r2_gene_median", rival)])
                    row[f"beats {rival}"] = f"{int(beats.sum())}/{len(wide)}"
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.set_threads(2)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    schemes = ["random", "group"] if args.folds == "both" else [args.folds]
    started = time.perf_counter()
    tables, aurocs = [], []
    for chrom in args.chroms.split(",") if args.chroms else chromosomes_of(args.data):
        table, proxy = evaluate_chromosome(args, chrom, models, schemes)
        tables.append(table)
        aurocs.append(proxy)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
    table = pd.concat(tables, ignore_index=True)
    fmt = lambda v: f"{v:.3f}"  # noqa: E731
    print(f"\n{args.bin_value} bins; peaks {args.peaks}, held-out peaks {args.heldout_peaks}; R² against each gene's training mean; "
          f"{table['chrom'].nunique()} chromosomes\n")
    print(summarise(table).to_string(index=False, float_format=fmt))
    proxy = pd.concat(aurocs, ignore_index=True)
    if len(proxy):
        print(f"\nAUROC of expressed (CPM > {args.expressed_cpm:g}) per held-out sample, leave-lineage-out: mean over samples and "
              f"chromosomes, and the lowest chromosome's mean")
        per_chrom = proxy.groupby(["predictor", "chrom"], sort=False)["auroc"].mean().unstack()
        by_sample = proxy.groupby(["predictor", "sample"], sort=False)["auroc"].mean().unstack()
        summary = pd.DataFrame({"mean AUROC": per_chrom.mean(axis=1), "lowest chromosome": per_chrom.min(axis=1)})
        print(summary.join(by_sample).to_string(float_format=fmt))
    if args.output:
        table.to_csv(args.output, sep="\t", index=False)
        if len(proxy):
            proxy.to_csv(args.output.with_suffix(".auroc.tsv"), sep="\t", index=False)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
