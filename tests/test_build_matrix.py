"""bin/build_matrix.py: features x targets join in one sample order; one-sided samples, foreign layouts and
datasets with nothing to learn refused."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted import layout_of

from atac2expr.commands import build_matrix
from atac2expr.dataset import SampleBins, load_dataset, save_sample_bins
from atac2expr.formats import BIN_DTYPES

LAYOUT = layout_of("chr1:1-4500")  # 5 bins, the last one 500 bp


def make_inputs(tmp_path: Path, bin_samples: list[str], tpm_samples: list[str], open_bins: bool = True, tpm: bool = True,
                bin_values: list[str] | None = None) -> list[str]:
    """Sample i has bin i (mod 5) open: 1 for binary bins, log1p(10 * (i + 1)) for signal bins (bin_values, per sample)."""
    LAYOUT.write(tmp_path / "layout.tsv")
    bins = []
    for i, sample in enumerate(bin_samples):
        bin_value = bin_values[i] if bin_values else "binary"
        values = np.zeros(LAYOUT.n_bins, dtype=BIN_DTYPES[bin_value])
        values[i % LAYOUT.n_bins] = int(open_bins) * (1 if bin_value == "binary" else np.log1p(10 * (i + 1)))
        out = tmp_path / f"{sample}.bins.npz"
        save_sample_bins(out, SampleBins(sample, values, LAYOUT, bin_value))
        bins.append(str(out))
    genes = pd.DataFrame({"gene_id": ["G1", "G2"], "gene_name": ["A", "NA"], "gene_biotype": ["protein_coding", "lncRNA"], "chrom": "1",
                          "start": [0, 3000], "end": [1000, 4000], "strand": ["+", "-"], "tss": [0, 3999]})
    genes.to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    matrix = genes[["gene_id", "gene_name"]].copy()
    for j, sample in enumerate(tpm_samples):
        matrix[sample] = [float(j) * tpm, (10 * j + 1 / 3) * tpm]
    matrix.to_csv(tmp_path / "gene_tpm_matrix.tsv", sep="\t", index=False)
    return ["--bins", *bins, "--gene_tpm", str(tmp_path / "gene_tpm_matrix.tsv"), "--genes", str(tmp_path / "genes.tsv"),
            "--layout", str(tmp_path / "layout.tsv"), "--output", str(tmp_path / "out" / "dataset.npz"),
            "--bins_table", str(tmp_path / "out" / "bins.tsv.gz")]


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


def test_join_orders_samples_identically(tmp_path):
    args = make_inputs(tmp_path, ["S2", "S1", "S3"], ["S3", "S1", "S2"])
    assert build_matrix.main(args) == 0
    ds = load_dataset(tmp_path / "out" / "dataset.npz")
    assert list(ds.samples) == ["S1", "S2", "S3"]
    assert ds.X.shape == (3, 5) and ds.Y.shape == (3, 2)
    assert list(np.flatnonzero(ds.X[0])) == [1]  # S1 was the second bin file: bin 1 open
    assert ds.Y[0].tolist() == [1.0, 10 + 1 / 3]  # S1 is the second TPM column, full precision
    assert list(ds.genes["gene_id"]) == ["G1", "G2"] and ds.genes["tss"].tolist() == [0, 3999]
    assert ds.genes["gene_name"].tolist() == ["A", "NA"]  # a gene called NA is a name, not a missing value
    assert ds.genes["gene_biotype"].tolist() == ["protein_coding", "lncRNA"]
    assert ds.layout == LAYOUT and ds.bin_size == 1000


def test_the_samplesheets_groups_go_into_the_dataset(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S2", "S1", "S3"], ["S3", "S1", "S2"])
    sheet = tmp_path / "samplesheet.valid.json"
    sheet.write_text(json.dumps([{"sample": s, "peaks": "/x.bed", "group": g, "line": i}
                                 for i, (s, g) in enumerate([("S1", "b"), ("S3", "a"), ("S2", "b")], start=2)]))
    assert build_matrix.main([*args, "--samplesheet", str(sheet)]) == 0
    assert load_dataset(tmp_path / "out" / "dataset.npz").groups.tolist() == ["b", "b", "a"]  # S1, S2, S3
    # a samplesheet without a group column: a dataset without groups
    sheet.write_text(json.dumps([{"sample": s, "peaks": "/x.bed", "line": 2} for s in ("S1", "S2", "S3")]))
    assert build_matrix.main([*args, "--samplesheet", str(sheet)]) == 0
    assert load_dataset(tmp_path / "out" / "dataset.npz").groups is None
    sheet.write_text("[{}]")
    assert build_matrix.main([*args, "--samplesheet", str(sheet)]) == 2
    assert "not a checked samplesheet written by check_inputs.py" in one_error(capsys)


def test_signal_bins_make_a_signal_dataset(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S2", "S1", "S3"], ["S3", "S1", "S2"], bin_values=["signal"] * 3)
    assert build_matrix.main(args) == 0
    ds = load_dataset(tmp_path / "out" / "dataset.npz")
    assert ds.bin_value == "signal" and ds.X.dtype == np.float32 and list(ds.samples) == ["S1", "S2", "S3"]
    expected = np.zeros((3, 5), np.float32)
    expected[[0, 1, 2], [1, 0, 2]] = np.log1p([20, 10, 30])  # S1 was the second bin file, S2 the first
    assert np.array_equal(ds.X, expected)
    assert "3 samples x 5 signal bins (20.00% open)" in capsys.readouterr().err


@pytest.mark.parametrize("bin_values", [["binary", "signal"], ["signal", "binary"]])
def test_bins_of_different_bin_values_refused(tmp_path, capsys, bin_values):
    assert build_matrix.main(make_inputs(tmp_path, ["S1", "S2"], ["S1", "S2"], bin_values=bin_values)) == 2
    error = one_error(capsys)
    assert f"S2.bins.npz: binned with --bin_value {bin_values[1]}, expected --bin_value {bin_values[0]}" in error
    assert not (tmp_path / "out").exists()


def test_bins_table(tmp_path):
    assert build_matrix.main(make_inputs(tmp_path, ["S1"], ["S1"])) == 0
    table = pd.read_csv(tmp_path / "out" / "bins.tsv.gz", sep="\t", dtype={"chrom": str})
    assert table.values.tolist() == [["1", 0, 1000], ["1", 1000, 2000], ["1", 2000, 3000], ["1", 3000, 4000], ["1", 4000, 4500]]
    first = (tmp_path / "out" / "bins.tsv.gz").read_bytes()
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime 0: the same bins give the same bytes
    assert gzip.decompress(first).decode().startswith("chrom\tstart\tend\n")


@pytest.mark.parametrize("bins, tpm, message", [
    (["S1", "S2"], ["S1"], "sample(s) S2 have peaks but no expression"),
    (["S1"], ["S1", "S9"], "sample(s) S9 have expression but no peaks"),
    (["S1", "S2"], ["S1", "S3"], "sample(s) S2 have peaks but no expression in"),
])
def test_sample_on_one_side_only(tmp_path, capsys, bins, tpm, message):
    assert build_matrix.main(make_inputs(tmp_path, bins, tpm)) == 2
    assert message in one_error(capsys)
    assert not (tmp_path / "out").exists()


def test_two_bin_files_of_one_sample(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S1"], ["S1"])
    copy = tmp_path / "again.bins.npz"
    copy.write_bytes((tmp_path / "S1.bins.npz").read_bytes())
    args.insert(args.index("--gene_tpm"), str(copy))
    assert build_matrix.main(args) == 2
    assert "sample S1 has two bin files" in one_error(capsys) and not (tmp_path / "out").exists()


def test_bins_of_another_layout_refused(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S1"], ["S1"])
    layout_of("chr1:1-6000").write(tmp_path / "layout.tsv")
    assert build_matrix.main(args) == 2
    error = one_error(capsys)
    assert "binned on 1:1-4500 in 5 bins of 1,000 bp, expected 1:1-6000 in 6 bins of 1,000 bp" in error
    assert not (tmp_path / "out").exists()


def test_no_open_bin_in_any_sample_refused(tmp_path, capsys):
    assert build_matrix.main(make_inputs(tmp_path, ["S1", "S2"], ["S1", "S2"], open_bins=False)) == 2
    assert "no sample has a peak in 1:1-4500" in one_error(capsys) and not (tmp_path / "out").exists()


def test_all_zero_tpm_refused(tmp_path, capsys):
    assert build_matrix.main(make_inputs(tmp_path, ["S1", "S2"], ["S1", "S2"], tpm=False)) == 2
    assert "every TPM of every gene in every sample is 0" in one_error(capsys) and not (tmp_path / "out").exists()


def test_one_silent_gene_is_kept_with_a_warning(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S1", "S2"], ["S1", "S2"])
    matrix = pd.read_csv(tmp_path / "gene_tpm_matrix.tsv", sep="\t", keep_default_na=False)
    matrix.loc[0, ["S1", "S2"]] = 0.0
    matrix.to_csv(tmp_path / "gene_tpm_matrix.tsv", sep="\t", index=False)
    assert build_matrix.main(args) == 0
    assert "1 of 2 genes have TPM 0 in every sample; kept" in capsys.readouterr().err
    assert load_dataset(tmp_path / "out" / "dataset.npz").Y[:, 0].tolist() == [0.0, 0.0]


def test_gene_lists_that_differ_refused(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S1"], ["S1"])
    genes = pd.read_csv(tmp_path / "genes.tsv", sep="\t", keep_default_na=False)
    genes.iloc[::-1].to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    assert build_matrix.main(args) == 2
    assert "list different genes" in one_error(capsys) and not (tmp_path / "out").exists()


def test_damaged_bin_file_refused(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S1"], ["S1"])
    (tmp_path / "S1.bins.npz").write_bytes(b"garbage")
    assert build_matrix.main(args) == 2
    assert "S1.bins.npz: not a sample bins file written by binarize_peaks.py" in one_error(capsys)
    assert not (tmp_path / "out").exists()
