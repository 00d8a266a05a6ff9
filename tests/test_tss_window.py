"""The TSS-window models: strand-aware windows that never cross chromosomes, distance classes, the shared rule."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from planted import layout_of, make_planted, model_settings

from atac2expr import targets
from atac2expr.modelling import predictors, tss_window


def toy_bins(region: str, bin_size: int = 1000) -> pd.DataFrame:
    return layout_of(region, bin_size).bins()


def index_of(bins, chrom, tss, strand, window=3000, bin_size=1000):
    index, mask = tss_window.build_window_index(bins, np.array(chrom), np.array(tss), np.array(strand), bin_size, window)
    return index, mask


def test_two_chromosomes_strands_and_ends():
    bins = toy_bins("chr1:1-10000,chr2:1-6000")  # chr1 bins 0..9, chr2 bins 10..15
    P = len(bins)  # padding column
    index, mask = index_of(bins, ["1", "1", "1", "2", "2", "3"], [4500, 4500, 9500, 500, 5999, 100], ["+", "-", "+", "-", "+", "+"])
    assert index.shape == (6, 7)
    assert index[0].tolist() == [1, 2, 3, 4, 5, 6, 7]  # plus strand: upstream (lower coordinates) first
    assert index[1].tolist() == [7, 6, 5, 4, 3, 2, 1]  # minus strand: upstream is higher coordinates
    assert index[2].tolist() == [6, 7, 8, 9, P, P, P]  # chr1 ends: padding, never chr2's bins 10..
    assert index[3].tolist() == [13, 12, 11, 10, P, P, P]  # minus strand at chr2's start
    assert index[4].tolist() == [12, 13, 14, 15, P, P, P]  # last base of chr2
    assert index[5].tolist() == [P] * 7  # chromosome without bins
    assert (mask == (index < P)).all()
    # slot h (the centre) is always the TSS's own bin
    assert index[:5, 3].tolist() == [4, 4, 9, 10, 15]


def test_gaps_between_regions_and_unaligned_bins():
    bins = toy_bins("chr1:501-5500,chr1:9501-12500")  # bins [500,1500) .. [4500,5500) then [9500,10500) ..
    index, mask = index_of(bins, ["1", "1"], [5000, 9600], ["+", "-"], window=3000)
    P = len(bins)
    assert index[0].tolist() == [1, 2, 3, 4, P, P, P]  # 5000 is in bin [4500,5500) = 4; 6000.. fall in the gap
    assert index[1].tolist() == [P, 7, 6, 5, P, P, P]  # 9600 is in [9500,10500) = 5; 12600 is past the end, 8600.. in the gap
    features = tss_window.window_features(np.arange(1, P + 1, dtype=np.uint8)[None, :], index)
    assert features.shape == (1, 2, 7) and features[0, 0].tolist() == [2, 3, 4, 5, 0, 0, 0]


def test_window_of_zero_is_the_tss_bin_and_odd_windows_round_down():
    bins = toy_bins("chr1:1-5000")
    assert tss_window.window_width(0, 1000) == 1 and tss_window.window_width(2500, 1000) == 5
    index, _ = index_of(bins, ["1"], [2200], ["-"], window=0)
    assert index.tolist() == [[2]]


def test_index_building_is_vectorised_and_fast():
    chroms = [f"chr{c}:1-{n}000000" for c, n in ((1, 60), (2, 50), (3, 40))]
    bins = toy_bins(",".join(chroms))  # 150,000 bins
    rng = np.random.default_rng(0)
    n = 5000
    chrom = rng.choice(["1", "2", "3", "X"], n)
    tss = rng.integers(0, 60_000_000, n)
    strand = rng.choice(["+", "-"], n)
    started = time.perf_counter()
    index, mask = tss_window.build_window_index(bins, chrom, tss, strand, 1000, 50_000)
    assert time.perf_counter() - started < 5
    # every in-window bin is on the gene's chromosome and contains the slot's point
    g, k = np.nonzero(mask)
    offsets = np.arange(-50, 51) * 1000
    points = tss[g] + np.where(strand[g] == "-", -offsets[k], offsets[k])
    b = index[g, k]
    assert (bins["chrom"].to_numpy()[b] == chrom[g]).all()
    assert ((bins["start"].to_numpy()[b] <= points) & (points < bins["end"].to_numpy()[b])).all()
    assert not mask[chrom == "X"].any()


STRAND_REGION = "chr1:1-60000,chr2:1-40000"


def strand_planted(seed=0, n_samples=40):
    """Each gene's expression follows the bin just UPSTREAM of its TSS (strand-aware): only a model whose
    windows are flipped for minus-strand genes can fit + and - genes with one set of shared weights."""
    bins = toy_bins(STRAND_REGION)
    rng = np.random.default_rng(seed)
    n_genes = 20
    chrom = np.array(["1"] * 12 + ["2"] * 8)
    tss = np.concatenate([rng.choice(np.arange(3, 57), 12, replace=False), rng.choice(np.arange(3, 37), 8, replace=False)]) * 1000 + 500
    tss[0], tss[12] = 59_500, 500  # genes at a chromosome's end and start
    strand = np.where(np.arange(n_genes) % 2 == 0, "+", "-")
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n_genes)], "gene_name": [f"g{i}" for i in range(n_genes)],
                          "gene_biotype": "protein_coding", "chrom": chrom, "start": tss, "end": tss + 1, "strand": strand, "tss": tss})
    X = (rng.random((n_samples, len(bins))) < 0.5).astype(np.uint8)
    key = {(c, s): i for i, (c, s) in enumerate(zip(bins["chrom"], bins["start"], strict=True))}
    upstream = np.array([key.get((c, t - t % 1000 + (1000 if s == "-" else -1000)), -1) for c, t, s in zip(chrom, tss, strand, strict=True)])
    signal = np.where(upstream >= 0, X[:, np.maximum(upstream, 0)], 0)
    Y = 1.0 + 2.0 * signal + 0.05 * rng.standard_normal((n_samples, n_genes))
    return bins, genes, X, Y.astype(np.float32)


def fit_tss(genes, X, Y, region=STRAND_REGION, X_val=None, Y_val=None, kind="tss_window", window=3000):
    """(predictor, fit report) of a TSS-window model fitted on X -> Y."""
    predictor = predictors.make(kind, model_settings(window=window), predictors.Geometry(layout_of(region), genes))
    return predictor, predictor.fit(X, Y, X_val, Y_val)


def test_distance_classes_are_strand_aware_rings():
    """13 classes at 1 kb bins and a 50 kb window: the TSS bin, then upstream (odd) and downstream (even) rings."""
    classes = tss_window.distance_classes(101, 1000)
    assert classes[50] == 0 and classes.max() == 12
    assert classes[49] == 1 and classes[51] == 2  # the bins next to the TSS: 1 kb either side
    assert classes[48] == 3 and classes[52] == 4  # (1, 2] kb
    assert set(classes[:20]) == {11} and set(classes[81:]) == {12}  # beyond 20 kb
    assert tss_window.distance_classes(1, 1000).tolist() == [0]  # window 0: the TSS bin only
    assert tss_window.distance_classes(5, 10_000).max() == 4  # 10 kb bins: 10 and 20 kb away are two rings each side


def test_class_sums_equal_a_brute_force_sum():
    bins, genes, X, _ = strand_planted(n_samples=5)
    index, _ = tss_window.build_window_index(bins, genes["chrom"].to_numpy(), genes["tss"].to_numpy(), genes["strand"].to_numpy(), 1000, 3000)
    classes = tss_window.distance_classes(index.shape[1], 1000)
    values = X * np.arange(1, X.shape[1] + 1)  # every bin a different value: a misplaced bin shows
    sums = tss_window.class_sums(values, index, classes)
    windows = tss_window.window_features(values, index)
    for c in range(classes.max() + 1):
        assert np.array_equal(sums[:, :, c], windows[:, :, classes == c].sum(axis=2))


def test_learns_upstream_bin_on_both_strands_and_at_chromosome_ends():
    _, genes, X, Y = strand_planted()
    train, test = np.arange(30), np.arange(30, 40)
    predictor, report = fit_tss(genes, X[train], Y[train])
    pred = predictor.predict(X[test])
    assert np.isfinite(pred).all() and report.info["tss_window_kappa"] == 1.0
    # the upstream neighbour's class (odd: upstream) carries the rule, on both strands with one set of weights
    theta = np.array(report.info["tss_window_theta"])
    assert np.argmax(theta) == 1 and theta[1] > 5 * np.abs(np.delete(theta, 1)).max()
    for strand in "+-":
        cols = (genes["strand"] == strand).to_numpy()
        mse = np.mean((pred[:, cols] - Y[test][:, cols]) ** 2)
        base = np.mean((Y[train][:, cols].mean(0) - Y[test][:, cols]) ** 2)
        assert mse < 0.2 * base, strand
    # gene 12 sits at chr2's first base on the plus strand: its upstream bin is off the chromosome -> no signal,
    # and its window is padded rather than reading chr1's last bins
    index, mask = predictor.window_index
    assert mask[12].tolist() == [0, 0, 0, 1, 1, 1, 1] and mask[0].tolist() == [1, 1, 1, 1, 0, 0, 0]


def test_shuffled_samples_give_the_mean():
    """Where the rule does not predict left-out samples, kappa is 0 and every gene is predicted at its mean."""
    _, genes, X, Y = strand_planted(n_samples=20)
    shuffled = Y[np.random.default_rng(3).permutation(len(Y))]
    predictor, report = fit_tss(genes, X, shuffled)
    assert report.info["tss_window_kappa"] == 0.0
    assert np.allclose(predictor.predict(X[:3]), shuffled.mean(0))


def test_deterministic():
    _, genes, X, Y = strand_planted(n_samples=12)
    a, _ = fit_tss(genes, X, Y)
    b, _ = fit_tss(genes, X, Y)
    assert np.array_equal(a.predict(X), b.predict(X))


def test_validation_samples_are_training_samples_here():
    """The closed-form models choose their settings by leave-one-out over every training sample given."""
    _, genes, X, Y = strand_planted(n_samples=24)
    a, _ = fit_tss(genes, X[:18], Y[:18], X_val=X[18:], Y_val=Y[18:])
    b, _ = fit_tss(genes, X, Y)
    assert np.array_equal(a.predict(X), b.predict(X))


def test_genes_without_bins_get_their_mean():
    ds = make_planted(n_samples=10, n_genes=4, region="chr1:1-20000")
    genes = ds.genes.copy()
    genes.loc[3, "chrom"] = "9"  # no bins near this TSS
    Y = targets.transform_targets(ds.Y, "log1p")
    for kind in ("tss_window", "local_ridge", "tss_similarity"):
        predictor, _ = fit_tss(genes, ds.X, Y, region="chr1:1-20000", kind=kind)
        assert predictor.window_index[1][3].sum() == 0
        pred = predictor.predict(ds.X)
        if kind != "tss_similarity":  # gene-local: nothing near the TSS, nothing but the mean
            assert np.allclose(pred[:, 3], Y[:, 3].mean()), kind


def test_signal_values_are_read_as_values():
    """With peak signal instead of 0/1 the rule reads the values; the kernels read which bins are open."""
    bins, genes, X, Y = strand_planted()
    signal = X * np.random.default_rng(1).uniform(1, 5, X.shape)
    for kind in ("tss_window", "local_ridge", "tss_similarity"):
        a, _ = fit_tss(genes, X, Y, kind=kind)
        b, _ = fit_tss(genes, signal, Y, kind=kind)
        assert np.isfinite(b.predict(signal)).all()
        if kind == "local_ridge":
            assert np.allclose(a.predict(X), b.predict(signal))
