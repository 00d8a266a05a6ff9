#!/usr/bin/env python3
"""Benchmark (not a test): precision of every model's links against the planted truth, and the shuffled-label control.

tests/make_test_data.py writes regulatory_bins.tsv, the bins that drive each gene. This script generates that data
(--seed; one RNA-seq fragment per sample: the targets are the true TPMs, no kallisto), fits each model of --models
on all samples with the pipeline's settings (the MLP as TRAIN_MODEL trains it), takes its links as the
pipeline does, and prints the precision of each gene's top 1 and top 3 links against the regulatory bins, beside
chance (random bins of the same windows) and position alone (the bins nearest the TSS). The control fits the same
models on the same bins with every sample given another sample's expression. tests/test_links.py asserts the
baselines' part of this table in seconds; the MLP's takes minutes, so it is here.

  benchmarks/bench_links_planted.py                      # every model with links; seed 1
  benchmarks/bench_links_planted.py --models ridge,tss_window --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import planted

from atac2expr import links, targets
from atac2expr.modelling import predictors, runtime
from atac2expr.settings import EvaluationSettings, ModelSettings

REPO = Path(__file__).resolve().parents[1]

# nextflow_schema.json's defaults but for the networks' epochs, which -profile test's shared run also shortens
SETTINGS = dict(hidden=500, epochs=300, lr=0.001, weight_decay=0.0, dropout=0.0, window=50000, patience=50, target_transform="log1p",
                seed=1, device="cpu")
REACH = 250_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ridge,archr,signac,tss_window,local_ridge,tss_similarity,mlp")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds of the generated data")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    return parser.parse_args(argv)


def scores(table: pd.DataFrame, ds, regulatory: pd.DataFrame) -> dict[str, float]:
    """Top-1 and top-3 precision; a model without links (one that chose each gene's mean) has none to score."""
    out: dict[str, float] = {"links": len(table)}
    for top in (1, 3):
        score = planted.link_precision(table[table["rank"] <= top], regulatory, ds.bins, ds.genes, REACH)
        out[f"top {top}"], out["chance"] = score["precision"], score["chance"]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.set_threads(2)
    settings = ModelSettings(**{**SETTINGS, "epochs": args.epochs})
    evaluation = EvaluationSettings(folds=5, val_fraction=0.2, ridge_alpha="0.1,1,10,100,1000")
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([sys.executable, str(REPO / "tests" / "make_test_data.py"), "--outdir", folder, "--fragments", "1", "--seed", str(seed)],
                           check=True, capture_output=True)
            ds, regulatory = planted.generated_dataset(Path(folder))
        pairs = predictors.CisPairs.of(predictors.Geometry.of(ds), REACH)
        keep, rank = links.top_links(pairs.gene, 1.0 / (1.0 + pairs.distance), pairs.distance, 3)
        nearest = links.links_table(links.Links(pairs.gene[keep], pairs.bin[keep], np.ones(len(keep)), rank), ds.genes, ds.bins)
        rows.append({"seed": seed, "model": "nearest bins", "labels": "-", **scores(nearest, ds, regulatory)})
        shuffled = ds.Y[planted.derangement(len(ds.Y), seed)]
        for kind in [m.strip() for m in args.models.split(",") if m.strip()]:
            for label, Y in (("planted", ds.Y), ("shuffled", shuffled)):
                started = time.perf_counter()
                predictor = predictors.make(kind, settings, predictors.Geometry.of(ds), evaluation)
                predictor.fit(ds.X, targets.transform_targets(Y, settings.target_transform))
                table = links.links_table(predictor.links(ds.X, REACH, 3), ds.genes, ds.bins)
                rows.append({"seed": seed, "model": kind, "labels": label, **scores(table, ds, regulatory),
                             "seconds": time.perf_counter() - started})
                print(f"seed {seed} {kind} {label}: {rows[-1]['links']} links, {rows[-1]['top 1']:.3f} / {rows[-1]['top 3']:.3f}", flush=True)
    result = pd.DataFrame(rows)
    print(f"\nprecision of each gene's top links against the planted regulatory bins (67 genes, bins within {REACH:,} bp of the TSS)\n")
    print(result.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.3f}"))
    print("\n(no precision: the model has no links; e.g. it chose each gene's mean, as the gated models do on shuffled labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
