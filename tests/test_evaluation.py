"""bin/evaluate.py and atac2expr.evaluation: folds without leaks, baselines, metrics, report."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import evaluate
from atac2expr import evaluation
from planted import write_planted

REGION = "chr1:1-20000,chr2:1-10000"  # 30 bins: small enough for 60 samples to pin the planted bins down


# ---------------------------------------------------------------- folds

@pytest.mark.parametrize("n, k", [(23, 5), (10, 5), (5, 5), (3, 5), (2, 10)])
def test_folds_partition_samples(n, k):
    folds = evaluation.make_folds(n, k, seed=7)
    k_eff = min(n, k)
    assert sorted(set(folds)) == list(range(k_eff))
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1
    if n <= k:  # leave-one-out
        assert (sizes == 1).all()
    assert (evaluation.make_folds(n, k, seed=7) == folds).all()


def test_folds_depend_on_seed():
    assert not (evaluation.make_folds(30, 5, 1) == evaluation.make_folds(30, 5, 2)).all()


@pytest.mark.parametrize("n, k, val", [(23, 5, 0.2), (4, 5, 0.5), (3, 5, 0.2), (40, 3, 0.0)])
def test_splits_never_leak(n, k, val):
    splits = evaluation.make_splits(n, k, seed=3, val_fraction=val)
    held_out = np.concatenate([s.test for s in splits])
    assert sorted(held_out) == list(range(n))  # each sample held out exactly once
    for s in splits:
        test, train, inner, valid = map(set, (s.test, s.train, s.inner_train, s.validation))
        assert not test & train and test | train == set(range(n))
        assert valid <= train and inner <= train and not inner & valid and inner | valid == train
        assert not valid & test
        if val and len(train) >= 3:
            assert len(valid) >= 1 and len(inner) >= 2


def test_bad_fold_count():
    with pytest.raises(evaluation.InputError, match="--folds 1"):
        evaluation.make_folds(10, 1, 0)


# ---------------------------------------------------------------- ridge and metrics

def test_kernel_ridge_equals_primal_solution():
    rng = np.random.default_rng(0)
    X = (rng.random((15, 40)) < 0.5).astype(np.uint8)
    Y = rng.standard_normal((15, 3))
    rows, test = np.arange(10), np.arange(10, 15)
    model = evaluation.KernelRidge(2.5).fit(X, Y, rows)
    xm, ym = X[rows].mean(0), Y[rows].mean(0)
    Xc = X[rows] - xm
    W = np.linalg.solve(Xc.T @ Xc + 2.5 * np.eye(40), Xc.T @ (Y[rows] - ym))
    assert np.allclose(model.predict(test), (X[test] - xm) @ W + ym)
    # chunking over bins gives the same kernel
    assert np.allclose(evaluation._centred_gram_between(X, test, X, rows, xm, chunk=7), (X[test] - xm) @ Xc.T)


def test_choose_ridge_alpha_uses_validation():
    rng = np.random.default_rng(1)
    X = (rng.random((30, 20)) < 0.5).astype(np.uint8)
    Y = 3 * X[:, :1].astype(float) + 0.01 * rng.standard_normal((30, 1))
    alpha, scores = evaluation.choose_ridge_alpha(X, Y, np.arange(20), np.arange(20, 30), [1e-2, 1e4])
    assert alpha == 1e-2 and scores[1e-2] < scores[1e4]


def test_correlations_match_numpy_and_handle_ties_and_constants():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((12, 4)), rng.standard_normal((12, 4))
    b[:, 3] = 1.0  # constant column
    r = evaluation.column_pearson(a, b)
    for j in range(3):
        assert r[j] == pytest.approx(np.corrcoef(a[:, j], b[:, j])[0, 1])
    assert np.isnan(r[3])
    x = np.array([[1.0], [2.0], [2.0], [3.0], [10.0]])
    y = np.array([[1.0], [3.0], [3.0], [4.0], [5.0]])
    assert evaluation.column_spearman(x, y)[0] == pytest.approx(1.0)  # monotone, ties averaged the same way
    assert evaluation.column_ranks(x)[:, 0].tolist() == [1, 2.5, 2.5, 4, 5]


def test_metrics_definitions():
    rng = np.random.default_rng(3)
    obs = rng.standard_normal((10, 5))
    obs[:, 4] = 2.0  # no variance
    train_mean = obs.mean(0) + 0.1 * rng.standard_normal((10, 5))
    genes = pd.DataFrame({"gene_id": list("ABCDE"), "gene_name": list("abcde")})
    constant = evaluation.constant_columns(obs)
    assert constant.tolist() == [False] * 4 + [True]
    perfect = evaluation.compute_metrics(obs, obs, train_mean, genes, constant)
    assert perfect.summary["mse"] == 0 and perfect.summary["r2"] == 1 and perfect.summary["pearson_gene_median"] == pytest.approx(1)
    baseline = evaluation.compute_metrics(obs, train_mean, train_mean, genes, constant)
    assert baseline.summary["r2"] == 0
    assert baseline.per_gene["status"].tolist()[-1] == "no_variance" and np.isnan(baseline.per_gene["pearson"].iloc[-1])
    flat = evaluation.compute_metrics(obs, np.zeros_like(obs), train_mean, genes, constant)
    assert flat.summary["n_genes_undefined"] == 4 and np.isnan(flat.summary["pearson_gene_median"])


# ---------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    base = tmp_path_factory.mktemp("evaluate")
    ds = write_planted(base / "dataset.npz", n_samples=60, n_genes=8, region=REGION, constant_genes=1)
    argv = ["--dataset", str(base / "dataset.npz"), "--outdir", str(base / "out"), "--folds", "5", "--epochs", "150",
            "--lr", "0.01", "--patience", "10", "--tss_lr", "0.03", "--window", "2000", "--seed", "5"]
    assert evaluate.main(argv) == 0
    return ds, base / "out", argv


def test_every_model_sees_the_same_folds_and_no_leak(evaluated):
    ds, out, _ = evaluated
    folds = pd.read_csv(out / "folds.tsv", sep="\t")
    assert folds["sample"].tolist() == list(ds.samples)
    assert (folds["fold"].value_counts() == 12).all()
    splits = pd.read_csv(out / "splits.tsv", sep="\t")
    for fold, rows in splits.groupby("fold"):
        roles = {role: set(r["sample"]) for role, r in rows.groupby("role")}
        assert roles["test"] == set(folds.loc[folds["fold"] == fold, "sample"])
        assert not roles["test"] & (roles["inner_train"] | roles["validation"])
        assert not roles["inner_train"] & roles["validation"]
        assert len(rows) == len(ds.samples)
    held = pd.read_csv(out / "heldout_predictions.tsv", sep="\t")
    assert set(held["model"]) == {"mean", "ridge", "mlp", "tss_window"}
    per_model = [g.sort_values(["sample", "gene_id"])[["sample", "fold"]].to_numpy() for _, g in held.groupby("model")]
    assert all((p == per_model[0]).all() for p in per_model)
    assert len(held) == 4 * 60 * 8 and not held["predicted"].isna().any()
    assert dict(zip(folds["sample"], folds["fold"])) == dict(zip(held["sample"], held["fold"]))


def test_models_beat_the_mean_on_planted_data(evaluated):
    _, out, _ = evaluated
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("model")
    assert metrics.loc["mean", "r2"] == pytest.approx(0)
    for model in ("ridge", "mlp", "tss_window"):
        assert metrics.loc[model, "mse"] < 0.7 * metrics.loc["mean", "mse"], model
        assert metrics.loc[model, "r2"] > 0.3 and metrics.loc[model, "pearson_gene_median"] > 0.5, model
    assert (metrics["n_genes_no_variance"] == 1).all()


def test_outputs_and_report(evaluated):
    ds, out, _ = evaluated
    per_gene = pd.read_csv(out / "per_gene_metrics.tsv", sep="\t")
    assert list(per_gene.columns) == ["model", "gene_id", "gene_name", "pearson", "spearman", "mse", "observed_variance", "status"]
    assert len(per_gene) == 4 * 8
    constant = pd.read_csv(out / "constant_genes.tsv", sep="\t")
    assert constant["gene_id"].tolist() == [ds.genes["gene_id"][0]]
    assert set(per_gene.loc[per_gene["gene_id"] == ds.genes["gene_id"][0], "status"]) == {"no_variance"}
    curves = pd.read_csv(out / "learning_curves.tsv", sep="\t")
    assert list(curves.columns) == ["model", "fold", "epoch", "train_loss", "val_loss"]
    assert set(curves["model"]) == {"mlp", "tss_window"} and curves["val_loss"].notna().all()
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["seed"] == 5 and summary["cv"] == "5-fold" and "torch" in summary["versions"]
    assert all("ridge_alpha" in f and "mlp_best_epoch" in f for f in summary["folds"])
    md = (out / "evaluation.md").read_text()
    for link in re.findall(r"\]\(([^)]+)\)", md):
        assert (out / link).exists(), link
    assert "scatter_mlp.png" in md and "| model |" in md
    for png in ("scatter_mean.png", "scatter_tss_window.png", "gene_correlations.png", "learning_curves.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_numbers(evaluated, tmp_path):
    _, out, argv = evaluated
    argv = [a if a != str(out) else str(tmp_path) for a in argv]
    assert evaluate.main(argv + ["--models", "mean,ridge,mlp"]) == 0
    again = pd.read_csv(tmp_path / "metrics.tsv", sep="\t").set_index("model")
    first = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("model")
    pd.testing.assert_frame_equal(again, first.loc[["mean", "ridge", "mlp"]])


def test_bad_model_name(evaluated, tmp_path, capsys):
    ds, out, argv = evaluated
    assert evaluate.main(argv + ["--models", "mean,svm"]) == 2
    assert "ERROR: --models mean,svm: unknown svm" in capsys.readouterr().err
