"""Features x targets join: same sample order, one-sided samples refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import binarize_peaks
import build_matrix
from atac2expr.dataset import load_dataset

REGION = "chr1:1-5000"


def make_inputs(tmp_path: Path, bin_samples: list[str], tpm_samples: list[str]) -> list[str]:
    bins = []
    for i, sample in enumerate(bin_samples):
        peaks = tmp_path / f"{sample}.bed"
        peaks.write_text(f"chr1\t{i * 1000}\t{i * 1000 + 10}\n")
        out = tmp_path / f"{sample}.bins.npz"
        assert binarize_peaks.main(["--peaks", str(peaks), "--sample", sample, "--region", REGION, "--output", str(out)]) == 0
        bins.append(str(out))
    genes = pd.DataFrame({"gene_id": ["G1", "G2"], "gene_name": ["A", "B"], "gene_biotype": "protein_coding", "chrom": "1",
                          "start": [0, 3000], "end": [1000, 4000], "strand": ["+", "-"], "tss": [0, 3999]})
    genes.to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    matrix = genes[["gene_id", "gene_name"]].copy()
    for j, sample in enumerate(tpm_samples):
        matrix[sample] = [float(j), float(10 * j)]
    matrix.to_csv(tmp_path / "gene_tpm_matrix.tsv", sep="\t", index=False)
    return ["--bins", *bins, "--gene_tpm", str(tmp_path / "gene_tpm_matrix.tsv"), "--genes", str(tmp_path / "genes.tsv"),
            "--region", REGION, "--bin_size", "1000", "--output", str(tmp_path / "dataset.npz")]


def test_join_orders_samples_identically(tmp_path):
    args = make_inputs(tmp_path, ["S2", "S1", "S3"], ["S3", "S1", "S2"])
    assert build_matrix.main(args) == 0
    ds = load_dataset(tmp_path / "dataset.npz")
    assert list(ds.samples) == ["S1", "S2", "S3"]
    assert ds.X.shape == (3, 5) and ds.Y.shape == (3, 2)
    assert list(np.flatnonzero(ds.X[0])) == [1]  # S1 was the second bin file: peak in bin 1
    assert ds.Y[0].tolist() == [1.0, 10.0]  # S1 is the second TPM column
    assert list(ds.genes["gene_id"]) == ["G1", "G2"] and ds.genes["tss"].tolist() == [0, 3999]
    assert ds.region == "1:1-5000" and ds.bin_size == 1000


@pytest.mark.parametrize("bins, tpm, message", [
    (["S1", "S2"], ["S1"], "sample(s) S2 have peaks but no expression"),
    (["S1"], ["S1", "S9"], "sample(s) S9 have expression but no peaks"),
])
def test_sample_on_one_side_only(tmp_path, capsys, bins, tpm, message):
    args = make_inputs(tmp_path, bins, tpm)
    assert build_matrix.main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "dataset.npz").exists()


def test_bins_of_another_region_refused(tmp_path, capsys):
    args = make_inputs(tmp_path, ["S1"], ["S1"])
    args[args.index("--region") + 1] = "chr1:1-6000"
    assert build_matrix.main(args) == 2
    assert "expected 1:1-6000" in capsys.readouterr().err
