#!/usr/bin/env python3
"""Benchmark (not a test): the held-out evaluation of every model on every chromosome of the real development data.

The data are ../shared/data/heme_hg19 (14 blood cell types, hg19 narrowPeak peaks, RNA-seq read counts per gene
symbol as CPM, RefSeq TSSs), one whole chromosome at a time in --bin_size bins, built as bench_links_real.py builds
them (the pipeline's own readers and binning). Each chromosome goes through the pipeline's cross-validation
(modelling.cross_validation.cross_validate, the folds of evaluate.py) and metrics (evaluation.compute_metrics), so the
numbers are those EVALUATE would write; `make bench-real` runs the real `nextflow run` on a few chromosomes, this
covers all of them in minutes.

It prints, per chromosome and model, R² against each gene's training mean, the median per-gene R² and the share of
genes better than the mean, then for each model the chromosomes on which it beats ridge on all three.

  benchmarks/bench_real_cv.py                                   # every chromosome of the data, binary bins
  benchmarks/bench_real_cv.py --chroms chr19,chr2 --bin_value signal --output real_cv.tsv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bin"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_links_real  # noqa: E402

from atac2expr import evaluation, targets  # noqa: E402
from atac2expr.modelling import cross_validation, predictors, runtime  # noqa: E402
from atac2expr.peaks import bin_peaks, read_peaks  # noqa: E402
from atac2expr.settings import EvaluationSettings, ModelSettings  # noqa: E402

METRICS = ("r2", "r2_gene_median", "fraction_genes_better_than_mean")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=bench_links_real.DATA, help=f"the heme_hg19 folder (default {bench_links_real.DATA})")
    parser.add_argument("--chroms", help="comma-separated chromosomes (default: every one with peaks in the data)")
    parser.add_argument("--models", default="mean,ridge,archr,signac,tss_window,local_ridge,tss_similarity")
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--bin_value", choices=("binary", "signal"), default="binary")
    parser.add_argument("--output", type=Path, help="write the table here too (TSV)")
    return parser.parse_args(argv)


def chromosomes_of(data: Path) -> list[str]:
    """The chromosomes the first sample's peaks are on, in the order of the chromosome sizes."""
    first = sorted((data / "peaks").glob("*.narrowPeak.gz"))[0]
    on = set(read_peaks(first)["chrom"].astype(str))
    sizes = pd.read_csv(data / "annotation" / "hg19.chrom.sizes", sep="\t", header=None, usecols=[0])[0].astype(str)
    return [c for c in sizes if c in on or c.removeprefix("chr") in on]


def evaluate_chromosome(args: argparse.Namespace, chrom: str, models: list[str]) -> pd.DataFrame:
    ds = bench_links_real.build_dataset(args.data, chrom, args.bin_size)
    X = ds.X
    if args.bin_value == "signal":
        X = np.stack([bin_peaks(read_peaks(args.data / "peaks" / f"{s}.narrowPeak.gz", signal=True), ds.layout, "signal") for s in ds.samples])
    settings = ModelSettings(**bench_links_real.SETTINGS)
    evaluation_settings = EvaluationSettings(folds=5, val_fraction=0.2, ridge_alpha="0.1,1,10,100,1000")
    Y = targets.transform_targets(ds.Y, settings.target_transform)
    geometry = predictors.Geometry(ds.layout, ds.genes, args.bin_value)
    cv = cross_validation.cross_validate(X, Y, geometry, models, settings, evaluation_settings)
    constant, variable = targets.constant_columns(Y), evaluation.variable_genes(ds.Y)
    rows = []
    for model in models:
        summary = evaluation.compute_metrics(Y, cv.predictions[model], cv.train_means, ds.genes, constant, variable).summary
        seconds = float(np.mean([fold[f"{model}_seconds"] for fold in cv.folds]))
        rows.append({"chrom": chrom, "bins": ds.layout.n_bins, "genes": len(ds.genes), "model": model,
                     **{k: summary[k] for k in METRICS}, "seconds_per_fit": seconds})
    return pd.DataFrame(rows)


def beats_ridge(table: pd.DataFrame) -> pd.DataFrame:
    """Per model: on how many chromosomes it beats ridge on each metric and on all three, and its mean of each."""
    wide = table.pivot(index="chrom", columns="model", values=list(METRICS))
    rows = []
    for model in table["model"].unique():
        better = pd.DataFrame({m: wide[(m, model)] > wide[(m, "ridge")] for m in METRICS})
        rows.append({"model": model, **{f"mean {m}": wide[(m, model)].mean() for m in METRICS},
                     **{f"beats ridge: {m}": int(better[m].sum()) for m in METRICS}, "beats ridge on all three": int(better.all(axis=1).sum()),
                     "of": len(wide), "lowest median per-gene R²": wide[("r2_gene_median", model)].min()})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.set_threads(2)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if "ridge" not in models:
        sys.exit("--models needs ridge: every model is compared with it")
    started = time.perf_counter()
    tables = []
    for chrom in args.chroms.split(",") if args.chroms else chromosomes_of(args.data):
        tables.append(evaluate_chromosome(args, chrom, models))
        print(tables[-1].to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
    table = pd.concat(tables, ignore_index=True)
    print(f"\n{args.bin_value} bins; 5-fold cross-validation per chromosome; R² against each gene's training mean\n")
    print(beats_ridge(table).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.output:
        table.to_csv(args.output, sep="\t", index=False)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
