"""bin/predict.py: new samples' peaks -> expression, with the model's region and bin size."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import binarize_peaks
import predict
import train_model
from planted import write_planted

REGION = "chr1:1-30000,chr2:1-20000"


def write_peaks(path, ds, row, chrom_prefix="chr", extra=""):
    """A BED file whose peaks open exactly the bins open in X[row] (peaks inside the bins)."""
    open_bins = ds.bins[ds.X[row] == 1]
    lines = [f"{chrom_prefix}{c}\t{s + 100}\t{s + 300}\tpeak{i}\t0\t." for i, (c, s) in enumerate(zip(open_bins["chrom"], open_bins["start"]))]
    text = "track name=test\n" + "\n".join(lines) + "\n" + extra
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module", params=["mlp", "tss_window"])
def trained(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"predict_{request.param}")
    ds = write_planted(base / "dataset.npz", n_samples=10, n_genes=6, region=REGION)
    assert train_model.main(["--dataset", str(base / "dataset.npz"), "--outdir", str(base / "model"), "--epochs", "20",
                             "--model", request.param, "--window", "3000", "--hidden", "32"]) == 0
    insample = pd.read_csv(base / "model" / "predictions.tsv", sep="\t")
    return ds, base, base / "model" / "model.pt", insample


def in_sample(insample, sample):
    return insample[insample["sample"] == sample].reset_index(drop=True)


def test_training_samples_peaks_give_in_sample_predictions(trained, tmp_path):
    ds, _, model, insample = trained
    a = write_peaks(tmp_path / "a.bed.gz", ds, 0)
    b = write_peaks(tmp_path / "b.narrowPeak", ds, 3, chrom_prefix="")  # Ensembl-style names work the same
    out = tmp_path / "pred.tsv"
    assert predict.main(["--model", str(model), "--peaks", str(a), str(b), "--samples", ds.samples[0], ds.samples[3], "--output", str(out)]) == 0
    pred = pd.read_csv(out, sep="\t")
    assert list(pred.columns) == ["sample", "gene_id", "gene_name", "predicted", "predicted_tpm"]
    for sample in (ds.samples[0], ds.samples[3]):
        got, want = in_sample(pred, sample), in_sample(insample, sample)
        assert got["gene_id"].tolist() == want["gene_id"].tolist() == list(ds.genes["gene_id"])
        assert np.allclose(got["predicted"], want["predicted"], rtol=1e-4, atol=1e-5)
        assert np.allclose(got["predicted_tpm"], want["predicted_tpm"], rtol=1e-4, atol=1e-5)


def test_default_sample_names_and_prebinarised_input(trained, tmp_path):
    ds, _, model, insample = trained
    peaks = write_peaks(tmp_path / "S_new.bed.gz", ds, 2)
    bins = tmp_path / "bins.npz"
    assert binarize_peaks.main(["--peaks", str(peaks), "--sample", "from_bins", "--region", REGION, "--output", str(bins)]) == 0
    out = tmp_path / "pred.tsv"
    assert predict.main(["--model", str(model), "--peaks", str(peaks), "--bins", str(bins), "--output", str(out)]) == 0
    pred = pd.read_csv(out, sep="\t")
    assert list(dict.fromkeys(pred["sample"])) == ["S_new", "from_bins"]
    want = in_sample(insample, ds.samples[2])["predicted"]
    assert np.allclose(in_sample(pred, "S_new")["predicted"], want, rtol=1e-4, atol=1e-5)
    assert np.allclose(in_sample(pred, "from_bins")["predicted"], want, rtol=1e-4, atol=1e-5)


def test_model_of_another_region_is_refused(trained, tmp_path, capsys):
    ds, _, model, _ = trained
    peaks = write_peaks(tmp_path / "p.bed", ds, 0)
    bins = tmp_path / "other.npz"
    assert binarize_peaks.main(["--peaks", str(peaks), "--sample", "x", "--region", "chr1:1-50000", "--output", str(bins)]) == 0
    capsys.readouterr()
    assert predict.main(["--model", str(model), "--bins", str(bins), "--output", str(tmp_path / "o.tsv")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and "binarised for region 1:1-50000" in err[0] and "trained on region 1:1-30000,2:1-20000" in err[0]
    assert not (tmp_path / "o.tsv").exists()
    bins_size = tmp_path / "size.npz"
    assert binarize_peaks.main(["--peaks", str(peaks), "--sample", "x", "--region", REGION, "--bin_size", "500", "--output", str(bins_size)]) == 0
    assert predict.main(["--model", str(model), "--bins", str(bins_size), "--output", str(tmp_path / "o.tsv")]) == 2
    assert "at 500 bp bins" in capsys.readouterr().err


def test_not_a_model(tmp_path, capsys):
    fake = tmp_path / "model.pt"
    fake.write_text("hello")
    peaks = tmp_path / "p.bed"
    peaks.write_text("chr1\t1\t100\n")
    assert predict.main(["--model", str(fake), "--peaks", str(peaks), "--output", str(tmp_path / "o.tsv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ERROR: {fake}: not a model file written by train_model")


def test_peaks_elsewhere_and_foreign_assembly_warn(trained, tmp_path, capsys):
    ds, _, model, insample = trained
    elsewhere = tmp_path / "elsewhere.bed"
    elsewhere.write_text("chr7\t100\t500\nchr8\t100\t900\n")
    hg19 = write_peaks(tmp_path / "hg19.bed", ds, 1, extra="chr1_gl000191_random\t10\t500\nchrUn_gl000220\t5\t80\n")
    out = tmp_path / "pred.tsv"
    assert predict.main(["--model", str(model), "--peaks", str(elsewhere), str(hg19), "--output", str(out)]) == 0
    messages = " ".join(line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING"))
    assert "none of its 2 peaks is on the model's chromosomes" in messages
    assert "another assembly" in messages and "gl000191" in messages
    pred = pd.read_csv(out, sep="\t")
    assert np.allclose(in_sample(pred, "hg19")["predicted"], in_sample(insample, ds.samples[1])["predicted"], rtol=1e-4, atol=1e-5)


def test_duplicate_sample_names_and_count_mismatch(trained, tmp_path, capsys):
    ds, _, model, _ = trained
    p = write_peaks(tmp_path / "p.bed", ds, 0)
    assert predict.main(["--model", str(model), "--peaks", str(p), str(p), "--output", str(tmp_path / "o.tsv")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert predict.main(["--model", str(model), "--peaks", str(p), "--samples", "a", "b", "--output", str(tmp_path / "o.tsv")]) == 2
    assert "2 names for 1 --peaks" in capsys.readouterr().err
