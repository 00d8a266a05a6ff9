"""End to end: the real `nextflow run main.nf -profile test`, real kallisto, real torch.

The stub run of the whole graph comes first (seconds per task, no tools); the shared run (conftest.shared_run)
is read by most tests here; runs that change parameters reuse its launch folder with -resume, so that only
the steps the change touches run again.
"""

from __future__ import annotations

import json
import os
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
from atac2expr.regions import BinLayout, parse_regions, read_chrom_sizes
from conftest import REPO, Run, assert_success, data_params, error_lines, nextflow_run, run_nextflow, run_params, sheet_rows, trace_processes, write_sheet

pytestmark = pytest.mark.e2e

SIZES = read_chrom_sizes(REPO / "assets" / "GRCh38.chrom.sizes")
LAYOUT = BinLayout.of(parse_regions("chr1:1-1000000", SIZES), 1000)
EVERY_PROCESS = {"CHECK_PARAMS", "DEFINE_BINS", "CHECK_INPUTS", "BINARIZE_PEAKS", "GENE_ANNOTATION", "CHECK_FASTQ", "KALLISTO_INDEX",
                 "KALLISTO_QUANT", "GENE_TPM", "BUILD_MATRIX", "TRAIN_MODEL", "EVALUATE", "LINKS", "QC_SUMMARY", "REPORT",
                 "SOFTWARE_VERSIONS", "MULTIQC"}
LINKED_MODELS = ("ridge", "archr", "signac", "mlp", "tss_window")
# quicker runs for tests that read neither links nor MultiQC
NO_REPORTS = ["--skip_links", "--skip_multiqc"]


def test_stub_run_walks_the_whole_graph(tmp_path, test_data):
    """-stub: every process of the graph runs (its stub), in seconds, on four samples."""
    sheet = write_sheet(tmp_path / "samplesheet.csv", sheet_rows(test_data)[:5])
    params = ["-profile", "test", *data_params(test_data), "--input", str(sheet), "-stub"]
    run = assert_success(nextflow_run(tmp_path, params))
    assert trace_processes(run.trace, "COMPLETED") == EVERY_PROCESS
    assert len([r for r in run.trace if r["process"].endswith("KALLISTO_QUANT")]) == 4


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
    matrix = pd.read_csv(shared_run.outdir / "expression" / "gene_tpm_matrix.tsv", sep="\t")
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
    for model in ("mlp", "tss_window"):
        for name in ("model.pt", "predictions.tsv", "loss.tsv", "training.json"):
            assert (shared_run.outdir / "model" / model / name).stat().st_size > 0
    for name in ("expression_fit_mlp.png", "loss_curve.png"):
        assert (shared_run.outdir / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((shared_run.outdir / "report" / "summary.json").read_text())
    assert summary["bins"] == 1000 and summary["bin_size"] == 1000
    mlp = summary["models"]["mlp"]
    assert mlp["epochs"] == 150 and mlp["final_training_loss"] < 0.5 * mlp["mean_baseline_training_loss"]
    versions = yaml.safe_load((shared_run.outdir / "pipeline_info" / "software_versions.yml").read_text())
    assert EVERY_PROCESS - {"SOFTWARE_VERSIONS", "MULTIQC"} <= set(versions)  # MultiQC reads the versions: its own are in its report
    assert versions["KALLISTO_QUANT"]["kallisto"].startswith("0.") and versions["Workflow"]["Nextflow"].startswith("24.10")
    checked = json.loads((shared_run.outdir / "pipeline_info" / "params.valid.json").read_text())
    assert checked["epochs"] == 150 and checked["region"] == "chr1:1-1000000"
    assert BinLayout.read(shared_run.outdir / "pipeline_info" / "regions.tsv") == LAYOUT


def test_heldout_evaluation(shared_run: Run):
    """Every model on the same folds; the planted signal is real: the baselines that read it beat the mean."""
    metrics = pd.read_csv(shared_run.outdir / "evaluation" / "metrics.tsv", sep="\t").set_index("model")
    assert list(metrics.index) == ["mean", "ridge", "archr", "signac", "mlp", "tss_window"]
    folds = pd.read_csv(shared_run.outdir / "evaluation" / "folds.tsv", sep="\t")
    assert folds["fold"].nunique() == 5 and folds["sample"].is_unique
    for model in ("ridge", "archr", "signac", "tss_window"):
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
    assert again.trace and {r["status"] for r in again.trace} == {"CACHED"}, [(r["name"], r["status"]) for r in again.trace]
    changed = assert_success(nextflow_run(shared_run.launch, [*run_params(test_data), "--epochs", "60", *NO_REPORTS, "-resume"],
                                          shared_run.launch / "results_epochs", name="epochs"))
    # SOFTWARE_VERSIONS comes from the cache: the versions did not change
    assert trace_processes(changed.trace, "COMPLETED") == {"CHECK_PARAMS", "TRAIN_MODEL", "EVALUATE", "QC_SUMMARY", "REPORT"}
    assert json.loads((changed.outdir / "report" / "summary.json").read_text())["models"]["mlp"]["epochs"] == 60


def test_whole_chromosome_region(shared_run: Run, test_data):
    """--region 1: the whole chromosome in bins, its last bin shorter; the reads are not quantified again."""
    params = [*run_params(test_data), "--region", "1", "--model", "tss_window", "--eval_models", "mean,ridge,archr,signac,tss_window",
              "--tss_epochs", "5", *NO_REPORTS, "-resume"]
    run = assert_success(nextflow_run(shared_run.launch, params, shared_run.launch / "results_chr1", name="chr1"))
    assert "KALLISTO_QUANT" not in trace_processes(run.trace, "COMPLETED")
    dataset = load_dataset(run.outdir / "dataset" / "dataset.npz")
    chr1 = SIZES["1"]
    assert dataset.X.shape[1] == -(-chr1 // 1000)
    last = dataset.bins.iloc[-1]
    assert (last["chrom"], last["start"], last["end"]) == ("1", chr1 // 1000 * 1000, chr1)
    assert set(pd.read_csv(run.outdir / "evaluation" / "metrics.tsv", sep="\t")["model"]) == {"mean", "ridge", "archr", "signac", "tss_window"}


def test_predict_entry_reproduces_in_sample_predictions(shared_run: Run, test_data, tmp_path):
    """-entry PREDICT on training samples' peaks gives their in-sample predictions (the MLP's model files are the same
    format: tests/test_predict.py predicts with both networks)."""
    rows = sheet_rows(test_data)
    new = write_sheet(tmp_path / "new.csv", [["sample", "peaks"]] + [[r[0], r[3]] for r in rows[1:3]])
    for model in ("tss_window",):
        run = assert_success(nextflow_run(tmp_path / model, ["-entry", "PREDICT", "--model_file", str(shared_run.outdir / "model" / model / "model.pt"),
                                                             "--input", str(new)]))
        assert trace_processes(run.trace) == {"CHECK_PARAMS", "CHECK_MODEL", "CHECK_PREDICT_INPUTS", "BINARIZE_PEAKS",
                                              "PREDICT_EXPRESSION", "SOFTWARE_VERSIONS"}
        predicted = pd.read_csv(run.outdir / "predict" / "predictions.tsv", sep="\t")
        in_sample = pd.read_csv(shared_run.outdir / "model" / model / "predictions.tsv", sep="\t")
        merged = predicted.merge(in_sample, on=["sample", "gene_id"], suffixes=("", "_train"))
        assert len(merged) == len(predicted) == 2 * in_sample["gene_id"].nunique()
        assert np.allclose(merged["predicted"], merged["predicted_train"], atol=1e-4)
        # which of each new sample's open bins drove its predictions: the same files as the main run's links, per sample
        table = SAMPLE_LINKS.read(run.outdir / "predict" / "links" / "links.tsv.gz")
        assert set(table["sample"]) == {r[0] for r in rows[1:3]} and (table["rank"] <= 10).all()
        bins = load_dataset(shared_run.outdir / "dataset" / "dataset.npz").bins.reset_index().set_index(["chrom", "start"])["index"]
        for sample, own in table.groupby("sample"):
            values = load_sample_bins(run.outdir / "bins" / f"{sample}.bins.npz").values
            assert (values[bins.loc[list(zip(own["chrom"], own["start"], strict=True))].to_numpy()] == 1).all()  # open bins only
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
    """links/: each model's table, interact, BEDPE and bigWig read back; its best genes' tracks and figures; and the
    precision of its top links against the bins the generator planted (printed for every model)."""
    dataset = load_dataset(shared_run.outdir / "dataset" / "dataset.npz")
    regulatory = pd.read_csv(test_data / "regulatory_bins.tsv", sep="\t", dtype={"gene_id": str, "chrom": str})
    folder = shared_run.outdir / "links"
    rows = []
    for model in LINKED_MODELS:
        table = LINKS.read(folder / f"{model}.links.tsv.gz")
        summary = json.loads((folder / f"{model}.links.json").read_text())
        assert len(table) == summary["n_links"] > 0 and summary["rule"]
        assert (table.groupby("gene_id")["rank"].max() <= 10).all() and (table["distance"].abs() <= 250_500).all()
        assert len(links.read_interact(folder / f"{model}.interact")) == len(links.read_bedpe(folder / f"{model}.bedpe")) == len(table)
        handle = pyBigWig.open(str(folder / f"{model}.bw"))
        try:
            first = table.iloc[0]
            expected = table.loc[(table["start"] == first["start"]) & (table["chrom"] == first["chrom"]), "weight"].abs().sum()
            assert handle.values(f"chr{first['chrom']}", int(first["start"]), int(first["start"]) + 1)[0] == pytest.approx(expected, rel=1e-5)
        finally:
            handle.close()
        best = pd.read_csv(folder / model / "best_genes.tsv", sep="\t", dtype={"gene_id": str})
        assert len(best) == 5 and (best["r2_source"] == "held-out").all() and best["r2"].is_monotonic_decreasing
        for _, gene in best.iterrows():
            assert (folder / gene["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            track = pyBigWig.open(str(folder / gene["track"]))
            assert sum(len(track.intervals(c) or []) for c in track.chroms()) == gene["n_links"]
            track.close()
        for top in (1, 3):
            rows.append({"model": model, "top": top, **planted.link_precision(table[table["rank"] <= top], regulatory, dataset.bins,
                                                                                dataset.genes, summary["links_max_distance"])})
    result = pd.DataFrame(rows)
    print("\nprecision of the shared run's links against the planted regulatory bins (kallisto TPMs; chance: random bins "
          "within 250 kb)\n" + result.to_string(index=False, float_format="{:.3f}".format))
    at = result.set_index(["model", "top"])
    for model in ("ridge", "tss_window", "archr", "signac"):
        assert at.loc[(model, 3), "precision"] > 10 * at.loc[(model, 3), "chance"], model


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
    assert set(metrics.index) == {"mean", "ridge", "archr", "signac", "mlp", "tss_window"}
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
    for section in ("Held-out evaluation", "Which bins drive the best-predicted genes", "QC", "Training on all samples"):
        assert section in text, section
    assert 'href="../multiqc/multiqc_report.html"' in text
    copy = tmp_path / "alone" / page.name  # alone in a folder: nothing beside it to fetch
    copy.parent.mkdir()
    copy.write_text(text)
    check = check_in_chromium(copy, screenshot_path(tmp_path, "atac2expr_report.png"))
    print(f"\nreport page screenshot: {check.screenshot} ({check.height} px tall, {len(check.images)} images)")
    assert not check.problems(), check.problems()
    # the evaluation's figures, one scatter per model, the best genes' browser tracks and the training figures
    assert len(check.images) >= 2 + 6 + 5 + 2 and all(i["src"].startswith("data:image/png") for i in check.images)
    qc_samples = QC_SAMPLES.read(shared_run.outdir / "qc" / "qc_samples.tsv")
    assert len(qc_samples) == 16 and (qc_samples["reads"] > 0).all() and (qc_samples["pseudoaligned_percent"] > 50).all()
    assert (qc_samples["peaks"] >= qc_samples["peaks_on_regions"]).all() and (qc_samples["bins_open"] > 0).all()
    genes = QC_GENES.read(shared_run.outdir / "qc" / "qc_genes.tsv")
    assert genes.loc[genes["status"] == "kept", "genes"].sum() == len(load_dataset(shared_run.outdir / "dataset" / "dataset.npz").genes)


def test_results_folder_of_another_configuration(shared_run: Run, test_data, tmp_path):
    """A run with other parameters does not mix its results with an earlier run's: refused, or --overwrite replaces them."""
    outdir = tmp_path / "results"
    first = [*run_params(test_data), "--model", "tss_window", "--eval_models", "mean,ridge", "--tss_epochs", "3", "--skip_multiqc", "-resume"]
    assert_success(nextflow_run(shared_run.launch, first, outdir, name="guard1"))
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
    assert len(best) == 5 and (best["r2_source"] == "in-sample").all()
    page = (outdir / "report" / "atac2expr_report.html").read_text()
    assert "Held-out evaluation" not in page and "Which bins drive" in page and "multiqc_report.html" not in page
    record = json.loads((outdir / "pipeline_info" / "run_main.json").read_text())
    assert record["params"]["evaluate"] == "false"


def test_one_run_at_a_time_per_results_folder(shared_run: Run, test_data, tmp_path):
    """A live lock stops a second run at once; a stale one (its process gone) is replaced."""
    outdir = tmp_path / "results"
    outdir.mkdir()
    lock = outdir / ".atac2expr.lock"
    lock.write_text(f"{os.getpid()}@{socket.gethostname()} some_run 2026-01-01\n")
    params = [*run_params(test_data), "--model", "tss_window", "--eval_models", "mean", "--tss_epochs", "3", *NO_REPORTS, "-resume"]
    busy = nextflow_run(shared_run.launch, params, outdir, name="lock1")
    assert busy.result.returncode != 0 and not busy.trace
    (message,) = error_lines(busy.result)
    assert "another run is writing there" in message and str(os.getpid()) in message
    lock.write_text(f"999999999@{socket.gethostname()} dead_run 2026-01-01\n")
    stale = assert_success(nextflow_run(shared_run.launch, params, outdir, name="lock2"))
    assert "stale lock" in stale.result.stdout + stale.result.stderr
    assert not lock.exists()  # released at the end of the run


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
