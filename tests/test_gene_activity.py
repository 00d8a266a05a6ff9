"""Gene activity baselines: ArchR / Signac weights on hand-computed geometry, scores, the per-gene linear fit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from atac2expr.cli import InputError
from atac2expr.modelling import gene_activity as ga

E1 = math.exp(-1)
INSIDE = 1 + E1  # ArchR's gene model at distance 0


def model_at(distance: float) -> float:
    return math.exp(-abs(distance) / 5000) + E1


def tiles(chrom: str, start: int, end: int, size: int = 1000) -> pd.DataFrame:
    starts = np.arange(start, end, size, dtype=np.int64)
    return pd.DataFrame({"chrom": chrom, "start": starts, "end": np.minimum(starts + size, end)})


def gene_table(rows: list[tuple]) -> pd.DataFrame:
    """rows: (gene_id, chrom, start, end, strand)."""
    frame = pd.DataFrame(rows, columns=["gene_id", "chrom", "start", "end", "strand"])
    frame["gene_name"] = frame["gene_id"]
    frame["tss"] = np.where(frame["strand"] == "-", frame["end"] - 1, frame["start"])
    return frame


def weights_of(w: ga.GeneBinWeights, gene: int) -> dict[int, float]:
    pick = w.gene == gene
    return dict(zip(w.bin[pick].tolist(), w.weight[pick].tolist(), strict=True))


# ---------------------------------------------------------------- ArchR

def test_default_gene_model_is_archrs_string():
    x = np.array([-12_000.0, -1.0, 0.0, 2500.0, 100_000.0])
    assert np.allclose(ga.archr_gene_model(x), np.exp(-np.abs(x) / 5000) + np.exp(-1))


def test_archr_plus_strand_gene_upstream_extension_and_distance_weights():
    bins = tiles("1", 0, 300_000)
    genes = gene_table([("G", "1", 50_000, 52_000, "+")])  # extended body [45000, 52000)
    w = ga.archr_weights(bins, genes)
    got = weights_of(w, 0)
    # window: 100 kb either side of the extended body, clipped at the chromosome start: bins 0..151
    assert sorted(got) == list(range(0, 152))
    assert got[45] == pytest.approx(INSIDE)  # first base of the 5 kb upstream extension
    assert got[51] == pytest.approx(INSIDE)  # last bin of the gene
    assert got[44] == pytest.approx(INSIDE)  # [44000, 45000) touches the body: distance 0, as IRanges::distance
    assert got[43] == pytest.approx(model_at(1000))
    assert got[52] == pytest.approx(INSIDE)  # [52000, 53000) touches the gene end
    assert got[53] == pytest.approx(model_at(1000))
    assert got[151] == pytest.approx(model_at(99_000))  # [151000, 152000): 99 kb past the end
    assert got[0] == pytest.approx(model_at(44_000))
    assert w.gene.dtype == np.int64 and w.bin.dtype == np.int64 and w.weight.dtype == np.float64


def test_archr_minus_strand_gene_extends_upstream_to_the_right_and_signs_distances():
    bins = tiles("1", 0, 300_000)
    genes = gene_table([("G", "1", 50_000, 52_000, "-")])  # TSS at 51999: extended body [50000, 57000)
    got = weights_of(ga.archr_weights(bins, genes), 0)
    assert sorted(got) == list(range(0, 157))  # [0, 157000): 100 kb past the extended body on the right
    assert got[56] == pytest.approx(INSIDE)  # upstream extension
    assert got[57] == pytest.approx(INSIDE)  # touches
    assert got[58] == pytest.approx(model_at(1000))
    assert got[48] == pytest.approx(model_at(1000))  # [48000, 49000): 1 kb downstream of the gene end (left)
    # ArchR passes a signed distance: positive downstream of the body on the gene's strand
    signed = weights_of(ga.archr_weights(bins, genes, gene_model=lambda x: 1e6 + x), 0)
    assert signed[40] - 1e6 == pytest.approx(50_000 - 41_000)  # left of a minus gene: downstream, positive
    assert signed[60] - 1e6 == pytest.approx(-(60_000 - 57_000))  # right: upstream, negative
    plus = gene_table([("G", "1", 50_000, 52_000, "+")])
    signed = weights_of(ga.archr_weights(bins, plus, gene_model=lambda x: 1e6 + x), 0)
    assert signed[60] - 1e6 == pytest.approx(60_000 - 52_000)
    assert signed[40] - 1e6 == pytest.approx(-(45_000 - 41_000))


def test_archr_neighbouring_gene_boundaries_cut_the_window_one_tile_away():
    bins = tiles("1", 0, 300_000)
    genes = gene_table([("A", "1", 20_000, 30_000, "+"), ("B", "1", 60_000, 70_000, "+")])
    # extended bodies: A [15000, 30000), B [55000, 70000)
    w = ga.archr_weights(bins, genes)
    a, b = weights_of(w, 0), weights_of(w, 1)
    # A stops one tile before B's first base (55000, bin 55): bin 54 in, bin 55 out
    assert sorted(a) == list(range(0, 55))
    # B starts one tile after A's last base (29999, bin 29): bin 29 out, bin 30 in; 100 kb on the right
    assert sorted(b) == list(range(30, 170))
    assert b[30] == pytest.approx(model_at(55_000 - 31_000))
    # without boundaries each window is the full 100 kb
    free = ga.archr_weights(bins, genes, use_gene_boundaries=False)
    assert sorted(weights_of(free, 0)) == list(range(0, 130))
    assert sorted(weights_of(free, 1)) == list(range(0, 170))


def test_archr_tile_size_sets_the_margin_from_a_neighbour():
    bins = tiles("1", 0, 300_000)
    # A's last base 29199 lies in the first half of bin 29
    genes = gene_table([("A", "1", 20_000, 29_200, "+"), ("B", "1", 60_000, 70_000, "+")])
    b_bins = sorted(weights_of(ga.archr_weights(bins, genes), 1))  # tile = the bins' 1 kb
    assert b_bins[0] == 30  # 29199 + 1000 = 30199: the bin holding A's last base is out
    b_bins = sorted(weights_of(ga.archr_weights(bins, genes, tile_size=500), 1))  # ArchR's 500 bp tile
    assert b_bins[0] == 29  # 29199 + 500 = 29699 lies in bin 29


def test_archr_minimum_extension_survives_an_overlapping_neighbour():
    bins = tiles("1", 0, 300_000)
    genes = gene_table([("A", "1", 20_000, 30_000, "+"), ("C", "1", 25_000, 40_000, "+")])
    # extended bodies A [15000, 30000), C [20000, 40000): C starts inside A, so A's window would end before
    # its own body; ArchR keeps at least extendDownstream's minimum (1 kb) past the body: [.., 31000)
    a = weights_of(ga.archr_weights(bins, genes), 0)
    assert max(a) == 30
    # [30000, 31000) touches A's end; A's length weight: 1 + 4 * (1/15000) / (1/15000 - 1/20000) = 17
    assert a[30] == pytest.approx(INSIDE * 17)


def test_archr_gene_length_scaling():
    bins = pd.concat([tiles("1", 0, 200_000), tiles("2", 0, 200_000)], ignore_index=True)
    # on two chromosomes, so no boundary interacts; extended widths 6000 and 20000
    genes = gene_table([("short", "1", 10_000, 11_000, "+"), ("long", "2", 10_000, 25_000, "+")])
    w = ga.archr_weights(bins, genes)
    # m = 1/width; weight = 1 + m * (5 - 1) / (max(m) - min(m)) = 1 + 4 * (1/w) / (1/6000 - 1/20000)
    short_weight = 1 + 4 * 20_000 / 14_000
    long_weight = 1 + 4 * 6_000 / 14_000
    assert weights_of(w, 0)[10] == pytest.approx(INSIDE * short_weight)
    assert weights_of(w, 1)[200 + 10] == pytest.approx(INSIDE * long_weight)
    assert ga.archr_gene_weights(np.array([6000, 20_000]), 5.0) == pytest.approx([short_weight, long_weight])
    # equal widths (or one gene): ArchR would divide by zero; the weight is 1
    assert ga.archr_gene_weights(np.array([7000, 7000]), 5.0) == pytest.approx([1.0, 1.0])


def test_archr_partial_last_bin_uses_its_real_end():
    bins = pd.DataFrame({"chrom": ["2", "2"], "start": [0, 1000], "end": [1000, 1500]})
    genes = gene_table([("G", "2", 8000, 9000, "+")])  # extended body [3000, 9000)
    got = weights_of(ga.archr_weights(bins, genes), 0)
    assert got[1] == pytest.approx(model_at(3000 - 1500))  # not 3000 - 2000
    assert got[0] == pytest.approx(model_at(2000))


def test_genes_on_a_chromosome_without_bins_get_no_weights():
    bins = tiles("1", 0, 50_000)
    genes = gene_table([("on1", "1", 10_000, 12_000, "+"), ("on3", "3", 10_000, 12_000, "+"), ("far", "1", 500_000, 510_000, "-")])
    for w in (ga.archr_weights(bins, genes), ga.signac_weights(bins, genes)):
        assert w.genes_with_weights().tolist() == [True, False, False]
        scores = ga.activity_scores(np.ones((3, len(bins)), dtype=np.uint8), w)
        assert (scores[:, 1:] == 0).all() and (scores[:, 0] > 0).all()


def test_several_regions_with_a_gap_and_unsorted_bins():
    bins = pd.concat([tiles("1", 50_000, 60_000), tiles("X", 0, 5000), tiles("1", 0, 10_000)], ignore_index=True)
    shuffled = bins.sample(frac=1, random_state=3).reset_index(drop=True)
    genes = gene_table([("G", "1", 30_000, 31_000, "+")])  # extended body [25000, 31000)
    w = ga.archr_weights(shuffled, genes)
    row_of = {(c, s): i for i, (c, s) in enumerate(zip(shuffled["chrom"], shuffled["start"], strict=True))}
    got = weights_of(w, 0)
    expected = {row_of[("1", s)]: model_at(25_000 - (s + 1000)) for s in range(0, 10_000, 1000)}
    expected |= {row_of[("1", s)]: model_at(s - 31_000) for s in range(50_000, 60_000, 1000)}
    assert got.keys() == expected.keys()  # no bin of X, none from the gap
    for b, value in expected.items():
        assert got[b] == pytest.approx(value)
    assert (np.diff(w.gene) >= 0).all()


def test_no_genes_or_no_bins():
    bins, genes = tiles("1", 0, 20_000), gene_table([("G", "1", 10_000, 12_000, "+")])
    for build in (ga.archr_weights, ga.signac_weights):
        w = build(bins, genes.iloc[:0])
        assert (w.n_genes, w.n_bins, w.nnz) == (0, len(bins), 0)
        w = build(bins.iloc[:0], genes)
        assert (w.n_genes, w.n_bins, w.nnz) == (1, 0, 0)
        assert ga.activity_scores(np.zeros((3, 0), dtype=np.uint8), w).tolist() == [[0.0]] * 3


def test_overlapping_bins_are_refused():
    bins = pd.DataFrame({"chrom": ["1", "1"], "start": [0, 500], "end": [1000, 1500]})
    with pytest.raises(InputError, match="overlap"):
        ga.archr_weights(bins, gene_table([("G", "1", 0, 100, "+")]))


# ---------------------------------------------------------------- Signac

def test_signac_interval_is_strand_aware():
    bins = tiles("1", 0, 30_000)
    genes = gene_table([("P", "1", 10_000, 12_000, "+"), ("M", "1", 10_000, 12_000, "-"), ("E", "1", 20_500, 21_000, "+")])
    w = ga.signac_weights(bins, genes)
    assert weights_of(w, 0) == {8: 1.0, 9: 1.0, 10: 1.0, 11: 1.0}  # [8000, 12000)
    assert weights_of(w, 1) == {10: 1.0, 11: 1.0, 12: 1.0, 13: 1.0}  # [10000, 14000)
    assert weights_of(w, 2) == {18: 1.0, 19: 1.0, 20: 1.0}  # [18500, 21000): bin 21 starts at the end, not in
    w0 = ga.signac_weights(bins, genes, upstream=0)
    assert weights_of(w0, 0) == weights_of(w0, 1) == {10: 1.0, 11: 1.0}


def test_signac_partial_last_bin_and_chromosome_start():
    bins = pd.DataFrame({"chrom": ["2", "2"], "start": [0, 1000], "end": [1000, 1500]})
    genes = gene_table([("plus", "2", 1500, 2500, "+"), ("minus", "2", 1500, 2500, "-")])
    w = ga.signac_weights(bins, genes)
    assert weights_of(w, 0) == {0: 1.0, 1: 1.0}  # [-500, 2500) clipped at 0
    assert weights_of(w, 1) == {}  # [1500, 4500) starts where the last bin ends


# ---------------------------------------------------------------- joins

def random_geometry(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = [tiles("1", 0, 203_700), tiles("1", 400_000, 520_000), tiles("2", 0, 150_500), tiles("MT", 0, 16_569)]
    bins = pd.concat(frames, ignore_index=True).sample(frac=1, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)
    n = 60
    chrom = rng.choice(np.array(["1", "2", "3", "MT"]), n)
    start = rng.integers(0, 600_000, n)
    end = start + rng.integers(1, 60_000, n)
    strand = rng.choice(["+", "-"], n)
    genes = gene_table([(f"g{i}", c, int(s), int(e), st) for i, (c, s, e, st) in enumerate(zip(chrom, start, end, strand, strict=True))])
    return bins, genes


def test_pyranges_and_numpy_joins_give_the_same_weights():
    rng = np.random.default_rng(5)
    for _ in range(3):
        bins, genes = random_geometry(rng)
        for build in (ga.archr_weights, ga.signac_weights):
            a, b = build(bins, genes, method="numpy"), build(bins, genes, method="pyranges")
            assert np.array_equal(a.gene, b.gene) and np.array_equal(a.bin, b.bin)
            assert np.allclose(a.weight, b.weight, rtol=0, atol=0)
    with pytest.raises(InputError, match="join method"):
        ga.signac_weights(bins, genes, method="bedtools")


# ---------------------------------------------------------------- scores

def test_scores_equal_the_dense_product():
    rng = np.random.default_rng(7)
    bins, genes = random_geometry(rng)
    X = (rng.random((9, len(bins))) < 0.3).astype(np.uint8)
    for w in (ga.archr_weights(bins, genes), ga.signac_weights(bins, genes)):
        dense = X.astype(np.float64) @ w.dense().T
        assert np.allclose(ga.activity_scores(X, w), dense, rtol=1e-12, atol=1e-9)
        # small chunks (7 and 1 nonzeros): genes split across chunks
        assert np.allclose(ga.activity_scores(X, w, max_chunk_bytes=8 * 9 * 7), dense, rtol=1e-12, atol=1e-9)
        assert np.allclose(ga.activity_scores(X, w, max_chunk_bytes=1), dense, rtol=1e-12, atol=1e-9)
        rows = np.array([7, 2, 2, 0])
        assert np.allclose(ga.activity_scores(X, w, rows=rows), dense[rows], rtol=1e-12, atol=1e-9)
    with pytest.raises(InputError, match="bins"):
        ga.activity_scores(X[:, :-1], w)


# ---------------------------------------------------------------- per-gene linear fit

def test_per_gene_linear_recovers_planted_lines_and_falls_back_to_the_mean():
    rng = np.random.default_rng(11)
    n, g = 12, 40
    scores = rng.gamma(2.0, 3.0, (n, g))
    scores[:, 5] = 4.2  # constant score
    scores[:, 6] = 0.0  # no weights at all
    a, b = rng.normal(0, 2, g), rng.normal(0, 1, g)
    Y = a + b * scores
    Y[:, 5] += rng.normal(0, 1, n)
    Y[:, 6] += rng.normal(0, 1, n)
    fit = ga.PerGeneLinear().fit(scores, Y)
    varying = np.setdiff1d(np.arange(g), [5, 6])
    assert np.allclose(fit.slope_[varying], b[varying], rtol=1e-10, atol=1e-10)
    assert np.allclose(fit.intercept_[varying], a[varying], rtol=1e-10, atol=1e-10)
    assert fit.constant_.tolist() == [i in (5, 6) for i in range(g)]
    assert fit.slope_[5] == 0 and fit.slope_[6] == 0
    new = rng.gamma(2.0, 3.0, (3, g))
    pred = fit.predict(new)
    assert np.allclose(pred[:, 5], Y[:, 5].mean()) and np.allclose(pred[:, 6], Y[:, 6].mean())
    assert np.allclose(pred[:, varying], (a + b * new)[:, varying])


def test_per_gene_linear_reads_only_the_rows_given():
    rng = np.random.default_rng(13)
    scores, Y = rng.random((10, 6)), rng.random((10, 6))
    rows = np.array([0, 3, 4, 8])
    ref = ga.PerGeneLinear().fit(scores[rows], Y[rows])
    fit = ga.PerGeneLinear().fit(scores, Y, rows=rows)
    assert np.allclose(fit.slope_, ref.slope_) and np.allclose(fit.intercept_, ref.intercept_)
    Y2, scores2 = Y.copy(), scores.copy()
    others = np.setdiff1d(np.arange(10), rows)
    Y2[others], scores2[others] = 1e6, -1e6
    again = ga.PerGeneLinear().fit(scores2, Y2, rows=rows)
    assert np.array_equal(again.slope_, fit.slope_) and np.array_equal(again.intercept_, fit.intercept_)
    one = ga.PerGeneLinear().fit(scores, Y, rows=np.array([2]))  # one sample: its value
    assert np.allclose(one.predict(scores), Y[2])


# ---------------------------------------------------------------- the models

@pytest.mark.parametrize("kind", ga.KINDS)
def test_gene_activity_model_predicts_planted_expression_on_held_out_samples(kind):
    rng = np.random.default_rng(17)
    bins, genes = random_geometry(rng)
    X = (rng.random((20, len(bins))) < 0.2).astype(np.uint8)
    model = ga.GeneActivityScores(kind, bins, genes)
    scores = model.scores(X)
    a, b = rng.normal(2, 1, len(genes)), rng.normal(0, 0.1, len(genes))
    Y = a + b * scores
    train, test = np.arange(14), np.arange(14, 20)
    model.fit(X, Y, rows=train)
    pred = model.predict(X, rows=test)
    varies = np.ptp(scores[train], axis=0) > 0
    assert varies.sum() > 10
    assert np.allclose(pred[:, varies], Y[test][:, varies], atol=1e-8)
    # genes without any weighted bin (chromosome 3, or no bin in reach) predict their training mean
    empty = ~model.weights.genes_with_weights()
    assert empty.any()
    assert np.allclose(pred[:, empty], Y[train][:, empty].mean(axis=0))
    # the same as fitting on the subset of rows
    alone = ga.GeneActivityScores(kind, bins, genes).fit(X[train], Y[train])
    assert np.allclose(alone.predict(X[test]), pred)


def test_gene_activity_model_options_and_errors():
    bins, genes = tiles("1", 0, 50_000), gene_table([("G", "1", 10_000, 12_000, "+"), ("H", "1", 30_000, 31_000, "-")])
    with pytest.raises(InputError, match="kind"):
        ga.GeneActivityScores("cicero", bins, genes)
    model = ga.GeneActivityScores("archr", bins, genes, gene_upstream=2000, scale_to=100.0)
    X = np.ones((2, len(bins)), dtype=np.uint8)
    scores = model.scores(X)
    assert np.allclose(scores.sum(axis=1), 100.0)
    assert model.params == {"kind": "archr", "scale_to": 100.0, "gene_upstream": 2000}
    with pytest.raises(InputError, match="targets"):
        model.fit(X, np.zeros((2, 3)))
    assert np.array_equal(ga.scale_scores(np.zeros((1, 2)), 10.0), np.zeros((1, 2)))
