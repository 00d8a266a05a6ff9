"""bin/gene_tpm.py: transcript TPM -> gene TPM of the regions, through the genes and transcripts of a small GTF."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from planted import SIZES, layout_of

from atac2expr.annotation import genes_in_regions, read_gtf
from atac2expr.commands import gene_tpm
from atac2expr.regions import parse_regions

GTF = """#!genome-build GRCh38
1\tensembl\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG01.3"; gene_name "INSIDE"; gene_biotype "protein_coding";
1\tensembl\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "ENST01.1"; gene_name "INSIDE";
1\tensembl\ttranscript\t1001\t1500\t.\t+\t.\tgene_id "ENSG01.3"; transcript_id "ENST02.1"; gene_name "INSIDE";
1\tensembl\tgene\t9501\t12000\t.\t-\t.\tgene_id "ENSG02"; gene_name "STRADDLE"; gene_biotype "lncRNA";
1\tensembl\ttranscript\t9501\t12000\t.\t-\t.\tgene_id "ENSG02"; transcript_id "ENST03"; gene_name "STRADDLE";
1\tensembl\tgene\t10001\t11000\t.\t+\t.\tgene_id "ENSG03"; gene_name "OUTSIDE"; gene_biotype "protein_coding";
1\tensembl\ttranscript\t10001\t11000\t.\t+\t.\tgene_id "ENSG03"; transcript_id "ENST04"; gene_name "OUTSIDE";
2\tensembl\tgene\t1\t500\t.\t+\t.\tgene_id "ENSG04"; gene_name "OTHERCHR"; gene_biotype "protein_coding";
2\tensembl\ttranscript\t1\t500\t.\t+\t.\tgene_id "ENSG04"; transcript_id "ENST05"; gene_name "OTHERCHR";
1\tensembl\tgene\t3001\t3500\t.\t+\t.\tgene_id "ENSG05"; gene_name "NOSEQ"; gene_biotype "lncRNA";
1\tensembl\ttranscript\t3001\t3500\t.\t+\t.\tgene_id "ENSG05"; transcript_id "ENST06"; gene_name "NOSEQ";
"""


@pytest.fixture
def gtf(tmp_path: Path) -> Path:
    path = tmp_path / "genes.gtf.gz"
    path.write_bytes(gzip.compress(GTF.encode()))
    return path


@pytest.fixture
def references(tmp_path: Path, gtf: Path) -> list[str]:
    """genes.tsv and transcripts.tsv as gene_annotation.py writes them (ENST06, NOSEQ's only transcript, is not in
    the transcriptome) and the layout of chr1:1-10000."""
    genes, transcripts = read_gtf(gtf)
    transcripts["in_transcriptome"] = transcripts["transcript_id"] != "ENST06"
    genes.to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    transcripts.to_csv(tmp_path / "transcripts.tsv", sep="\t", index=False)
    layout_of("chr1:1-10000").write(tmp_path / "layout.tsv")
    return ["--genes", str(tmp_path / "genes.tsv"), "--transcripts", str(tmp_path / "transcripts.tsv"), "--layout", str(tmp_path / "layout.tsv")]


def write_quant(folder: Path, rows: dict[str, float]) -> Path:
    folder.mkdir(parents=True)
    pd.DataFrame({"target_id": list(rows), "length": 1000, "eff_length": 800.0, "est_counts": 10.0,
                  "tpm": list(rows.values())}).to_csv(folder / "abundance.tsv", sep="\t", index=False)
    return folder


def test_read_gtf_strips_versions_and_finds_strand_aware_tss(gtf):
    genes, transcripts = read_gtf(gtf)
    inside = genes.set_index("gene_id").loc["ENSG01"]
    assert (inside.start, inside.end, inside.tss) == (1000, 2000, 1000)
    straddle = genes.set_index("gene_id").loc["ENSG02"]
    assert straddle.tss == 11999  # minus strand: the last base
    assert set(transcripts["transcript_id"]) >= {"ENST01", "ENST02"}


def test_gene_straddling_the_region_edge_is_in_the_region(gtf):
    genes, _ = read_gtf(gtf)
    selected = genes_in_regions(genes, parse_regions("chr1:1-10000", SIZES))
    assert list(selected["gene_id"]) == ["ENSG01", "ENSG05", "ENSG02"]


def test_gene_tpm_sums_transcripts_and_logs_unmatched(tmp_path, references, capsys):
    a = write_quant(tmp_path / "quant" / "A", {"ENST01.1": 10.0, "ENST02.4": 5.0, "ENST03.2": 2.0, "ENST04": 99.0, "ENST99.1": 7.0})
    b = write_quant(tmp_path / "quant" / "B", {"ENST01.1": 1.0, "ENST02.4": 0.0, "ENST03.2": 4.0, "ENST04": 1.0, "ENST99.1": 0.0})
    out = tmp_path / "out"
    assert gene_tpm.main(["--quant", str(b), str(a), *references, "--outdir", str(out)]) == 0
    matrix = pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")
    assert list(matrix.columns) == ["gene_name", "A", "B"]
    assert list(matrix.index) == ["ENSG01", "ENSG02"]  # ENSG05 has no transcript in the transcriptome
    assert matrix.loc["ENSG01", "A"] == 15.0 and matrix.loc["ENSG02", "B"] == 4.0 and matrix.loc["ENSG01", "B"] == 1.0
    log = capsys.readouterr().err
    assert "A: 1 of 5 transcripts are not in the GTF (7.00 TPM)" in log
    assert "1 of 3 genes of the regions have no transcript in the transcriptome" in log
    dropped = pd.read_csv(out / "genes_dropped.tsv", sep="\t")
    assert list(dropped["gene_id"]) == ["ENSG05"] and dropped["reason"].tolist() == ["no transcript in the transcriptome"]
    tidy = pd.read_csv(out / "gene_tpm.tsv", sep="\t")
    assert list(tidy.columns) == ["sample", "gene_id", "gene_name", "tpm"] and len(tidy) == 4
    assert tidy.loc[(tidy["sample"] == "A") & (tidy["gene_id"] == "ENSG01"), "tpm"].item() == 15.0
    genes = pd.read_csv(out / "genes.tsv", sep="\t")
    assert genes["gene_id"].tolist() == ["ENSG01", "ENSG02"] and genes["gene_biotype"].tolist() == ["protein_coding", "lncRNA"]
    summary = pd.read_csv(out / "quant_summary.tsv", sep="\t").set_index("sample")
    assert summary.loc["A", "transcripts_not_in_gtf"] == 1 and summary.loc["A", "tpm_not_in_gtf"] == 7.0
    assert summary.loc["A", "tpm_total"] == 123.0 and summary.loc["B", "transcripts"] == 5


def test_tpm_keeps_full_precision(tmp_path, references):
    a = write_quant(tmp_path / "A", {"ENST01": 1 / 3, "ENST02": 1e-12, "ENST03": 123456.789012345})
    assert gene_tpm.main(["--quant", str(a), *references, "--outdir", str(tmp_path / "out")]) == 0
    matrix = pd.read_csv(tmp_path / "out" / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")
    assert matrix.loc["ENSG01", "A"] == 1 / 3 + 1e-12 and matrix.loc["ENSG02", "A"] == 123456.789012345


def test_region_without_genes_is_an_error(tmp_path, references, capsys):
    a = write_quant(tmp_path / "A", {"ENST01": 1.0})
    layout_of("chr3:1-1000").write(tmp_path / "layout.tsv")
    assert gene_tpm.main(["--quant", str(a), *references, "--outdir", str(tmp_path / "out")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and "--region 3:1-1000 in 1 bins of 1,000 bp: no genes" in err[0]
    assert not (tmp_path / "out").exists()


def test_not_a_kallisto_table(tmp_path, references, capsys):
    folder = tmp_path / "A"
    folder.mkdir()
    (folder / "abundance.tsv").write_text("x\ty\n1\t2\n")
    assert gene_tpm.main(["--quant", str(folder), *references, "--outdir", str(tmp_path / "out")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and "abundance.tsv: not a kallisto abundance.tsv with target_id and tpm columns" in err[0]
    assert not (tmp_path / "out").exists()


def test_one_sample_given_twice(tmp_path, references, capsys):
    a = write_quant(tmp_path / "x" / "A", {"ENST01": 1.0})
    again = write_quant(tmp_path / "y" / "A", {"ENST01": 2.0})
    assert gene_tpm.main(["--quant", str(a), str(again), *references, "--outdir", str(tmp_path / "out")]) == 2
    assert "--quant: sample A given twice" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
