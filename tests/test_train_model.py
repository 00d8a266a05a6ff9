"""bin/train_model.py: outputs, reproducibility, the model file, device errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import train_model
from atac2expr import models, predictors
from planted import write_planted


@pytest.fixture(scope="module")
def planted_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("planted") / "dataset.npz"
    ds = write_planted(path, n_samples=12, n_genes=8, constant_genes=1)
    return path, ds


def run(npz, outdir, *extra):
    return train_model.main(["--dataset", str(npz), "--outdir", str(outdir), "--epochs", "30", *extra])


def test_outputs(planted_npz, tmp_path):
    npz, ds = planted_npz
    assert run(npz, tmp_path) == 0
    loss = pd.read_csv(tmp_path / "loss.tsv", sep="\t")
    assert list(loss.columns) == ["epoch", "train_loss"] and len(loss) == 30
    pred = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert list(pred.columns) == ["sample", "gene_id", "gene_name", "observed", "predicted", "observed_tpm", "predicted_tpm"]
    assert len(pred) == 12 * 8
    assert np.allclose(pred["observed"], np.log1p(pred["observed_tpm"]), atol=1e-4)
    assert (pred["predicted_tpm"] >= 0).all()
    first = pred[(pred["sample"] == ds.samples[0]) & (pred["gene_id"] == ds.genes["gene_id"][1])]
    assert first["observed_tpm"].item() == pytest.approx(float(ds.Y[0, 1]), rel=1e-4)
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["target_transform"] == "log1p(TPM)"
    assert (summary["n_samples"], summary["n_bins"], summary["n_genes"]) == (12, len(ds.bins), 8)
    assert summary["final_train_loss"] == pytest.approx(loss["train_loss"].iloc[-1])
    Y = np.log1p(ds.Y.astype(np.float64))
    assert summary["mean_baseline_loss"] == pytest.approx(np.mean((Y - Y.mean(0)) ** 2), rel=1e-4)
    assert summary["constant_genes"] == [ds.genes["gene_id"][0]] and summary["device"] == "cpu"
    assert {"torch", "numpy", "atac2expr"} <= set(summary["versions"])


def test_model_file_loads_with_weights_only(planted_npz, tmp_path):
    npz, ds = planted_npz
    run(npz, tmp_path)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    meta = payload["meta"]
    assert meta["model"] == "mlp" and meta["region"] == ds.region and meta["bin_size"] == 1000
    assert meta["n_train_samples"] == 12 and meta["target_transform"] == "log1p" and meta["hidden"] == 500
    assert meta["gene_ids"] == list(ds.genes["gene_id"])
    assert models.decode_bins(meta["bins"], 1000).equals(ds.bins.astype({"chrom": str}))
    _, predictor = predictors.load(tmp_path / "model.pt")
    pred = pd.read_csv(tmp_path / "predictions.tsv", sep="\t")
    assert np.allclose(predictor.predict(ds.X).reshape(-1), pred["predicted"], atol=1e-4)


def test_same_seed_same_numbers(planted_npz, tmp_path):
    npz, _ = planted_npz
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        run(npz, tmp_path / name, "--seed", seed, "--dropout", "0.2")
    a, b, c = (pd.read_csv(tmp_path / n / "predictions.tsv", sep="\t") for n in "abc")
    assert a.equals(b)
    assert not np.allclose(a["predicted"], c["predicted"])
    assert (tmp_path / "a/loss.tsv").read_text() == (tmp_path / "b/loss.tsv").read_text()


def test_tss_window_model(planted_npz, tmp_path):
    npz, ds = planted_npz
    assert run(npz, tmp_path, "--model", "tss_window", "--window", "2000", "--lr", "0.01") == 0
    meta = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]
    assert meta["model"] == "tss_window" and meta["window"] == 2000 and meta["window_bins"] == 5 and meta["hidden"] == 64
    assert meta["gene_strand"] == list(ds.genes["strand"]) and meta["gene_tss"] == list(ds.genes["tss"])
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["final_train_loss"] < summary["mean_baseline_loss"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_one_line_error(planted_npz, tmp_path, capsys):
    npz, _ = planted_npz
    assert run(npz, tmp_path, "--device", "cuda") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: --device cuda: CUDA is not available")
    assert not (tmp_path / "model.pt").exists()


def test_bad_dataset_is_input_error(tmp_path, capsys):
    bad = tmp_path / "x.npz"
    bad.write_text("not a dataset")
    assert train_model.main(["--dataset", str(bad), "--outdir", str(tmp_path / "o")]) == 2
    assert "not a dataset" in capsys.readouterr().err
