"""--expression: expression tables (atac2expr.expression, bin/expression_table.py): layouts, samples, genes, units."""

from __future__ import annotations

import json
from pathlib import Path

import expression_table
import numpy as np
import pandas as pd
import pytest
from planted import layout_of

from atac2expr.formats import GENE_LENGTHS, GENES

GENES_TABLE = pd.DataFrame({
    "gene_id": ["ENSG01", "ENSG02", "ENSG03", "ENSG04", "ENSG05"], "gene_name": ["A", "B", "C", "D", "D"], "gene_biotype": "",
    "chrom": ["1", "1", "1", "1", "2"], "start": [1000, 5000, 8000, 9000, 100], "end": [2000, 6000, 8500, 9500, 200],
    "strand": "+", "tss": [1000, 5000, 8000, 9000, 100]})


@pytest.fixture
def world(tmp_path):
    GENES.frame(GENES_TABLE).to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    GENE_LENGTHS.frame({"gene_id": ["ENSG01", "ENSG02", "ENSG03", "ENSG04", "ENSG05"], "length": [1000, 2000, 500, 500, 100]}).to_csv(
        tmp_path / "gene_lengths.tsv", sep="\t", index=False)
    layout_of("chr1:1-10000").write(tmp_path / "layout.tsv")
    (tmp_path / "sheet.json").write_text(json.dumps([{"sample": s, "peaks": "x", "line": n} for n, s in enumerate(["S1", "S2", "S3"], 2)]))
    return tmp_path


def run(world: Path, table: str, unit: str = "tpm", name: str = "table.tsv", lengths: bool = True) -> tuple[int, Path]:
    (world / name).write_text(table)
    out = world / "out"
    args = ["--table", str(world / name), "--unit", unit, "--genes", str(world / "genes.tsv"), "--samplesheet", str(world / "sheet.json"),
            "--layout", str(world / "layout.tsv"), "--outdir", str(out)]
    if lengths:
        args += ["--gene_lengths", str(world / "gene_lengths.tsv")]
    return expression_table.main(args), out


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


NFCORE = ("gene_id\tgene_name\tS3\tS1\tS2\textra\n"
          "ENSG01.7\tA\t1.5\t2.25\t0\t9\n"        # by id, version stripped
          "ENSG_NEW\tB\t3\t4\t5\t9\n"             # by name: B is one gene
          "ENSG_X\tD\t1\t1\t1\t9\n"               # D names two genes: dropped, never guessed
          "ENSG_Y\tNOPE\t1\t1\t1\t9\n")           # no such gene


def test_nfcore_layout_ids_names_and_samples(world, capsys):
    code, out = run(world, NFCORE)
    assert code == 0
    matrix = pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t")
    assert list(matrix.columns) == ["gene_id", "gene_name", "S1", "S2", "S3"]  # the extra column left out
    assert list(matrix["gene_id"]) == ["ENSG01", "ENSG02"] and list(matrix["S1"]) == [2.25, 4.0] and list(matrix["S3"]) == [1.5, 3.0]
    dropped = pd.read_csv(out / "genes_dropped.tsv", sep="\t", keep_default_na=False).set_index("gene_id")["reason"]
    assert dropped["ENSG_X"] == "name matches 2 genes of the annotation"
    assert dropped["ENSG_Y"] == "no gene of the annotation has this id or name"
    assert dropped["ENSG03"].startswith("not in ") and dropped["ENSG04"].startswith("not in ")
    assert "1 column(s) not in the samplesheet left out: extra" in capsys.readouterr().err
    source = json.loads((out / "expression_source.json").read_text())
    assert source["normalisation"] == "TPM as given" and source["columns_left_out"] == ["extra"] and source["genes_matched"] == 2


def test_gene_names_in_the_first_column_csv(world):
    code, out = run(world, "gene,S1,S2,S3\nA,1,2,3\nC,4,5,6\n", name="table.csv")
    assert code == 0
    assert list(pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t")["gene_id"]) == ["ENSG01", "ENSG03"]


def test_values_read_back_bit_for_bit(world):
    values = np.random.default_rng(1).random(3) * 1000
    code, out = run(world, "gene_id\tgene_name\tS1\tS2\tS3\nENSG01\tA\t" + "\t".join(repr(float(v)) for v in values) + "\n")
    assert code == 0
    assert np.array_equal(pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t", float_precision="round_trip")[["S1", "S2", "S3"]].to_numpy()[0], values)


def test_counts_become_tpm_with_exon_lengths_else_cpm(world):
    table = "gene\tS1\tS2\tS3\nA\t100\t10\t0\nB\t200\t10\t0\nC\t0\t0\t5\nUNKNOWN\t700\t80\t5\n"
    code, out = run(world, table, unit="counts")
    assert code == 0
    matrix = pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")
    # S1: rates 100/1000 = 0.1 (A), 200/2000 = 0.1 (B), 0 (C): TPM 5e5 each; UNKNOWN has no length and is left out
    assert matrix.loc["ENSG01", "S1"] == pytest.approx(5e5) and matrix.loc["ENSG02", "S1"] == pytest.approx(5e5)
    assert matrix.loc["ENSG03", "S3"] == pytest.approx(1e6)
    assert "exon length" in json.loads((out / "expression_source.json").read_text())["normalisation"]
    GENE_LENGTHS.frame({"gene_id": [], "length": []}).to_csv(world / "gene_lengths.tsv", sep="\t", index=False)
    code, out = run(world, table, unit="counts")
    matrix = pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")
    assert matrix.loc["ENSG01", "S1"] == pytest.approx(1e5)  # CPM: 100 of the column's 1000 reads
    assert json.loads((out / "expression_source.json").read_text())["normalisation"].startswith("CPM")


def test_counts_declared_as_tpm_are_warned_about(world, capsys):
    code, _ = run(world, "gene\tS1\tS2\tS3\nA\t3000000\t2000000\t4000000\nB\t10\t20\t30\n")
    assert code == 0
    assert "look like read counts; if so, give --expression_unit counts" in capsys.readouterr().err
    code, _ = run(world, "gene\tS1\tS2\tS3\nA\t300000.5\t2\t4\nB\t10\t20\t30\n")
    assert code == 0 and "look like read counts" not in capsys.readouterr().err


@pytest.mark.parametrize("table, message", [
    ("gene\tS1\tS2\nA\t1\t2\n", "no column for sample(s) S3 of the samplesheet"),
    ("gene\tS1\tS2\ts3\nA\t1\t2\t3\n", "names are matched exactly: S3 (the table has s3)"),
    ("gene\tS1\tS2\tS3\nZZZ\t1\t2\t3\n", "none of its 1 genes (e.g. ZZZ) matches a gene of the annotation"),
    ("gene\tS1\tS2\tS3\nA\t1\t-2\t3\n", "line 2, column 'S2': -2; tpm must be a finite number >= 0"),
    ("gene\tS1\tS2\tS3\nA\t1\tNA\t3\n", "line 2, column 'S2': missing value 'NA'"),
    ("gene\tS1\tS2\tS3\nA\t1\t2\t3\nB\t1\t2\tlots\n", "line 3, column 'S3': 'lots' is not a number"),
    ("gene\tS1\tS2\tS3\nA\t1\tinf\t3\n", "line 2, column 'S2': inf; tpm must be a finite number"),
    ("gene\tS1\tS2\tS3\n", "no sample columns or no genes"),
    ("gene\tS1\tS1\tS3\nA\t1\t2\t3\n", "appears twice in the header"),
])
def test_bad_tables_are_refused(world, capsys, table, message):
    code, out = run(world, table)
    assert code == 2 and message in one_error(capsys)
    assert not out.exists() or not list(out.iterdir())


def test_no_gene_of_the_regions(world, capsys):
    code, _ = run(world, "gene\tS1\tS2\tS3\nENSG05\t1\t2\t3\n")
    assert code == 2 and "none of its 4 genes is in" in one_error(capsys)
