#!/usr/bin/env python3
"""Benchmark (not a test): where the links of each model fall on real data, relative to the genes' TSSs.

Real data: the 14 blood cell types of ../shared/data/heme_hg19 (ATAC-seq peaks, RNA-seq read counts per gene
symbol, RefSeq TSSs, hg19). The script builds the pipeline's dataset from them with the pipeline's own code (no
file is converted by hand): bins of --bin_size over --chroms (peaks binarised by atac2expr.peaks), genes = RefSeq
symbols with one TSS per symbol (the most upstream of its transcripts on its strand; symbols on several chromosomes
or with several rows of counts are left out), expression = CPM of the counts (no gene lengths: TPM cannot be computed). Then each model of --models
is fitted on all samples (as TRAIN_MODEL fits the saved models) and its links are taken as the
pipeline takes them (--links_top bins per gene within --links_max_distance of the TSS).

For each model it prints: links and genes with links, the |distance| from the TSS to the linked bin's centre
(quantiles), the share of links at the promoter (the bin overlaps TSS +/- 1 kb) and within 10 and 50 kb, the same
shares for each gene's strongest link, and what random bins of the same windows would give. Without signal in the
links, their distances would follow the windows' (about uniform over +/- --links_max_distance).

  benchmarks/bench_links_real.py                                  # chr19 (2,694 RefSeq TSSs), every model with links but the MLP
  benchmarks/bench_links_real.py --chroms chr19,chr17 --models ridge
  benchmarks/bench_links_real.py --links results/links/ridge.links.tsv.gz --dataset results/dataset/dataset.npz
                                                                  # the links of a pipeline run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from atac2expr import dataset, links, targets
from atac2expr.formats import GENES
from atac2expr.modelling import cross_validation, predictors, runtime
from atac2expr.peaks import bin_activity, bin_peaks, read_peaks
from atac2expr.regions import BinLayout, normalize_chroms, parse_regions, read_chrom_sizes
from atac2expr.settings import EvaluationSettings, ModelSettings

REPO = Path(__file__).resolve().parents[1]

# ../shared beside the repository (a clone) or beside the folder of worktrees
DATA = next((p / "shared" / "data" / "heme_hg19" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "data" / "heme_hg19").exists()),
            REPO.parent / "shared" / "data" / "heme_hg19")
PROMOTER = 1000  # bp either side of the TSS
# The lineage of each of the 14 populations (docs/models.md says how it was chosen): the samplesheet's
# `group` of the real-data benchmarks, whose leave-group-out folds hold out a whole lineage
LINEAGES = {"HSC": "progenitor", "MPP": "progenitor", "LMPP": "progenitor", "CLP": "progenitor",
            "GMP-A": "myeloid", "GMP-B": "myeloid", "GMP-C": "myeloid", "Mono": "myeloid", "pDC": "myeloid",
            "B": "lymphoid", "CD4": "lymphoid", "CD8": "lymphoid", "NK": "lymphoid", "Ery": "erythroid"}
# the pipeline's defaults (nextflow_schema.json)
SETTINGS = dict(hidden=500, epochs=1000, lr=0.001, weight_decay=0.0, dropout=0.0, window=50000, patience=50, target_transform="log1p",
                seed=1, device="cpu")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help=f"the heme_hg19 folder (default {DATA})")
    parser.add_argument("--chroms", default="chr19", help="comma-separated chromosomes whose bins and genes are used (default chr19)")
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--models", default="ridge,archr,signac,tss_window,local_ridge,tss_similarity")
    parser.add_argument("--links_top", type=int, default=10)
    parser.add_argument("--links_max_distance", type=int, default=250_000)
    parser.add_argument("--links", type=Path, nargs="*", help="summarise these links tables instead (needs --dataset)")
    parser.add_argument("--dataset", type=Path, help="the dataset.npz of the --links tables")
    parser.add_argument("--output", type=Path, help="write the summary table here too (TSV)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the dataset from the shared files

def tss_genes(path: Path, chroms: list[str]) -> pd.DataFrame:
    """formats.GENES rows of a TSS-only BED (chrom, tss, tss, accession, symbol, strand): one per symbol."""
    bed = pd.read_csv(path, sep="\t", header=None, names=["chrom", "tss", "tss_end", "accession", "symbol", "strand"],
                      dtype={"chrom": str, "symbol": str, "strand": str}, keep_default_na=False)
    bed["chrom"] = normalize_chroms(bed["chrom"])
    spread = bed.groupby("symbol")["chrom"].nunique()
    bed = bed[bed["symbol"].map(spread) == 1]
    bed = bed[bed["chrom"].isin(chroms)]
    # the most upstream TSS of the symbol's transcripts on its strand
    upstream = bed.assign(key=np.where(bed["strand"] == "-", -bed["tss"], bed["tss"])).sort_values(["symbol", "key"])
    first = upstream.drop_duplicates("symbol").sort_values(["chrom", "tss"]).reset_index(drop=True)
    return GENES.frame({"gene_id": first["symbol"], "gene_name": first["symbol"], "gene_biotype": "refseq", "chrom": first["chrom"],
                        "start": first["tss"], "end": first["tss"] + 1, "strand": first["strand"], "tss": first["tss"]})


def build_dataset(data: Path, chroms_text: str, bin_size: int) -> dataset.Dataset:
    sizes = read_chrom_sizes(data / "annotation" / "hg19.chrom.sizes")
    layout = BinLayout.of(parse_regions(chroms_text, sizes, sizes_source="hg19.chrom.sizes"), bin_size)
    counts = pd.read_csv(data / "expression" / "counts.tsv", sep="\t", dtype={"gene_name": str}, keep_default_na=False).set_index("gene_name")
    cpm = counts / counts.sum(axis=0) * 1e6
    cpm = cpm[~cpm.index.duplicated(keep=False)]  # a symbol with two rows of counts is ambiguous: left out
    genes = tss_genes(data / "annotation" / "refGene_hg19_TSS.bed", layout.chroms)
    genes = genes[genes["gene_id"].isin(cpm.index)].reset_index(drop=True)
    samples = list(cpm.columns)
    peaks = [read_peaks(data / "peaks" / f"{s}.narrowPeak.gz", activity=True) for s in samples]
    X = np.stack([bin_peaks(p, layout, "binary") for p in peaks]).astype(np.uint8)
    activity = [bin_activity(p, layout) for p in peaks]
    Y = cpm.loc[genes["gene_id"], samples].to_numpy(np.float64).T
    groups = np.array([LINEAGES.get(s, s) for s in samples])
    return dataset.Dataset(X, Y, np.array(samples), layout, genes, "binary", np.array([kind for _, kind in activity]),
                           np.stack([values for values, _ in activity]), groups=groups)


def fitted_links(ds: dataset.Dataset, kind: str, args: argparse.Namespace) -> tuple[pd.DataFrame, float]:
    settings = ModelSettings(**SETTINGS)
    evaluation = EvaluationSettings(folds=5, val_fraction=0.2, ridge_alpha="0.1,1,10,100,1000")
    Y = targets.transform_targets(ds.Y, settings.target_transform)
    started = time.perf_counter()
    predictor = predictors.make(kind, settings, predictors.Geometry.of(ds), evaluation)
    inner, validation = cross_validation.inner_split(np.arange(len(ds.samples)), evaluation.val_fraction, settings.seed)
    if predictor.saveable or predictor.reads:  # trained on every sample, as TRAIN_MODEL does
        predictor.fit(ds.X, Y, **predictors.inputs_for(predictor, activity=ds.activity, groups=ds.groups))
    else:
        predictor.fit(ds.X[inner], Y[inner], ds.X[validation], Y[validation])
    found = predictor.links(ds.X, args.links_max_distance, args.links_top)
    return links.links_table(found, ds.genes, ds.bins), time.perf_counter() - started


# ---------------------------------------------------------------- where the links fall

def at_promoter(table: pd.DataFrame) -> np.ndarray:
    return ((table["end"] > table["tss"] - PROMOTER) & (table["start"] <= table["tss"] + PROMOTER)).to_numpy()


def random_shares(ds: dataset.Dataset, reach: int) -> dict[str, float]:
    """The shares a uniform choice among each gene's candidate bins would give (averaged over genes)."""
    pairs = predictors.CisPairs.of(predictors.Geometry.of(ds), reach)
    bins, genes = ds.bins, ds.genes
    table = pd.DataFrame({"start": bins["start"].to_numpy()[pairs.bin], "end": bins["end"].to_numpy()[pairs.bin],
                          "tss": genes["tss"].to_numpy()[pairs.gene], "gene": pairs.gene, "distance": pairs.distance})
    per_gene = table.assign(promoter=at_promoter(table), within_10kb=table["distance"] <= 10_000,
                            within_50kb=table["distance"] <= 50_000).groupby("gene")[["promoter", "within_10kb", "within_50kb"]].mean()
    return {"median |distance| (bp)": float(np.median(table["distance"])), **per_gene.mean().to_dict()}


def summarise(name: str, table: pd.DataFrame, n_genes: int, seconds: float | None) -> dict[str, object]:
    distance = table["distance"].abs()
    strongest = table[table["rank"] == 1]
    q = distance.quantile([0.1, 0.25, 0.5, 0.75, 0.9]) if len(table) else pd.Series(np.nan, index=[0.1, 0.25, 0.5, 0.75, 0.9])
    return {
        "model": name, "links": len(table), "genes with links": f"{table['gene_id'].nunique()}/{n_genes}",
        "|distance| p10": q[0.1], "p25": q[0.25], "median": q[0.5], "p75": q[0.75], "p90": q[0.9],
        "at promoter": float(at_promoter(table).mean()) if len(table) else np.nan,
        "within 10 kb": float((distance <= 10_000).mean()) if len(table) else np.nan,
        "within 50 kb": float((distance <= 50_000).mean()) if len(table) else np.nan,
        "strongest at promoter": float(at_promoter(strongest).mean()) if len(strongest) else np.nan,
        "positive": float((table["weight"] > 0).mean()) if len(table) else np.nan,
        "seconds": seconds,
    }


def summary_table(ds: dataset.Dataset, tables: dict[str, tuple[pd.DataFrame, float | None]], reach: int) -> pd.DataFrame:
    """One row per model (where its links fall), and the row random bins of the same windows would give."""
    rows = [summarise(name, table, len(ds.genes), seconds) for name, (table, seconds) in tables.items()]
    chance = random_shares(ds, reach)
    rows.append({"model": "random bins in the windows", "|distance| p10": np.nan, "median": chance["median |distance| (bp)"],
                 "at promoter": chance["promoter"], "within 10 kb": chance["within_10kb"], "within 50 kb": chance["within_50kb"],
                 "strongest at promoter": chance["promoter"]})
    return pd.DataFrame(rows)


def summarise_run(paths: list[Path], dataset_path: Path) -> tuple[pd.DataFrame, int]:
    """The summary of a pipeline run's links tables (links/<model>.links.tsv.gz) and the reach they were taken within."""
    ds = dataset.load_dataset(dataset_path)
    tables = {p.name.removesuffix(".links.tsv.gz"): (links.read_links(p), None) for p in paths}
    reach = max((int(t["distance"].abs().max()) for t, _ in tables.values() if len(t)), default=0)
    return summary_table(ds, tables, reach), reach


def format_table(result: pd.DataFrame) -> str:
    return result.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.set_threads(2)
    started = time.perf_counter()
    if args.links:
        if args.dataset is None:
            sys.exit("--links needs --dataset (the run's dataset.npz)")
        result, reach = summarise_run(args.links, args.dataset)
    else:
        ds = build_dataset(args.data, args.chroms, args.bin_size)
        reach = args.links_max_distance
        print(f"dataset: {len(ds.samples)} samples ({', '.join(ds.samples)}), {ds.layout.describe()} ({ds.X.mean():.1%} of bins open), "
              f"{len(ds.genes):,} genes (CPM), built in {time.perf_counter() - started:.0f} s")
        tables = {kind: fitted_links(ds, kind, args) for kind in [m.strip() for m in args.models.split(",") if m.strip()]}
        result = summary_table(ds, tables, reach)
    print(f"\nlinks: top {args.links_top} bins per gene within {reach:,} bp of the TSS; distance from the TSS to the bin's centre; "
          f"promoter: the bin overlaps TSS +/- {PROMOTER} bp\n")
    print(format_table(result))
    if args.output:
        result.to_csv(args.output, sep="\t", index=False)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
