#!/usr/bin/env python3
"""Benchmark (not a test): the links of a run scored on CRISPRi-tested element-gene pairs (experimental truth).

The pairs are ../shared/data/crispr_k562 (ENCODE-rE2G's K562 training set, 10,263 pairs of which 471 regulated,
lifted to hg19; read its README). For each pair whose gene the run models, a links table gives a score: the largest
value of the column among the table's rows for that gene whose bin overlaps the element (for a table with a sample
column, the rows of --sample). Pairs with no such row rank below every scored pair, by distance (closer first).
Printed for each score: average precision (AP), precision at 70% recall (ENCODE-rE2G's threshold) and AP within
distance bins (< 10 kb, 10-100 kb, > 100 kb from the TSS), beside two baselines the benchmark computes itself on the
same pairs:
  distance     |element centre - TSS| (closer = higher), the pair file's TSS
  ABC-style    from the DNase peaks alone: activity = the strongest overlapping peak's signalValue, contact =
               max(distance, 5 kb) ** -0.87, divided by the sum of activity x contact over every peak within 5 Mb of
               the TSS (Fulco et al. 2019, Nasser et al. 2021)

  benchmarks/bench_crispr.py --nextflow --workdir DIR     # make bench-crispr: the whole check through the pipeline (below)
  benchmarks/bench_crispr.py --run results_k562            # -entry PREDICT's predict/links/links.tsv.gz (one sample)
  benchmarks/bench_crispr.py --run results_genome --sample Ery  # a main run: sample_links/ and links/<model>.links.tsv.gz
  benchmarks/bench_crispr.py --links some.links.tsv.gz --genes genes.tsv

--nextflow runs, in --workdir: a default genome run on ../shared/data/heme_hg19 (every file as it lies: --expression
counts.tsv --expression_unit counts --gene_bed refGene_hg19_TSS.bed --genome GRCh37 --region genome, the default
--model, without the held-out evaluation, which the links do not need), then for each model it saved -entry PREDICT
with K562's DNase peaks (--links_top 0 --links_heldout_chromosomes), and scores each PREDICT run's links; the report
goes to <workdir>/report.md.

Scores whose combiner was fitted on these pairs are only fair when every pair is scored by the model fitted without
its chromosome: run PREDICT with --links_heldout_chromosomes (make bench-crispr does; docs/models.md).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from atac2expr.formats import GENES
from atac2expr.peaks import read_peaks
from atac2expr.regions import normalize_chroms

REPO = Path(__file__).resolve().parents[1]

DATA = next((p / "shared" / "data" / "crispr_k562" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "data" / "crispr_k562").exists()),
            REPO.parent / "shared" / "data" / "crispr_k562")
HEME = DATA.parent / "heme_hg19"
MODELS = "auto"  # --model of the genome run: the default, so every model a default genome run saves is checked
PAIRS = "training_K562.hg19.tsv.gz"
PEAKS = "K562_DNase_ENCODE_uniform.hg19.narrowPeak.gz"
DISTANCE_BINS = ((0, 10_000, "< 10 kb"), (10_000, 100_000, "10-100 kb"), (100_000, np.inf, "> 100 kb"))
BASELINE_ABC = {"gamma": 0.87, "min_distance": 5_000, "max_distance": 5_000_000}
SCORE_COLUMNS = ("score", "abc", "correlation", "weight")


# ---------------------------------------------------------------- metrics

def average_precision(regulated: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall step curve (scikit-learn's average_precision_score): tied scores enter together."""
    y = np.asarray(regulated, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    if not y.any():
        return float("nan")
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[s[1:] != s[:-1], True]
    true_pos = np.cumsum(y)[last]
    called = np.arange(1, len(y) + 1)[last]
    recall = true_pos / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * true_pos / called))


def precision_at_recall(regulated: np.ndarray, score: np.ndarray, recall: float = 0.7) -> float:
    """Precision at the highest threshold whose recall reaches `recall` (tied scores enter together)."""
    y = np.asarray(regulated, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[s[1:] != s[:-1], True]
    true_pos = np.cumsum(y)[last]
    called = np.arange(1, len(y) + 1)[last]
    at = int(np.searchsorted(true_pos, np.ceil(recall * y.sum() - 1e-9)))
    return float(true_pos[at] / called[at]) if at < len(true_pos) else float("nan")


def with_fallback(score: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Scored pairs (finite score) above every unscored one; unscored pairs ranked by distance, closer first."""
    score = np.asarray(score, dtype=np.float64)
    distance = np.asarray(distance, dtype=np.float64)
    scored = np.isfinite(score)
    low = score[scored].min() if scored.any() else 0.0
    fallback = -distance / (distance.max() + 1.0) if len(distance) else distance  # in (-1, 0]
    return np.where(scored, score - low + 1.0, fallback)


def metrics(regulated: np.ndarray, score: np.ndarray, distance: np.ndarray) -> dict[str, float]:
    """AP, precision at 70% recall, and AP within each distance bin."""
    out = {"AP": average_precision(regulated, score), "precision at 70% recall": precision_at_recall(regulated, score)}
    for low, high, name in DISTANCE_BINS:
        inside = (distance >= low) & (distance < high)
        out[f"AP {name}"] = average_precision(regulated[inside], score[inside])
    return out


# ---------------------------------------------------------------- the pairs

def read_pairs(path: Path) -> pd.DataFrame:
    """The CRISPRi pairs: chrom (Ensembl-style), start, end, tss, gene, ensg, regulated, dataset, distance (element centre
    to the pair's TSS, bp)."""
    pairs = pd.read_csv(path, sep="\t", dtype={"chrom": str, "gene": str, "ensg": str, "dataset": str}, keep_default_na=False)
    pairs["regulated"] = pairs["regulated"].astype(str).str.lower() == "true"
    pairs["chrom"] = normalize_chroms(pairs["chrom"]).to_numpy()
    pairs["distance"] = np.abs((pairs["start"] + pairs["end"]) // 2 - pairs["tss"]).astype(np.int64)
    return pairs


def gene_rows(pairs: pd.DataFrame, genes: pd.DataFrame) -> np.ndarray:
    """Each pair's row of the run's genes (-1: not modelled), by Ensembl id without version, else by gene name."""
    ids = pd.Series(np.arange(len(genes)), index=genes["gene_id"].astype(str).str.replace(r"\.\d+$", "", regex=True))
    ids = ids[~ids.index.duplicated(keep=False)]
    names = pd.Series(np.arange(len(genes)), index=genes["gene_name"].astype(str))
    names = names[~names.index.duplicated(keep=False)]
    by_id = pairs["ensg"].astype(str).str.replace(r"\.\d+$", "", regex=True).map(ids)
    by_name = pairs["gene"].astype(str).map(names)
    return by_id.fillna(by_name).fillna(-1).to_numpy(np.int64)


def overlaps(pairs: pd.DataFrame, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(pair, table row) of every table row on the pair's chromosome whose [start, end) overlaps the element."""
    found_pair, found_row = [], []
    for chrom, on in pairs.groupby("chrom", sort=False).groups.items():
        rows = np.flatnonzero(table["chrom"].to_numpy(str) == chrom)
        if not len(rows):
            continue
        order = rows[np.argsort(table["start"].to_numpy(np.int64)[rows], kind="stable")]
        starts = table["start"].to_numpy(np.int64)[order]
        width = int((table["end"].to_numpy(np.int64)[order] - starts).max())
        on = np.asarray(on)
        lo = np.searchsorted(starts, pairs["start"].to_numpy(np.int64)[on] - width, "left")
        hi = np.searchsorted(starts, pairs["end"].to_numpy(np.int64)[on], "left")
        n = hi - lo
        pair = np.repeat(on, n)
        candidate = order[np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)]
        hit = table["end"].to_numpy(np.int64)[candidate] > pairs["start"].to_numpy(np.int64)[pair]
        found_pair.append(pair[hit])
        found_row.append(candidate[hit])
    if not found_pair:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(found_pair), np.concatenate(found_row)


def pair_scores(pairs: pd.DataFrame, gene: np.ndarray, table: pd.DataFrame, column: str, genes: pd.DataFrame) -> np.ndarray:
    """Per pair: the largest `column` among the table's rows of its gene overlapping its element (NaN: none)."""
    table = table.reset_index(drop=True)
    gene_of_row = pd.Series(np.arange(len(genes)), index=genes["gene_id"].astype(str)).reindex(table["gene_id"].astype(str)).to_numpy()
    pair, row = overlaps(pairs, table)
    same = gene_of_row[row] == gene[pair]
    pair, row = pair[same], row[same]
    values = np.abs(table[column].to_numpy(np.float64)[row]) if column == "weight" else table[column].to_numpy(np.float64)[row]
    out = np.full(len(pairs), -np.inf)
    np.maximum.at(out, pair, values)
    return np.where(np.isfinite(out), out, np.nan)


def peak_abc(pairs: pd.DataFrame, peaks: pd.DataFrame, gamma: float, min_distance: int, max_distance: int) -> np.ndarray:
    """The ABC-style baseline of each pair from peaks (chrom, start, end, signal), computed here independently of the
    pipeline: strongest overlapping peak's signal x contact, over the sum within max_distance of the pair's TSS."""
    out = np.zeros(len(pairs))
    centre_of = (peaks["start"].to_numpy(np.int64) + peaks["end"].to_numpy(np.int64)) // 2
    chrom_of = peaks["chrom"].astype(str).to_numpy()
    for chrom, on in pairs.groupby("chrom", sort=False).groups.items():
        here = np.flatnonzero(chrom_of == chrom)
        if not len(here):
            continue
        here = here[np.argsort(centre_of[here], kind="stable")]
        centre = centre_of[here]
        signal = peaks["signal"].to_numpy(np.float64)[here]
        start, end = peaks["start"].to_numpy(np.int64)[here], peaks["end"].to_numpy(np.int64)[here]
        for i in np.asarray(on):
            tss, e_start, e_end = int(pairs["tss"].iat[i]), int(pairs["start"].iat[i]), int(pairs["end"].iat[i])
            lo, hi = np.searchsorted(centre, tss - max_distance, "left"), np.searchsorted(centre, tss + max_distance, "right")
            denominator = np.sum(signal[lo:hi] * np.maximum(np.abs(centre[lo:hi] - tss), min_distance) ** -gamma)
            overlapping = (start < e_end) & (end > e_start)
            activity = signal[overlapping].max() if overlapping.any() else 0.0
            contact = max(abs((e_start + e_end) // 2 - tss), min_distance) ** -gamma
            out[i] = activity * contact / denominator if denominator > 0 else 0.0
    return out


# ---------------------------------------------------------------- a run's tables

def read_table(path: Path, sample: str | None) -> pd.DataFrame:
    with gzip.open(path, "rt") as handle:
        header = handle.readline().rstrip("\n").split("\t")
    table = pd.read_csv(path, sep="\t", dtype={"sample": str, "gene_id": str, "gene_name": str, "chrom": str}, keep_default_na=False,
                        na_values={c: [""] for c in SCORE_COLUMNS})
    if "sample" in header:
        samples = sorted(table["sample"].unique())
        if sample is None and len(samples) > 1:
            sys.exit(f"{path}: samples {', '.join(samples[:10])}: choose one with --sample")
        table = table[table["sample"] == (sample or samples[0])] if samples else table
    return table


def run_tables(run: Path) -> dict[str, Path]:
    found = {}
    predict = run / "predict" / "links" / "links.tsv.gz"
    if predict.exists():
        found["predict"] = predict
    samples = run / "sample_links" / "links.tsv.gz"
    if samples.exists():
        found["training samples"] = samples
    for path in sorted((run / "links").glob("*.links.tsv.gz")):
        found[path.name.removesuffix(".links.tsv.gz")] = path
    return found


def run_genes(run: Path) -> pd.DataFrame:
    """The genes a run models: PREDICT's predictions, else the dataset's."""
    predictions = run / "predict" / "predictions.tsv"
    if predictions.exists():
        genes = pd.read_csv(predictions, sep="\t", usecols=["gene_id", "gene_name"], dtype=str, keep_default_na=False).drop_duplicates("gene_id")
        return genes.reset_index(drop=True)
    from atac2expr import dataset

    return dataset.load_dataset(run / "dataset" / "dataset.npz").genes[list(GENES.columns)]


def format_rows(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    return frame.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def score_tables(pairs: pd.DataFrame, genes: pd.DataFrame, tables: dict[str, Path], sample: str | None, data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the metrics of the baselines and every score column of the tables, AP per screen) on the pairs whose gene the run
    models."""
    gene = gene_rows(pairs, genes)
    modelled = gene >= 0
    print(f"{len(pairs):,} pairs ({int(pairs['regulated'].sum())} regulated); {int(modelled.sum()):,} of them ({int(pairs['regulated'][modelled].sum())} "
          f"regulated) have a gene the run models ({len(genes):,} genes): those are scored", flush=True)
    pairs, gene = pairs[modelled].reset_index(drop=True), gene[modelled]
    regulated, distance = pairs["regulated"].to_numpy(), pairs["distance"].to_numpy(np.float64)
    peaks = read_peaks(data / PEAKS, signal=True)
    scores = {"chance": np.zeros(len(pairs)), "distance (baseline)": -distance,
              "ABC-style from the DNase peaks (baseline)": peak_abc(pairs, peaks, **BASELINE_ABC)}
    scored = {name: len(pairs) for name in scores}
    if "tss" in genes:  # the run's own TSSs: the distance its links are measured from
        run_tss = genes["tss"].to_numpy(np.int64)[gene]
        scores["distance to the run's TSS (baseline)"] = -np.abs((pairs["start"] + pairs["end"]).to_numpy() // 2 - run_tss).astype(np.float64)
        scored["distance to the run's TSS (baseline)"] = len(pairs)
    for name, path in tables.items():
        table = read_table(path, sample)
        for column in SCORE_COLUMNS:
            if column in table.columns:
                values = pair_scores(pairs, gene, table, column, genes)
                label = f"{name}: {'|weight|' if column == 'weight' else column}"
                scores[label], scored[label] = with_fallback(values, distance), int(np.isfinite(values).sum())
    rows = [{"score": name, **metrics(regulated, values, distance), "pairs scored": scored[name]} for name, values in scores.items()]
    screens = pd.DataFrame({name: {screen: average_precision(regulated[on], values[on]) for screen, on in
                                   ((s, (pairs["dataset"] == s).to_numpy()) for s in sorted(pairs["dataset"].unique()))}
                            for name, values in scores.items()}).T
    screens.columns = [f"AP {c} ({int(regulated[(pairs['dataset'] == c).to_numpy()].sum())}/{int((pairs['dataset'] == c).sum())})"
                       for c in screens.columns]
    return pd.DataFrame(rows), screens.reset_index(names="score")


def nextflow(args: argparse.Namespace, name: str, params: list[str]) -> Path:
    """One `nextflow run` in the workdir (resumed when run before); its results folder."""
    outdir = args.workdir / f"results_{name}"
    command = ["nextflow", "run", str(REPO / "main.nf"), *params, "--max_memory", args.max_memory, "--max_cpus", str(args.max_cpus),
               "--outdir", str(outdir), "--overwrite", "-resume", "-with-trace", str(args.workdir / f"trace_{name}.txt")]
    print("$", " ".join(command), flush=True)
    started = time.monotonic()
    with open(args.workdir / f"nextflow_{name}.log", "w") as log:
        result = subprocess.run(command, cwd=args.workdir, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NXF_ANSI_LOG": "false"})
    if result.returncode:
        sys.exit(f"{name}: nextflow failed (exit {result.returncode}); see {args.workdir}/nextflow_{name}.log")
    print(f"  {name}: {(time.monotonic() - started) / 60:.1f} min", flush=True)
    return outdir


def through_the_pipeline(args: argparse.Namespace) -> int:
    if shutil.which("nextflow") is None:
        sys.exit("nextflow is not on PATH: run through `make bench-crispr`")
    args.workdir.mkdir(parents=True, exist_ok=True)
    heme = args.heme.resolve()
    peaks = sorted((heme / "peaks").glob("*.narrowPeak.gz"))
    (args.workdir / "heme.csv").write_text("sample,peaks\n" + "".join(f"{p.name.removesuffix('.narrowPeak.gz')},{p}\n" for p in peaks))
    (args.workdir / "k562.csv").write_text(f"sample,peaks\nK562,{(args.data / PEAKS).resolve()}\n")
    genome = nextflow(args, "heme_genome", ["--input", str(args.workdir / "heme.csv"), "--expression", str(heme / "expression" / "counts.tsv"),
                                             "--expression_unit", "counts", "--gene_bed", str(heme / "annotation" / "refGene_hg19_TSS.bed"),
                                             "--genome", "GRCh37", "--region", "genome", "--model", args.models, "--evaluate", "false",
                                             "--skip_multiqc", *args.extra])
    saved = sorted(p.parent.name for p in (genome / "model").glob("*/model.pt"))
    pairs = read_pairs(args.data / PAIRS)
    report = [f"# CRISPRi-tested pairs in K562, scored through the pipeline\n\nTraining run: {genome} (heme_hg19, --region genome, "
              f"--model {args.models}: saved {', '.join(saved)}); each model's -entry PREDICT with {PEAKS} (--links_top 0 "
              f"--links_heldout_chromosomes).\n"]
    for model in saved:
        run = nextflow(args, f"k562_{model}", ["-entry", "PREDICT", "--model_file", str(genome / "model" / model / "model.pt"), "--input",
                                               str(args.workdir / "k562.csv"), "--genome", "GRCh37", "--links_top", "0", "--links_heldout_chromosomes",
                                               *args.extra])
        genes = model_genes(genome / "model" / model / "model.pt")
        result, screens = score_tables(pairs, genes, {f"PREDICT ({model} model)": run / "predict" / "links" / "links.tsv.gz"}, None, args.data)
        text = (f"## {model} model\n\n" + format_rows(result.to_dict("records")) + "\n\nAP per screen (regulated/pairs):\n\n"
                + format_rows(screens.to_dict("records")))
        print(text, flush=True)
        report.append(text)
    (args.workdir / "report.md").write_text("\n\n".join(report) + "\n")
    print(f"\nwrote {args.workdir / 'report.md'}")
    return 0


def model_genes(path: Path) -> pd.DataFrame:
    """The genes of a model file (with their TSSs)."""
    from atac2expr.modelling import model_file

    meta, _ = model_file.read_payload(path)
    return pd.DataFrame(meta["genes"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help=f"the crispr_k562 folder (default {DATA})")
    parser.add_argument("--run", type=Path, help="a results folder: its predict/links/links.tsv.gz, sample_links/links.tsv.gz and links/*.links.tsv.gz")
    parser.add_argument("--links", type=Path, nargs="*", default=[], help="links tables to score (with --genes)")
    parser.add_argument("--genes", type=Path, help="the genes the --links tables' run models (a table with gene_id, gene_name[, tss])")
    parser.add_argument("--sample", help="the sample of tables with a sample column (default: their only sample)")
    parser.add_argument("--output", type=Path, help="write the table here too (TSV)")
    parser.add_argument("--nextflow", action="store_true", help="run the pipeline: a heme genome run, then PREDICT on K562 with each model")
    parser.add_argument("--workdir", type=Path, help="--nextflow: where the runs go")
    parser.add_argument("--heme", type=Path, default=HEME, help=f"--nextflow: the heme_hg19 folder (default {HEME})")
    parser.add_argument("--models", default=MODELS, help="--nextflow: the genome run's --model (default: the pipeline's own)")
    parser.add_argument("--max_memory", default="12.GB")
    parser.add_argument("--max_cpus", type=int, default=2)
    args, extra = parser.parse_known_args(argv)
    args.extra = [a for a in extra if a != "--"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.nextflow:
        if args.workdir is None:
            sys.exit("--nextflow needs --workdir")
        args.workdir = args.workdir.resolve()
        return through_the_pipeline(args)
    tables = run_tables(args.run) if args.run else {}
    tables.update({p.name.removesuffix(".tsv.gz"): p for p in args.links})
    if not tables:
        sys.exit("nothing to score: give --run, --links or --nextflow")
    genes = run_genes(args.run) if args.run and args.genes is None else pd.read_csv(args.genes, sep="\t", dtype={"gene_id": str, "gene_name": str},
                                                                                     keep_default_na=False)
    result, screens = score_tables(read_pairs(args.data / PAIRS), genes, tables, args.sample, args.data)
    print("\nAP and precision at 70% recall over the pairs; AP within distance bins (element centre to the pair's TSS); "
          "unscored pairs rank below scored ones, by distance\n")
    print(format_rows(result.to_dict("records")))
    print("\nAP per screen (regulated/pairs):\n")
    print(format_rows(screens.to_dict("records")))
    if args.output:
        result.to_csv(args.output, sep="\t", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
