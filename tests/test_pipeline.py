"""End to end: the real `nextflow run main.nf -profile test`, real kallisto, real torch.

The stub run of the whole graph comes first (seconds per task, no tools); the shared run (conftest.shared_run)
is read by most tests here; runs that change parameters reuse its launch folder with -resume, so that only
the steps the change touches run again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import planted
import pyBigWig
import pytest
import yaml
from browser import check_in_chromium

from atac2expr import links
from atac2expr.annotation import genes_in_regions, read_gtf
from atac2expr.dataset import load_dataset, load_sample_bins
from atac2expr.formats import LINKS, QC_GENES, QC_SAMPLES, SAMPLE_LINKS
from atac2expr.modelling import model_file, predictors
from atac2expr.peaks import bin_peaks, read_peaks
from atac2expr.regions import BinLayout, parse_regions, read_chrom_sizes
from conftest import (
    BEST_GENES,
    NO_REPORTS,
    REPO,
    Run,
    assert_success,
    error_lines,
    hostile_sheet,
    nextflow_run,
    operational_parameters,
    run_nextflow,
    run_params,
    sheet_rows,
    stub_params,
    trace_names,
    trace_processes,
    write_sheet,
)

pytestmark = pytest.mark.e2e

SIZES = read_chrom_sizes(REPO / "assets" / "GRCh38.chrom.sizes")
LAYOUT = BinLayout.of(parse_regions("chr1:1-1000000", SIZES), 1000)
EVERY_PROCESS = {"CHECK_PARAMS", "REPLACE_OUTPUTS", "DEFINE_BINS", "CHECK_INPUTS", "BINARIZE_PEAKS", "GENE_ANNOTATION", "CHECK_FASTQ", "KALLISTO_INDEX",
                 "KALLISTO_QUANT", "GENE_TPM", "BUILD_MATRIX", "TRAIN_MODEL", "EVALUATE", "LINKS", "SAMPLE_LINKS", "QC_SUMMARY", "REPORT",
                 "SOFTWARE_VERSIONS", "MULTIQC"}
LINKED_MODELS = tuple(name for name, cls in predictors.PREDICTORS.items() if cls.links_rule)  # every model with links


def test_stub_run_walks_the_whole_graph(stub_run: Run):
    """-stub: every process of the graph runs (its stub), in seconds, on five samples; the 20,000 regions of its
    -params-file (~440 kB, more than one command-line argument may hold) reach DEFINE_BINS as a file."""
    run = assert_success(stub_run)
    assert trace_processes(run.trace, "COMPLETED") == EVERY_PROCESS
    assert len([r for r in run.trace if r["process"].endswith("KALLISTO_QUANT")]) == 5
    layout = BinLayout.read(run.outdir / "pipeline_info" / "regions.tsv")
    assert len(layout.regions) == 20_000 and layout.n_bins == 20_000


def test_links_above_the_documented_size_are_warned_about_on_the_console(stub_run: Run):
    """CHECK_PARAMS' estimate of the stub run's links (--links_top 5000 --links_max_distance 100000000 over 20 Mb of
    regions): one warning on the console, with the rows, files, time and memory; the run goes on."""
    run = assert_success(stub_run)
    output = run.result.stdout + run.result.stderr
    warnings = [line for line in output.splitlines() if "the links are large" in line]
    assert len(warnings) == 1, output[-3000:]
    assert "8 model(s)" in warnings[0] and "links of 400 genes" in warnings[0] and "GiB of files" in warnings[0]


def test_the_stub_runs_tables_have_the_headers_of_a_real_runs(stub_run: Run, shared_run: Run):
    """Every table of the stub run (headers written by stub_tables.py from formats.py, or by the real step) has the header
    of the same table of the shared real run; the genes x samples matrix its gene columns, before the samples."""
    stub, real = assert_success(stub_run).outdir, assert_success(shared_run).outdir
    compared = set()
    for path in sorted(p for p in stub.rglob("*") if p.suffix in (".tsv", ".csv") and p.is_file() and p.stat().st_size):
        twin = real / path.relative_to(stub)
        if not twin.is_file():
            continue
        separator = "," if path.suffix == ".csv" else "\t"
        stub_columns = path.read_text().splitlines()[0].split(separator)
        with open(twin) as handle:
            real_columns = handle.readline().rstrip("\n").split(separator)
        if path.name == "gene_tpm_matrix.tsv":
            real_columns = real_columns[:len(stub_columns)]
        assert stub_columns == real_columns, f"{path.relative_to(stub)}: the stub writes {stub_columns}, a real run {real_columns}"
        compared.add(path.name)
    assert {"genes.tsv", "transcripts.tsv", "gene_tpm.tsv", "genes_dropped.tsv", "quant_summary.tsv", "metrics.tsv", "loss.tsv",
            "predictions.tsv", "best_genes.tsv", "qc_samples.tsv", "qc_genes.tsv"} <= compared, sorted(compared)


def test_dataset_shapes(shared_run: Run, test_data):
    dataset = load_dataset(shared_run.outdir / "dataset" / "dataset.npz")
    samples = pd.read_csv(test_data / "samplesheet.csv")["sample"]
    genes, _ = read_gtf(test_data / "genes.gtf.gz")
    expected_genes = genes_in_regions(genes, list(LAYOUT.regions))
    assert dataset.layout == LAYOUT and dataset.X.shape == (len(samples), 1000)
    assert dataset.Y.shape == (len(samples), len(expected_genes))
    assert list(dataset.samples) == sorted(samples)
    assert list(dataset.genes["gene_id"]) == list(expected_genes["gene_id"])
    assert set(np.unique(dataset.X)) <= {0, 1} and 0 < dataset.X.mean() < 0.5
    assert (dataset.Y >= 0).all() and dataset.Y.sum() > 0
    bins = pd.read_csv(shared_run.outdir / "dataset" / "bins.tsv.gz", sep="\t", dtype={"chrom": str})
    assert bins.equals(LAYOUT.bins())
    # each sample's bins file holds the same row as the dataset
    first = load_sample_bins(shared_run.outdir / "bins" / f"{dataset.samples[0]}.bins.npz", LAYOUT)
    assert np.array_equal(first.values, dataset.X[0])


def test_expression_tracks_truth_and_keeps_full_precision(shared_run: Run, test_data):
    """kallisto + GENE_TPM recover the simulated expression; TPMs are written without rounding."""
    tidy = pd.read_csv(shared_run.outdir / "expression" / "gene_tpm.tsv", sep="\t")
    truth = pd.read_csv(test_data / "truth.tsv", sep="\t")
    merged = tidy.merge(truth, on=["sample", "gene_id"])
    assert len(merged) == len(tidy)
    assert np.corrcoef(np.log1p(merged["tpm"]), np.log1p(merged["true_tpm"]))[0, 1] > 0.9
    dataset = load_dataset(shared_run.outdir / "dataset" / "dataset.npz")
    matrix = pd.read_csv(shared_run.outdir / "expression" / "gene_tpm_matrix.tsv", sep="\t", float_precision="round_trip")
    assert np.array_equal(matrix[list(dataset.samples)].to_numpy().T, dataset.Y)  # the dataset's Y is the table, bit for bit
    kallisto_sums = {s: pd.read_csv(shared_run.outdir / "quant" / s / "abundance.tsv", sep="\t")["tpm"].sum() for s in dataset.samples[:3]}
    summary = pd.read_csv(shared_run.outdir / "expression" / "quant_summary.tsv", sep="\t").set_index("sample")
    for sample, total in kallisto_sums.items():
        assert summary.loc[sample, "tpm_total"] == pytest.approx(total, rel=1e-12)


def test_every_read_was_checked_and_quantified(shared_run: Run):
    """CHECK_FASTQ counted each sample's reads; kallisto processed exactly that many (checked in its task)."""
    for check in sorted((shared_run.outdir / "quant").glob("*.fastq_check.json")):
        report = json.loads(check.read_text())
        run_info = json.loads((shared_run.outdir / "quant" / report["sample"] / "run_info.json").read_text())
        assert report["total_reads"] == run_info["n_processed"] > 0
    assert len(list((shared_run.outdir / "quant").glob("*.fastq_check.json"))) == 16


def test_models_report_and_versions(shared_run: Run):
    # --model auto on the seed's 1 Mb region: the best model on real cell types, and the original study's MLP (cheap here)
    assert sorted(p.name for p in (shared_run.outdir / "model").iterdir()) == ["blend", "mlp"]
    for model in ("mlp", "blend"):
        for name in ("model.pt", "predictions.tsv", "loss.tsv", "training.json"):
            assert (shared_run.outdir / "model" / model / name).stat().st_size > 0
    for name in ("expression_fit_mlp.png", "loss_curve.png"):
        assert (shared_run.outdir / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((shared_run.outdir / "report" / "summary.json").read_text())
    assert summary["bins"] == 1000 and summary["bin_size"] == 1000
    mlp = summary["models"]["mlp"]
    assert mlp["epochs"] == 150 and mlp["final_training_loss"] < 0.5 * mlp["mean_baseline_training_loss"]
    versions = yaml.safe_load((shared_run.outdir / "pipeline_info" / "software_versions.yml").read_text())
    # MultiQC reads the versions (its own are in its report); the guard's native step runs no software
    assert EVERY_PROCESS - {"SOFTWARE_VERSIONS", "MULTIQC", "REPLACE_OUTPUTS"} <= set(versions)
    assert versions["KALLISTO_QUANT"]["kallisto"].startswith("0.") and versions["Workflow"]["Nextflow"].startswith("24.10")
    checked = json.loads((shared_run.outdir / "pipeline_info" / "params.valid.json").read_text())
    assert checked["epochs"] == 150 and checked["region"] == "chr1:1-1000000"
    assert BinLayout.read(shared_run.outdir / "pipeline_info" / "regions.tsv") == LAYOUT


def test_heldout_evaluation(shared_run: Run):
    """Every model on the same folds; the planted signal is real: the baselines that read it beat the mean."""
    metrics = pd.read_csv(shared_run.outdir / "evaluation" / "metrics.tsv", sep="\t").set_index("model")
    assert list(metrics.index) == list(predictors.PREDICTORS)  # --eval_models auto: every model of the registry
    folds = pd.read_csv(shared_run.outdir / "evaluation" / "folds.tsv", sep="\t")
    assert folds["fold"].nunique() == 5 and folds["sample"].is_unique
    for model in ("ridge", "archr", "signac", "tss_window", "local_ridge", "tss_similarity"):
        assert metrics.loc[model, "mse"] < 0.9 * metrics.loc["mean", "mse"], metrics["mse"]
    per_gene = pd.read_csv(shared_run.outdir / "evaluation" / "per_gene_metrics.tsv", sep="\t")
    assert set(per_gene["model"]) == set(metrics.index) and per_gene.groupby("model").size().nunique() == 1
    heldout = pd.read_csv(shared_run.outdir / "evaluation" / "heldout_predictions.tsv", sep="\t")
    assert (heldout.groupby(["model", "sample"])["fold"].nunique() == 1).all()
    summary = json.loads((shared_run.outdir / "report" / "summary.json").read_text())
    assert set(summary["heldout_metrics"]) == set(metrics.index)
    assert "archr" in (shared_run.outdir / "evaluation" / "evaluation.md").read_text()


def test_resume_caches_everything_then_reruns_only_training(shared_run: Run, test_data):
    """-resume with the same parameters runs nothing; a new --epochs reruns training and what follows it only."""
    again = assert_success(nextflow_run(shared_run.launch, [*run_params(test_data), "-resume"], shared_run.outdir, name="resume"))
    # every task from the cache but the guard's native step, which moves aside what each run's own plan says
    rerun = [r["name"] for r in again.trace if r["status"] != "CACHED"]
    assert again.trace and rerun == ["START_RUN:REPLACE_OUTPUTS (main)"], [(r["name"], r["status"]) for r in again.trace]
    # (the evaluation of two models only: the MLP's new epochs are what reruns it)
    changed = assert_success(nextflow_run(shared_run.launch, [*run_params(test_data), "--epochs", "60", "--eval_models", "mean,mlp",
                                                              *NO_REPORTS, "-resume"],
                                          shared_run.launch / "results_epochs", name="epochs"))
    # SOFTWARE_VERSIONS runs again only because this run leaves out LINKS and MULTIQC, and so their versions
    assert trace_processes(changed.trace, "COMPLETED") == {"CHECK_PARAMS", "REPLACE_OUTPUTS", "TRAIN_MODEL", "EVALUATE", "QC_SUMMARY", "REPORT",
                                                           "SOFTWARE_VERSIONS"}
    assert json.loads((changed.outdir / "report" / "summary.json").read_text())["models"]["mlp"]["epochs"] == 60


@pytest.fixture(scope="module")
def chromosome_signal_run(shared_run: Run, test_data) -> Run:
    """--region 1:1-1000000,21 (the test data's megabase, then a whole chromosome: chr21, the smallest) with --bin_value
    signal on the samplesheet of narrowPeak files (with a group column), resumed from the shared run: the reads are not
    quantified again."""
    params = [*run_params(test_data), "--input", str(test_data / "samplesheet_signal.csv"), "--region", "1:1-1000000,21", "--bin_value", "signal",
              "--model", "tss_window,blend", "--eval_models", "mean,ridge,archr,signac,promoter,tss_window,blend", *NO_REPORTS, "-resume"]
    return assert_success(nextflow_run(shared_run.launch, params, shared_run.launch / "results_chr1", name="chr1"))


def test_whole_chromosome_region(chromosome_signal_run: Run):
    """--region 1:1-1000000,21: the megabase's bins, then the whole of chr21 in bins, its last bin shorter; the reads are
    not quantified again."""
    run = chromosome_signal_run
    assert "KALLISTO_QUANT" not in trace_processes(run.trace, "COMPLETED")
    dataset = load_dataset(run.outdir / "dataset" / "dataset.npz")
    chr21 = SIZES["21"]
    assert dataset.X.shape[1] == 1000 + -(-chr21 // 1000)
    assert dataset.bins["chrom"].iloc[999] == "1" and (dataset.bins.iloc[1000][["chrom", "start"]] == ["21", 0]).all()
    last = dataset.bins.iloc[-1]
    assert (last["chrom"], last["start"], last["end"]) == ("21", chr21 // 1000 * 1000, chr21)
    assert set(pd.read_csv(run.outdir / "evaluation" / "metrics.tsv", sep="\t")["model"]) == {"mean", "ridge", "archr", "signac", "promoter",
                                                                                             "tss_window", "blend"}


def test_the_samplesheets_groups_give_leave_group_out_folds(chromosome_signal_run: Run, test_data):
    """The samplesheet's group column reaches the dataset through CHECK_INPUTS and BUILD_MATRIX, and EVALUATE scores
    every model in leave-group-out folds beside the random ones, in metrics.tsv and evaluation.md."""
    run = chromosome_signal_run
    sheet = pd.read_csv(test_data / "samplesheet_signal.csv").set_index("sample")
    dataset = load_dataset(run.outdir / "dataset" / "dataset.npz")
    assert dataset.groups.tolist() == sheet.loc[dataset.samples, "group"].tolist()
    metrics = pd.read_csv(run.outdir / "evaluation" / "metrics.tsv", sep="\t")
    assert metrics.groupby("folds")["model"].apply(set).to_dict() == {
        scheme: {"mean", "ridge", "archr", "signac", "promoter", "tss_window", "blend"} for scheme in ("random", "group")}
    folds = pd.read_csv(run.outdir / "evaluation" / "folds.tsv", sep="\t")
    assert folds["group_fold"].nunique() == sheet["group"].nunique()
    assert "leave-group-out (each group held out in turn)" in (run.outdir / "evaluation" / "evaluation.md").read_text()
    assert "Leave-group-out (each group held out in turn)" in (run.outdir / "report" / "atac2expr_report.html").read_text()
    summary = json.loads((run.outdir / "report" / "summary.json").read_text())
    assert set(summary["heldout_metrics_leave_group_out"]) == set(summary["heldout_metrics"]) == set(metrics["model"])
    assert json.loads((run.outdir / "model" / "blend" / "training.json").read_text())["fit"]["blend_left_out"] == "the samples' groups"


def test_signal_bins_run_through(chromosome_signal_run: Run, shared_run: Run, test_data):
    """--bin_value signal: every sample's bins hold log1p of the strongest peak's signalValue where its binary bins are 1,
    and the dataset, the model file and the report record it."""
    run = chromosome_signal_run
    dataset = load_dataset(run.outdir / "dataset" / "dataset.npz")
    assert dataset.bin_value == "signal" and dataset.X.dtype == np.float32
    assert np.log1p(1) < dataset.X[dataset.X != 0].min() and dataset.X.max() < np.log1p(60)
    binary = load_dataset(shared_run.outdir / "dataset" / "dataset.npz")  # the same peaks (S02's as narrowPeak), binary, chr1:1-1000000
    assert np.array_equal(dataset.X[:, :1000] != 0, binary.X == 1)
    sheet = pd.read_csv(test_data / "samplesheet_signal.csv").set_index("sample")
    row = list(dataset.samples).index("S02")  # its samplesheet_signal.csv peaks are the narrowPeak twin of its BED3 file
    expected = bin_peaks(read_peaks(test_data / sheet.loc["S02", "peaks"], signal=True), dataset.layout, "signal")
    assert np.array_equal(dataset.X[row], expected) and expected.any()
    assert np.array_equal(load_sample_bins(run.outdir / "bins" / "S02.bins.npz", dataset.layout, "signal").values, expected)
    assert model_file.load(run.outdir / "model" / "tss_window" / "model.pt")[0].geometry.bin_value == "signal"
    assert json.loads((run.outdir / "report" / "summary.json").read_text())["bin_value"] == "signal"


def test_predict_entry_reproduces_in_sample_predictions(shared_run: Run, test_data, tmp_path):
    """-entry PREDICT on training samples' peaks gives their in-sample predictions (the MLP's model files are the same
    format: tests/test_predict.py predicts with both networks)."""
    rows = sheet_rows(test_data)
    new = write_sheet(tmp_path / "new.csv", [["sample", "peaks"]] + [[r[0], r[3]] for r in rows[1:3]])
    for model in ("blend",):  # what the test profile trains besides the MLP
        run = assert_success(nextflow_run(tmp_path / model, ["-entry", "PREDICT", "--model_file", str(shared_run.outdir / "model" / model / "model.pt"),
                                                             "--input", str(new), "--links_top", "0"]))
        assert trace_processes(run.trace) == {"CHECK_PARAMS", "REPLACE_OUTPUTS", "CHECK_MODEL", "CHECK_INPUTS", "BINARIZE_PEAKS",
                                              "PREDICT_EXPRESSION", "SOFTWARE_VERSIONS"}
        # the folders PREDICT writes into are its own: never one of the main run's (it may write beside one)
        record = json.loads((run.outdir / "pipeline_info" / "run_PREDICT.json").read_text())
        assert record["folders"] == ["predict"] and {p.name for p in run.outdir.iterdir()} == {"predict", "pipeline_info"}
        assert (run.outdir / "predict" / "bins" / f"{rows[1][0]}.bins.npz").exists()
        main_record = json.loads((shared_run.outdir / "pipeline_info" / "run_main.json").read_text())
        assert not set(record["folders"]) & set(main_record["folders"])
        predicted = pd.read_csv(run.outdir / "predict" / "predictions.tsv", sep="\t")
        in_sample = pd.read_csv(shared_run.outdir / "model" / model / "predictions.tsv", sep="\t")
        merged = predicted.merge(in_sample, on=["sample", "gene_id"], suffixes=("", "_train"))
        assert len(merged) == len(predicted) == 2 * in_sample["gene_id"].nunique()
        assert np.allclose(merged["predicted"], merged["predicted_train"], atol=1e-4)
        # what each new sample is next to the training samples: its own peaks find it, at similarity 1
        report = pd.read_csv(run.outdir / "predict" / "new_samples.tsv", sep="\t")
        assert report["sample"].tolist() == report["nearest_training_sample"].tolist() == [r[0] for r in rows[1:3]]
        assert np.allclose(report["similarity"], 1) and (report["share_of_peaks_in_model_bins"] > 0).all()
        assert (run.outdir / "predict" / "promoter_baseline.tsv").exists()
        # each new sample's links: with --links_top 0 every open bin within 250 kb of every gene's TSS, with its score (ranked
        # by it) and what the bin contributed to the sample's prediction
        table = SAMPLE_LINKS.read(run.outdir / "predict" / "links" / "links.tsv.gz")
        assert set(table["sample"]) == {r[0] for r in rows[1:3]}
        ds = load_dataset(shared_run.outdir / "dataset" / "dataset.npz")
        bins = ds.bins.reset_index().set_index(["chrom", "start"])["index"]
        centre = ((ds.bins["start"] + ds.bins["end"]) // 2).to_numpy()
        for sample, own in table.groupby("sample"):
            values = load_sample_bins(run.outdir / "predict" / "bins" / f"{sample}.bins.npz").values
            assert (values[bins.loc[list(zip(own["chrom"], own["start"], strict=True))].to_numpy()] == 1).all()  # open bins only
            candidates = {(gene, int(b)) for gene, tss in zip(ds.genes["gene_id"], ds.genes["tss"], strict=True)
                          for b in np.flatnonzero((values == 1) & (np.abs(centre - tss) <= 250_000))}
            assert {(g, int(bins.loc[(c, s)])) for g, c, s in zip(own["gene_id"], own["chrom"], own["start"], strict=True)} == candidates
            assert ((own["score"] > 0) & (own["score"] < 1) & own["fdr"].between(0, 1) & (own["abc"] > 0)).all()
            for _, gene in own.groupby("gene_id"):
                assert gene.sort_values("rank")["score"].is_monotonic_decreasing and list(gene["rank"]) == list(range(1, len(gene) + 1))
            assert len(links.read_interact(run.outdir / "predict" / "links" / f"{sample}.interact")) == len(own)
            assert len(links.read_bedpe(run.outdir / "predict" / "links" / f"{sample}.bedpe")) == len(own)
            handle = pyBigWig.open(str(run.outdir / "predict" / "links" / f"{sample}.bw"))
            assert handle.isBigWig() and "chr1" in handle.chroms()
            handle.close()


def screenshot_path(tmp_path: Path, name: str) -> Path:
    """Where a page's screenshot goes: $ATAC2EXPR_SCREENSHOTS (to keep and look at) or the test's folder."""
    folder = Path(os.environ.get("ATAC2EXPR_SCREENSHOTS") or tmp_path)
    return folder / name


def test_links_of_every_model_open_in_a_browser_and_find_the_planted_bins(shared_run: Run, test_data):
    """links/: each model's table, interact, BEDPE and bigWig read back; its best genes' tracks and figures; the score
    columns; and the precision of its top links against the bins the generator planted (printed for every model, and for
    each training sample's best-scored links of sample_links/)."""
    dataset = load_dataset(shared_run.outdir / "dataset" / "dataset.npz")
    regulatory = pd.read_csv(test_data / "regulatory_bins.tsv", sep="\t", dtype={"gene_id": str, "chrom": str})
    folder = shared_run.outdir / "links"
    rows = []
    for model in LINKED_MODELS:
        table = LINKS.read(folder / f"{model}.links.tsv.gz")
        summary = json.loads((folder / f"{model}.links.json").read_text())
        assert len(table) == summary["n_links"] > 0 and summary["rule"]
        assert (table.groupby("gene_id")["rank"].max() <= 10).all() and (table["distance"].abs() <= 250_500).all()
        assert (table["score"].between(0, 1) & table["fdr"].between(0, 1) & table["correlation"].between(-1, 1) & (table["abc"] >= 0)).all()
        assert ((table["score"] > 0) == (table["abc"] > 0)).all() and summary["evidence"]["pairs_tested"] > 0
        assert len(links.read_interact(folder / f"{model}.interact")) == len(links.read_bedpe(folder / f"{model}.bedpe")) == len(table)
        handle = pyBigWig.open(str(folder / f"{model}.bw"))
        try:
            first = table.iloc[0]
            expected = table.loc[(table["start"] == first["start"]) & (table["chrom"] == first["chrom"]), "weight"].abs().sum()
            assert handle.values(f"chr{first['chrom']}", int(first["start"]), int(first["start"]) + 1)[0] == pytest.approx(expected, rel=1e-5)
        finally:
            handle.close()
        best = pd.read_csv(folder / model / "best_genes.tsv", sep="\t", dtype={"gene_id": str})
        assert len(best) == BEST_GENES and (best["r2_source"] == "held-out").all() and best["r2"].is_monotonic_decreasing
        for _, gene in best.iterrows():
            assert (folder / gene["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            track = pyBigWig.open(str(folder / gene["track"]))
            assert sum(len(track.intervals(c) or []) for c in track.chroms()) == gene["n_links"]
            track.close()
        for top in (1, 3):
            rows.append({"model": model, "top": top, **planted.link_precision(table[table["rank"] <= top], regulatory, dataset.bins,
                                                                                dataset.genes, summary["links_max_distance"])})
    # each training sample's scored links: its open bins, ranked by score, as browser tracks too
    scored = links.read_links(shared_run.outdir / "sample_links" / "links.tsv.gz")
    scores = json.loads((shared_run.outdir / "sample_links" / "scores.json").read_text())
    assert set(scored["sample"]) == set(dataset.samples) == set(scores["samples"]) and "weight" not in scored
    assert {s: v["activity"] for s, v in scores["samples"].items() if v["activity"] == "binary"} == {"S02": "binary"}  # its BED3 peaks
    position = dataset.bins.reset_index().set_index(["chrom", "start"])["index"]
    for sample, own in scored.groupby("sample"):
        row = int(np.flatnonzero(dataset.samples == sample)[0])
        assert (dataset.X[row, position.loc[list(zip(own["chrom"], own["start"], strict=True))].to_numpy()] == 1).all()
        assert (own.groupby("gene_id")["rank"].max() <= 10).all() and ((own["score"] > 0) & (own["score"] < 1)).all()
        assert all(g.sort_values("rank")["score"].is_monotonic_decreasing for _, g in own.groupby("gene_id"))
        track = pyBigWig.open(str(shared_run.outdir / "sample_links" / f"{sample}.bw"))
        first = own.iloc[0]
        expected = own.loc[(own["chrom"] == first["chrom"]) & (own["start"] == first["start"]), "score"].sum()
        assert track.values(f"chr{first['chrom']}", int(first["start"]), int(first["start"]) + 1)[0] == pytest.approx(expected, rel=1e-5)
        track.close()
    for top in (1, 3):
        rows.append({"model": "score (each sample)", "top": top,
                     **planted.link_precision(scored[scored["rank"] <= top], regulatory, dataset.bins, dataset.genes, 250_000)})
    result = pd.DataFrame(rows)
    print("\nprecision of the shared run's links against the planted regulatory bins (kallisto TPMs; chance: random bins "
          "within 250 kb)\n" + result.to_string(index=False, float_format="{:.3f}".format))
    at = result.set_index(["model", "top"])
    for model in ("ridge", "tss_window", "local_ridge", "archr", "signac", "score (each sample)"):
        assert at.loc[(model, 3), "precision"] > 10 * at.loc[(model, 3), "chance"], model
    assert at.loc[("local_ridge", 1), "precision"] > at.loc[("ridge", 1), "precision"]


def test_multiqc_report_reads_kallisto_and_the_pipelines_tables(shared_run: Run, tmp_path):
    """multiqc/: kallisto's module names every sample by its id, the custom content and the versions are in, and the
    report opens in a headless browser without errors or network requests."""
    data = shared_run.outdir / "multiqc" / "multiqc_data"
    samples = set(load_dataset(shared_run.outdir / "dataset" / "dataset.npz").samples.astype(str))
    kallisto = pd.read_csv(data / "multiqc_kallisto.txt", sep="\t", dtype={"Sample": str})
    assert set(kallisto["Sample"]) == samples and (kallisto["percent_aligned"] > 50).all()
    for table in ("samples_table", "open_bins_plot", "genes_table", "heldout_metrics_table", "r2_distribution_plot"):
        assert (data / f"multiqc_atac2expr_{table}.txt").stat().st_size > 0, table
    metrics = pd.read_csv(data / "multiqc_atac2expr_heldout_metrics_table.txt", sep="\t").set_index("Sample")
    assert set(metrics.index) == set(predictors.ALL_MODELS)
    assert metrics.loc["ridge", "r2"] == pytest.approx(pd.read_csv(shared_run.outdir / "evaluation" / "metrics.tsv", sep="\t")
                                                       .set_index("model").loc["ridge", "r2"])
    general = pd.read_csv(data / "multiqc_general_stats.txt", sep="\t", dtype={"Sample": str}).set_index("Sample")
    assert set(general.index) == samples and (general["custom_content_atac2expr-peaks"] > 0).all()
    versions = pd.read_csv(data / "multiqc_software_versions.txt", sep="\t").set_index("Sample")
    assert {"KALLISTO_QUANT", "LINKS", "TRAIN_MODEL"} <= set(versions.index)
    report = shared_run.outdir / "multiqc" / "multiqc_report.html"
    check = check_in_chromium(report, screenshot_path(tmp_path, "multiqc_report.png"))
    print(f"\nMultiQC report screenshot: {check.screenshot} ({check.height} px tall)")
    assert not check.problems(), check.problems()
    assert check.title.startswith("atac2expr")


def test_report_page_is_self_contained_and_opens_in_a_browser(shared_run: Run, tmp_path):
    """report/atac2expr_report.html: every figure embedded (no file or network needed), shown by a real browser."""
    page = shared_run.outdir / "report" / "atac2expr_report.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    sections = ("Which bins regulate each gene: the regulatory score", "Held-out evaluation", "Which bins drive the best-predicted genes", "QC",
                "Training on all samples")
    assert all(section in text for section in sections)
    assert [text.index(f">{section}<") for section in sections] == sorted(text.index(f">{section}<") for section in sections)
    assert 'href="../multiqc/multiqc_report.html"' in text
    copy = tmp_path / "alone" / page.name  # alone in a folder: nothing beside it to fetch
    copy.parent.mkdir()
    copy.write_text(text)
    check = check_in_chromium(copy, screenshot_path(tmp_path, "atac2expr_report.png"))
    print(f"\nreport page screenshot: {check.screenshot} ({check.height} px tall, {len(check.images)} images)")
    assert not check.problems(), check.problems()
    # the evaluation's figures, one scatter per model, the best genes' browser tracks and the training figures
    assert len(check.images) >= 2 + 6 + BEST_GENES + 2 and all(i["src"].startswith("data:image/png") for i in check.images)
    qc_samples = QC_SAMPLES.read(shared_run.outdir / "qc" / "qc_samples.tsv")
    assert len(qc_samples) == 16 and (qc_samples["reads"] > 0).all() and (qc_samples["pseudoaligned_percent"] > 50).all()
    assert (qc_samples["peaks"] >= qc_samples["peaks_on_regions"]).all() and (qc_samples["bins_open"] > 0).all()
    genes = QC_GENES.read(shared_run.outdir / "qc" / "qc_genes.tsv")
    assert genes.loc[genes["status"] == "kept", "genes"].sum() == len(load_dataset(shared_run.outdir / "dataset" / "dataset.npz").genes)


def test_run_record_knows_the_outputs_the_inputs_and_what_is_computed(shared_run: Run, test_data):
    """The record of a complete run: the parameters that change results (those the schema does not mark operational),
    each input file's identity (the samplesheet's files too), the folders the run's processes publish into (read from
    conf/modules.config: exactly the folders the run made) and every file it wrote there."""
    outdir = shared_run.outdir
    record = json.loads((outdir / "pipeline_info" / "run_main.json").read_text())
    schema = json.loads((REPO / "nextflow_schema.json").read_text())
    names = {name for group in schema["$defs"].values() for name in group["properties"]}
    assert set(record["params"]) == names - operational_parameters(schema)
    assert set(record["folders"]) == {p.name for p in outdir.iterdir() if p.is_dir()} - {"pipeline_info"}
    written = {str(p.relative_to(outdir)) for folder in record["folders"] for p in (outdir / folder).rglob("*") if p.is_file()}
    assert set(record["outputs"]) == written
    sheet = test_data / "samplesheet.csv"
    assert record["inputs"]["input"] == {"path": str(sheet), "size": sheet.stat().st_size, "mtime": sheet.stat().st_mtime_ns // 1_000_000,
                                         "sha256": hashlib.sha256(sheet.read_bytes()).hexdigest()}
    named = {f"sample {row[0]} {column}" for row in sheet_rows(test_data)[1:] for column, value in zip(("fastq_1", "fastq_2", "peaks"), row[1:], strict=True)
             if value}  # single-end samples name no fastq_2
    assert {key for key in record["inputs"] if key.startswith("sample ")} == named
    assert record["inputs"]["sample S01 peaks"]["path"] == str(test_data / "peaks" / "S01.narrowPeak.gz")
    assert not (outdir / "pipeline_info" / "run_main.pending.json").exists() and not (outdir / ".atac2expr-replaced").exists()


def test_predict_entry_bins_new_peaks_with_the_models_bin_value(chromosome_signal_run: Run, test_data, tmp_path):
    """-entry PREDICT with a blend model of signal bins (no --bin_value given): the new peaks are binned as signal and
    their activity ranked, so the training samples' narrowPeak files give their in-sample predictions; the new-sample
    report finds each one's own training sample and the share of its peaks on the model's chromosomes; BED3 peaks are
    refused in one line."""
    model = chromosome_signal_run.outdir / "model" / "blend"
    sheet = pd.read_csv(test_data / "samplesheet_signal.csv").set_index("sample")
    new = write_sheet(tmp_path / "new.csv", [["sample", "peaks"]] + [[s, str(test_data / sheet.loc[s, "peaks"])] for s in ("S02", "S05")])
    run = assert_success(nextflow_run(tmp_path / "ok", ["-entry", "PREDICT", "--model_file", str(model / "model.pt"), "--input", str(new)]))
    predicted = pd.read_csv(run.outdir / "predict" / "predictions.tsv", sep="\t")
    merged = predicted.merge(pd.read_csv(model / "predictions.tsv", sep="\t"), on=["sample", "gene_id"], suffixes=("", "_train"))
    assert len(merged) == len(predicted) > 0 and set(merged["sample"]) == {"S02", "S05"}
    assert np.allclose(merged["predicted"], merged["predicted_train"], atol=1e-4)
    report = pd.read_csv(run.outdir / "predict" / "new_samples.tsv", sep="\t").set_index("sample")
    assert report["nearest_training_sample"].to_dict() == {"S02": "S02", "S05": "S05"} and np.allclose(report["similarity"], 1)
    peaks = read_peaks(test_data / sheet.loc["S02", "peaks"])
    on_model_chromosomes = peaks["chrom"].isin(["1", "21"])  # the count is by chromosome: peaks elsewhere cannot inform the model
    assert report.loc["S02", "peaks"] == len(peaks) and report.loc["S02", "peaks_in_model_bins"] == int(on_model_chromosomes.sum())
    assert 0 < report.loc["S02", "share_of_peaks_in_model_bins"] < 1 and set(report["activity_kind"]) == {"signal"}
    baseline = pd.read_csv(run.outdir / "predict" / "promoter_baseline.tsv", sep="\t")
    assert len(baseline) == len(predicted) and np.allclose(baseline["predicted"], predicted["predicted"])

    bed3 = test_data / "peaks" / "S02.bed"  # S02's peaks in the default samplesheet
    refused = nextflow_run(tmp_path / "bed3", ["-entry", "PREDICT", "--model_file", str(model / "model.pt"), "--input",
                                               str(write_sheet(tmp_path / "bed3.csv", [["sample", "peaks"], ["S02", str(bed3)]]))])
    assert refused.result.returncode != 0
    (message,) = error_lines(refused.result)
    assert message.startswith(f"ERROR: sample S02: {bed3}: BED3 (3 columns) peaks hold no signalValue"), message
    assert "--bin_value signal needs narrowPeak, broadPeak or gappedPeak peaks" in message
    assert "PREDICT_EXPRESSION" not in trace_processes(refused.trace) and not (refused.outdir / "predict").exists()


@pytest.fixture(scope="module")
def locked_then_run(shared_run: Run, test_data, tmp_path_factory) -> dict:
    """A results folder whose lock is live (its process is this one): the run is refused; then its lock is stale (its
    process gone): a run with other parameters than the shared one's goes ahead (the first run there). Its samplesheet
    names three samples' files by hostile names (conftest.hostile_sheet), which the guard does not read: the same run
    shows those files run safely."""
    folder = tmp_path_factory.mktemp("guarded")
    sheet, hostile = hostile_sheet(folder / "inputs", test_data)
    outdir = folder / "results"
    outdir.mkdir()
    lock = outdir / ".atac2expr.lock"
    lock.write_text(f"{os.getpid()}@{socket.gethostname()} some_run 2026-01-01\n")
    params = [*run_params(test_data), "--input", str(sheet), "--model", "tss_window", "--eval_models", "mean,ridge", "--skip_multiqc",
              "-resume"]
    busy = nextflow_run(shared_run.launch, params, outdir, name="lock1")
    lock.write_text(f"999999999@{socket.gethostname()} dead_run 2026-01-01\n")
    stale = nextflow_run(shared_run.launch, params, outdir, name="guard1")
    return {"outdir": outdir, "lock": lock, "params": params, "busy": busy, "stale": stale, "hostile": hostile, "inputs": folder / "inputs"}


def test_hostile_but_valid_file_names_run_safely(locked_then_run, shared_run: Run):
    """File names with shell metacharacters, quotes, spaces and commas (quoted in the CSV), and lanes whose files share
    a base name in different folders: staged under names the pipeline makes, they run as any other (their samples'
    steps run again, the others' come from the cache), and give the same bins and expression as the plain names did."""
    run = assert_success(locked_then_run["stale"])
    hostile = locked_then_run["hostile"]
    assert not list(shared_run.launch.rglob("PWNED_RAN")) and not list(locked_then_run["inputs"].rglob("PWNED_RAN"))
    assert {n for n in trace_names(run.trace, "COMPLETED") if n.startswith("KALLISTO_QUANT")} == {f"KALLISTO_QUANT ({r[0]})" for r in hostile}
    theirs = pd.read_csv(shared_run.outdir / "expression" / "gene_tpm.tsv", sep="\t")
    ours = pd.read_csv(run.outdir / "expression" / "gene_tpm.tsv", sep="\t")
    merged = ours.merge(theirs, on=["sample", "gene_id"], suffixes=("", "_shared"))
    assert len(merged) == len(ours) > 0 and set(merged["sample"]) >= {r[0] for r in hostile}
    assert np.allclose(merged["tpm"], merged["tpm_shared"], rtol=1e-3, atol=1e-3)
    for row in hostile:
        ours_bins = load_sample_bins(run.outdir / "bins" / f"{row[0]}.bins.npz")
        theirs_bins = load_sample_bins(shared_run.outdir / "bins" / f"{row[0]}.bins.npz")
        assert np.array_equal(ours_bins.values, theirs_bins.values)


def test_one_run_at_a_time_per_results_folder(locked_then_run):
    """A live lock stops a second run at once; a stale one (its process gone) is replaced, and released at the end."""
    busy = locked_then_run["busy"]
    assert busy.result.returncode != 0 and not busy.trace
    (message,) = error_lines(busy.result)
    assert "another run is writing there" in message and str(os.getpid()) in message
    stale = assert_success(locked_then_run["stale"])
    assert "stale lock" in stale.result.stdout + stale.result.stderr
    assert not locked_then_run["lock"].exists()


def test_results_folder_of_another_configuration(locked_then_run, shared_run: Run):
    """A run with other parameters does not mix its results with an earlier run's: refused, or --overwrite replaces them."""
    outdir, first = locked_then_run["outdir"], locked_then_run["params"]
    assert_success(locked_then_run["stale"])
    assert (outdir / "evaluation" / "metrics.tsv").exists()
    changed = [p for p in first if p != "-resume"] + ["--evaluate", "false", "-resume"]
    refused = nextflow_run(shared_run.launch, changed, outdir, name="guard2")
    assert refused.result.returncode != 0 and not refused.trace
    (message,) = error_lines(refused.result)
    assert "--evaluate true -> false" in message and "--overwrite" in message
    assert_success(nextflow_run(shared_run.launch, [*changed, "--overwrite"], outdir, name="guard3"))
    assert not (outdir / "evaluation").exists() and (outdir / "model" / "tss_window" / "model.pt").exists()
    # without an evaluation: the network's links only (no baseline was fitted), best genes by their in-sample fit
    assert sorted(p.name for p in (outdir / "links").glob("*.links.tsv.gz")) == ["tss_window.links.tsv.gz"]
    best = pd.read_csv(outdir / "links" / "tss_window" / "best_genes.tsv", sep="\t")
    assert len(best) == BEST_GENES and (best["r2_source"] == "in-sample").all()
    page = (outdir / "report" / "atac2expr_report.html").read_text()
    assert "Held-out evaluation" not in page and "Which bins drive" in page and "multiqc_report.html" not in page
    record = json.loads((outdir / "pipeline_info" / "run_main.json").read_text())
    assert record["params"]["evaluate"] == "false" and not any(name.startswith("evaluation/") for name in record["outputs"])


def results_copy(run: Run, outdir: Path) -> Path:
    """A copy of a run's results folder (links copied as links): a folder that a test may damage."""
    shutil.copytree(run.outdir, outdir, symlinks=True)
    return outdir


def folder_state(outdir: Path) -> dict[str, bytes]:
    """Every file and link under the folder, and its bytes, but Nextflow's run reports (one more per run)."""
    return {str(p.relative_to(outdir)): (p.read_bytes() if p.is_file() else b"") for p in sorted(outdir.rglob("*"))
            if not p.is_dir() and not p.name.startswith("execution_")}


def test_overwrite_with_a_refused_parameter_deletes_nothing(stub_run: Run, test_data, tmp_path):
    """--overwrite with a misspelt and an invalid parameter: CHECK_PARAMS refuses them and every earlier output, and the run
    record (which does not claim --epochs 0), is as it was: nothing is moved before the parameters passed."""
    assert_success(stub_run)
    outdir = results_copy(stub_run, tmp_path / "results")
    before = folder_state(outdir)
    run = nextflow_run(stub_run.launch, [*stub_params(test_data, stub_run.launch), "--overwrite", "--bin-size", "3000", "--epochs", "0"],
                       outdir, name="refused_overwrite")
    assert run.result.returncode != 0
    (message,) = error_lines(run.result)
    assert "did you mean --bin_size" in message and "--epochs 0" in message
    assert trace_processes(run.trace) == {"CHECK_PARAMS"}
    assert folder_state(outdir) == before
    assert not (outdir / ".atac2expr-replaced").exists()


def test_edited_samplesheet_is_another_configuration(stub_run: Run, test_data, tmp_path):
    """The samplesheet at the same path, edited to drop two samples: refused, naming the change. With --overwrite the
    dropped samples' outputs are gone and the record lists the samples left."""
    assert_success(stub_run)
    outdir = results_copy(stub_run, tmp_path / "results")
    sheet = stub_run.launch / "samplesheet.csv"
    original = sheet.read_bytes()
    params = [*stub_params(test_data, stub_run.launch), "-resume"]
    try:
        write_sheet(sheet, sheet_rows(test_data)[:4])
        refused = nextflow_run(stub_run.launch, params, outdir, name="edited_sheet")
        assert refused.result.returncode != 0 and not refused.trace
        (message,) = error_lines(refused.result)
        assert f"--input {sheet}: its content changed" in message
        assert "sample S04: no longer in the run" in message and "sample S05: no longer in the run" in message and "--overwrite" in message
        assert_success(nextflow_run(stub_run.launch, [*params, "--overwrite"], outdir, name="edited_overwrite"))
    finally:
        sheet.write_bytes(original)  # the same bytes: the other copies of the stub run's results still match it
    assert {p.name for p in (outdir / "bins").iterdir()} == {f"S0{n}.{kind}" for n in (1, 2, 3) for kind in ("bins.npz", "peaks.json")}
    left = [str(p.relative_to(outdir)) for p in outdir.rglob("*") if "S04" in p.name or "S05" in p.name]
    assert left == [], left
    record = json.loads((outdir / "pipeline_info" / "run_main.json").read_text())
    assert {key.split()[1] for key in record["inputs"] if key.startswith("sample ")} == {"S01", "S02", "S03"}
    assert set(record["outputs"]) == {str(p.relative_to(outdir)) for f in record["folders"] for p in (outdir / f).rglob("*") if p.is_file()}
    assert not (outdir / ".atac2expr-replaced").exists() and not (outdir / "pipeline_info" / "run_main.pending.json").exists()


def checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_link_in_the_results_folder_is_refused_before_any_task_and_any_move(stub_run: Run, test_data, tmp_path):
    """annotation/ made a link to a user's folder, and bins/S01.bins.npz, deep inside a results folder, a link to a user's
    file: a rerun with --overwrite and a refused parameter is refused before any task (before CHECK_PARAMS, and before
    --overwrite moves anything), naming both links and their targets; the targets' files are byte-identical afterwards.
    The guard refuses links before it reads any parameter, so this run stands for every mode; tests/test_faults.py
    shows a plain -resume refused the same way after a kill."""
    assert_success(stub_run)
    outdir = results_copy(stub_run, tmp_path / "results")
    users = tmp_path / "users_folder"
    users.mkdir()
    (users / "genes.tsv").write_text("a file of someone else's\n")
    (users / "notes.txt").write_text("more of theirs\n")
    before = checksums(users)
    shutil.rmtree(outdir / "annotation")
    (outdir / "annotation").symlink_to(users, target_is_directory=True)
    (outdir / "bins" / "S01.bins.npz").unlink()
    (outdir / "bins" / "S01.bins.npz").symlink_to(users / "notes.txt")
    run = nextflow_run(stub_run.launch, [*stub_params(test_data, stub_run.launch), "-resume", "--overwrite", "--epochs", "0"], outdir,
                       name="link_refused")
    assert run.result.returncode != 0 and not run.trace
    (message,) = error_lines(run.result)
    assert f"annotation -> {users}" in message and "a link where the pipeline writes its results" in message, message
    assert f"bins/S01.bins.npz -> {users / 'notes.txt'}" in message, message
    assert checksums(users) == before
    assert (outdir / "annotation").is_symlink() and not (outdir / ".atac2expr-replaced").exists()


def test_the_pipelines_own_folders_hold_only_what_it_put_there(stub_run: Run, test_data, tmp_path):
    """.atac2expr-replaced holding a user's file: refused before any task in one ERROR line naming it, the file left as it
    was (tests/test_bad_input_e2e.py checks the guard's other cases of its own folders without a run each); a refused
    run leaves pipeline_info as the last complete run left it."""
    assert_success(stub_run)
    outdir = results_copy(stub_run, tmp_path / "results")
    params = [*stub_params(test_data, stub_run.launch), "-resume"]
    aside = outdir / ".atac2expr-replaced"
    (aside / "old_run").mkdir(parents=True)
    (aside / "old_run" / "thesis.tex").write_text("my thesis\n")
    run = nextflow_run(stub_run.launch, params, outdir, name="aside_foreign")
    (message,) = error_lines(run.result)
    assert run.result.returncode != 0 and not run.trace and ".atac2expr-replaced/old_run" in message and "did not put there" in message
    assert (aside / "old_run" / "thesis.tex").read_text() == "my thesis\n"
    shutil.rmtree(aside)
    # refused after CHECK_PARAMS passed (a samplesheet that CHECK_INPUTS refuses, with --overwrite): pipeline_info keeps the
    # complete run's parameters, samplesheet and plan
    info = {name: (outdir / "pipeline_info" / name).read_bytes() for name in ("params.valid.json", "samplesheet.valid.json", "models.json")}
    bad = write_sheet(tmp_path / "bad.csv", [["sample", "fastq_1", "fastq_2", "peaks"], ["S 01", "a.fq", "", "p.bed"]])
    run = nextflow_run(stub_run.launch, [*stub_params(test_data, stub_run.launch), "--input", str(bad), "--overwrite"], outdir,
                       name="refused_sheet")
    assert run.result.returncode != 0 and "CHECK_PARAMS" in trace_processes(run.trace)
    assert {name: (outdir / "pipeline_info" / name).read_bytes() for name in info} == info


def test_help_lists_every_parameter_with_defaults(tmp_path):
    result = run_nextflow(["--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    schema = json.loads((REPO / "nextflow_schema.json").read_text())
    for group in schema["$defs"].values():
        assert group["title"] in result.stdout
        for name, spec in group["properties"].items():
            if not spec.get("hidden"):
                assert f"--{name} " in result.stdout
    assert "[default: chr1:1-1000000]" in result.stdout


def test_expression_table_in_nfcore_layout_gives_the_reads_route_dataset(tmp_path, test_data, shared_run: Run):
    """--expression with nf-core/rnaseq's merged gene table (gene_id, gene_name, samples...) built from the shared run's
    own TPMs (versioned ids, columns in another order, a column of another sample): the samplesheet is sample,peaks,
    no read is checked or quantified, and the dataset is the reads route's, Y bit for bit."""
    matrix = pd.read_csv(shared_run.outdir / "expression" / "gene_tpm_matrix.tsv", sep="\t", dtype=str, keep_default_na=False)
    samples = [c for c in matrix.columns if c not in ("gene_id", "gene_name")]
    table = matrix[["gene_id", "gene_name", *reversed(samples)]].assign(other_study="1.0")
    table["gene_id"] = table["gene_id"] + ".7"
    table.to_csv(tmp_path / "salmon.merged.gene_tpm.tsv", sep="\t", index=False)
    sheet = write_sheet(tmp_path / "peaks.csv", [["sample", "peaks"]] + [[row[0], row[3]] for row in sheet_rows(test_data)[1:]])
    params = [*run_params(test_data), "--input", str(sheet), "--expression", str(tmp_path / "salmon.merged.gene_tpm.tsv"),
              "--model", "tss_window", "--evaluate", "false", *NO_REPORTS, "-resume"]
    # from the shared run's launch folder: its peaks binned with the same layout come from the cache
    run = assert_success(nextflow_run(shared_run.launch, params, outdir=tmp_path / "results", name="trace_table"))
    assert not trace_processes(run.trace) & {"CHECK_FASTQ", "KALLISTO_INDEX", "KALLISTO_QUANT", "GENE_TPM"}
    assert "EXPRESSION_TABLE" in trace_processes(run.trace, "COMPLETED")
    with np.load(run.outdir / "dataset" / "dataset.npz") as ours, np.load(shared_run.outdir / "dataset" / "dataset.npz") as theirs:
        assert sorted(ours.files) == sorted(theirs.files)
        for key in theirs.files:
            assert np.array_equal(ours[key], theirs[key]), key
    for name in ("gene_tpm_matrix.tsv", "gene_tpm.tsv", "genes.tsv"):
        assert (run.outdir / "expression" / name).read_bytes() == (shared_run.outdir / "expression" / name).read_bytes(), name
    source = json.loads((run.outdir / "pipeline_info" / "expression_source.json").read_text())
    assert source["columns_left_out"] == ["other_study"] and source["normalisation"] == "TPM as given"
    assert json.loads((run.outdir / "report" / "summary.json").read_text())["expression"]["unit"] == "tpm"
