#!/usr/bin/env python3
"""Real-data benchmark (not a test, not in CI): the real `nextflow run` on the shared heme_hg19 data, one whole
chromosome at a time, and the held-out table per chromosome and model with the seconds per fit.

The data are used exactly as they lie in --data: peaks/<sample>.narrowPeak.gz (14 blood cell types, MACS2, hg19),
expression/counts.tsv (read counts per gene symbol) as --expression --expression_unit counts,
annotation/refGene_hg19_TSS.bed (TSSs only) as --gene_bed, with --genome GRCh37. The only file written is the
samplesheet (sample,peaks,group: one row per peak file, the sample named after it, its lineage as its group:
bench_links_real.LINEAGES) in --workdir, so each run's evaluation has random and leave-lineage-out folds; both tables
are printed.

  benchmarks/bench_real.py --data ../shared/data/heme_hg19 --workdir ~/.cache/atac2expr/bench-real \\
      --chromosomes chr2,chr11,chr19 --models mean,ridge,archr,signac,promoter,tss_window,local_ridge,tss_similarity,blend \\
      [-- extra nextflow arguments]

--models is passed as --eval_models, so a model the pipeline learns is benchmarked by its name alone. The report
(markdown) is printed and written to <workdir>/report.md: the held-out table, and where each model's links (the run's
links/) fall relative to the TSSs (benchmarks/bench_links_real.py's summary: distance quantiles, the share at the
promoter, beside random bins of the same windows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["mse", "r2", "r2_gene_median", "fraction_genes_better_than_mean", "pearson_gene_median"]


def write_samplesheet(data: Path, path: Path) -> list[str]:
    peaks = sorted((data / "peaks").glob("*.narrowPeak.gz"))
    if not peaks:
        sys.exit(f"{data}/peaks: no *.narrowPeak.gz")
    samples = [p.name.removesuffix(".narrowPeak.gz") for p in peaks]
    from bench_links_real import LINEAGES

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("sample,peaks,group\n" + "".join(f"{s},{p},{LINEAGES.get(s, s)}\n" for s, p in zip(samples, peaks, strict=True)))
    return samples


def run_chromosome(args: argparse.Namespace, chromosome: str, sheet: Path, extra: list[str]) -> tuple[pd.DataFrame, float]:
    outdir = args.workdir / f"results_{chromosome}"
    command = ["nextflow", "run", str(REPO / "main.nf"), "--input", str(sheet),
               "--expression", str(args.data / "expression" / "counts.tsv"), "--expression_unit", "counts",
               "--gene_bed", str(args.data / "annotation" / "refGene_hg19_TSS.bed"), "--genome", "GRCh37",
               "--region", chromosome, "--bin_size", "1000", "--eval_models", args.models, "--model", args.train,
               "--max_memory", args.max_memory, "--max_cpus", str(args.max_cpus), "--outdir", str(outdir), "--overwrite", "-resume", *extra]
    print("$", " ".join(command), flush=True)
    started = time.monotonic()
    with open(args.workdir / f"nextflow_{chromosome}.log", "w") as log:
        result = subprocess.run(command, cwd=args.workdir, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NXF_ANSI_LOG": "false"})
    seconds = time.monotonic() - started
    if result.returncode:
        sys.exit(f"{chromosome}: nextflow failed (exit {result.returncode}); see {args.workdir}/nextflow_{chromosome}.log")
    every = pd.read_csv(outdir / "evaluation" / "metrics.tsv", sep="\t")
    evaluation = json.loads((outdir / "evaluation" / "evaluation.json").read_text())
    tables = []
    for scheme, part in every.groupby("folds", sort=False):
        metrics = part.set_index("model")
        folds = evaluation["folds"] if scheme == "random" else evaluation["leave_group_out"]["folds"]
        fits = {model: [fold[f"{model}_seconds"] for fold in folds if f"{model}_seconds" in fold] for model in metrics.index}
        table = metrics[COLUMNS].copy()
        table["seconds_per_fit"] = [sum(fits[m]) / len(fits[m]) if fits[m] else float("nan") for m in table.index]
        table.insert(0, "folds", "random 5 folds" if scheme == "random" else "leave-lineage-out")
        table.insert(0, "chromosome", chromosome)
        table.insert(2, "bins", evaluation["n_bins"])
        table.insert(3, "genes", evaluation["n_genes"])
        tables.append(table.reset_index())
    return pd.concat(tables, ignore_index=True), seconds


def links_summary(outdir: Path) -> str:
    """Where the run's links fall relative to the TSSs, as bench_links_real.py summarises them; '' without links/."""
    paths = sorted((outdir / "links").glob("*.links.tsv.gz"))
    if not paths:
        return ""
    import bench_links_real

    result, reach = bench_links_real.summarise_run(paths, outdir / "dataset" / "dataset.npz")
    return (f"links within {reach:,} bp of the TSS; promoter: the bin overlaps TSS +/- {bench_links_real.PROMOTER} bp\n\n"
            + bench_links_real.format_table(result))


def markdown(table: pd.DataFrame) -> str:
    lines = ["| chromosome | folds | bins | genes | model | MSE, log1p(TPM) | R² vs per-gene mean | median per-gene R² | "
             "genes better than the mean | median per-gene Pearson | seconds per fit |", "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for row in table.itertuples(index=False):
        lines.append(f"| {row.chromosome} | {row.folds} | {row.bins:,} | {row.genes:,} | {row.model} | {row.mse:.3f} | {row.r2:.3f} | "
                     f"{row.r2_gene_median:.3f} | {100 * row.fraction_genes_better_than_mean:.0f}% | {row.pearson_gene_median:.3f} | "
                     f"{row.seconds_per_fit:.2f} |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the heme_hg19 folder (peaks/, expression/, annotation/)")
    parser.add_argument("--workdir", type=Path, required=True, help="where the runs go (work/, results_<chromosome>/, report.md)")
    parser.add_argument("--chromosomes", default="chr2,chr11,chr19", help="whole chromosomes, one run each")
    parser.add_argument("--models", default="mean,ridge,archr,signac,promoter,tss_window,local_ridge,tss_similarity,blend",
                        help="--eval_models of each run")
    parser.add_argument("--train", default="tss_window,local_ridge,tss_similarity,blend", help="--model of each run (trained on all samples and saved)")
    parser.add_argument("--max_memory", default="12.GB")
    parser.add_argument("--max_cpus", type=int, default=2)
    args, extra = parser.parse_known_args(argv)
    return args, [a for a in extra if a != "--"]


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parse_args(argv)
    if shutil.which("nextflow") is None:
        sys.exit("nextflow is not on PATH: run through `make bench-real`")
    args.data, args.workdir = args.data.resolve(), args.workdir.resolve()
    sheet = args.workdir / "samplesheet.csv"
    samples = write_samplesheet(args.data, sheet)
    tables, walls, placed = [], {}, []
    for chromosome in [c.strip() for c in args.chromosomes.split(",") if c.strip()]:
        table, walls[chromosome] = run_chromosome(args, chromosome, sheet, extra)
        tables.append(table)
        print(markdown(table), flush=True)
        summary = links_summary(args.workdir / f"results_{chromosome}")
        if summary:
            placed.append(f"{chromosome}: {summary}")
            print(placed[-1], flush=True)
    table = pd.concat(tables, ignore_index=True)
    report = (f"Real data: {len(samples)} blood cell types ({args.data}), real ATAC-seq peaks and RNA-seq read counts (CPM: the "
              f"annotation has TSSs only), --genome GRCh37, whole chromosomes in 1 kb bins; --eval_models {args.models}, "
              f"{' '.join(extra)}\n\n{markdown(table)}\n\nWall time per run (whole pipeline): "
              + ", ".join(f"{c} {s / 60:.1f} min" for c, s in walls.items()) + "\n")
    (args.workdir / "report.md").write_text(report)
    table.to_csv(args.workdir / "report.tsv", sep="\t", index=False)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
