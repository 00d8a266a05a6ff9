"""The new sample's own evidence: activity ranks (comparable between assays and callers), promoter activity and the
promoter rule, and the blend's pieces (the left-out sets, clusters, weights, the mean gate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted import layout_of, model_settings

from atac2expr.modelling import blend, predictors, promoter

# ---------------------------------------------------------------- activity ranks

def test_activity_ranks_do_not_depend_on_the_signals_scale():
    """A caller's or assay's scale (x 10, a log, a different unit) does not move a bin's rank; no peak stays 0."""
    rng = np.random.default_rng(0)
    signal = np.where(rng.random((3, 200)) < 0.3, rng.uniform(2, 300, (3, 200)), 0).astype(np.float32)
    ranks = promoter.activity_ranks(signal)
    for rescaled in (signal * 10, np.log1p(signal), np.sqrt(signal)):
        assert np.allclose(promoter.activity_ranks(rescaled), ranks)
    assert ((ranks > 0) == (signal > 0)).all() and ranks.max() == pytest.approx(1.0) and ranks.dtype == np.float32
    # each row by its own peaks: the strongest of every sample is 1, whatever the other samples hold
    assert np.allclose(ranks.max(axis=1), 1.0)


def test_peaks_without_signal_read_as_middling():
    """Activity 1 per open bin (no signalValue): every open bin shares the mean rank, (n + 1) / 2n."""
    binary = np.array([[0, 1, 1, 0, 1, 1]], dtype=np.float32)
    assert np.allclose(promoter.activity_ranks(binary), binary * 5 / 8)


# ---------------------------------------------------------------- promoter activity and the promoter rule

def genes_at(tss: list[int], chrom: str = "1") -> pd.DataFrame:
    return pd.DataFrame({"gene_id": [f"G{i}" for i in range(len(tss))], "gene_name": [f"G{i}" for i in range(len(tss))],
                         "gene_biotype": "protein_coding", "chrom": chrom, "start": tss, "end": np.array(tss) + 1, "strand": "+", "tss": tss})


def test_promoter_activity_is_the_strongest_bin_within_1_kb_of_the_tss():
    layout = layout_of("chr1:1-10000")  # ten 1 kb bins
    pb = promoter.PromoterBins(layout.bins(), genes_at([2500, 4999, 8500]))
    ranks = np.zeros((1, 10), dtype=np.float32)
    ranks[0, [1, 3, 5, 9]] = [0.2, 0.9, 0.6, 0.4]
    # TSS 2500 reads bins 1-3 (1500-3500); TSS 4999 reads bins 3-5; TSS 8500 reads bins 7-9
    assert np.allclose(pb.activity(ranks), [[0.9, 0.9, 0.4]])
    assert np.allclose(pb.activity(np.zeros((2, 10))), 0)


def test_the_promoter_rule_is_the_mean_expression_of_each_class_of_promoter_rank():
    rng = np.random.default_rng(1)
    P = np.where(rng.random((6, 400)) < 0.7, rng.random((6, 400)), 0.0)
    Y = np.where(P > 0, 1 + 4 * P, 0.2) + 0.01 * rng.standard_normal(P.shape)
    rule = promoter.PromoterRule().fit(P, Y)
    assert len(rule.levels) == promoter.PROMOTER_LEVELS + 1
    assert rule.predict(np.array([0.0]))[0] == pytest.approx(Y[P == 0].mean())
    classes = rule.classes(P)
    for c in (1, 10, promoter.PROMOTER_LEVELS):
        assert rule.levels[c] == pytest.approx(Y[classes == c].mean())
    assert np.all(np.diff(rule.levels[1:]) > 0)  # stronger promoters, more expression, as planted
    again = promoter.PromoterRule().load_state(rule.state())
    assert np.array_equal(again.predict(P), rule.predict(P))
    # few distinct ranks: repeated quantiles leave fewer classes, and the saved rule has the same shapes
    few = promoter.PromoterRule().fit(np.array([[0.0, 0.5, 0.5, 1.0]]), np.array([[0.0, 1.0, 2.0, 3.0]]))
    assert {k: v.shape for k, v in few.state().items()} == promoter.PromoterRule.state_shapes()
    assert np.array_equal(promoter.PromoterRule().load_state(few.state()).predict(np.array([0, 0.5, 1.0])), few.predict(np.array([0, 0.5, 1.0])))


# ---------------------------------------------------------------- the blend's pieces

def test_similarity_clusters_find_the_groups_of_alike_samples():
    K = np.full((6, 6), 0.2)
    K[:3, :3] = K[3:, 3:] = 0.9
    np.fill_diagonal(K, 1.0)
    assert blend.similarity_clusters(K, 2).tolist() == [0, 0, 0, 1, 1, 1]
    assert len(set(blend.similarity_clusters(K, 6))) == 6


def test_left_out_sets_are_each_sample_then_each_group():
    K = np.eye(6)
    sets, how = blend.left_out_sets(np.array(["a", "b", "a", "b", "c", "a"]), K)
    assert [s.tolist() for s in sets] == [[0], [1], [2], [3], [4], [5], [0, 2, 5], [1, 3]] and how == "the samples' groups"
    # no groups: clusters of similar samples stand in for them
    K = np.full((6, 6), 0.1)
    K[:3, :3] = K[3:, 3:] = 0.8
    sets, how = blend.left_out_sets(None, K)
    assert [s.tolist() for s in sets[6:]] == [[0, 1, 2], [3, 4, 5]] and "clusters of similar samples" in how
    sets, _ = blend.left_out_sets(np.array(["a"] * 6), K)  # one group: the same fallback
    assert [s.tolist() for s in sets[6:]] == [[0, 1, 2], [3, 4, 5]]


def test_the_weights_are_recovered_with_their_dependence_on_similarity():
    rng = np.random.default_rng(2)
    parts = rng.standard_normal((30, 50, len(blend.PARTS)))
    similarity = rng.uniform(0.4, 0.9, 30)
    truth = np.array([[0.2, 1.0, 0.0, 0.5], [1.0, -0.5, 0.3, 0.0]])
    target = blend.combine(parts, truth, similarity)
    assert np.allclose(blend.fit_weights(parts, target, similarity, np.ones(50)), truth, atol=1e-4)
    assert np.allclose(blend.fit_weights(parts, target, similarity, rng.uniform(0.1, 3, 50)), truth, atol=1e-4)


def test_the_blend_is_the_mean_where_nothing_predicts_left_out_samples():
    """Expression unrelated to any chromatin (each gene at its own level, noise around it): the gate keeps each gene's
    training mean."""
    rng = np.random.default_rng(3)
    layout = layout_of("chr1:1-40000")
    genes = genes_at(list(range(2500, 38000, 3000)))
    X = (rng.random((12, 40)) < 0.3).astype(np.uint8)
    activity = X * rng.uniform(1, 50, X.shape).astype(np.float32)
    Y = rng.uniform(0, 8, len(genes)) + 0.3 * rng.standard_normal((12, len(genes)))
    predictor = predictors.make("blend", model_settings(window=5000), predictors.Geometry(layout, genes))
    info = predictor.fit(X, Y, activity=activity, groups=np.array(["a", "b", "c"] * 4)).info
    assert info["blend_mean_kept"] and info["blend_left_out"] == "the samples' groups" and info["blend_n_left_out_sets"] == 15
    assert np.allclose(predictor.predict(X[:3], activity=activity[:3]), Y.mean(axis=0))


def test_models_that_read_activity_refuse_to_run_without_it():
    predictor = predictors.make("promoter", model_settings(), predictors.Geometry(layout_of("chr1:1-5000"), genes_at([2500])))
    with pytest.raises(ValueError, match="promoter reads activity, not given"):
        predictors.inputs_for(predictor, activity=None, groups=None)
    with pytest.raises(ValueError, match="promoter reads the samples' activity, not given"):
        predictors.predict_inputs(predictor, None)
    assert predictors.inputs_for(predictors.make("mean", model_settings(), predictor.geometry), activity=None, groups=None) == {}
