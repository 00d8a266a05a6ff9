"""bin/predict.py (with check_model.py and binarize_peaks.py, as -entry PREDICT runs them): new samples' peaks ->
expression, binned with the model's own layout."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import planted
import pytest
import torch
from planted import ASSEMBLY, CHROM_SIZES, layout_of, link_args, settings_args, write_planted

from atac2expr.commands import binarize_peaks, check_model, predict, train_model
from atac2expr.formats import NEW_SAMPLES, PROMOTER_BASELINE
from atac2expr.modelling import model_file, predictors
from atac2expr.regions import chrom_sizes_checksum, read_chrom_sizes

REGION = "chr1:1-30000,chr2:1-19500"  # chr2's last bin is 500 bp


def write_peaks(path, ds, row, chrom_prefix="chr", extra=""):
    """A BED file whose peaks open exactly the bins open in X[row] (peaks inside the bins); for signal bins a narrowPeak
    file whose signalValue gives each bin its value again."""
    open_bins = ds.bins[ds.X[row] != 0]
    if ds.bin_value == "signal":
        signal = np.expm1(ds.X[row][ds.X[row] != 0].astype(np.float64))
        lines = [f"{chrom_prefix}{c}\t{s + 100}\t{s + 300}\tpeak{i}\t0\t.\t{float(v)!r}\t-1\t-1\t100"
                 for i, (c, s, v) in enumerate(zip(open_bins["chrom"], open_bins["start"], signal, strict=True))]
    else:
        lines = [f"{chrom_prefix}{c}\t{s + 100}\t{s + 300}\tpeak{i}\t0\t." for i, (c, s) in enumerate(zip(open_bins["chrom"], open_bins["start"], strict=True))]
    text = "track name=test\n" + "\n".join(lines) + "\n" + extra
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def train(base, model, bin_value):
    ds = write_planted(base / "dataset.npz", n_samples=10, n_genes=6, region=REGION, bin_value=bin_value)
    assert train_model.main(["--dataset", str(base / "dataset.npz"), "--outdir", str(base / "model"), "--model", model,
                             "--threads", "1", "--max_memory", "0", *ASSEMBLY, "--links_max_distance", "250000",
                             *settings_args(epochs=20, hidden=16)]) == 0
    assert check_model.main(["--model", str(base / "model" / "model.pt"), "--chrom_sizes", str(CHROM_SIZES), "--layout", str(base / "layout.tsv"),
                             "--bin_value_file", str(base / "bin_value.txt"), "--genome", "GRCh38"]) == 0
    insample = pd.read_csv(base / "model" / "predictions.tsv", sep="\t")
    return ds, base, base / "model" / "model.pt", insample


@pytest.fixture(scope="module", params=list(predictors.SAVEABLE))
def trained(request, tmp_path_factory):
    return train(tmp_path_factory.mktemp(f"predict_{request.param}"), request.param, "binary")


@pytest.fixture(scope="module", params=list(predictors.SAVEABLE))
def trained_on_signal(request, tmp_path_factory):
    return train(tmp_path_factory.mktemp(f"predict_signal_{request.param}"), request.param, "signal")


def binarize(peaks, sample, layout, out, bin_value="binary"):
    assert binarize_peaks.main(["--peaks", str(peaks), "--sample", sample, "--layout", str(layout), "--chrom_sizes", str(CHROM_SIZES),
                                "--genome", "GRCh38", "--bin_value", bin_value, "--output", str(out)]) == 0
    return out


def run_predict(model, bins, out):
    return predict.main(["--model", str(model), "--bins", *map(str, bins), "--output", str(out), "--device", "cpu", "--threads", "1"])


def in_sample(table, sample):
    return table[table["sample"] == sample].reset_index(drop=True)


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


def test_check_model_writes_the_training_layout(trained):
    ds, base, _, _ = trained
    assert (base / "layout.tsv").read_text() == "chrom\tstart\tend\tbin_size\n1\t0\t30000\t1000\n2\t0\t19500\t1000\n"
    assert ds.layout == layout_of(REGION)


def test_training_samples_peaks_give_in_sample_predictions(trained, tmp_path):
    ds, base, model, insample = trained
    a = binarize(write_peaks(tmp_path / "a.bed.gz", ds, 0), str(ds.samples[0]), base / "layout.tsv", tmp_path / "a.bins.npz")
    # Ensembl-style names work the same
    b = binarize(write_peaks(tmp_path / "b.narrowPeak", ds, 3, chrom_prefix=""), str(ds.samples[3]), base / "layout.tsv", tmp_path / "b.bins.npz")
    out = tmp_path / "pred.tsv"
    assert run_predict(model, [b, a], out) == 0
    pred = pd.read_csv(out, sep="\t")
    assert list(pred.columns) == ["sample", "gene_id", "gene_name", "predicted", "predicted_tpm"]
    assert list(dict.fromkeys(pred["sample"])) == [ds.samples[0], ds.samples[3]]  # bin files in sorted order
    for sample in (ds.samples[0], ds.samples[3]):
        got, want = in_sample(pred, sample), in_sample(insample, sample)
        assert got["gene_id"].tolist() == want["gene_id"].tolist() == list(ds.genes["gene_id"])
        assert np.allclose(got["predicted"], want["predicted"], rtol=1e-6, atol=1e-6)
        assert np.allclose(got["predicted_tpm"], want["predicted_tpm"], rtol=1e-6, atol=1e-6)


def test_peaks_elsewhere_give_the_prediction_of_closed_bins(trained, tmp_path, capsys):
    ds, base, model, _ = trained
    peaks = tmp_path / "elsewhere.bed"
    peaks.write_text("chr7\t100\t500\nchr8\t100\t900\nchrUn_KI270742v1\t5\t50\n")
    bins = binarize(peaks, "elsewhere", base / "layout.tsv", tmp_path / "e.bins.npz")
    assert "none of its 3 peaks is on a chromosome of the regions" in capsys.readouterr().err
    out = tmp_path / "pred.tsv"
    assert run_predict(model, [bins], out) == 0
    predictor, _ = model_file.load(model)
    expected = planted.predict(predictor, np.zeros((1, ds.layout.n_bins), dtype=np.uint8))[0]
    assert np.allclose(pd.read_csv(out, sep="\t")["predicted"], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("region, bin_size, expected", [
    ("chr1:1-50000", 1000, "binned on 1:1-50000 in 50 bins of 1,000 bp, expected 1:1-30000,2:1-19500 in 50 bins of 1,000 bp"),
    (REGION, 500, "binned on 1:1-30000,2:1-19500 in 99 bins of 500 bp"),
])
def test_bins_of_another_layout_are_refused(trained, tmp_path, capsys, region, bin_size, expected):
    ds, _, model, _ = trained
    layout_of(region, bin_size).write(tmp_path / "other.tsv")
    bins = binarize(write_peaks(tmp_path / "p.bed", ds, 0), "x", tmp_path / "other.tsv", tmp_path / "x.bins.npz")
    capsys.readouterr()
    assert run_predict(model, [bins], tmp_path / "o.tsv") == 2
    error = one_error(capsys)
    assert expected in error and "binarise the peaks again" in error
    assert not (tmp_path / "o.tsv").exists()


def test_not_a_model(trained, tmp_path, capsys):
    _, base, _, _ = trained
    fake = tmp_path / "model.pt"
    fake.write_text("hello")
    peaks = tmp_path / "p.bed"
    peaks.write_text("chr1\t1\t100\n")
    bins = binarize(peaks, "s", base / "layout.tsv", tmp_path / "s.bins.npz")
    capsys.readouterr()
    assert run_predict(fake, [bins], tmp_path / "o.tsv") == 2
    assert one_error(capsys).startswith(f"ERROR: {fake}: not a model file written by train_model")
    assert not (tmp_path / "o.tsv").exists()


def test_one_sample_given_twice(trained, tmp_path, capsys):
    ds, base, model, _ = trained
    p = write_peaks(tmp_path / "p.bed", ds, 0)
    a = binarize(p, "same", base / "layout.tsv", tmp_path / "a.bins.npz")
    b = binarize(p, "same", base / "layout.tsv", tmp_path / "b.bins.npz")
    capsys.readouterr()
    assert run_predict(model, [a, b], tmp_path / "o.tsv") == 2
    assert "b.bins.npz: sample same given twice" in one_error(capsys) and not (tmp_path / "o.tsv").exists()


def test_damaged_bins_file(trained, tmp_path, capsys):
    _, _, model, _ = trained
    bad = tmp_path / "bad.bins.npz"
    bad.write_bytes(b"PK")
    assert run_predict(model, [bad], tmp_path / "o.tsv") == 2
    assert "bad.bins.npz: not a sample bins file written by binarize_peaks.py" in one_error(capsys)
    assert not (tmp_path / "o.tsv").exists()


def test_bad_device_and_threads(trained, tmp_path, capsys):
    _, _, model, _ = trained
    args = ["--model", str(model), "--bins", "x.npz", "--output", str(tmp_path / "o.tsv"), "--device", "tpu", "--threads", "1"]
    assert predict.main(args) == 2 and "--device tpu: choose cpu, cuda or cuda:N" in one_error(capsys)
    args[args.index("--device") + 1], args[args.index("--threads") + 1] = "cpu", "0"
    assert predict.main(args) == 2 and "--threads 0: must be at least 1" in one_error(capsys)
    assert not (tmp_path / "o.tsv").exists()


# ---------------------------------------------------------------- signal bins

def test_a_model_of_signal_bins_predicts_from_signal_bins(trained_on_signal, tmp_path):
    """check_model.py passes the model's bin value on, binarize_peaks.py bins narrowPeak peaks with it, and the
    training samples' peaks give their in-sample predictions."""
    ds, base, model, insample = trained_on_signal
    assert (base / "bin_value.txt").read_text() == "signal\n"
    bins = [binarize(write_peaks(tmp_path / f"{row}.narrowPeak.gz", ds, row), str(ds.samples[row]), base / "layout.tsv",
                     tmp_path / f"{row}.bins.npz", bin_value="signal") for row in (1, 4)]
    out = tmp_path / "pred.tsv"
    assert run_predict(model, bins, out) == 0
    pred = pd.read_csv(out, sep="\t")
    for row in (1, 4):
        got, want = in_sample(pred, ds.samples[row]), in_sample(insample, ds.samples[row])
        assert got["gene_id"].tolist() == want["gene_id"].tolist()
        assert np.allclose(got["predicted"], want["predicted"], rtol=1e-5, atol=1e-5)
    # the signal matters, except to local_ridge, whose kernel compares which bins are open (docs/modelling.md)
    predictor, _ = model_file.load(model)
    same = np.allclose(planted.predict(predictor, (ds.X[[1]] != 0).astype(np.float32)), planted.predict(predictor, ds.X[[1]]), atol=1e-3)
    assert same == (predictor.kind == "local_ridge")


@pytest.mark.parametrize("model_bins, sample_bins", [("signal", "binary"), ("binary", "signal")])
def test_bins_of_the_other_bin_value_are_refused(trained, trained_on_signal, tmp_path, capsys, model_bins, sample_bins):
    ds, base, model, _ = trained_on_signal if model_bins == "signal" else trained
    signal_ds = trained_on_signal[0]
    peaks = write_peaks(tmp_path / "p.narrowPeak", signal_ds, 0)
    bins = binarize(peaks, "x", base / "layout.tsv", tmp_path / "x.bins.npz", bin_value=sample_bins)
    capsys.readouterr()
    assert run_predict(model, [bins], tmp_path / "o.tsv") == 2
    assert one_error(capsys) == (f"ERROR: {bins}: binned with --bin_value {sample_bins}, expected --bin_value {model_bins}; "
                                 f"bin the peaks again with --bin_value {model_bins}")
    assert not (tmp_path / "o.tsv").exists()
def test_links_of_new_samples_name_their_open_bins(trained, tmp_path):
    """--links_outdir: per sample and gene, the open bins that drove the prediction. tss_window's and local_ridge's add
    up, with the prediction of a closed genome, to the sample's prediction (both are linear in the window's bins and
    every bin of a gene's window is a candidate; the MLP's completeness is tests/test_links.py's)."""
    from atac2expr import links
    from atac2expr.formats import SAMPLE_LINKS

    ds, base, model, _ = trained
    bins = [binarize(write_peaks(tmp_path / f"{i}.bed", ds, i), str(ds.samples[i]), base / "layout.tsv", tmp_path / f"{i}.bins.npz")
            for i in (1, 2)]
    outdir = tmp_path / "links"
    assert predict.main(["--model", str(model), "--bins", *map(str, bins), "--output", str(tmp_path / "p.tsv"), "--device", "cpu",
                         "--threads", "1", "--links_outdir", str(outdir), *link_args(links_top=0, links_max_distance=100_000_000),
                         "--chrom_sizes", str(CHROM_SIZES)]) == 0
    table = SAMPLE_LINKS.read(outdir / "links.tsv.gz")
    assert set(table["sample"]) == {str(ds.samples[1]), str(ds.samples[2])}
    position = {(c, s): i for i, (c, s) in enumerate(zip(ds.bins["chrom"], ds.bins["start"], strict=True))}
    predictor, _ = model_file.load(model)
    closed = planted.predict(predictor, np.zeros((1, ds.layout.n_bins), dtype=np.uint8))[0]
    predicted = pd.read_csv(tmp_path / "p.tsv", sep="\t").set_index(["sample", "gene_id"])["predicted"]
    for row in (1, 2):
        sample = str(ds.samples[row])
        own = table[table["sample"] == sample]
        assert (ds.X[row, [position[(c, s)] for c, s in zip(own["chrom"], own["start"], strict=True)]] == 1).all()
        for gene, weights in own.groupby("gene_id")["weight"]:
            g = int(np.flatnonzero(ds.genes["gene_id"] == gene)[0])
            if predictor.kind in ("tss_window", "local_ridge"):
                assert weights.sum() == pytest.approx(predicted[(sample, gene)] - closed[g], abs=1e-3)
        assert len(links.read_interact(outdir / f"{sample}.interact")) == len(own)
        assert len(links.read_bedpe(outdir / f"{sample}.bedpe")) == len(own)
        assert (outdir / f"{sample}.bw").stat().st_size > 0


def test_links_need_their_settings(trained, tmp_path, capsys):
    _, _, model, _ = trained
    assert predict.main(["--model", str(model), "--bins", "x.npz", "--output", str(tmp_path / "o.tsv"), "--device", "cpu", "--threads", "1",
                         "--links_outdir", str(tmp_path)]) == 2
    assert one_error(capsys) == ("ERROR: --links_outdir needs --chrom_sizes, --link_combiner, --links_top, --links_max_distance, --links_fdr, "
                                 "--abc_gamma, --abc_min_distance, --abc_max_distance")


def test_the_new_sample_report_places_each_sample_beside_the_training_samples(trained, tmp_path):
    """--new_samples: a training sample's own peaks find it as the nearest training sample (similarity 1); peaks off
    the model's chromosomes count against the share in the model's bins; --promoter_baseline: the promoter rule of
    the model file beside the model's predictions and each gene's training mean."""
    ds, base, model, insample = trained
    own = write_peaks(tmp_path / "own.bed", ds, 2, extra="chr9\t100\t400\tfar\t0\t.\n")  # one peak off the model's chromosomes
    rng = np.random.default_rng(0)
    other = tmp_path / "other.bed"
    other.write_text("".join(f"chr{c}\t{s}\t{s + 200}\n" for c, s in zip(rng.choice([1, 2], 6), rng.integers(0, 19_000, 6), strict=True)))
    bins, summaries = [], []
    for name, peaks in (("own", own), ("other", other)):
        assert binarize_peaks.main(["--peaks", str(peaks), "--sample", name, "--layout", str(base / "layout.tsv"), "--chrom_sizes",
                                    str(CHROM_SIZES), "--genome", "GRCh38", "--bin_value", "binary", "--output", str(tmp_path / f"{name}.bins.npz"),
                                    "--summary", str(tmp_path / f"{name}.peaks.json")]) == 0
        bins.append(tmp_path / f"{name}.bins.npz")
        summaries.append(tmp_path / f"{name}.peaks.json")
    assert predict.main(["--model", str(model), "--bins", *map(str, bins), "--output", str(tmp_path / "p.tsv"), "--device", "cpu",
                         "--threads", "1", "--new_samples", str(tmp_path / "new.tsv"), "--promoter_baseline", str(tmp_path / "baseline.tsv"),
                         "--peak_summaries", *map(str, summaries)]) == 0
    report = NEW_SAMPLES.read(tmp_path / "new.tsv").set_index("sample")
    assert report.loc["own", "nearest_training_sample"] == ds.samples[2] and report.loc["own", "similarity"] == pytest.approx(1.0)
    assert report.loc["other", "similarity"] < report.loc["own", "similarity"]
    low, high = report.loc["own", ["training_similarity_low", "training_similarity_high"]]
    assert 0 < low <= high < 1
    n_open = int((ds.X[2] != 0).sum())
    assert report.loc["own", "peaks"] == n_open + 1 and report.loc["own", "peaks_in_model_bins"] == n_open
    assert report.loc["own", "share_of_peaks_in_model_bins"] == pytest.approx(n_open / (n_open + 1))
    assert report.loc["own", "open_bins"] == n_open and report.loc["own", "activity_kind"] == "binary"
    assert "rank" in report.loc["own", "activity_normalisation"]
    baseline = PROMOTER_BASELINE.read(tmp_path / "baseline.tsv")
    assert len(baseline) == 2 * len(ds.genes)
    predicted = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert np.allclose(baseline["predicted"], predicted["predicted"])
    _, _, reference = model_file.load_with_reference(model)
    assert np.allclose(baseline.loc[baseline["sample"] == "own", "training_mean"], np.log1p(ds.Y).mean(axis=0))
    assert np.allclose(baseline["promoter_baseline"], reference.promoter_rule.predict(baseline["promoter_activity_rank"].to_numpy()))
    ranks = baseline.loc[baseline["sample"] == "own", "promoter_activity_rank"].to_numpy()
    assert ((ranks > 0) == (promoter_open(ds, 2))).all()  # a rank where a peak lies within 1 kb of the TSS, 0 elsewhere


def promoter_open(ds, row: int) -> np.ndarray:
    """Per gene: does an open bin of the sample overlap TSS +/- 1 kb."""
    open_bins = ds.bins[ds.X[row] != 0]
    return np.array([((open_bins["chrom"] == chrom) & (open_bins["end"] > tss - 1000) & (open_bins["start"] <= tss + 1000)).any()
                     for chrom, tss in zip(ds.genes["chrom"], ds.genes["tss"], strict=True)])


# ---------------------------------------------------------------- the model's assembly, the user's paths

def check(model, tmp_path, *extra):
    return check_model.main(["--model", str(model), "--layout", str(tmp_path / "layout.tsv"), "--bin_value_file",
                             str(tmp_path / "bin_value.txt"), *extra])


def test_the_model_file_records_its_assembly(trained):
    _, _, model, _ = trained
    record = torch.load(model, weights_only=True)["meta"]["assembly"]
    assert record == {"genome": "GRCh38", "chrom_sizes_md5": chrom_sizes_checksum(read_chrom_sizes(CHROM_SIZES)),
                      "chrom_sizes": {"1": 248_956_422, "2": 242_193_529}}


def test_a_model_of_another_assembly_is_refused_naming_both(trained, tmp_path, capsys):
    """A GRCh38 model's regions fit on GRCm39's chromosomes: only the recorded assembly tells them apart."""
    _, _, model, _ = trained
    mouse = CHROM_SIZES.parent / "GRCm39.chrom.sizes"
    assert check(model, tmp_path, "--genome", "mm39", "--chrom_sizes", str(mouse), "--model_source", "my/model.pt") == 2
    error = one_error(capsys)
    assert error.startswith("ERROR: my/model.pt: a model of assembly GRCh38 (chromosome sizes MD5 ")
    assert "this run's --genome is GRCm39 (chromosome sizes MD5 " in error and "predict with --genome GRCh38" in error
    assert not (tmp_path / "layout.tsv").exists()


def test_chromosome_sizes_of_another_assembly_are_refused_under_the_same_genome_name(trained, tmp_path, capsys):
    _, _, model, _ = trained
    sizes = tmp_path / "other.sizes"
    sizes.write_text("chr1\t249250621\nchr2\t243199373\n")  # GRCh37's lengths
    assert check(model, tmp_path, "--genome", "GRCh38", "--chrom_sizes", str(sizes)) == 2
    error = one_error(capsys)
    assert "chromosome 1 is 248,956,422 bp in the model's and 249,250,621 bp in this run's" in error


def test_the_same_assembly_named_otherwise_is_accepted(trained, tmp_path):
    """chr-prefixed names, another order, and contigs the model does not use: the model's chromosomes decide."""
    _, _, model, _ = trained
    sizes = tmp_path / "same.sizes"
    sizes.write_text("chr2\t242193529\nchrUn_KI270302v1\t2274\nchr1\t248956422\n")
    assert check(model, tmp_path, "--genome", "hg38", "--chrom_sizes", str(sizes)) == 0


def test_a_model_without_an_assembly_record_is_warned_about(trained, tmp_path, capsys):
    _, _, model, _ = trained
    payload = torch.load(model, weights_only=True)
    del payload["meta"]["assembly"]
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    assert check(old, tmp_path, "--genome", "GRCh38", "--chrom_sizes", str(CHROM_SIZES)) == 0
    assert "records no assembly" in capsys.readouterr().err


def test_refusals_name_the_users_path_not_the_staged_copy(tmp_path, capsys):
    staged = tmp_path / "input" / "model.pt"
    staged.parent.mkdir()
    staged.write_bytes(b"not a model")
    assert check(staged, tmp_path, "--genome", "GRCh38", "--chrom_sizes", str(CHROM_SIZES), "--model_source", "/home/me/my model.pt") == 2
    assert one_error(capsys).startswith("ERROR: /home/me/my model.pt: not a model file")
    assert predict.main(["--model", str(staged), "--model_source", "/home/me/my model.pt", "--bins", "x.npz", "--output",
                         str(tmp_path / "o.tsv"), "--device", "cpu", "--threads", "1"]) == 2
    error = one_error(capsys)
    assert error.startswith("ERROR: /home/me/my model.pt: not a model file") and "input/model.pt" not in error
