"""The TSS-window model: strand-aware windows that never cross chromosomes, training, reproducibility."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
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


def fit_tss(genes, X, Y, seed=1, epochs=150, region=STRAND_REGION, X_val=None, Y_val=None, **kw):
    """(predictor, loss curves) of a TSS-window model fitted on X -> Y."""
    settings = model_settings(window=3000, tss_hidden=16, tss_epochs=epochs, lr=0.03, seed=seed, **kw)
    predictor = predictors.make("tss_window", settings, predictors.Geometry(layout_of(region), genes))
    return predictor, predictor.fit(X, Y, X_val, Y_val).curves


def test_learns_upstream_bin_on_both_strands_and_at_chromosome_ends():
    _, genes, X, Y = strand_planted()
    train, test = np.arange(30), np.arange(30, 40)
    predictor, result = fit_tss(genes, X[train], Y[train], batch_size=8192)
    pred = predictor.predict(X[test])
    assert np.isfinite(pred).all() and len(result.train_loss) == 150
    for strand in "+-":
        cols = (genes["strand"] == strand).to_numpy()
        mse = np.mean((pred[:, cols] - Y[test][:, cols]) ** 2)
        base = np.mean((Y[train][:, cols].mean(0) - Y[test][:, cols]) ** 2)
        assert mse < 0.2 * base, strand
    # gene 12 sits at chr2's first base on the plus strand: its upstream bin is off the chromosome -> no signal,
    # and its window is padded rather than reading chr1's last bins
    index, mask = predictor.window_index
    assert mask[12].tolist() == [0, 0, 0, 1, 1, 1, 1] and mask[0].tolist() == [1, 1, 1, 1, 0, 0, 0]


def test_same_seed_same_numbers_and_minibatches():
    _, genes, X, Y = strand_planted(n_samples=12)
    a, ra = fit_tss(genes, X, Y, seed=4, epochs=5, batch_size=64)
    b, rb = fit_tss(genes, X, Y, seed=4, epochs=5, batch_size=64)
    c, rc = fit_tss(genes, X, Y, seed=5, epochs=5, batch_size=64)
    assert ra.train_loss == rb.train_loss and (a.predict(X) == b.predict(X)).all()
    assert ra.train_loss != rc.train_loss
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key])


def test_early_stopping_restores_best_epoch():
    _, genes, X, Y = strand_planted(n_samples=24)
    predictor, result = fit_tss(genes, X[:18], Y[:18], epochs=300, patience=5, batch_size=128)
    assert len(result.val_loss) == 0 and result.epochs_run == 300  # no validation data: all epochs
    predictor, result = fit_tss(genes, X[:18], Y[:18], epochs=300, patience=5, batch_size=128, X_val=X[18:], Y_val=Y[18:])
    assert result.epochs_run < 300 and result.best_epoch == int(np.argmin(result.val_loss)) + 1
    val = np.mean((predictor.predict(X[18:]) - Y[18:]) ** 2)
    assert val == pytest.approx(min(result.val_loss), rel=1e-4)


def test_genes_without_bins_get_a_constant_prediction_near_their_mean():
    ds = make_planted(n_samples=10, n_genes=4, region="chr1:1-20000")
    genes = ds.genes.copy()
    genes.loc[3, "chrom"] = "9"  # no bins near this TSS
    Y = targets.transform_targets(ds.Y, "log1p")
    predictor, _ = fit_tss(genes, ds.X, Y, epochs=60, region="chr1:1-20000", batch_size=8)
    assert predictor.window_index[1][3].sum() == 0
    pred = predictor.predict(ds.X)
    assert np.ptp(pred[:, 3]) == 0 and abs(pred[0, 3] - Y[:, 3].mean()) < 0.2


@pytest.mark.parametrize("bin_value", ["binary", "signal"])
def test_windows_gathered_on_demand_equal_the_precomputed_ones(bin_value):
    """Past MAX_FEATURE_BYTES each batch's windows are gathered from the bins matrix: the same inputs either way, and
    signal bins keep their values (float32, not cut to 0/1)."""
    _, genes, X, _ = strand_planted(n_samples=6)
    if bin_value == "signal":
        X = (X * np.random.default_rng(2).uniform(0.3, 5.5, X.shape)).astype(np.float32)
    index, mask = tss_window.build_window_index(toy_bins(STRAND_REGION), genes["chrom"].to_numpy(), genes["tss"].to_numpy(),
                                                genes["strand"].to_numpy(), 1000, 3000)
    pre = tss_window._Windows(X, index, mask, torch.device("cpu"))
    lazy = tss_window._Windows(X, index, mask, torch.device("cpu"), max_feature_bytes=0)
    assert pre.precomputed and not lazy.precomputed
    flat = torch.randperm(6 * len(genes), generator=torch.Generator().manual_seed(0))[:50]
    for a, b in zip(pre.batch(flat), lazy.batch(flat), strict=True):
        assert torch.equal(a, b)
    features = tss_window.window_features(X, index).reshape(-1, index.shape[1])
    assert features.dtype == X.dtype and pre.features.dtype == (torch.float32 if bin_value == "signal" else torch.uint8)
    assert torch.equal(pre.batch(flat)[0], torch.as_tensor(features[flat.numpy()], dtype=torch.float32))
    assert set(np.unique(features)) - {0, 1} if bin_value == "signal" else set(np.unique(features)) == {0, 1}
