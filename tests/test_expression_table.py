"""--expression: expression tables (atac2expr.expression, bin/expression_table.py): layouts, samples, genes, units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted import layout_of

from atac2expr.commands import expression_table
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


def test_counts_declared_as_tpm_are_warned_about_or_refused_above_a_million(world, capsys):
    code, _ = run(world, "gene\tS1\tS2\tS3\nA\t900000\t800000\t700000\nB\t900000\t900000\t900000\nC\t900000\t800000\t900000\n")
    assert code == 0
    assert "look like read counts; if so, give --expression_unit counts" in capsys.readouterr().err
    code, _ = run(world, "gene\tS1\tS2\tS3\nA\t300000.5\t2\t4\nB\t10\t20\t30\n")
    assert code == 0 and "look like read counts" not in capsys.readouterr().err
    code, _ = run(world, "gene\tS1\tS2\tS3\nA\t3000000\t2000000\t4000000\nB\t10\t20\t30\n")
    assert code == 2 and "line 2, column 'S1': 3000000 is more than 1e6, the most a TPM can be" in one_error(capsys)


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


# ---------------------------------------------------------------- tables as real tools write them

def matrix_of(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")[["S1", "S2", "S3"]]


@pytest.mark.parametrize("table", [
    '"","gene_name","S1","S2","S3"\n"1","A",1,2,3\n"2","B",4,5,6\n',          # R write.csv of a frame with a gene column
    '"","S1","S2","S3"\n"A",1,2,3\n"B",4,5,6\n',                               # R write.csv, genes as row names
    "S1\tS2\tS3\nA\t1\t2\t3\nB\t4\t5\t6\n",                                    # R write.table: the header one field short
    '"","gene_id","gene_name","S3","S2","S1"\n"1","ENSG01","A",3,2,1\n"2","ENSG02","B",6,5,4\n',
])
def test_r_row_names_and_row_numbers_are_read(world, table):
    code, out = run(world, table, name="table.csv")
    assert code == 0
    matrix = matrix_of(out)
    assert list(matrix.index) == ["ENSG01", "ENSG02"] and list(matrix.loc["ENSG01"]) == [1, 2, 3] and list(matrix.loc["ENSG02"]) == [4, 5, 6]


@pytest.mark.parametrize("table", [
    "gene\tS1\tS2\tS3\t\nA\t1\t2\t3\t\nB\t4\t5\t6\t\n",                        # a separator ends every line
    "gene,S1,S2,S3,,\r\nA,1,2,3,,\r\nB,4,5,6,,\r\n,,,,,\r\n",                   # CRLF, two trailing commas, an empty row
    "\ufeffgene;S1;S2;S3\nA;1;2;3\n\nB;4;5;6\n",                                # BOM, semicolons, a blank line
    "# Program:featureCounts v2.0.6\nGeneid\tChr\tLength\tS1\tS2\tS3\nA\t1\t100\t1\t2\t3\nB\t1\t200\t4\t5\t6\n",
    "#1.2\n2\t3\nName\tDescription\tS1\tS2\tS3\nENSG01.4\tA\t1\t2\t3\nENSG02.1\tB\t4\t5\t6\n",   # GCT (GTEx)
    "gene\tdescription\tS1\tS2\tS3\nA\tcell surface, \"tetraspanin\"\t1\t2\t3\nB\tNA\t4\t5\t6\n",
])
def test_spreadsheet_exports_and_tool_layouts_are_read(world, table):
    code, out = run(world, table)
    assert code == 0
    matrix = matrix_of(out)
    assert list(matrix.loc["ENSG01"]) == [1, 2, 3] and list(matrix.loc["ENSG02"]) == [4, 5, 6]


def test_utf16_text_of_a_spreadsheet_is_read(world):
    (world / "table.tsv").write_bytes("gene\tS1\tS2\tS3\r\nA\t1\t2\t3\r\n".encode("utf-16"))
    out = world / "out"
    code = expression_table.main(["--table", str(world / "table.tsv"), "--unit", "tpm", "--genes", str(world / "genes.tsv"), "--samplesheet",
                                  str(world / "sheet.json"), "--layout", str(world / "layout.tsv"), "--outdir", str(out)])
    assert code == 0 and list(matrix_of(out).loc["ENSG01"]) == [1, 2, 3]


def test_text_columns_are_left_out_unread_and_listed(world, capsys):
    code, out = run(world, "gene_id\tgene_name\tdescription\tS1\tS2\tS3\tother\nENSG01\tA\tsome text\t1\t2\t3\tx\n")
    assert code == 0
    assert "2 column(s) not in the samplesheet left out: description, other" in capsys.readouterr().err
    assert json.loads((out / "expression_source.json").read_text())["columns_left_out"] == ["description", "other"]


def test_rows_of_one_gene_are_summed_and_exact_repeats_taken_once(world, capsys):
    table = ("gene\tS1\tS2\tS3\n"
             "A\t1\t2\t3\n"
             "A\t10\t0\t0\n"      # a second part of A: summed
             "B\t4\t5\t6\n"
             "B\t4\t5\t6\n")      # a pasted duplicate of B: taken once
    code, out = run(world, table)
    assert code == 0
    matrix = matrix_of(out)
    assert list(matrix.loc["ENSG01"]) == [11, 2, 3] and list(matrix.loc["ENSG02"]) == [4, 5, 6]
    dropped = pd.read_csv(out / "genes_dropped.tsv", sep="\t", keep_default_na=False)
    assert not dropped["gene_id"].isin(["ENSG01", "ENSG02", "A", "B"]).any()  # kept genes are never listed as dropped
    assert dropped["gene_id"].is_unique
    err = capsys.readouterr().err
    assert "WARNING" in err and "ENSG01 on lines 2, 3" in err and "summed (1 genes)" in err and "taken once (1 rows)" in err
    source = json.loads((out / "expression_source.json").read_text())
    assert source["genes_summed"] == 1 and source["rows_repeated"] == 1


def test_a_row_that_is_a_gene_by_name_gives_way_to_the_row_of_its_id(world):
    code, out = run(world, "gene_id\tgene_name\tS1\tS2\tS3\nENSG02.3\tB\t4\t5\t6\nNEWID\tB\t7\t7\t7\n")
    assert code == 0
    assert list(matrix_of(out).loc["ENSG02"]) == [4, 5, 6]
    dropped = pd.read_csv(out / "genes_dropped.tsv", sep="\t", keep_default_na=False)
    (row,) = dropped[dropped["gene_id"] == "NEWID"].itertuples()
    assert row.reason == "its name is that of gene ENSG02, which line 2 of the table has by id"
    assert (dropped["gene_id"] == "ENSG02").sum() == 0


def test_genes_without_exons_are_listed_once(world):
    GENE_LENGTHS.frame({"gene_id": ["ENSG02"], "length": [1000]}).to_csv(world / "gene_lengths.tsv", sep="\t", index=False)
    code, out = run(world, "gene\tS1\tS2\tS3\nA\t5\t5\t5\nA\t1\t1\t1\nB\t10\t10\t10\n", unit="counts")
    assert code == 0
    dropped = pd.read_csv(out / "genes_dropped.tsv", sep="\t", keep_default_na=False)
    assert list(dropped[dropped["gene_id"] == "ENSG01"]["reason"]) == ["no exons in the annotation (no length for TPM)"]


@pytest.mark.parametrize("table, unit, message", [
    ("gene\tS1\tS2\tS3\nA\t1\t0\t3\nB\t1\t0\t3\n", "counts", "column 'S2': every value is 0"),
    ("gene\tS1\tS2\tS3\nA\t1\t0\t3\nB\t1\t0.0\t3\n", "tpm", "Leave sample S2 out of the samplesheet"),
    ("gene\tS1\tS2\tS3\nA\t1\t1e308\t3\nB\t1\t1e308\t3\n", "counts", "column 'S2': its values sum past the largest number"),
    ("gene\tS1\tS2\tS3\nA\t1\t0\t3\nZZZ\t1\t7\t3\n", "counts", "column 'S2': none of its counts is on a gene of the annotation"),
    ("gene\tS1\tS2\tS3\nA\t1\t2\t3\t4\n", "tpm", "line 2: 5 fields, but the header names 4 columns"),
    ("gene\t\tS1\tS2\tS3\nA\tx\t1\t2\t3\n", "tpm", "line 2: column 2 has no name in the header but holds values"),
    ("gene,S1,S2,S3\nA,1,\"2,5\",3\n", "tpm", "'2,5' is not a number; write numbers without thousands separators, and with a decimal"),
    ("gene\tS1\tS2\tS3\nA\t1\x00\t2\t3\n", "tpm", "line 2, column 'S1': '1\\x00' is not a number"),
    ("gene\tS1\tS2\tS3\nA\t1\t2\t3\ngene\tS1\tS2\tS3\n", "tpm", "line 3, column 'S1': 'S1' is not a number; the header again"),
    ("gene\tS1\tS2\tS3\nA,1,2,3\n", "tpm", "line 2: one field, without the header's separator '\\t'"),
    ("gene\tS1\tS2\tS3\nA\t#N/A\t2\t3\n", "tpm", "line 2, column 'S1': missing value '#N/A'"),
    ("gene\tS1\tS2\tS3\n\n\nA\t1\t2\tx\n", "tpm", "line 4, column 'S3': 'x' is not a number"),
    ("", "tpm", "empty; expected a header"),
    ("\n\n# only a comment\n", "tpm", "empty; expected a header"),
])
def test_unusable_samples_and_shapes_are_refused_naming_them(world, capsys, table, unit, message):
    code, out = run(world, table, unit=unit)
    assert code == 2 and message in one_error(capsys)
    assert not out.exists() or not list(out.iterdir())


@pytest.mark.parametrize("data, message", [
    ("gene\tS1\tS2\tS3\nA\t1\t2\t3\nB\t\xe9\t2\t3\n".encode("latin-1"), "line 3 is not UTF-8 text (byte 0xe9); save the table as UTF-8"),
    (b"PK\x03\x04\x14\x00\x06\x00", "an Excel workbook or zip archive, not text"),
])
def test_files_that_are_not_utf8_text_are_refused(world, capsys, data, message):
    (world / "table.tsv").write_bytes(data)
    out = world / "out"
    code = expression_table.main(["--table", str(world / "table.tsv"), "--unit", "tpm", "--genes", str(world / "genes.tsv"), "--samplesheet",
                                  str(world / "sheet.json"), "--layout", str(world / "layout.tsv"), "--outdir", str(out),
                                  "--source", "my table.tsv"])
    assert code == 2
    error = one_error(capsys)
    assert error.startswith("ERROR: my table.tsv") and message in error
