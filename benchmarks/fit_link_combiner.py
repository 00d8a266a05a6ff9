#!/usr/bin/env python3
"""Fit the links' score combiner (assets/link_combiner.json) on CRISPRi-tested pairs, with whole chromosomes held out.

What it reads (the shared data, as they lie):
  ../shared/data/heme_hg19   14 blood cell types: the training samples whose cross-sample evidence the score uses, as a
                             model file of a genome run on them keeps it (atac2expr.link_scores.compute_evidence on
                             the dataset the pipeline builds: RefSeq TSSs, CPM of the counts, peaks' signalValue per bin)
  ../shared/data/crispr_k562 the K562 DNase peaks (the new sample, as -entry PREDICT bins them) and the CRISPRi pairs

Then, with the pipeline's own code: the bins of the whole genome (--bin_size), K562's candidate pairs within --reach
of each gene's TSS and their features (atac2expr.link_scores.sample_features), one feature row per CRISPRi pair (the
element's overlapping candidate bin with the largest ABC; the bins of a run's links are scored the same way by their
largest score), and a logistic regression on the standardised features (L2 penalty --penalty, fixed beforehand, no
choice made on the pairs). Held-out numbers: for each chromosome, the combiner fitted on the pairs of every other
chromosome scores that chromosome's pairs (as ENCODE-rE2G does); AP, precision at 70% recall and AP per distance bin
of the pooled held-out scores, beside distance and the ABC-style baseline (benchmarks/bench_crispr.py) on the same
pairs. The asset keeps the combiner fitted on every pair, each held-out chromosome's combiner (for benchmarks of runs
on these pairs) and the provenance.

  benchmarks/fit_link_combiner.py                         # prints the held-out table and writes assets/link_combiner.json
  benchmarks/fit_link_combiner.py --output /tmp/c.json --permutations 5
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import bench_crispr
import numpy as np
import pandas as pd

from atac2expr import link_scores
from atac2expr.annotation import read_gene_bed
from atac2expr.genomes import resolve
from atac2expr.peaks import bin_activity, read_peaks
from atac2expr.regions import BinLayout, parse_regions, read_chrom_sizes

REPO = Path(__file__).resolve().parents[1]

HEME = next((p / "shared" / "data" / "heme_hg19" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "data" / "heme_hg19").exists()),
            REPO.parent / "shared" / "data" / "heme_hg19")
VERSION = "1"


def schema_default(name: str):
    schema = json.loads((REPO / "nextflow_schema.json").read_text())
    for group in schema["$defs"].values():
        if name in group.get("properties", {}):
            return group["properties"][name]["default"]
    raise KeyError(name)


def activity_of(path: Path, layout: BinLayout) -> np.ndarray:
    """Per bin, the activity BINARIZE_PEAKS records: the strongest overlapping peak's signalValue (0 where none)."""
    activity, kind = bin_activity(read_peaks(path, activity=True), layout)
    if kind != "signal":
        sys.exit(f"{path}: no signalValue")
    return activity


def heme_training(data: Path, layout: BinLayout) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """(genes, CPM samples x genes, activity samples x bins, samples) as a genome run on the heme data builds them."""
    genes = read_gene_bed(data / "annotation" / "refGene_hg19_TSS.bed").genes
    counts = pd.read_csv(data / "expression" / "counts.tsv", sep="\t", dtype={"gene_name": str}, keep_default_na=False).set_index("gene_name")
    cpm = counts / counts.sum(axis=0) * 1e6
    cpm = cpm[~cpm.index.duplicated(keep=False)]
    genes = genes[genes["gene_id"].isin(cpm.index) & genes["chrom"].isin(layout.chroms)].reset_index(drop=True)
    samples = list(cpm.columns)
    activity = np.stack([activity_of(data / "peaks" / f"{s}.narrowPeak.gz", layout) for s in samples])
    return genes, cpm.loc[genes["gene_id"], samples].to_numpy(np.float64).T, activity, samples


def pair_features(pairs: pd.DataFrame, gene: np.ndarray, found: link_scores.PairScores, bins: pd.DataFrame) -> np.ndarray:
    """One feature row per pair (NaN: no candidate bin of its gene overlaps the element): the overlapping candidate bin
    with the largest ABC."""
    table = pd.DataFrame({"chrom": bins["chrom"].to_numpy(str)[found.bin],
                          "start": bins["start"].to_numpy(np.int64)[found.bin], "end": bins["end"].to_numpy(np.int64)[found.bin]})
    pair, row = bench_crispr.overlaps(pairs, table)
    same = found.gene[row] == gene[pair]
    pair, row = pair[same], row[same]
    order = np.lexsort((-found.abc[row], pair))
    pair, row = pair[order], row[order]
    first = np.r_[True, pair[1:] != pair[:-1]]
    out = np.full((len(pairs), found.features.shape[1]), np.nan)
    out[pair[first]] = found.features[row[first]]
    return out


def heldout_scores(X: np.ndarray, y: np.ndarray, chrom: np.ndarray, penalty: float) -> tuple[np.ndarray, dict[str, link_scores.LogisticModel]]:
    scored = np.isfinite(X).all(axis=1)
    out = np.full(len(y), np.nan)
    models = {}
    for name in sorted(set(chrom[scored])):
        test, train = scored & (chrom == name), scored & (chrom != name)
        models[name] = link_scores.fit_logistic(X[train], y[train], penalty)
        out[test] = models[name].probability(X[test])
    return out, models


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heme", type=Path, default=HEME, help=f"the heme_hg19 folder (default {HEME})")
    parser.add_argument("--crispr", type=Path, default=bench_crispr.DATA, help=f"the crispr_k562 folder (default {bench_crispr.DATA})")
    parser.add_argument("--bin_size", type=int, default=schema_default("bin_size"))
    parser.add_argument("--reach", type=int, default=schema_default("links_max_distance"), help="bp from the TSS: the candidate bins")
    parser.add_argument("--penalty", type=float, default=1.0, help="L2 penalty on the standardised coefficients (fixed beforehand)")
    parser.add_argument("--permutations", type=int, default=link_scores.PERMUTATIONS)
    parser.add_argument("--seed", type=int, default=schema_default("seed"))
    parser.add_argument("--output", type=Path, default=link_scores.COMBINER)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    contact = link_scores.ContactModel(schema_default("abc_gamma"), schema_default("abc_min_distance"), schema_default("abc_max_distance"))
    sizes = read_chrom_sizes(args.heme / "annotation" / "hg19.chrom.sizes")
    layout = BinLayout.of(parse_regions("genome", sizes, primary=resolve("GRCh37").primary), args.bin_size)
    bins = layout.bins()
    genes, cpm, heme_activity, samples = heme_training(args.heme, layout)
    print(f"training samples: {len(samples)} ({', '.join(samples)}); {len(genes):,} genes; {layout.describe()} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    evidence = link_scores.compute_evidence(heme_activity, cpm, bins, genes, args.reach, args.seed, args.permutations)
    del heme_activity
    print(f"evidence: {evidence.summary()} ({time.perf_counter() - started:.0f} s)", flush=True)
    positions = link_scores.Positions(bins, genes)
    k562 = activity_of(args.crispr / bench_crispr.PEAKS, layout)
    found = link_scores.sample_features(k562, positions, contact, args.reach, evidence)
    print(f"K562: {int((k562 > 0).sum()):,} open bins, {len(found):,} candidate pairs ({time.perf_counter() - started:.0f} s)", flush=True)

    pairs = bench_crispr.read_pairs(args.crispr / bench_crispr.PAIRS)
    gene = bench_crispr.gene_rows(pairs, genes)
    modelled = gene >= 0
    pairs, gene = pairs[modelled].reset_index(drop=True), gene[modelled]
    X = pair_features(pairs, gene, found, bins)
    y = pairs["regulated"].to_numpy()
    distance = pairs["distance"].to_numpy(np.float64)
    chrom = pairs["chrom"].to_numpy(str)
    scored = np.isfinite(X).all(axis=1)
    heldout, models = heldout_scores(X, y, chrom, args.penalty)
    full = link_scores.fit_logistic(X[scored], y[scored], args.penalty)
    peaks = read_peaks(args.crispr / bench_crispr.PEAKS, signal=True)
    baseline_abc = bench_crispr.peak_abc(pairs, peaks, **bench_crispr.BASELINE_ABC)
    abc_column = np.where(scored, np.exp(X[:, 0]), np.nan)
    run_distance = np.abs((pairs["start"] + pairs["end"]).to_numpy() // 2 - genes["tss"].to_numpy()[gene]).astype(np.float64)
    rows = {
        "distance (baseline)": bench_crispr.metrics(y, -distance, distance),
        "distance to the model's TSS (baseline)": bench_crispr.metrics(y, -run_distance, distance),
        "ABC-style from the DNase peaks (baseline)": bench_crispr.metrics(y, baseline_abc, distance),
        "abc (the pipeline's, 1 kb bins)": bench_crispr.metrics(y, bench_crispr.with_fallback(abc_column, distance), distance),
        "score (held-out chromosomes)": bench_crispr.metrics(y, bench_crispr.with_fallback(heldout, distance), distance),
    }
    table = pd.DataFrame(rows).T
    print(f"\n{len(pairs):,} pairs whose gene the heme data model ({int(y.sum())} regulated); {int(scored.sum()):,} scored "
          f"({int(y[scored].sum())} regulated): an open K562 bin of the element within {args.reach:,} bp of the TSS\n")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\ncoefficients (standardised features) of the combiner fitted on every pair:")
    print(pd.Series(full.coefficients, index=link_scores.FEATURES).round(3).to_string())

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    heldout_metrics = rows["score (held-out chromosomes)"]
    asset = {
        "name": "atac2expr link score combiner", "version": VERSION, "features": list(link_scores.FEATURES),
        "form": f"logistic regression on standardised features, L2 penalty {args.penalty} (intercept unpenalised), Newton's method",
        "model": full.as_dict(),
        "heldout_chromosomes": {name: model.as_dict() for name, model in models.items()},
        "contact": contact.as_dict(), "reach": args.reach, "bin_size": args.bin_size,
        "provenance": {
            "fitted": datetime.date.today().isoformat(), "commit": commit,
            "command": "python benchmarks/fit_link_combiner.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "pairs": f"{args.crispr.name}/{bench_crispr.PAIRS}: CRISPRi-tested element-gene pairs in K562 (ENCODE-rE2G's training set, "
                     f"EngreitzLab/CRISPR_comparison), lifted to hg19",
            "new_sample": f"{args.crispr.name}/{bench_crispr.PEAKS}",
            "training_samples": f"{args.heme.name}: {', '.join(samples)} (evidence: {evidence.summary()})",
            "pairs_used": int(scored.sum()), "regulated_used": int(y[scored].sum()), "pairs_evaluated": len(pairs),
            "heldout_chromosome_metrics": {k: round(float(v), 4) for k, v in heldout_metrics.items()},
            "baselines_same_pairs": {name: {k: round(float(v), 4) for k, v in m.items()} for name, m in rows.items() if "baseline" in name},
        },
    }
    args.output.write_text(json.dumps(asset, indent=1) + "\n")
    print(f"\nwrote {args.output} ({time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
