"""Transcript TPM -> gene TPM of the region, through a small GTF."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

import gene_tpm
from atac2expr.annotation import genes_in_regions, read_gtf
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
    selected = genes_in_regions(genes, parse_regions("chr1:1-10000"))
    assert list(selected["gene_id"]) == ["ENSG01", "ENSG05", "ENSG02"]


def test_gene_tpm_sums_transcripts_and_logs_unmatched(tmp_path, gtf, capsys):
    a = write_quant(tmp_path / "quant" / "A", {"ENST01.1": 10.0, "ENST02.4": 5.0, "ENST03.2": 2.0, "ENST04": 99.0, "ENST99.1": 7.0})
    b = write_quant(tmp_path / "quant" / "B", {"ENST01.1": 1.0, "ENST02.4": 0.0, "ENST03.2": 4.0, "ENST04": 1.0, "ENST99.1": 0.0})
    out = tmp_path / "out"
    assert gene_tpm.main(["--quant", str(b), str(a), "--gtf", str(gtf), "--region", "chr1:1-10000", "--outdir", str(out)]) == 0
    matrix = pd.read_csv(out / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")
    assert list(matrix.columns) == ["gene_name", "A", "B"]
    assert list(matrix.index) == ["ENSG01", "ENSG02"]  # ENSG05 has no transcript in the transcriptome
    assert matrix.loc["ENSG01", "A"] == 15.0 and matrix.loc["ENSG02", "B"] == 4.0
    log = capsys.readouterr().err
    assert "A: 1 of 5 transcripts are not in the GTF (7.00 TPM)" in log
    assert "1 of 3 genes in the region have no transcript" in log
    dropped = pd.read_csv(out / "genes_dropped.tsv", sep="\t")
    assert list(dropped["gene_id"]) == ["ENSG05"]
    tidy = pd.read_csv(out / "gene_tpm.tsv", sep="\t")
    assert list(tidy.columns) == ["sample", "gene_id", "gene_name", "tpm"] and len(tidy) == 4
    summary = pd.read_csv(out / "quant_summary.tsv", sep="\t").set_index("sample")
    assert summary.loc["A", "transcripts_not_in_gtf"] == 1 and summary.loc["A", "tpm_not_in_gtf"] == 7.0


def test_region_without_genes_is_an_error(tmp_path, gtf, capsys):
    a = write_quant(tmp_path / "A", {"ENST01": 1.0})
    assert gene_tpm.main(["--quant", str(a), "--gtf", str(gtf), "--region", "chr3:1-1000", "--outdir", str(tmp_path)]) == 2
    assert "no genes" in capsys.readouterr().err
    assert not (tmp_path / "gene_tpm.tsv").exists()


def test_not_a_kallisto_table(tmp_path, gtf, capsys):
    folder = tmp_path / "A"
    folder.mkdir()
    (folder / "abundance.tsv").write_text("x\ty\n1\t2\n")
    assert gene_tpm.main(["--quant", str(folder), "--gtf", str(gtf), "--region", "chr1:1-10000", "--outdir", str(tmp_path)]) == 2
    assert "not a kallisto abundance.tsv" in capsys.readouterr().err
