"""End to end: the real `nextflow run main.nf -profile test`, real kallisto, real torch; then -resume."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atac2expr.annotation import genes_in_regions, read_gtf
from atac2expr.dataset import load_dataset
from atac2expr.regions import parse_regions
from conftest import data_params, read_trace, run_nextflow

pytestmark = pytest.mark.e2e

REGION = "chr1:1-1000000"
BIN_SIZE = 1000


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, test_data):
    launch = tmp_path_factory.mktemp("launch")
    outdir = launch / "results"
    result = run_nextflow(["-profile", "test", *data_params(test_data), "--outdir", str(outdir),
                           "-with-trace", str(launch / "trace1.txt")], cwd=launch)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return launch, outdir, result


def test_dataset_shapes(pipeline_run, test_data):
    _, outdir, _ = pipeline_run
    dataset = load_dataset(outdir / "dataset" / "dataset.npz")
    samples = pd.read_csv(test_data / "samplesheet.csv")["sample"]
    genes, _ = read_gtf(test_data / "genes.gtf.gz")
    expected_genes = genes_in_regions(genes, parse_regions(REGION))
    assert dataset.X.shape == (len(samples), 1_000_000 // BIN_SIZE)
    assert dataset.Y.shape == (len(samples), len(expected_genes))
    assert list(dataset.samples) == sorted(samples)
    assert list(dataset.genes["gene_id"]) == list(expected_genes["gene_id"])
    assert set(np.unique(dataset.X)) <= {0, 1} and 0 < dataset.X.mean() < 0.5
    assert (dataset.Y >= 0).all() and dataset.Y.sum() > 0


def test_expression_tracks_truth(pipeline_run, test_data):
    """kallisto + GENE_TPM recover the simulated gene expression."""
    _, outdir, _ = pipeline_run
    tidy = pd.read_csv(outdir / "expression" / "gene_tpm.tsv", sep="\t")
    truth = pd.read_csv(test_data / "truth.tsv", sep="\t")
    merged = tidy.merge(truth, on=["sample", "gene_id"])
    assert len(merged) == len(tidy)
    rho = np.corrcoef(np.log1p(merged["tpm"]), np.log1p(merged["true_tpm"]))[0, 1]
    assert rho > 0.9


def test_model_report_and_loss(pipeline_run):
    _, outdir, _ = pipeline_run
    for name in ("model.pt", "predictions.tsv", "loss.tsv", "training.json"):
        assert (outdir / "model" / "mlp" / name).stat().st_size > 0
    for name in ("expression_fit_mlp.png", "loss_curve.png"):
        assert (outdir / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((outdir / "report" / "summary.json").read_text())
    assert summary["bins"] == 1000 and summary["bin_size"] == BIN_SIZE
    mlp = summary["models"]["mlp"]
    assert mlp["epochs"] == 1000
    assert mlp["final_training_loss"] < 0.1 * mlp["mean_baseline_training_loss"]
    assert (outdir / "pipeline_info" / "software_versions.yml").read_text().count("kallisto") >= 1


def test_heldout_evaluation_beats_the_per_gene_mean(pipeline_run):
    """The planted signal is real: both networks predict held-out samples better than the baseline."""
    _, outdir, _ = pipeline_run
    metrics = pd.read_csv(outdir / "evaluation" / "metrics.tsv", sep="\t").set_index("model")
    assert set(metrics.index) == {"mean", "ridge", "mlp", "tss_window"}
    folds = pd.read_csv(outdir / "evaluation" / "folds.tsv", sep="\t")
    assert folds["fold"].nunique() == 5 and folds["sample"].is_unique
    for model in ("mlp", "tss_window"):
        assert metrics.loc[model, "mse"] < 0.9 * metrics.loc["mean", "mse"], metrics
    summary = json.loads((outdir / "report" / "summary.json").read_text())
    assert set(summary["heldout_metrics"]) == set(metrics.index)
    assert (outdir / "evaluation" / "evaluation.md").exists()


def test_predict_entry_reproduces_in_sample_predictions(pipeline_run, test_data, tmp_path):
    """-entry PREDICT on a training sample's peaks gives that sample's in-sample prediction."""
    _, outdir, _ = pipeline_run
    sheet = pd.read_csv(test_data / "samplesheet.csv").head(2)
    new = tmp_path / "new.csv"
    sheet.assign(peaks=[str(test_data / p) for p in sheet["peaks"]])[["sample", "peaks"]].to_csv(new, index=False)
    result = run_nextflow(["-entry", "PREDICT", "--model_file", str(outdir / "model" / "mlp" / "model.pt"),
                           "--input", str(new), "--outdir", str(tmp_path / "results")], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    predicted = pd.read_csv(tmp_path / "results" / "predict" / "predictions.tsv", sep="\t")
    in_sample = pd.read_csv(outdir / "model" / "mlp" / "predictions.tsv", sep="\t")
    merged = predicted.merge(in_sample, on=["sample", "gene_id"], suffixes=("", "_train"))
    assert len(merged) == len(predicted) == 2 * in_sample["gene_id"].nunique()
    assert np.allclose(merged["predicted"], merged["predicted_train"], atol=1e-4)


def test_resume_caches_everything_then_reruns_only_training(pipeline_run, test_data):
    launch, outdir, _ = pipeline_run
    base = ["-profile", "test", *data_params(test_data), "--outdir", str(outdir), "-resume"]
    again = run_nextflow([*base, "-with-trace", str(launch / "trace2.txt")], cwd=launch)
    assert again.returncode == 0, again.stdout[-3000:]
    trace = read_trace(launch / "trace2.txt")
    assert trace and all(row["status"] == "CACHED" for row in trace), [(r["name"], r["status"]) for r in trace]

    changed = run_nextflow([*base, "--epochs", "200", "-with-trace", str(launch / "trace3.txt")], cwd=launch)
    assert changed.returncode == 0, changed.stdout[-3000:]
    rerun = {row["process"].split(":")[-1] for row in read_trace(launch / "trace3.txt") if row["status"] != "CACHED"}
    assert rerun == {"TRAIN_MODEL", "EVALUATE", "REPORT"}  # training and the steps after it
    summary = json.loads((outdir / "report" / "summary.json").read_text())
    assert summary["models"]["mlp"]["epochs"] == 200


def _bad_run(tmp_path: Path, test_data: Path, extra: list[str], samplesheet: str | None = None):
    params = data_params(test_data)
    if samplesheet is not None:
        sheet = tmp_path / "samplesheet.csv"
        sheet.write_text(samplesheet)
        params[1] = str(sheet)
    result = run_nextflow(["-profile", "test", *params, "--outdir", str(tmp_path / "results"), *extra,
                           "-with-trace", str(tmp_path / "trace.txt")], cwd=tmp_path)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    errors = {line.strip() for line in output.splitlines() if line.strip().startswith("ERROR: ")}
    assert len(errors) == 1, output[-3000:]  # the script's one line (Nextflow quotes it in its report)
    ran = {row["process"].split(":")[-1] for row in read_trace(tmp_path / "trace.txt")}
    assert ran == {"CHECK_INPUTS"}, ran  # nothing heavy started
    assert not (tmp_path / "results" / "quant").exists()
    return errors.pop()


def _sheet(test_data: Path) -> list[str]:
    text = (test_data / "samplesheet.csv").read_text().splitlines()
    base = test_data
    rows = [text[0]]
    for line in text[1:]:
        fields = line.split(",")
        rows.append(",".join([fields[0]] + [str(base / f) if f else "" for f in fields[1:]]))
    return rows


def test_missing_file_in_samplesheet(tmp_path, test_data):
    rows = _sheet(test_data)
    rows[2] = rows[2].replace("_R1", "_MISSING_R1", 1)
    error = _bad_run(tmp_path, test_data, [], "\n".join(rows) + "\n")
    assert "line 3" in error and "fastq_1" in error and "not found" in error


def test_truncated_gzip(tmp_path, test_data):
    rows = _sheet(test_data)
    r1 = Path(rows[1].split(",")[1])
    truncated = tmp_path / "truncated_R1.fastq.gz"
    truncated.write_bytes(r1.read_bytes()[: r1.stat().st_size // 2])
    rows[1] = rows[1].replace(str(r1), str(truncated))
    error = _bad_run(tmp_path, test_data, [], "\n".join(rows) + "\n")
    assert "truncated" in error and "truncated_R1.fastq.gz" in error


def test_invalid_region(tmp_path, test_data):
    # duplicate ids, a region without genes and the other checks run through the same CHECK_INPUTS
    # step: their messages are tested in tests/test_check_inputs.py and tests/test_bad_input_e2e.py
    error = _bad_run(tmp_path, test_data, ["--region", "chr1:500-100"])
    assert "end 100 is before start 500" in error and "--region" in error
