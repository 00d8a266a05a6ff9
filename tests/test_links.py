"""Links: each model's rule (coefficients, exact integrated gradients), the top bins per gene, the table and the
browser files read back (interact and BEDPE by their parsers, bigWig by pyBigWig), and the links' precision against
the generator's planted regulatory bins, with a shuffled-label control."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import planted
import pyBigWig
import pytest
import torch

from atac2expr import dataset, links, targets
from atac2expr.cli import InputError
from atac2expr.formats import LINKS
from atac2expr.modelling import attribution, mlp, predictors
from atac2expr.regions import read_chrom_sizes
from conftest import REPO

SIZES = read_chrom_sizes(REPO / "assets" / "GRCh38.chrom.sizes")


def fitted(kind: str, ds, **settings) -> predictors.Predictor:
    predictor = predictors.make(kind, planted.model_settings(**settings), predictors.Geometry.of(ds), planted.evaluation_settings())
    predictor.fit(ds.X, targets.transform_targets(ds.Y, "log1p"))
    return predictor


@pytest.fixture(scope="module")
def small():
    return planted.make_planted(n_samples=20, n_genes=8, region="chr1:1-60000,chr2:1-30000", p_background=0.2)


# ---------------------------------------------------------------- ranking and distance

def test_top_links_keeps_the_strongest_per_group_ties_to_the_nearer_bin():
    group = np.array([0, 0, 0, 0, 1, 1, 2])
    weight = np.array([0.5, -2.0, 0.5, 0.0, 1.0, np.nan, 0.0])
    distance = np.array([30, 10, 20, 0, 5, 1, 0])
    keep, rank = links.top_links(group, weight, distance, top=2)
    assert list(keep) == [1, 2, 4] and list(rank) == [1, 2, 1]  # |-2| first; of the tied 0.5s the nearer; no zero or NaN
    keep, rank = links.top_links(group, weight, distance, top=0)  # every non-zero, finite weight, ranked
    assert list(keep) == [1, 2, 0, 4] and list(rank) == [1, 2, 3, 1]
    with pytest.raises(InputError, match="--links_top -1: must be at least 0"):
        links.top_links(group, weight, distance, top=-1)


def test_signed_distance_is_strand_aware():
    # a bin centred 1.5 kb past the TSS: downstream on +, upstream on -
    assert list(links.signed_distance(np.array([2000, 2000]), np.array([3000, 3000]), np.array([1000, 1000]), np.array([False, True]))) == [1500, -1500]


def test_candidates_are_the_bins_near_each_tss_on_its_chromosome(small):
    geometry = predictors.Geometry.of(small)
    pairs = predictors.CisPairs.of(geometry, 2500)
    bins, genes = geometry.bins, geometry.genes
    for g in range(len(genes)):
        mine = pairs.bin[pairs.gene == g]
        tss = genes["tss"][g]
        expected = np.flatnonzero((bins["chrom"] == genes["chrom"][g]) & (bins["end"] > tss - 2500) & (bins["start"] < tss + 2501))
        assert list(mine) == list(expected)
    assert (pairs.distance <= 3000).all()


# ---------------------------------------------------------------- the rules

def test_integrated_gradients_are_exact():
    """Completeness (they sum to f(x) - f(0)) and agreement with the path integral taken in 4000 steps."""
    torch.manual_seed(0)
    network = mlp.MLPNetwork(30, 4, 16)
    X = (np.random.default_rng(0).random((5, 30)) < 0.5).astype(np.float64)
    W1, b1, W2 = (t.detach().double().numpy() for t in (network.net[0].weight, network.net[0].bias, network.net[3].weight))
    ig = attribution.integrated_gradients(X, W1, b1, W2)
    with torch.no_grad():
        f = network(torch.tensor(X, dtype=torch.float32)).double().numpy() - network(torch.zeros(1, 30)).double().numpy()
    assert np.allclose(ig.sum(axis=2), f, atol=1e-5)
    x = torch.tensor(X[0], dtype=torch.float64)
    steps = (np.arange(4000) + 0.5) / 4000
    path = torch.stack([a * x for a in steps]).requires_grad_(True)
    network.double()(path)[:, 2].sum().backward()
    assert np.allclose(X[0] * path.grad.mean(axis=0).numpy(), ig[0, 2], atol=1e-4)


def test_active_fraction_on_every_case():
    a = np.array([2.0, 2.0, -2.0, -2.0, 0.0, 0.0, 1.0])
    c = np.array([-1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -3.0])
    assert list(attribution.active_fraction(a, c)) == [0.5, 1.0, 0.5, 0.0, 1.0, 0.0, 0.0]


def test_linear_models_links_are_their_coefficients(small):
    """ridge's primal weights give its predictions; archr's and signac's slope x weight give theirs."""
    X = small.X.astype(np.float64)
    n_genes, n_bins = len(small.genes), small.layout.n_bins
    every = predictors.CisPairs(np.repeat(np.arange(n_genes), n_bins), np.tile(np.arange(n_bins), n_genes), np.zeros(n_genes * n_bins))
    for kind in ("ridge", "archr", "signac"):
        predictor = fitted(kind, small)
        pairs = every  # ridge weighs the bins of other chromosomes too
        coef = np.zeros((len(small.genes), small.layout.n_bins))
        coef[pairs.gene, pairs.bin] = predictor.coefficients(pairs)
        predicted = predictor.predict(small.X)
        # a linear model: moving from one sample to another changes each prediction by coef . (x' - x)
        assert np.allclose(predicted - predicted[0], (X - X[0]) @ coef.T, atol=1e-8), kind
        per_sample = predictor.sample_link_weights(pairs, small.X[:3])
        assert np.allclose(per_sample, coef[pairs.gene, pairs.bin] * X[:3][:, pairs.bin])


def test_ridge_primal_weights_equal_the_primal_solution():
    rng = np.random.default_rng(1)
    X = (rng.random((12, 40)) < 0.4).astype(np.uint8)
    Y = rng.standard_normal((12, 3))
    ridge = predictors.KernelRidge(2.0).fit(X, Y)
    Xc = X - X.mean(axis=0)
    primal = np.linalg.solve(Xc.T @ Xc + 2.0 * np.eye(40), Xc.T @ (Y - Y.mean(axis=0)))
    gene, bin_ = np.repeat(np.arange(3), 40), np.tile(np.arange(40), 3)
    assert np.allclose(ridge.primal_weights(gene, bin_, chunk=7), primal.T.reshape(-1))


def test_network_links_are_mean_integrated_gradients(small):
    """The MLP's links: the dense integrated gradients averaged over samples; per sample: that sample's own, which sum
    (over every bin) to its prediction minus the prediction with every bin closed."""
    predictor = fitted("mlp", small, epochs=20)
    pairs = predictors.CisPairs.of(predictor.geometry, 10**8)
    W1, b1, W2 = predictor._layers()
    dense = attribution.integrated_gradients(small.X, W1, b1, W2)  # samples x genes x bins
    assert np.allclose(predictor.link_weights(pairs, small.X), dense.mean(axis=0)[pairs.gene, pairs.bin])
    per_sample = predictor.sample_link_weights(pairs, small.X[:2])
    assert np.allclose(per_sample, dense[:2][:, pairs.gene, pairs.bin])
    closed = predictor.predict(np.zeros((1, small.layout.n_bins), dtype=np.uint8))
    sums = np.zeros((2, len(small.genes)))
    np.add.at(sums, (slice(None), pairs.gene), per_sample)
    # every bin of the two planted chromosomes is a candidate of every gene there: the sum is the whole attribution
    for g, chrom in enumerate(small.genes["chrom"]):
        on_chrom = (small.bins["chrom"] == chrom).to_numpy()
        others = dense[:2, g, ~on_chrom].sum(axis=1)
        assert np.allclose(sums[:, g] + others, predictor.predict(small.X[:2])[:, g] - closed[0, g], atol=1e-4)


@pytest.mark.parametrize("kind", ["tss_window", "local_ridge"])
def test_window_links_complete_to_the_prediction(small, kind):
    """Per sample and gene, the window's links sum to the prediction minus that with the window closed (both models are
    linear in the window's bins); the model's links are its coefficients."""
    predictor = fitted(kind, small)
    pairs = predictors.CisPairs.of(predictor.geometry, 10**8)
    weights = predictor.sample_link_weights(pairs, small.X[:3])
    assert np.abs(weights).max() > 0
    sums = np.zeros((3, len(small.genes)))
    np.add.at(sums, (slice(None), pairs.gene), weights)
    index, _ = predictor.window_index
    closed = small.X[:3].copy()
    closed[:, np.unique(index[index < small.layout.n_bins])] = 0  # every bin of every window closed: f(0) per gene
    assert np.allclose(sums, predictor.predict(small.X[:3]) - predictor.predict(closed), atol=1e-6)
    assert np.array_equal(predictor.link_weights(pairs, small.X), predictor.coefficients(pairs))


def test_links_of_each_model_and_the_mean_has_none(small):
    assert fitted("mean", small).links(small.X, 50_000, 3) is None
    for kind in ("ridge", "archr", "signac", "mlp", "tss_window", "local_ridge", "tss_similarity"):
        found = fitted(kind, small, epochs=5).links(small.X, 50_000, 3)
        assert len(found) and (found.rank <= 3).all() and (found.weight != 0).all(), kind
        table = links.links_table(found, small.genes, small.bins)
        assert list(table.columns) == LINKS.columns
        assert (table["distance"].abs() <= 50_500).all()
        # one sample's links use only its open bins
        own = fitted(kind, small, epochs=5).links(small.X[:1], 50_000, 3, per_sample=True)
        assert (small.X[0, own.bin] == 1).all() and (own.sample == 0).all(), kind


def test_links_in_chunks_of_genes_are_the_same(small, monkeypatch):
    """Genes are weighed a chunk at a time (memory at genome scale): any chunk size gives the same links."""
    for kind in ("ridge", "tss_window", "local_ridge"):
        predictor = fitted(kind, small)
        whole = predictor.links(small.X, 20_000, 4, per_sample=True)
        monkeypatch.setattr(predictors, "LINK_PAIRS", 30)  # one or two genes per chunk
        chunked = predictor.links(small.X, 20_000, 4, per_sample=True)
        monkeypatch.undo()
        key = lambda found: np.lexsort((found.rank, found.gene, found.sample))  # noqa: E731
        for field in ("gene", "bin", "rank", "sample"):
            assert np.array_equal(getattr(whole, field)[key(whole)], getattr(chunked, field)[key(chunked)]), (kind, field)
        assert np.allclose(whole.weight[key(whole)], chunked.weight[key(chunked)], rtol=1e-12, atol=1e-15)  # BLAS blocks differ


# ---------------------------------------------------------------- files, read back

@pytest.fixture(scope="module")
def written(small, tmp_path_factory):
    predictor = fitted("ridge", small)
    table = links.links_table(predictor.links(small.X, 20_000, 4), small.genes, small.bins)
    outdir = tmp_path_factory.mktemp("links")
    paths = links.write_links(table, outdir, "ridge", "ridge links", small.genes, SIZES)
    return table, paths, outdir


def test_table_round_trip(written):
    table, paths, _ = written
    back = links.read_links(paths["links.tsv.gz"])
    pd.testing.assert_frame_equal(back, table)


def test_interact_file_parses_and_matches_the_table(written, small):
    table, paths, _ = written
    first = paths["interact"].read_text().splitlines()[0]
    assert first.startswith("track type=interact ") and 'name="ridge"' in first
    frame = links.read_interact(paths["interact"])
    assert len(frame) == len(table)
    merged = frame.merge(table.assign(chrom=("chr" + table["chrom"])), left_on=["sourceChrom", "sourceStart", "targetStart", "name"],
                         right_on=["chrom", "start", "tss", "gene_name"])
    assert len(merged) == len(table) and np.allclose(merged["value"], merged["weight"])
    assert frame["score"].max() == 1000 and (frame["sourceEnd"] - frame["sourceStart"] <= 1000).all()
    strands = small.genes.set_index("gene_name")["strand"]
    assert (frame["targetStrand"] == frame["name"].map(strands)).all()
    assert set(frame["color"]) <= {links.POSITIVE, links.NEGATIVE}


def test_interact_parser_refuses_broken_files(tmp_path, written):
    _, paths, _ = written
    lines = paths["interact"].read_text().splitlines()
    (tmp_path / "no_track.interact").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(InputError, match="no 'track type=interact' line"):
        links.read_interact(tmp_path / "no_track.interact")
    fields = lines[1].split("\t")
    (tmp_path / "short.interact").write_text(lines[0] + "\n" + "\t".join(fields[:12]) + "\n")
    with pytest.raises(InputError, match="line 2: 12 fields, interact has 18"):
        links.read_interact(tmp_path / "short.interact")
    fields[4] = "5000"
    (tmp_path / "score.interact").write_text(lines[0] + "\n" + "\t".join(fields) + "\n")
    with pytest.raises(InputError, match="score outside 0-1000"):
        links.read_interact(tmp_path / "score.interact")


def test_bedpe_parses_and_matches_the_table(written):
    table, paths, _ = written
    frame = links.read_bedpe(paths["bedpe"])
    assert len(frame) == len(table)
    assert (frame["chrom1"] == "chr" + table["chrom"]).all() and (frame["start1"] == table["start"]).all()
    assert (frame["start2"] == table["tss"]).all() and (frame["end2"] == table["tss"] + 1).all()
    assert np.allclose(frame["score"], table["weight"])


def test_bigwig_holds_the_sum_over_genes_per_bin(written):
    table, paths, _ = written
    handle = pyBigWig.open(str(paths["bw"]))
    try:
        assert handle.isBigWig()
        assert handle.chroms() == {"chr1": SIZES["1"], "chr2": SIZES["2"]}
        expected = table.assign(value=table["weight"].abs()).groupby(["chrom", "start", "end"])["value"].sum()
        for (chrom, start, end), value in expected.items():
            assert handle.values(f"chr{chrom}", int(start), int(end)) == pytest.approx([value] * (end - start), rel=1e-6)
        # a bin without links has no value
        assert np.isnan(handle.values("chr1", 59_000, 59_001)[0]) or (("1", 59_000, 60_000) in expected.index)
    finally:
        handle.close()


def test_gene_tracks_hold_signed_weights(written, tmp_path):
    table, _, _ = written
    gene = table["gene_id"].iloc[0]
    (path,) = links.write_gene_tracks(table, [gene], tmp_path, SIZES)
    handle = pyBigWig.open(str(path))
    try:
        for _, row in table[table["gene_id"] == gene].iterrows():
            assert handle.values(f"chr{row['chrom']}", int(row["start"]), int(row["start"]) + 1)[0] == pytest.approx(row["weight"], rel=1e-6)
        entries = sum(len(handle.intervals(c) or []) for c in handle.chroms())
        assert entries == int((table["gene_id"] == gene).sum())
    finally:
        handle.close()


def test_empty_links_still_make_valid_files(small, tmp_path):
    none = np.zeros(0, dtype=np.int64)
    table = links.links_table(links.Links(none, none, np.zeros(0), none), small.genes, small.bins)
    assert list(table.columns) == LINKS.columns and table.empty
    paths = links.write_links(table, tmp_path, "none", "no links", small.genes, SIZES)
    assert links.read_interact(paths["interact"]).empty and links.read_bedpe(paths["bedpe"]).empty
    handle = pyBigWig.open(str(paths["bw"]))
    assert handle.isBigWig()
    handle.close()


HOSTILE_NAMES = ['say "hi"', '"', "tab\tname", "line\nbreak", "line\u2028sep", "", "GENE X", "GENE_X"]


def test_browser_files_carry_gene_names_unquoted_and_read_back_exactly(written, tmp_path, caplog):
    """Tab-separated, never CSV-quoted: a '"' stays a '"'; a tab or line break (which no field can hold) becomes '_' and
    is logged; the project's readers return exactly the names written."""
    table, _, _ = written
    genes = list(dict.fromkeys(table["gene_id"]))
    names = {g: HOSTILE_NAMES[i % len(HOSTILE_NAMES)] for i, g in enumerate(genes)}
    hostile = table.assign(gene_name=table["gene_id"].map(names))
    with caplog.at_level("WARNING"):
        paths = links.write_links(hostile, tmp_path, "ridge", "ridge links", planted_genes(written), SIZES)
    expected = hostile["gene_name"].map({'say "hi"': 'say "hi"', '"': '"', "tab\tname": "tab_name", "line\nbreak": "line_break",
                                         "line\u2028sep": "line_sep", "": ".", "GENE X": "GENE X", "GENE_X": "GENE_X"})
    interact = links.read_interact(paths["interact"])
    assert len(interact) == len(hostile)
    keys = zip(interact["sourceChrom"], interact["sourceStart"], interact["targetStart"], strict=True)
    written_names = dict(zip(keys, interact["name"], strict=True))
    for row, name in zip(hostile.itertuples(), expected, strict=True):
        assert written_names[(f"chr{row.chrom}", row.start, row.tss)] == name
    assert (interact["name"] == interact["targetName"]).all()
    bedpe = links.read_bedpe(paths["bedpe"])
    assert list(bedpe["name"]) == list(expected)
    text = paths["bedpe"].read_text()
    assert '\tsay "hi"\t' in text and '""' not in text and '"say' not in text
    assert "3 gene name(s) hold a tab, line break or other control character" in caplog.text


def planted_genes(written) -> pd.DataFrame:
    table = written[0]
    return table[["gene_id"]].drop_duplicates().assign(strand="+")


def test_gene_file_names_never_collide():
    ids = ["GENE X", "GENE_X", "gene_x", "A/B", "A_B", "..", "", "x" * 300, "x" * 301, "ENSG00000141510", "MIR21", "mir21", "é", "TP53"]
    names = links.gene_file_names(ids)
    assert len({n.lower() for n in names.values()}) == len(ids)
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") and not n.startswith(".")
               and len(n) <= 120 for n in names.values())
    assert names["ENSG00000141510"] == "ENSG00000141510" and names["TP53"] == "TP53"  # safe and alone: the id itself
    assert names["A_B"].startswith("A_B-") and names["MIR21"].startswith("MIR21-")  # spelt as A/B; as mir21 but for case
    assert names["GENE X"].startswith("GENE_X-") and names["GENE_X"].startswith("GENE_X-")  # gene_x shares its spelling
    assert links.gene_file_names(list(reversed(ids))) == names  # a gene's name does not depend on the order


def test_gene_tracks_of_genes_named_alike_are_separate_files(written, tmp_path):
    table, _, _ = written
    first, second = list(dict.fromkeys(table["gene_id"]))[:2]
    renamed = table.assign(gene_id=table["gene_id"].replace({first: "GENE X", second: "GENE_X"}))
    paths = links.write_gene_tracks(renamed, ["GENE X", "GENE_X"], tmp_path, SIZES)
    assert len(set(paths)) == 2 and all(p.exists() for p in paths)
    for path, gene in zip(paths, ["GENE X", "GENE_X"], strict=True):
        handle = pyBigWig.open(str(path))
        entries = sum(len(handle.intervals(c) or []) for c in handle.chroms())
        handle.close()
        assert entries == int((renamed["gene_id"] == gene).sum())


# ---------------------------------------------------------------- right, not decorative: the planted truth

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """make_test_data.py's peaks and true TPMs (one fragment per sample: the reads are not needed here)."""
    folder = tmp_path_factory.mktemp("generated")
    subprocess.run([sys.executable, str(REPO / "tests" / "make_test_data.py"), "--outdir", str(folder), "--fragments", "1"],
                   check=True, capture_output=True, text=True)
    return planted.generated_dataset(folder)


def nearest_bins(ds, reach: int, top: int) -> pd.DataFrame:
    """The links of a distance-only rule: each gene's bins nearest its TSS (what position alone finds)."""
    pairs = predictors.CisPairs.of(predictors.Geometry.of(ds), reach)
    keep, rank = links.top_links(pairs.gene, 1.0 / (1.0 + pairs.distance), pairs.distance, top)
    return links.links_table(links.Links(pairs.gene[keep], pairs.bin[keep], np.ones(len(keep)), rank), ds.genes, ds.bins)


def test_links_find_the_planted_regulatory_bins_and_shuffled_labels_do_not(generated):
    """Precision of each gene's top links against the bins that drive it in the generator, beside what random bins of
    the same window score (chance), what the bins nearest the TSS score (position alone), and what the same model
    scores when each sample is given another sample's expression (the shuffled-label control)."""
    ds, regulatory = generated
    reach = 250_000
    shuffled = ds.Y[planted.derangement(len(ds.Y), seed=0)]
    tables = {("nearest bins", "planted"): nearest_bins(ds, reach, 3)}
    # the networks' links are scored on the shared end-to-end run (tests/test_pipeline.py): training them here is slow
    for kind in ("ridge", "archr", "signac"):
        for label, Y in (("planted", ds.Y), ("shuffled", shuffled)):
            predictor = predictors.make(kind, planted.model_settings(), predictors.Geometry.of(ds), planted.evaluation_settings())
            predictor.fit(ds.X, targets.transform_targets(Y, "log1p"))
            tables[(kind, label)] = links.links_table(predictor.links(ds.X, reach, 3), ds.genes, ds.bins)
    rows = [{"model": kind, "labels": label, "top": top,
             **planted.link_precision(table[table["rank"] <= top], regulatory, ds.bins, ds.genes, reach)}
            for (kind, label), table in tables.items() for top in (1, 3)]
    result = pd.DataFrame(rows)
    print("\nprecision of the top links against the planted regulatory bins (chance: random bins within 250 kb of the TSS)\n"
          + result.to_string(index=False, float_format="{:.3f}".format))
    at = result.set_index(["model", "labels", "top"])["precision"]
    chance = result.set_index(["model", "labels", "top"])["chance"]
    for kind in ("ridge", "archr", "signac"):
        assert at[(kind, "planted", 3)] > 10 * chance[(kind, "planted", 3)], kind
    # ridge learns its links from the labels: beyond position alone, and gone when the labels are shuffled
    assert at[("ridge", "planted", 1)] > at[("nearest bins", "planted", 1)]
    for top in (1, 3):
        assert at[("ridge", "shuffled", top)] < 0.25 * at[("ridge", "planted", top)]
    # the gene-activity scores rank bins by their fixed distance weights: the labels only scale them, so the control
    # keeps their precision (it is position's, not learnt)
    for kind in ("archr", "signac"):
        assert at[(kind, "shuffled", 3)] == at[(kind, "planted", 3)]


def test_links_script_writes_one_track_and_figure_per_gene_whatever_their_names(tmp_path):
    """bin/links.py with gene ids that differ only in characters unsafe in file names, and names a figure could read as a
    formula: every best gene gets its own track and figure, and the figures draw."""
    from atac2expr.commands import links as links_script

    ds = planted.make_planted(n_samples=12, n_genes=4, region="chr1:1-40000")
    hostile = {"gene_id": ["GENE X", "GENE_X", "gene/x", "ENSG4"], "gene_name": ["a$\\frac$b", 'q"uote', "x$^$y", "tab\tname"]}
    ds = dataset.Dataset(ds.X, ds.Y, ds.samples, ds.layout, ds.genes.assign(**hostile), ds.bin_value)
    dataset.save_dataset(ds, tmp_path / "dataset.npz")
    out = tmp_path / "links"
    assert links_script.main(["--dataset", str(tmp_path / "dataset.npz"), "--model", "ridge", "--chrom_sizes", str(REPO / "assets" / "GRCh38.chrom.sizes"),
                              "--outdir", str(out), *planted.link_args(links_top=3, links_max_distance=20_000), "--links_genes", "4",
                              "--threads", "1", *planted.settings_args(evaluation=True)]) == 0
    best = pd.read_csv(out / "ridge" / "best_genes.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert len(best) == 4 and best["track"].is_unique and best["figure"].is_unique
    assert all((out / f).stat().st_size > 0 for f in [*best["track"], *best["figure"]])
    assert set(best["gene_id"]) == set(hostile["gene_id"]) and set(best["gene_name"]) == set(hostile["gene_name"])


@pytest.mark.parametrize("reach", [0, 999, 20_000, 100_000_000])
def test_the_links_estimate_counts_the_candidate_pairs_a_links_task_weighs(small, reach):
    """settings.links_pairs (CHECK_PARAMS' and LINKS' estimate) counts exactly the pairs CisPairs builds, and no model keeps more
    rows than its bound."""
    from atac2expr.settings import links_pairs

    geometry = predictors.Geometry.of(small)
    pairs, bound = links_pairs(small.layout, small.genes["chrom"].to_numpy(str), small.genes["tss"].to_numpy(), reach, 3)
    assert pairs == len(predictors.CisPairs.of(geometry, reach))
    found = fitted("ridge", small).links(small.X, reach, 3)
    assert len(found) <= bound
