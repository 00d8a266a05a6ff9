"""atac2expr.modelling and atac2expr.tables: full-batch training with early stopping, target transforms, devices, and
the tables users read (full precision, one row per sample and gene)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from atac2expr import targets
from atac2expr.cli import InputError
from atac2expr.formats import read_tsv
from atac2expr.modelling import mlp, runtime
from atac2expr.tables import prediction_table, write_tsv


def toy(seed: int = 0, n: int = 40, bins: int = 20, genes: int = 3):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, bins)) < 0.5).astype(np.uint8)
    Y = (X[:, :genes] * 2.0 + 0.1 * rng.standard_normal((n, genes))).astype(np.float32)
    return X, Y


def test_full_batch_without_validation_runs_every_epoch_and_keeps_the_last_weights():
    X, Y = toy()
    runtime.seed_everything(1)
    model = mlp.MLPNetwork(X.shape[1], Y.shape[1], hidden=8)
    result = mlp.train_full_batch(model, X, Y, epochs=25, lr=0.01, patience=3)
    assert result.epochs_run == 25 and result.best_epoch == 25 and result.val_loss == []
    assert result.train_loss[-1] < result.train_loss[0]


def test_early_stopping_restores_the_best_epoch():
    X, Y = toy()
    runtime.seed_everything(1)
    model = mlp.MLPNetwork(X.shape[1], Y.shape[1], hidden=64)
    result = mlp.train_full_batch(model, X[:10], Y[:10], epochs=2000, lr=0.05, X_val=X[10:], Y_val=Y[10:], patience=5)
    assert result.epochs_run < 2000 and len(result.val_loss) == result.epochs_run
    assert result.best_epoch == int(np.argmin(result.val_loss)) + 1
    assert result.epochs_run - result.best_epoch == 5  # stopped after `patience` epochs without improvement
    val = float(np.mean((mlp.predict_mlp(model, X[10:]) - Y[10:]) ** 2))
    assert val == pytest.approx(min(result.val_loss), rel=1e-5)  # the kept weights are the best epoch's


def test_same_seed_same_weights():
    X, Y = toy()
    states = []
    for seed in (3, 3, 4):
        runtime.seed_everything(seed)
        model = mlp.MLPNetwork(X.shape[1], Y.shape[1], hidden=8, dropout=0.3)
        mlp.train_full_batch(model, X, Y, epochs=10, lr=0.01)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_transforms():
    tpm = np.array([[0.0, 1.0, 1e6]])
    assert np.allclose(targets.transform_targets(tpm, "log1p"), np.log1p(tpm))
    assert targets.transform_targets(tpm, "log1p").dtype == np.float32
    assert np.allclose(targets.inverse_transform(np.log1p(tpm), "log1p"), tpm)
    assert np.array_equal(targets.transform_targets(tpm, "none"), tpm.astype(np.float32))
    assert np.array_equal(targets.inverse_transform(tpm, "none"), tpm)
    with pytest.raises(InputError, match="--target_transform sqrt: choose one of log1p, none"):
        targets.transform_targets(tpm, "sqrt")


def test_gene_variance_report_and_mean_baseline():
    Y = np.array([[1.0, 2.0, 0.0], [1.0, 4.0, 0.0]])
    assert targets.gene_variance_report(Y, np.array(["A", "B", "C"])) == ["A", "C"]
    assert targets.mean_baseline_mse(Y) == pytest.approx(np.mean([0, 1, 0]))
    assert np.isnan(targets.mean_baseline_mse(np.zeros((0, 2))))


@pytest.mark.parametrize("device, message", [("gpu", "--device gpu: choose cpu, cuda or cuda:N"), ("cuda:x", "choose cpu, cuda or cuda:N"),
                                              ("CPU", "choose cpu, cuda or cuda:N")])
def test_bad_device_names(device, message):
    with pytest.raises(InputError, match=message):
        runtime.resolve_device(device)


def test_devices():
    assert runtime.resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="--device cuda:0: CUDA is not available on this machine"):
            runtime.resolve_device("cuda:0")
    else:
        with pytest.raises(InputError, match="--device cuda:99: this machine has"):
            runtime.resolve_device("cuda:99")


def test_threads():
    before = torch.get_num_threads()
    try:
        with pytest.raises(InputError, match="--threads 0: must be at least 1"):
            runtime.set_threads(0)
        runtime.set_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_write_tsv_keeps_full_precision(tmp_path):
    values = [1 / 3, 1e-300, 123456789.123456789, 2.0**-1074, -0.1 + 0.2]
    write_tsv(pd.DataFrame({"name": ["a", "b", "c", "d", "e"], "value": values}), tmp_path / "t.tsv")
    back = read_tsv(tmp_path / "t.tsv")
    assert back["value"].tolist() == values
    assert (tmp_path / "t.tsv").read_text().splitlines()[0] == "name\tvalue"
    assert not [p for p in tmp_path.iterdir() if p.name != "t.tsv"]  # no temporary file left


def test_prediction_table():
    genes = pd.DataFrame({"gene_id": ["G1", "G2"], "gene_name": ["A", "B"]})
    predicted = np.log1p(np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 5.0]]))
    predicted[2, 0] = -0.5  # below 0 TPM after the inverse transform
    table = prediction_table(np.array(["s1", "s2", "s3"]), genes, predicted, "log1p", observed=predicted + 1, observed_tpm=np.ones((3, 2)),
                             leading={"model": np.array(["m", "m", "m"]), "fold": np.array([0, 1, 0])})
    assert list(table.columns) == ["model", "fold", "sample", "gene_id", "gene_name", "observed", "predicted", "observed_tpm", "predicted_tpm"]
    assert table["sample"].tolist() == ["s1", "s1", "s2", "s2", "s3", "s3"] and table["gene_id"].tolist() == ["G1", "G2"] * 3
    assert table["fold"].tolist() == [0, 0, 1, 1, 0, 0]
    assert np.allclose(table["predicted_tpm"], [1, 2, 3, 4, 0, 5]) and table["predicted_tpm"].iloc[4] == 0.0
    assert np.array_equal(table["observed"], (predicted + 1).reshape(-1))
    plain = prediction_table(np.array(["s1"]), genes, np.array([[2.0, 3.0]]), "none")
    assert list(plain.columns) == ["sample", "gene_id", "gene_name", "predicted", "predicted_tpm"]
    assert plain["predicted_tpm"].tolist() == [2.0, 3.0]
