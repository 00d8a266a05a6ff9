"""atac2expr.link_scores: the activity-by-contact score against an independent computation, its normalisation and
contact parameters, binary activity, the cross-sample evidence (correlations, p-values calibrated under a null, no
significant links with shuffled labels, the planted bins found), the combiner and the evidence in the model file."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch
from planted import derangement, evidence_of, generated_dataset, layout_of, link_precision, make_planted, model_settings, reference_of

from atac2expr import link_scores
from atac2expr.cli import InputError
from atac2expr.modelling import model_file, predictors


def small_case(seed: int = 0, n_genes: int = 6):
    """Bins of two chromosomes, a sparse random activity and genes on both strands (one on a chromosome without bins)."""
    rng = np.random.default_rng(seed)
    layout = layout_of("chr1:1-400000,chr2:1-150000", 1000)
    bins = layout.bins()
    activity = np.where(rng.random(len(bins)) < 0.15, rng.lognormal(2, 1, len(bins)), 0.0).astype(np.float32)
    rows = rng.choice(len(bins), n_genes, replace=False)
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n_genes)], "gene_name": [f"G{i}" for i in range(n_genes)], "gene_biotype": "",
                          "chrom": bins["chrom"].to_numpy()[rows], "start": bins["start"].to_numpy()[rows] + 300,
                          "end": bins["start"].to_numpy()[rows] + 301, "strand": np.where(np.arange(n_genes) % 2, "-", "+"),
                          "tss": bins["start"].to_numpy()[rows] + 300})
    genes.loc[n_genes - 1, "chrom"] = "3"  # no bins there: no candidates
    return bins, genes, activity


def brute_force_abc(bins, genes, activity, gamma, min_distance, max_distance, reach) -> dict[tuple[int, int], float]:
    """ABC of every (gene, open bin within reach) pair, one pair at a time."""
    centre = (bins["start"].to_numpy() + bins["end"].to_numpy()) // 2
    chrom = bins["chrom"].to_numpy(str)
    out = {}
    for g, gene in genes.iterrows():
        same = chrom == str(gene["chrom"])
        distance = np.abs(centre - gene["tss"])
        contact = np.maximum(distance, min_distance).astype(float) ** -gamma
        denominator = sum(activity[b] * contact[b] for b in np.flatnonzero(same & (activity > 0) & (distance <= max_distance)))
        for b in np.flatnonzero(same & (activity > 0) & (distance <= reach)):
            out[(g, int(b))] = activity[b] * contact[b] / denominator
    return out


@pytest.mark.parametrize("gamma, min_distance, max_distance, reach", [(0.87, 5000, 5_000_000, 250_000), (1.0, 2000, 60_000, 100_000),
                                                                      (0.0, 1, 500_000, 500_000)])
def test_abc_equals_an_independent_computation(gamma, min_distance, max_distance, reach):
    bins, genes, activity = small_case()
    contact = link_scores.ContactModel(gamma, min_distance, max_distance)
    pairs = link_scores.sample_features(activity, link_scores.Positions(bins, genes), contact, reach, None)
    expected = brute_force_abc(bins, genes, activity, gamma, min_distance, max_distance, reach)
    found = {(int(g), int(b)): a for g, b, a in zip(pairs.gene, pairs.bin, pairs.abc, strict=True)}
    assert set(found) == set(expected) and len(found) > 50
    assert np.allclose([found[k] for k in expected], [expected[k] for k in expected], rtol=1e-12)
    assert not (pairs.gene == len(genes) - 1).any()  # the gene on a chromosome without bins has no candidates
    assert (np.diff(pairs.gene) >= 0).all()


def test_abc_sums_to_one_over_a_genes_candidates_within_the_normalisation_range():
    bins, genes, activity = small_case(seed=3)
    contact = link_scores.ContactModel(0.87, 5000, 200_000)
    pairs = link_scores.sample_features(activity, link_scores.Positions(bins, genes), contact, 200_000, None)
    totals = pd.Series(pairs.abc).groupby(pairs.gene).sum()
    assert len(totals) == len(genes) - 1 and np.allclose(totals, 1.0)
    # a reach shorter than the range: the same scores, fewer of them (normalised over the range, not the reach)
    shorter = link_scores.sample_features(activity, link_scores.Positions(bins, genes), contact, 50_000, None)
    full = {(g, b): a for g, b, a in zip(pairs.gene, pairs.bin, pairs.abc, strict=True)}
    assert all(np.isclose(full[(g, b)], a) for g, b, a in zip(shorter.gene, shorter.bin, shorter.abc, strict=True))
    assert pd.Series(shorter.abc).groupby(shorter.gene).sum().max() < 1


def test_gamma_zero_makes_abc_the_share_of_activity():
    bins, genes, activity = small_case(seed=5)
    pairs = link_scores.sample_features(activity, link_scores.Positions(bins, genes), link_scores.ContactModel(0.0, 1, 10_000_000), 10_000_000,
                                        None)
    share = activity[pairs.bin] / pd.Series(activity[pairs.bin]).groupby(pairs.gene).transform("sum").to_numpy()
    assert np.allclose(pairs.abc, share)


def test_counts_between_the_bin_and_the_tss():
    layout = layout_of("chr1:1-20000", 1000)
    bins = layout.bins()
    activity = np.zeros(len(bins), dtype=np.float32)
    activity[[2, 5, 6, 9, 15]] = [1, 2, 3, 4, 5]
    genes = pd.DataFrame({"gene_id": ["A", "B", "C"], "gene_name": ["A", "B", "C"], "gene_biotype": "", "chrom": "1",
                          "start": [9500, 3500, 12500], "end": [9501, 3501, 12501], "strand": "+", "tss": [9500, 3500, 12500]})
    pairs = link_scores.sample_features(activity, link_scores.Positions(bins, genes), link_scores.ContactModel(0.87, 5000, 100_000), 100_000,
                                        None)
    features = pd.DataFrame(pairs.features, columns=link_scores.FEATURES).assign(gene=pairs.gene, bin=pairs.bin)
    a = features[features["gene"] == 0].set_index("bin")
    # gene A's TSS is in bin 9: bin 2 has bins 5 and 6 open between, and gene B's TSS (3,500); bin 15 has none of either
    assert np.expm1(a.loc[2, "open_between"]) == pytest.approx(2) and np.expm1(a.loc[2, "tss_between"]) == pytest.approx(1)
    assert np.expm1(a.loc[15, "open_between"]) == pytest.approx(0) and np.expm1(a.loc[15, "tss_between"]) == pytest.approx(1)
    # nearby: the other open bins within 5 kb of bin 5 are 2, 6 and 9
    assert np.expm1(a.loc[5, "nearby_open"]) == pytest.approx(3)
    quantile = link_scores.mid_quantiles(activity[activity > 0])
    assert np.expm1(a.loc[5, "nearby_activity"]) == pytest.approx(quantile[[0, 2, 3]].sum())
    assert a.loc[9, "activity"] == pytest.approx(0.7) and np.allclose(a["promoter_activity"], 0.7)  # bin 9 at the TSS


def test_binary_activity_flattens_the_activity_features_and_keeps_the_contact():
    bins, genes, activity = small_case(seed=7)
    binary = (activity > 0).astype(np.float32)
    contact = link_scores.ContactModel(0.87, 5000, 5_000_000)
    pairs = link_scores.sample_features(binary, link_scores.Positions(bins, genes), contact, 250_000, None)
    features = pd.DataFrame(pairs.features, columns=link_scores.FEATURES)
    assert (features["activity"] == 0.5).all() and set(features["promoter_activity"]) <= {0.0, 0.5}
    expected = brute_force_abc(bins, genes, binary, 0.87, 5000, 5_000_000, 250_000)
    assert np.allclose(pairs.abc, [expected[(int(g), int(b))] for g, b in zip(pairs.gene, pairs.bin, strict=True)])
    assert "no signalValue" in link_scores.activity_note("binary")
    assert list(link_scores.mid_quantiles(np.array([3.0, 1.0, 3.0, 2.0]))) == [0.75, 0.125, 0.75, 0.375]


def test_activity_features_do_not_depend_on_the_signals_scale():
    bins, genes, activity = small_case(seed=11)
    positions = link_scores.Positions(bins, genes)
    contact = link_scores.ContactModel(0.87, 5000, 5_000_000)
    one = link_scores.sample_features(activity, positions, contact, 250_000, None)
    scaled = link_scores.sample_features(activity * 37.5, positions, contact, 250_000, None)
    assert np.allclose(one.features, scaled.features) and np.allclose(one.abc, scaled.abc)


# ---------------------------------------------------------------- cross-sample evidence

def test_evidence_correlations_are_pearsons_of_the_logs():
    ds = make_planted(n_samples=14, n_genes=8, bin_value="signal", seed=4)
    evidence = link_scores.compute_evidence(ds.activity, ds.Y, ds.bins, ds.genes, 30_000, seed=1, min_stored=0.0)
    gene = np.repeat(np.arange(evidence.n_genes), np.diff(evidence.gene_start))
    assert len(gene) == evidence.tested > 100
    for g, b, r in list(zip(gene, evidence.bin, evidence.correlation, strict=True))[::17]:
        expected = np.corrcoef(np.log1p(ds.activity[:, b].astype(np.float64)), np.log1p(ds.Y[:, g]))[0, 1]
        assert r == pytest.approx(expected, abs=1e-5)
    assert np.allclose(evidence.expression_mean, np.log1p(ds.Y).mean(axis=0), atol=1e-6)
    assert np.allclose(evidence.expression_breadth, (ds.Y >= 1).mean(axis=0))
    correlation, fdr = evidence.lookup(gene[:5], evidence.bin[:5], ds.layout.n_bins)
    assert np.allclose(correlation, evidence.correlation[:5]) and np.allclose(fdr, evidence.fdr[:5])
    none = evidence.lookup(np.array([0]), np.array([ds.layout.n_bins - 1]), ds.layout.n_bins)  # far from gene 0
    assert none[0][0] == 0 and none[1][0] == 1


def null_data(seed: int, n_samples: int = 14, n_bins: int = 3000, n_genes: int = 60):
    """Activity and expression drawn independently, as discrete as real data: bins open in 1 to all samples with a
    lognormal signal, genes silent in some samples."""
    rng = np.random.default_rng(seed)
    layout = layout_of(f"chr1:1-{n_bins * 1000}", 1000)
    bins = layout.bins()
    open_in = rng.integers(1, n_samples + 1, n_bins)
    activity = np.zeros((n_samples, n_bins), dtype=np.float32)
    for b in range(n_bins):
        activity[rng.choice(n_samples, open_in[b], replace=False), b] = rng.lognormal(2, 1, open_in[b])
    tpm = np.where(rng.random((n_samples, n_genes)) < rng.uniform(0.05, 1, n_genes), rng.lognormal(2, 1.5, (n_samples, n_genes)), 0.0)
    tss = np.sort(rng.choice(n_bins * 1000, n_genes, replace=False))
    genes = pd.DataFrame({"gene_id": [f"G{i}" for i in range(n_genes)], "gene_name": [f"G{i}" for i in range(n_genes)], "gene_biotype": "",
                          "chrom": "1", "start": tss, "end": tss + 1, "strand": "+", "tss": tss})
    return activity, tpm, bins, genes


def test_p_values_are_calibrated_when_activity_and_expression_are_independent():
    """Under the null, the share of pairs with p <= alpha is about alpha (a little under: p counts ties in its |r| bin
    as at least as extreme), although many pairs are as discrete as a bin open in one sample."""
    shares = []
    for seed in range(3):
        activity, tpm, bins, genes = null_data(seed)
        evidence = link_scores.compute_evidence(activity, tpm, bins, genes, 400_000, seed=seed, min_stored=0.0)
        assert evidence.tested > 20_000
        shares.append([(evidence.p_value <= alpha).mean() for alpha in (0.01, 0.05, 0.1, 0.25, 0.5)])
    mean = np.mean(shares, axis=0)
    for alpha, share in zip((0.01, 0.05, 0.1, 0.25, 0.5), mean, strict=True):
        assert 0.6 * alpha <= share <= 1.15 * alpha + 0.002, (alpha, share)


def test_a_single_pooled_null_would_not_be_calibrated():
    """Why the null is stratified: pairs of a bin open in one sample and a gene expressed in one reach r = 1 by chance;
    their p-values must stay large (about 1 in n), not those of the continuous pairs' tail."""
    activity, tpm, bins, genes = null_data(5, n_bins=4000)
    evidence = link_scores.compute_evidence(activity, tpm, bins, genes, 400_000, seed=5, min_stored=0.0)
    perfect = np.abs(evidence.correlation) > 0.999
    assert perfect.any() and (evidence.p_value[perfect] > 0.01).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_labels_give_no_significant_links(tmp_path_factory, seed):
    """The planted data with each sample's expression given to another: no pair at FDR 0.1; with the true labels, the
    significant pairs are the planted regulatory bins far above chance."""
    folder = tmp_path_factory.getbasetemp() / "generated"
    ds, regulatory = generated_dataset(generated(folder))
    shuffled = link_scores.compute_evidence(ds.activity, ds.Y[derangement(len(ds.samples), seed)], ds.bins, ds.genes, 250_000, seed=seed)
    assert shuffled.tested > 5_000 and shuffled.significant(0.1) == 0


def generated(folder):
    if not (folder / "samplesheet.csv").exists():
        import make_test_data

        assert make_test_data.main(["--outdir", str(folder)]) == 0
    return folder


def test_true_labels_find_the_planted_bins(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "generated"
    ds, regulatory = generated_dataset(generated(folder))
    evidence = link_scores.compute_evidence(ds.activity, ds.Y, ds.bins, ds.genes, 250_000, seed=1)
    significant = evidence.fdr <= 0.05
    gene = np.repeat(np.arange(evidence.n_genes), np.diff(evidence.gene_start))[significant]
    table = pd.DataFrame({"gene_id": ds.genes["gene_id"].to_numpy()[gene], "chrom": ds.bins["chrom"].to_numpy()[evidence.bin[significant]],
                          "start": ds.bins["start"].to_numpy()[evidence.bin[significant]]})
    found = link_precision(table, regulatory, ds.bins, ds.genes, 250_000)
    planted = set(zip(regulatory["gene_id"], regulatory["chrom"].astype(str), regulatory["bin_start"], strict=True))
    called = set(zip(table["gene_id"], table["chrom"].astype(str), table["start"], strict=True))
    in_reach = {p for p in planted if p[0] in set(ds.genes["gene_id"])}
    recall = len(in_reach & called) / len(in_reach)
    print(f"\nplanted data: {int(significant.sum())} of {evidence.tested} pairs at FDR 0.05; precision {found['precision']:.3f} "
          f"(chance {found['chance']:.4f}), {recall:.0%} of the planted pairs")
    # a program's bins follow every gene of the program, so correlation finds them beside each gene's own
    assert found["precision"] > 5 * found["chance"] and recall > 0.5


# ---------------------------------------------------------------- the combiner

def test_the_shipped_combiner_reads_the_features_computed_and_records_its_heldout_ap():
    combiner = link_scores.Combiner.read(link_scores.COMBINER)
    assert combiner.features == link_scores.FEATURES and len(combiner.heldout) >= 20
    provenance = combiner.provenance
    heldout = provenance["heldout_chromosome_metrics"]["AP"]
    baselines = [m["AP"] for m in provenance["baselines_same_pairs"].values()]
    assert len(baselines) == 3 and heldout >= max(baselines) + 0.05  # what make bench-crispr checks on a run
    X = np.zeros((3, len(link_scores.FEATURES)))
    everywhere = combiner.score(X)
    on_two = combiner.score(X, np.array(["2", "2", "nowhere"]))
    assert np.allclose(on_two[2], everywhere[2]) and np.allclose(on_two[:2], combiner.heldout["2"].probability(X[:2]))
    assert ((everywhere > 0) & (everywhere < 1)).all()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(features=d["features"][:-1]), "the combiner reads features"),
    (lambda d: d["model"].update(sd=[0.0] * len(d["model"]["sd"])), "positive sds"),
    (lambda d: d.pop("model"), "not a link score combiner"),
])
def test_a_damaged_combiner_is_refused_in_one_line(tmp_path, change, message):
    data = json.loads(link_scores.COMBINER.read_text())
    change(data)
    path = tmp_path / "combiner.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as err:
        link_scores.Combiner.read(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_fitting_recovers_a_known_logistic_model():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 3))
    y = rng.random(20_000) < 1 / (1 + np.exp(-(-2 + X @ np.array([1.0, -0.5, 0.0]))))
    model = link_scores.fit_logistic(X, y, penalty=1.0)
    assert np.allclose(model.coefficients / model.sd, [1.0, -0.5, 0.0], atol=0.08)


# ---------------------------------------------------------------- the evidence in the model file

@pytest.fixture(scope="module")
def saved_with_evidence(tmp_path_factory):
    ds = make_planted(n_samples=10, n_genes=5, region="chr1:1-60000", bin_value="signal")
    predictor = predictors.make("tss_window", model_settings(target_transform="none"), predictors.Geometry.of(ds))
    predictor.fit(ds.X, ds.Y)
    evidence = evidence_of(ds, reach=30_000)
    path = tmp_path_factory.mktemp("evidence") / "model.pt"
    model_file.save(path, predictor, list(ds.samples), reference_of(ds, ds.Y), evidence)
    return ds, evidence, path


def test_every_model_file_keeps_the_evidence(saved_with_evidence):
    ds, evidence, path = saved_with_evidence
    loaded, _ = model_file.load(path)
    assert loaded.evidence is not None and loaded.evidence.reach == 30_000 and loaded.evidence.n_samples == 10
    assert np.array_equal(loaded.evidence.bin, evidence.bin) and np.array_equal(loaded.evidence.gene_start, evidence.gene_start)
    assert np.allclose(loaded.evidence.correlation, evidence.correlation, atol=1e-3) and np.allclose(loaded.evidence.fdr, evidence.fdr)
    assert torch.load(path, weights_only=True)["meta"]["evidence"]["pairs_kept"] == len(evidence.bin)


@pytest.mark.parametrize("change, message", [
    (lambda e: e.pop("fdr"), "lacks fdr"),
    (lambda e: e.update(bin=e["bin"] + 10_000), "bin rows outside"),
    (lambda e: e.update(correlation=e["correlation"][:-1]), "correlation has"),
    (lambda e: e.update(expression_sd=torch.full_like(e["expression_sd"], float("nan"))), "NaN"),
    (lambda e: e.update(gene_start=e["gene_start"].flip(0)), "gene_start"),
])
def test_damaged_evidence_is_refused_naming_it(saved_with_evidence, tmp_path, change, message):
    _, _, path = saved_with_evidence
    payload = copy.deepcopy(torch.load(path, weights_only=True))
    change(payload["evidence"])
    crafted = tmp_path / "crafted.pt"
    torch.save(payload, crafted)
    with pytest.raises(InputError, match=message) as err:
        model_file.load(crafted)
    assert "model file field 'evidence'" in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- the scripts: each training sample's links, a model's links

@pytest.fixture(scope="module")
def mixed_dataset(tmp_path_factory):
    """A planted dataset whose first sample's peaks had no signalValue (binary activity), saved."""
    ds = make_planted(n_samples=12, n_genes=6, region="chr1:1-120000,chr2:1-60000", bin_value="signal", seed=2)
    activity = ds.activity.copy()
    activity[0] = (activity[0] > 0).astype(np.float32)
    kinds = np.array(["binary"] + ["signal"] * 11)
    mixed = dataset_with_activity(ds, activity, kinds)
    path = tmp_path_factory.mktemp("mixed") / "dataset.npz"
    from atac2expr import dataset as dataset_module

    dataset_module.save_dataset(mixed, path)
    return mixed, path


def dataset_with_activity(ds, activity, kinds):
    from atac2expr import dataset as dataset_module

    return dataset_module.Dataset(ds.X, ds.Y, ds.samples, ds.layout, ds.genes, ds.bin_value, kinds, activity)


def test_each_training_samples_links_are_its_best_scored_open_bins(mixed_dataset, tmp_path, capfd):
    from planted import CHROM_SIZES, link_args

    from atac2expr.commands import sample_links

    ds, path = mixed_dataset
    assert sample_links.main(["--dataset", str(path), "--chrom_sizes", str(CHROM_SIZES), "--outdir", str(tmp_path), "--seed", "1",
                              *link_args(links_top=3, links_max_distance=50_000)]) == 0
    from atac2expr import links

    table = links.read_links(tmp_path / "links.tsv.gz")
    assert list(table.columns) == ["sample", "gene_id", "gene_name", "chrom", "start", "end", "tss", "distance", "score", "abc", "correlation",
                                   "fdr", "rank"]
    assert list(table["sample"].unique()) == list(ds.samples) and (table.groupby(["sample", "gene_id"])["rank"].max() <= 3).all()
    combiner = link_scores.Combiner.read(link_scores.COMBINER)
    evidence = evidence_of(ds, reach=50_000)
    for row, sample in enumerate(ds.samples[:3]):
        pairs = link_scores.score_sample(ds.activity[row], link_scores.Positions(ds.bins, ds.genes), link_scores.ContactModel(0.87, 5000, 5_000_000),
                                         50_000, evidence, combiner)
        best = pd.Series(pairs.score).groupby(ds.genes["gene_id"].to_numpy()[pairs.gene]).max()
        own = table[(table["sample"] == sample) & (table["rank"] == 1)].set_index("gene_id")["score"]
        assert len(own) == len(best) and np.allclose(own.sort_index(), best.sort_index())
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["samples"][str(ds.samples[0])]["activity"] == "binary" and scores["evidence"]["training_samples"] == 12
    assert all((tmp_path / f"{s}.bw").exists() for s in ds.samples)
    assert f"{ds.samples[0]}: activity from open/closed: the peaks have no signalValue" in capfd.readouterr().err


def test_a_models_links_carry_the_score_and_links_top_0_keeps_every_scored_bin(mixed_dataset, tmp_path):
    from planted import CHROM_SIZES, evaluation_settings, link_args, model_settings

    from atac2expr import links
    from atac2expr.commands import links as links_script

    ds, path = mixed_dataset
    common = ["--dataset", str(path), "--model", "ridge", "--chrom_sizes", str(CHROM_SIZES), "--links_genes", "0", "--threads", "1",
              *model_settings().cli_args(), *evaluation_settings().cli_args()]
    assert links_script.main([*common, "--outdir", str(tmp_path / "top"), *link_args(links_top=2, links_max_distance=50_000)]) == 0
    top = links.read_links(tmp_path / "top" / "ridge.links.tsv.gz")
    assert (top.groupby("gene_id")["rank"].max() <= 2).all() and top["score"].between(0, 1).all()
    assert links_script.main([*common, "--outdir", str(tmp_path / "all"), *link_args(links_top=0, links_max_distance=50_000)]) == 0
    every = links.read_links(tmp_path / "all" / "ridge.links.tsv.gz")
    pooled_open = ds.activity.mean(axis=0) > 0
    centre = ((ds.bins["start"] + ds.bins["end"]) // 2).to_numpy()
    candidates = {(g, int(b)) for g, t, c in zip(ds.genes["gene_id"], ds.genes["tss"], ds.genes["chrom"], strict=True)
                  for b in np.flatnonzero(pooled_open & (np.abs(centre - t) <= 50_000) & (ds.bins["chrom"].to_numpy() == c))}
    position = ds.bins.reset_index().set_index(["chrom", "start"])["index"]
    rows = {(g, int(position.loc[(c, s)])) for g, c, s in zip(every["gene_id"], every["chrom"], every["start"], strict=True)}
    assert candidates <= rows  # every open bin within reach, scored, whatever its weight
    assert set(map(tuple, top[["gene_id", "start"]].to_numpy())) <= set(map(tuple, every[["gene_id", "start"]].to_numpy()))
    assert links_script.main([*common, "--outdir", str(tmp_path / "fdr"), *link_args(links_top=0, links_max_distance=50_000, links_fdr=0.05)]) == 0
    significant = links.read_links(tmp_path / "fdr" / "ridge.links.tsv.gz")
    assert (significant["fdr"] <= 0.05).all() and len(significant) < len(every)


def test_mean_activity_read_a_sample_at_a_time_equals_the_matrix_mean(mixed_dataset):
    from atac2expr import dataset as dataset_module

    ds, path = mixed_dataset
    assert np.allclose(dataset_module.mean_activity(path), ds.activity.mean(axis=0, dtype=np.float64))
