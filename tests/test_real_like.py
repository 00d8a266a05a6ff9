"""Models on test data that behaves like real cell types (tests/realistic.py), through the real evaluation.

The planted data of the end-to-end tests rewards any additive model; this data cannot be won that way: most genes
explain nothing, the signal sits at promoters plus a few enhancers, cell types share programs, and expression is
read out as counts. The models built for real data must beat both the mean and ridge on all bins here, by the
margins the generator makes possible; on shuffled labels no model may show skill.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted import evaluation_settings, model_settings, settings_args
from realistic import CELL_TYPES, make_realistic

from atac2expr import dataset, evaluation, targets
from atac2expr.commands import evaluate
from atac2expr.modelling import cross_validation, predictors

MODELS = ["mean", "ridge", "promoter", "tss_window", "local_ridge", "tss_similarity", "blend"]
SETTINGS = dict(window=50_000)
RIDGE_ALPHAS = "0.1,1,10,100,1000"


@pytest.fixture(scope="module", params=[0, 1])
def evaluated(request, tmp_path_factory):
    """evaluate.py on a realistic dataset: (dataset, truth, metrics by model)."""
    ds, truth = make_realistic(seed=request.param)
    base = tmp_path_factory.mktemp(f"realistic{request.param}")
    dataset.save_dataset(ds, base / "dataset.npz")
    argv = ["--dataset", str(base / "dataset.npz"), "--outdir", str(base / "out"), "--models", ",".join(MODELS), "--threads", "1",
            "--max_memory", "0", *settings_args(**SETTINGS, ridge_alpha=RIDGE_ALPHAS)]
    assert evaluate.main(argv) == 0
    every = pd.read_csv(base / "out" / "metrics.tsv", sep="\t")
    print(f"\nrealistic seed {request.param} (held out: 5 random folds, then each lineage held out in turn):\n"
          f"{every[['folds', 'model', 'r2', 'r2_gene_median', 'fraction_genes_better_than_mean']].round(3).to_string(index=False)}")
    metrics = every[every["folds"] == "random"].set_index("model")
    return ds, truth, metrics, every[every["folds"] == "group"].set_index("model")


def test_the_data_has_the_properties_of_real_cell_types(evaluated):
    ds, truth, _, _ = evaluated
    assert len(ds.samples) == len(CELL_TYPES) == 14
    shares = pd.Series(truth.gene_class).value_counts(normalize=True)
    assert 0.2 < shares["silent"] < 0.4 and shares["regulated"] < 0.6  # most genes are silent or steady
    expressed = ds.Y > 10  # CPM, per (sample, gene)
    tss_bin = ds.layout.bins().reset_index().set_index(["chrom", "start"]).loc[
        list(zip(ds.genes["chrom"], ds.genes["tss"] - ds.genes["tss"] % ds.layout.bin_size, strict=True)), "index"].to_numpy()
    promoter_open = ds.X[:, tss_bin].astype(bool)
    assert promoter_open[expressed].mean() > 0.9  # over 90% of expressed genes have an open promoter
    silent = ds.Y.max(axis=0) < 1  # genes silent in every cell type
    assert 0.2 < promoter_open[:, silent].mean() < 0.5  # and so do some silent ones (27-48% in real cell types)
    # cell types of one lineage are alike: the similarity of their chromatin is structure, not noise
    K = np.corrcoef(ds.X.astype(float))
    names = list(ds.samples)
    assert K[names.index("CD4"), names.index("CD8")] > K[names.index("CD4"), names.index("Ery")] + 0.1


def test_models_for_real_data_beat_the_mean_and_ridge(evaluated):
    _, _, m, _ = evaluated
    assert m.loc["mean", "r2"] == pytest.approx(0)
    best, ridge = m.loc["tss_similarity"], m.loc["ridge"]
    assert best["r2"] > ridge["r2"] + 0.15
    assert best["r2_gene_median"] > ridge["r2_gene_median"] + 0.05
    assert best["fraction_genes_better_than_mean"] > ridge["fraction_genes_better_than_mean"] + 0.05
    # the gene-local models beat the mean
    for model in ("tss_window", "local_ridge"):
        assert m.loc[model, "r2"] > 0.2, model
    assert m.loc["tss_window", "r2_gene_median"] > 0


def test_the_blend_keeps_its_skill_when_a_whole_lineage_is_new(evaluated):
    """Each lineage held out in turn: the blend, which reads the new sample's own chromatin and weighs its parts by
    how alike the sample is to the training samples, beats the training mean, the promoter baseline, tss_window and
    tss_similarity on R² and median per-gene R²; in random folds it beats tss_similarity too."""
    _, _, random_folds, by_lineage = evaluated
    for table in (random_folds, by_lineage):
        blend = table.loc["blend"]
        for rival in ("mean", "promoter", "tss_window", "tss_similarity"):
            assert blend["r2"] > table.loc[rival, "r2"] and blend["r2_gene_median"] > table.loc[rival, "r2_gene_median"], rival
    assert by_lineage.loc["blend", "r2"] > 0.5 and by_lineage.loc["promoter", "r2"] < 0  # a gene's own level is worth more


@pytest.mark.parametrize("permutation", [1, 2, 3])
def test_shuffled_labels_show_no_skill(permutation):
    """Each sample's expression given to another sample: no model may beat the mean (median per-gene R² <= 0 and
    fewer than half of the genes better than the mean), ridge on all bins included."""
    ds, _ = make_realistic(seed=0)
    Y = targets.transform_targets(ds.Y, "log1p")[np.random.default_rng(permutation).permutation(len(ds.samples))]
    cv = cross_validation.cross_validate(ds.X, Y, predictors.Geometry.of(ds), MODELS, model_settings(**SETTINGS),
                                         evaluation_settings(ridge_alpha=RIDGE_ALPHAS), activity=ds.activity, groups=ds.groups)
    constant = targets.constant_columns(Y)
    for model in [m for m in MODELS if m not in ("mean", "promoter")]:  # the promoter baseline ignores each gene's level
        summary = evaluation.compute_metrics(Y, cv.predictions[model], cv.train_means, ds.genes, constant).summary
        assert summary["r2_gene_median"] <= 1e-9 and summary["fraction_genes_better_than_mean"] < 0.5, (model, summary)
        assert summary["r2"] < 0.02, (model, summary)
