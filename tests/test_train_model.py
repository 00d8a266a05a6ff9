"""bin/train_model.py: outputs, reproducibility, the model file, memory and device errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from planted import ASSEMBLY, REPO, settings_args, write_planted

from atac2expr.commands import train_model
from atac2expr.modelling import model_file


@pytest.fixture(scope="module")
def planted_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("planted") / "dataset.npz"
    ds = write_planted(path, n_samples=12, n_genes=8, constant_genes=1)
    return path, ds


def run(npz, outdir, *extra, model="mlp", max_memory="0", **settings):
    return train_model.main(["--dataset", str(npz), "--outdir", str(outdir), "--model", model, "--threads", "1",
                             "--max_memory", max_memory, "--links_max_distance", "250000", *ASSEMBLY, *settings_args(**settings), *extra])


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


def test_outputs(planted_npz, tmp_path):
    npz, ds = planted_npz
    assert run(npz, tmp_path, epochs=30) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.tsv", "model.pt", "predictions.tsv", "training.json"]
    loss = pd.read_csv(tmp_path / "loss.tsv", sep="\t")
    assert list(loss.columns) == ["epoch", "train_loss"] and loss["epoch"].tolist() == list(range(1, 31))
    pred = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert list(pred.columns) == ["sample", "gene_id", "gene_name", "observed", "predicted", "observed_tpm", "predicted_tpm"]
    assert len(pred) == 12 * 8
    assert pred["sample"].tolist() == np.repeat(ds.samples, 8).tolist() and pred["gene_id"].tolist() == list(ds.genes["gene_id"]) * 12
    assert np.allclose(pred["observed"], np.log1p(pred["observed_tpm"]), atol=1e-6)
    assert np.allclose(pred["predicted_tpm"], np.clip(np.expm1(pred["predicted"]), 0, None), rtol=1e-6)
    assert (pred["predicted_tpm"] >= 0).all()
    first = pred[(pred["sample"] == ds.samples[0]) & (pred["gene_id"] == ds.genes["gene_id"][1])]
    assert first["observed_tpm"].item() == float(ds.Y[0, 1])  # full precision
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["target_transform"] == "log1p(TPM)" and summary["model"] == "mlp"
    assert (summary["n_samples"], summary["n_bins"], summary["n_genes"]) == (12, ds.layout.n_bins, 8)
    assert summary["final_train_loss"] == pytest.approx(loss["train_loss"].iloc[-1])
    assert summary["epochs_run"] == 30 and summary["settings"]["epochs"] == 30 and summary["settings"]["hidden"] == 32
    Y = np.log1p(ds.Y)
    assert summary["mean_baseline_loss"] == pytest.approx(np.mean((Y - Y.mean(0)) ** 2), rel=1e-4)
    assert summary["in_sample_mse"] == pytest.approx(np.mean((pred["predicted"] - pred["observed"]) ** 2), rel=1e-4)
    assert summary["constant_genes"] == [ds.genes["gene_id"][0]] and summary["device"] == "cpu" and summary["threads"] == 1
    assert {"torch", "numpy", "atac2expr"} <= set(summary["versions"])


def test_model_file_loads_with_weights_only(planted_npz, tmp_path):
    npz, ds = planted_npz
    assert run(npz, tmp_path) == 0
    meta = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]
    assert meta["model"] == "mlp" and meta["layout"]["bin_size"] == 1000 and meta["layout"]["chrom"] == ["1", "2"]
    assert meta["train_samples"] == list(ds.samples) and meta["settings"]["target_transform"] == "log1p"
    assert meta["settings"]["hidden"] == 32 and meta["genes"]["gene_id"] == list(ds.genes["gene_id"])
    predictor, train_samples = model_file.load(tmp_path / "model.pt")
    assert predictor.geometry.layout == ds.layout and train_samples == list(ds.samples)
    pred = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert np.allclose(predictor.predict(ds.X).reshape(-1), pred["predicted"], atol=1e-6)


def test_same_seed_same_numbers(planted_npz, tmp_path):
    npz, _ = planted_npz
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert run(npz, tmp_path / name, seed=seed, dropout=0.2) == 0
    a, b, c = (pd.read_csv(tmp_path / n / "predictions.tsv", sep="\t") for n in "abc")
    assert a.equals(b)
    assert not np.allclose(a["predicted"], c["predicted"])
    assert (tmp_path / "a/loss.tsv").read_text() == (tmp_path / "b/loss.tsv").read_text()


@pytest.mark.parametrize("model", ["tss_window", "local_ridge", "tss_similarity"])
def test_closed_form_models(planted_npz, tmp_path, model):
    npz, ds = planted_npz
    assert run(npz, tmp_path, model=model, window=2000) == 0
    meta = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]
    assert meta["model"] == model and meta["settings"]["window"] == 2000
    assert meta["genes"]["strand"] == list(ds.genes["strand"]) and meta["genes"]["tss"] == list(ds.genes["tss"])
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["epochs_run"] == 1 and len(pd.read_csv(tmp_path / "loss.tsv", sep="\t")) == 1  # closed form: one step
    assert summary["final_train_loss"] == summary["in_sample_mse"] < summary["mean_baseline_loss"]
    assert f"{model}_kappa" in summary["fit"] or f"{model}_penalty" in summary["fit"]


def test_mlp_that_does_not_fit_in_the_tasks_memory_is_refused_before_training(planted_npz, tmp_path, capsys):
    npz, _ = planted_npz
    assert run(npz, tmp_path, max_memory=str(100 << 20)) == 2
    error = one_error(capsys)
    assert "the mlp model (180 bins -> 32 hidden -> 8 genes) needs about" in error and "more than the 0.1 GiB this task has" in error
    assert not any(tmp_path.iterdir())
    assert run(npz, tmp_path, model="tss_window", max_memory=str(100 << 20)) == 0  # the TSS-window model has no such bound


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_one_line_error(planted_npz, tmp_path, capsys):
    npz, _ = planted_npz
    assert run(npz, tmp_path, device="cuda") == 2
    assert one_error(capsys).startswith("ERROR: --device cuda: CUDA is not available")
    assert not (tmp_path / "model.pt").exists()


@pytest.mark.parametrize("name, value, message", [
    ("--epochs", "0", "ERROR: --epochs 0: must be >= 1"),
    ("--target_transform", "sqrt", "ERROR: --target_transform sqrt: choose one of log1p, none"),
    ("--device", "gpu", "ERROR: --device gpu: choose cpu, cuda or cuda:N"),
    ("--threads", "0", "ERROR: --threads 0: must be at least 1"),
    ("--links_max_distance", "-1", "ERROR: --links_max_distance -1: must be >= 0"),
])
def test_bad_settings_are_one_line_errors(planted_npz, tmp_path, capsys, name, value, message):
    npz, _ = planted_npz
    args = ["--dataset", str(npz), "--outdir", str(tmp_path), "--model", "mlp", "--threads", "1", "--max_memory", "0", *ASSEMBLY,
            "--links_max_distance", "250000", *settings_args()]
    args[args.index(name) + 1] = value
    assert train_model.main(args) == 2
    assert one_error(capsys).startswith(message)
    assert not any(tmp_path.iterdir())


def test_missing_setting_is_an_argparse_error(planted_npz, tmp_path, capsys):
    npz, _ = planted_npz
    args = ["--dataset", str(npz), "--outdir", str(tmp_path), "--model", "mlp", "--threads", "1", *ASSEMBLY, *settings_args()]
    with pytest.raises(SystemExit) as exit_:
        train_model.main(args)  # no --max_memory: the pipeline always passes the task's memory
    assert exit_.value.code == 2 and "--max_memory" in capsys.readouterr().err


def test_bad_dataset_is_input_error(tmp_path, capsys):
    bad = tmp_path / "x.npz"
    bad.write_text("not a dataset")
    assert run(bad, tmp_path / "o") == 2
    assert "not a dataset .npz written by build_matrix.py" in one_error(capsys)
    assert not (tmp_path / "o").exists()


def test_the_mlp_memory_estimate_covers_the_measured_peak_of_a_whole_training(tmp_path):
    """train_model.py run whole in its own process (the interpreter and torch included, as a task's memory limit counts
    them): its peak RSS stays under settings.mlp_memory_bytes, and the estimate is not wildly above it."""
    import subprocess
    import sys

    from atac2expr import dataset, regions
    from atac2expr.settings import mlp_memory_bytes

    rng = np.random.default_rng(0)
    tss = np.sort(rng.integers(0, 20_000_000, 400))
    genes = pd.DataFrame({"gene_id": [f"ENSG{i:011d}" for i in range(400)], "gene_name": [f"G{i}" for i in range(400)], "gene_biotype": "",
                          "chrom": "1", "start": tss, "end": tss + 1000, "strand": "+", "tss": tss})
    layout = regions.BinLayout.of([regions.Region("1", 0, 20_000_000)], 1000)
    X = (rng.random((14, 20_000)) < 0.05).astype(np.uint8)
    dataset.save_dataset(dataset.Dataset(X, rng.lognormal(1, 1.5, (14, 400)), np.array([f"S{i}" for i in range(14)]), layout, genes),
                         tmp_path / "dataset.npz")
    command = [sys.executable, str(REPO / "bin" / "train_model.py"), "--dataset", str(tmp_path / "dataset.npz"), "--outdir",
               str(tmp_path / "out"), "--model", "mlp", "--threads", "1", "--max_memory", "0", *ASSEMBLY, "--links_max_distance", "250000",
               *settings_args(hidden=500, epochs=2)]
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)")
    peak = int(subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True).stdout)
    estimate = mlp_memory_bytes(20_000, 400, 500, 14)
    assert peak <= estimate <= 1.6 * peak, (peak, estimate)
