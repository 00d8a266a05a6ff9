"""bin/evaluate.py and atac2expr.evaluation: folds without leaks, baselines, metrics, report."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from planted import settings_args, write_planted

from atac2expr import dataset, evaluation, targets
from atac2expr.cli import InputError
from atac2expr.commands import evaluate
from atac2expr.modelling import cross_validation, predictors

# 60 bins: small enough for 60 samples to pin the planted bins down; sparse background (5% open) so that the
# genes' own bins stand out, as the gene activity scores assume
REGION = "chr1:1-40000,chr2:1-20000"
ALL = list(predictors.ALL_MODELS)


# ---------------------------------------------------------------- folds

@pytest.mark.parametrize("n, k", [(23, 5), (10, 5), (5, 5), (3, 5), (2, 10)])
def test_folds_partition_samples(n, k):
    folds = cross_validation.make_folds(n, k, seed=7)
    k_eff = min(n, k)
    assert sorted(set(folds)) == list(range(k_eff))
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1
    if n <= k:  # leave-one-out
        assert (sizes == 1).all()
    assert (cross_validation.make_folds(n, k, seed=7) == folds).all()


def test_folds_depend_on_seed():
    assert not (cross_validation.make_folds(30, 5, 1) == cross_validation.make_folds(30, 5, 2)).all()


@pytest.mark.parametrize("n, k, val", [(23, 5, 0.2), (4, 5, 0.5), (3, 5, 0.2), (40, 3, 0.0)])
def test_splits_never_leak(n, k, val):
    splits = cross_validation.make_splits(n, k, seed=3, val_fraction=val)
    held_out = np.concatenate([s.test for s in splits])
    assert sorted(held_out) == list(range(n))  # each sample held out exactly once
    for s in splits:
        test, train, inner, valid = map(set, (s.test, s.train, s.inner_train, s.validation))
        assert not test & train and test | train == set(range(n))
        assert valid <= train and inner <= train and not inner & valid and inner | valid == train
        assert not valid & test
        if val and len(train) >= 3:
            assert len(valid) >= 1 and len(inner) >= 2


def test_group_folds_hold_out_each_group_whole():
    groups = np.array(["b", "a", "c", "a", "b", "b", "c"])
    folds, names = cross_validation.group_folds(groups)
    assert names == ["a", "b", "c"] and folds.tolist() == [1, 0, 2, 0, 1, 1, 2]
    splits = cross_validation.make_splits(7, 5, seed=3, val_fraction=0.2, groups=groups)
    assert len(splits) == 3
    for split in splits:
        assert len(set(groups[split.test])) == 1 and not set(groups[split.test]) & set(groups[split.train])
        assert sorted(np.concatenate([split.test, split.train])) == list(range(7))
    with pytest.raises(InputError, match="leave-group-out folds need at least 2 groups; every sample is in group 'a'"):
        cross_validation.group_folds(np.array(["a", "a", "a"]))


def test_bad_fold_count():
    with pytest.raises(InputError, match="--folds 1"):
        cross_validation.make_folds(10, 1, 0)


# ---------------------------------------------------------------- ridge and metrics

def test_kernel_ridge_equals_primal_solution():
    rng = np.random.default_rng(0)
    X = (rng.random((15, 40)) < 0.5).astype(np.uint8)
    Y = rng.standard_normal((15, 3))
    train, test = X[:10], X[10:]
    model = predictors.KernelRidge(2.5).fit(train, Y[:10])
    xm, ym = train.mean(0), Y[:10].mean(0)
    Xc = train - xm
    W = np.linalg.solve(Xc.T @ Xc + 2.5 * np.eye(40), Xc.T @ (Y[:10] - ym))
    assert np.allclose(model.predict(test), (test - xm) @ W + ym)
    assert np.allclose(model.predict(train), (train - xm) @ W + ym)
    # chunking over bins gives the same kernel
    assert np.allclose(predictors._centred_gram(test, train, xm, chunk=7), (test - xm) @ Xc.T)
    assert np.allclose(predictors._centred_gram(test, train, xm, chunk=7), predictors._centred_gram(test, train, xm))


def test_kernel_ridge_alpha_must_be_positive():
    with pytest.raises(InputError, match="--ridge_alpha 0: must be positive"):
        predictors.KernelRidge(0)


def test_choose_ridge_alpha_uses_validation():
    rng = np.random.default_rng(1)
    X = (rng.random((30, 20)) < 0.5).astype(np.uint8)
    Y = 3 * X[:, :1].astype(float) + 0.01 * rng.standard_normal((30, 1))
    alpha, scores = predictors.choose_ridge_alpha(X[:20], Y[:20], X[20:], Y[20:], [1e4, 1e-2])
    assert alpha == 1e-2 and scores[1e-2] < scores[1e4]
    # no validation samples, or a single alpha: the first alpha, nothing scored
    assert predictors.choose_ridge_alpha(X[:20], Y[:20], None, None, [1e4, 1e-2]) == (1e4, {})
    assert predictors.choose_ridge_alpha(X[:20], Y[:20], X[20:], Y[20:], [3.0]) == (3.0, {})


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
    constant = targets.constant_columns(obs)
    assert constant.tolist() == [False] * 4 + [True]
    perfect = evaluation.compute_metrics(obs, obs, train_mean, genes, constant)
    assert perfect.summary["mse"] == 0 and perfect.summary["r2"] == 1 and perfect.summary["pearson_gene_median"] == pytest.approx(1)
    baseline = evaluation.compute_metrics(obs, train_mean, train_mean, genes, constant)
    assert baseline.summary["r2"] == 0
    assert baseline.per_gene["status"].tolist()[-1] == "no_variance" and np.isnan(baseline.per_gene["pearson"].iloc[-1])
    flat = evaluation.compute_metrics(obs, np.zeros_like(obs), train_mean, genes, constant)
    assert flat.summary["n_genes_undefined"] == 4 and np.isnan(flat.summary["pearson_gene_median"])


# ---------------------------------------------------------------- metrics per gene

def test_per_gene_r2_against_the_training_mean():
    obs = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    train_mean = np.array([[2.0, 5.0], [2.0, 5.0], [3.0, 5.0], [3.0, 5.0]])
    pred = obs + np.array([[0.5, 0.0], [-0.5, 0.0], [0.5, 0.0], [-0.5, 0.0]])
    genes = pd.DataFrame({"gene_id": ["A", "B"], "gene_name": ["a", "b"]})
    result = evaluation.compute_metrics(obs, pred, train_mean, genes, targets.constant_columns(obs))
    # gene A: SSE 4 * 0.25 = 1, SSE of the training mean 1 + 0 + 0 + 1 = 2
    assert result.per_gene["r2"].iloc[0] == pytest.approx(0.5) and np.isnan(result.per_gene["r2"].iloc[1])
    assert result.summary["r2_gene_median"] == pytest.approx(0.5) and result.summary["fraction_genes_better_than_mean"] == 1.0
    assert result.summary["r2"] == pytest.approx(1 - 1 / 2)
    assert result.summary["r2_total"] == pytest.approx(1 - 1 / 5)  # SST of gene A about its own mean 2.5: 5
    assert result.per_gene["status"].tolist() == ["ok", "no_variance"]


# ---------------------------------------------------------------- bin/evaluate.py on every model

def evaluate_args(dataset, outdir, models=",".join(ALL), **settings) -> list[str]:
    values = dict(hidden=500, epochs=200, patience=20, window=2000, lr=0.01, seed=5, evaluation=True)
    return ["--dataset", str(dataset), "--outdir", str(outdir), "--models", models, "--threads", "1", "--max_memory", "0",
            *settings_args(**{**values, **settings})]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    base = tmp_path_factory.mktemp("evaluate")
    ds = write_planted(base / "dataset.npz", n_samples=60, n_genes=8, region=REGION, constant_genes=1, p_background=0.05)
    argv = evaluate_args(base / "dataset.npz", base / "out")
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
        assert len(roles["validation"]) == 10  # 20% of the 48 training samples
        assert len(rows) == len(ds.samples)
    held = pd.read_csv(out / "heldout_predictions.tsv", sep="\t")
    assert list(held.columns) == ["model", "fold", "sample", "gene_id", "gene_name", "observed", "predicted", "observed_tpm", "predicted_tpm"]
    assert list(dict.fromkeys(held["model"])) == ALL
    per_model = [g.sort_values(["sample", "gene_id"])[["sample", "gene_id", "fold", "observed"]].to_numpy() for _, g in held.groupby("model")]
    assert len(per_model) == len(ALL) and all((p == per_model[0]).all() for p in per_model)
    assert len(held) == len(ALL) * 60 * 8 and not held["predicted"].isna().any()
    assert dict(zip(folds["sample"], folds["fold"], strict=True)) == dict(zip(held["sample"], held["fold"], strict=False))


def test_models_beat_the_mean_on_planted_data(evaluated):
    _, out, _ = evaluated
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("model")
    assert metrics.index.tolist() == ALL
    assert metrics.loc["mean", "r2"] == pytest.approx(0) and metrics.loc["mean", "r2_gene_median"] == pytest.approx(0)
    # the models that read the bins find the planted TSS bins
    for model in ("ridge", "mlp", "tss_window", "local_ridge", "tss_similarity"):
        assert metrics.loc[model, "mse"] < 0.7 * metrics.loc["mean", "mse"], model
        assert metrics.loc[model, "r2"] > 0.3 and metrics.loc[model, "pearson_gene_median"] > 0.5, model
    for model in ("ridge", "tss_window", "local_ridge", "tss_similarity"):  # linear in the TSS bin, as planted: nearly all of the signal
        assert metrics.loc[model, "r2"] > 0.8 and metrics.loc[model, "fraction_genes_better_than_mean"] == 1.0, model
    # the gene activity scores count the open bins around each gene: the TSS bin is one of a few
    for model, least in (("archr", 0.1), ("signac", 0.25)):
        assert metrics.loc[model, "r2"] > least and metrics.loc[model, "r2_gene_median"] > least, model
        assert metrics.loc[model, "fraction_genes_better_than_mean"] == 1.0 and metrics.loc[model, "pearson_gene_median"] > 0.25, model
    assert metrics.loc["signac", "r2"] > metrics.loc["archr", "r2"]  # signac's window is the gene and its promoter, archr's much wider
    assert (metrics["n_genes_no_variance"] == 1).all() and (metrics["n_samples"] == 60).all() and (metrics["n_genes"] == 8).all()


def test_outputs_and_report(evaluated):
    ds, out, _ = evaluated
    per_gene = pd.read_csv(out / "per_gene_metrics.tsv", sep="\t")
    assert list(per_gene.columns) == ["folds", "model", "gene_id", "gene_name", "pearson", "spearman", "r2", "mse", "observed_variance",
                                      "status"]
    assert set(per_gene["folds"]) == {"random"}  # no groups: random folds only
    assert len(per_gene) == len(ALL) * 8
    constant = pd.read_csv(out / "constant_genes.tsv", sep="\t")
    assert constant["gene_id"].tolist() == [ds.genes["gene_id"][0]]
    assert set(per_gene.loc[per_gene["gene_id"] == ds.genes["gene_id"][0], "status"]) == {"no_variance"}
    curves = pd.read_csv(out / "learning_curves.tsv", sep="\t")
    assert list(curves.columns) == ["model", "fold", "epoch", "train_loss", "val_loss"]
    assert set(curves["model"]) == {"mlp"} and curves["val_loss"].notna().all()  # the other models are closed form
    assert sorted(set(curves["fold"])) == list(range(5))
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["seed"] == 5 and summary["cv"] == "5-fold" and summary["n_folds"] == 5 and "torch" in summary["versions"]
    assert summary["settings"]["models"] == ALL and summary["settings"]["ridge_alphas"] == [0.1, 1.0, 10.0, 100.0]
    assert all(f["ridge_alpha"] in (0.1, 1.0, 10.0, 100.0) and "mlp_best_epoch" in f and "signac_seconds" in f for f in summary["folds"])
    # what the closed-form models chose inside each fold
    assert all(f["tss_window_kappa"] in (0.0, 0.25, 0.5, 0.75, 1.0) and "tss_similarity_penalty" in f and "local_ridge_penalty" in f
               for f in summary["folds"])
    assert set(summary["metrics"]) == set(ALL)
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("model")
    assert (metrics["n_genes_variable"] == 7).all() and (metrics["fit_seconds_per_fold"] >= 0).all()
    assert metrics.loc["ridge", "fraction_genes_better_than_mean_variable"] == 1.0
    md = (out / "evaluation.md").read_text()
    for link in re.findall(r"\]\(([^)]+)\)", md):
        assert (out / link).exists(), link
    assert "scatter_mlp.png" in md and "| model |" in md and "## Definitions" in md
    assert "## Which models beat the per-gene mean and ridge" in md and "| tss_similarity | yes |" in md
    for png in [f"{kind}_{m}.png" for m in ALL for kind in ("scatter", "deviations")] + ["gene_correlations.png", "learning_curves.png"]:
        assert (out / png).read_bytes()[:4] == b"\x89PNG", png


def test_same_seed_same_numbers(evaluated, tmp_path):
    _, out, argv = evaluated
    argv = [str(tmp_path) if a == str(out) else a for a in argv]
    argv[argv.index("--models") + 1] = "mean,ridge,mlp,signac"
    assert evaluate.main(argv) == 0
    again = pd.read_csv(tmp_path / "metrics.tsv", sep="\t").set_index("model")
    first = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("model")
    timing = ["fit_seconds_per_fold"]
    pd.testing.assert_frame_equal(again.drop(columns=timing), first.loc[["mean", "ridge", "mlp", "signac"]].drop(columns=timing))
    assert (tmp_path / "folds.tsv").read_text() == (out / "folds.tsv").read_text()


@pytest.mark.parametrize("change, message", [
    (("--models", "mean,svm"), "ERROR: --models 'mean,svm': unknown svm; choose from mean, ridge, archr, signac, promoter, mlp, "
                               "tss_window, local_ridge, tss_similarity, blend"),
    (("--folds", "1"), "ERROR: --folds 1: must be >= 2"),
    (("--ridge_alpha", "0"), "ERROR: --ridge_alpha 0: alphas must be positive"),
    (("--val_fraction", "1"), "ERROR: --val_fraction 1.0: must be < 1"),
    (("--dataset", "/nonexistent/dataset.npz"), "ERROR: /nonexistent/dataset.npz: not a dataset .npz written by build_matrix.py"),
])
def test_bad_input_is_one_line_and_no_output(evaluated, tmp_path, capsys, change, message):
    _, out, argv = evaluated
    argv = [str(tmp_path / "o") if a == str(out) else a for a in argv]
    argv[argv.index(change[0]) + 1] = change[1]
    assert evaluate.main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and err[0].startswith(message), err
    assert not (tmp_path / "o").exists()


def test_mlp_too_big_for_the_task_refused_with_no_output(evaluated, tmp_path, capsys):
    _, out, argv = evaluated
    argv = [str(tmp_path / "o") if a == str(out) else a for a in argv]
    argv[argv.index("--max_memory") + 1] = str(100 << 20)
    assert evaluate.main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and "the mlp model (60 bins -> 500 hidden -> 8 genes)" in err[0]
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- signal bins

def test_every_model_reads_signal_bins_and_uses_their_strength(tmp_path):
    """Expression planted on the TSS bin's signal: every model trains and predicts on float32 signal bins, and the
    models that read the TSS bin linearly do better with the signal than with the same bins cut to 0/1."""
    signal = write_planted(tmp_path / "signal.npz", n_samples=40, n_genes=6, region=REGION, p_background=0.05, bin_value="signal", noise=0.02)
    binary = dataset.Dataset((signal.X != 0).astype(np.uint8), signal.Y, signal.samples, signal.layout, signal.genes)
    dataset.save_dataset(binary, tmp_path / "binary.npz")
    metrics = {}
    for name, models in (("signal", ",".join(ALL)), ("binary", "ridge,tss_window")):
        assert evaluate.main(evaluate_args(tmp_path / f"{name}.npz", tmp_path / name, models, epochs=100)) == 0
        metrics[name] = pd.read_csv(tmp_path / name / "metrics.tsv", sep="\t").set_index("model")
        assert json.loads((tmp_path / name / "evaluation.json").read_text())["bin_value"] == name
    held = pd.read_csv(tmp_path / "signal" / "heldout_predictions.tsv", sep="\t")
    assert list(dict.fromkeys(held["model"])) == ALL and np.isfinite(held["predicted"]).all()
    for model in ("ridge", "tss_window"):
        assert metrics["signal"].loc[model, "mse"] < 0.8 * metrics["binary"].loc[model, "mse"], (model, metrics["signal"]["mse"], metrics["binary"]["mse"])
    for model in ("ridge", "archr", "signac", "mlp", "tss_window"):
        assert metrics["signal"].loc[model, "mse"] < 0.7 * metrics["signal"].loc["mean", "mse"], (model, metrics["signal"]["mse"])


# ---------------------------------------------------------------- groups: leave-group-out beside random folds

def test_groups_add_leave_group_out_folds_beside_the_random_ones(tmp_path):
    """With the samplesheet's groups, every model is scored twice on the same metrics: in random folds and with each
    group held out in turn (a held-out group's training mean is the other groups' mean); both tables and their
    verdicts are in metrics.tsv and evaluation.md."""
    planted = write_planted(tmp_path / "plain.npz", n_samples=18, n_genes=6, region=REGION, p_background=0.05)
    groups = np.array(["lymphoid", "myeloid", "progenitor"] * 6)
    ds = dataset.Dataset(planted.X, planted.Y, planted.samples, planted.layout, planted.genes, groups=groups)
    dataset.save_dataset(ds, tmp_path / "dataset.npz")
    models = ["mean", "ridge", "promoter", "tss_window", "blend"]
    assert evaluate.main(evaluate_args(tmp_path / "dataset.npz", tmp_path / "out", ",".join(models))) == 0
    out = tmp_path / "out"
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t")
    assert metrics[["folds", "model"]].values.tolist() == [[f, m] for f in ("random", "group") for m in models]
    by_group = metrics[metrics["folds"] == "group"].set_index("model")
    assert by_group.loc["mean", "r2"] == pytest.approx(0) and by_group.loc["tss_window", "r2"] > 0.5  # the planted TSS bins
    folds = pd.read_csv(out / "folds.tsv", sep="\t")
    assert folds["group"].tolist() == groups.tolist() and folds["group_fold"].tolist() == [0, 1, 2] * 6
    held = pd.read_csv(out / "heldout_predictions_group.tsv", sep="\t")
    Y = targets.transform_targets(ds.Y, "log1p")
    mean = held[held["model"] == "mean"].pivot(index="sample", columns="gene_id", values="predicted").loc[ds.samples, ds.genes["gene_id"]]
    for name in set(groups):
        assert np.allclose(mean.to_numpy()[groups == name], Y[groups != name].mean(axis=0))
    per_gene = pd.read_csv(out / "per_gene_metrics.tsv", sep="\t")
    assert per_gene.groupby("folds").size().to_dict() == {"group": 5 * 6, "random": 5 * 6}
    md = (out / "evaluation.md").read_text()
    assert "## Held-out metrics, random folds" in md and "## Held-out metrics, leave-group-out (each group held out in turn)" in md
    assert md.count("| beats the promoter baseline |") == 2  # a verdict of each table
    for link in re.findall(r"\]\(([^)]+)\)", md):
        assert (out / link).exists(), link
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["leave_group_out"]["groups"]["myeloid"] == list(ds.samples[1::3]) and set(summary["leave_group_out"]["metrics"]) == set(models)
