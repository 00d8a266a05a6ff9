"""bin/gene_annotation.py: genes and transcripts of the GTF, checked against the cDNA FASTA and the regions."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from planted import layout_of

from atac2expr.commands import gene_annotation

GTF = ('1\tensembl\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG01.2"; gene_name "A"; gene_biotype "protein_coding";\n'
       '1\tensembl\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG01.2"; transcript_id "ENST01.1";\n'
       '1\tensembl\ttranscript\t1001\t1500\t.\t+\t.\tgene_id "ENSG01.2"; transcript_id "ENST02.1";\n'
       '1\tensembl\tgene\t5001\t6000\t.\t-\t.\tgene_id "ENSG02"; gene_name "B"; gene_biotype "lncRNA";\n'
       '1\tensembl\ttranscript\t5001\t6000\t.\t-\t.\tgene_id "ENSG02"; transcript_id "ENST03";\n'
       '2\tensembl\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG03"; gene_name "C"; gene_biotype "protein_coding";\n'
       '2\tensembl\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG03"; transcript_id "ENST04";\n')
FASTA = ">ENST01.1 cdna\nACGT\n>ENST03.4 cdna\nACGT\nACGT\n>ENST04.1\nAC\n>ENST99.1 not in the GTF\nACGT\n"


def run(tmp_path: Path, region: str = "chr1:1-10000", gtf: bytes | str = GTF, fasta: bytes | str = FASTA) -> tuple[int, Path]:
    (tmp_path / "genes.gtf.gz").write_bytes(gzip.compress(gtf.encode() if isinstance(gtf, str) else gtf))
    (tmp_path / "cdna.fa").write_bytes(fasta.encode() if isinstance(fasta, str) else fasta)
    layout_of(region).write(tmp_path / "layout.tsv")
    out = tmp_path / "out"
    code = gene_annotation.main(["--gtf", str(tmp_path / "genes.gtf.gz"), "--transcriptome", str(tmp_path / "cdna.fa"),
                                 "--layout", str(tmp_path / "layout.tsv"), "--outdir", str(out)])
    return code, out


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


def test_genes_and_transcripts(tmp_path):
    code, out = run(tmp_path)
    assert code == 0
    genes = pd.read_csv(out / "genes.tsv", sep="\t", dtype={"chrom": str})
    assert list(genes.columns) == ["gene_id", "gene_name", "gene_biotype", "chrom", "start", "end", "strand", "tss"]
    by_id = genes.set_index("gene_id")
    assert list(by_id.index) == ["ENSG01", "ENSG02", "ENSG03"]  # every gene of the GTF, versions stripped
    assert tuple(by_id.loc["ENSG01", ["start", "end", "tss", "strand"]]) == (1000, 2000, 1000, "+")
    assert tuple(by_id.loc["ENSG02", ["start", "end", "tss", "strand"]]) == (5000, 6000, 5999, "-")
    assert by_id.loc["ENSG02", "gene_biotype"] == "lncRNA"
    transcripts = pd.read_csv(out / "transcripts.tsv", sep="\t")
    assert list(transcripts.columns) == ["transcript_id", "gene_id", "in_transcriptome"]
    assert dict(zip(transcripts["transcript_id"], transcripts["in_transcriptome"], strict=True)) == {
        "ENST01": True, "ENST02": False, "ENST03": True, "ENST04": True}
    assert set(transcripts["gene_id"]) == {"ENSG01", "ENSG02", "ENSG03"}


def test_gencode_style_fasta_headers_match(tmp_path):
    code, out = run(tmp_path, fasta=">ENST01.3|ENSG01.2|-|-|A-201|A|4|protein_coding|\nACGT\n")
    assert code == 0
    transcripts = pd.read_csv(out / "transcripts.tsv", sep="\t").set_index("transcript_id")
    assert transcripts.loc["ENST01", "in_transcriptome"] and not transcripts.loc["ENST03", "in_transcriptome"]


@pytest.mark.parametrize("region, gtf, fasta, message", [
    ("chr7:1-10000", GTF, FASTA, "--region 7:1-10000 in 10 bins of 1,000 bp: no gene of"),
    ("chr1:1-10000", GTF, ">ENST99.1 cdna\nACGT\n", "none of the 2 genes of the region has a transcript in --transcriptome"),
    ("chr2:1-3000", GTF.replace('2\tensembl\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG03"; transcript_id "ENST04";\n', ""), FASTA,
     "none of the 1 genes of the region has a transcript in --transcriptome"),  # genes without transcript lines
])
def test_refusals_name_the_region(tmp_path, capsys, region, gtf, fasta, message):
    code, out = run(tmp_path, region, gtf, fasta)
    error = one_error(capsys)
    assert code == 2 and message in error and not out.exists()


def test_non_utf8_gtf(tmp_path, capsys):
    bad = GTF.encode() + b'1\tensembl\tgene\t7001\t8000\t.\t+\t.\tgene_id "ENSG09"; gene_name "\xe9";\n'
    code, out = run(tmp_path, gtf=bad)
    error = one_error(capsys)
    assert code == 2 and "genes.gtf.gz: line 8 is not valid UTF-8" in error and not out.exists()


def test_transcriptome_repeating_an_id(tmp_path, capsys):
    code, out = run(tmp_path, fasta=FASTA + ">ENST01.2 again\nACGT\n")
    error = one_error(capsys)
    assert code == 2 and "cdna.fa: transcript id ENST01 repeats" in error and not out.exists()


def test_not_a_fasta(tmp_path, capsys):
    code, out = run(tmp_path, fasta="ENST01 ACGT\n")
    error = one_error(capsys)
    assert code == 2 and "cdna.fa: not a FASTA file" in error and not out.exists()


@pytest.mark.parametrize("bad", ["annotation", "transcriptome"])
def test_refusals_name_the_users_files_not_the_staged_copies(tmp_path, monkeypatch, capsys, bad):
    """The task sees reference/annotation and reference/transcriptome.fa; the ERROR line names the user's paths."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reference").mkdir()
    gtf = "1\tensembl\tgene\tnot a number\n" if bad == "annotation" else GTF
    (tmp_path / "reference" / "annotation").write_text(gtf)
    (tmp_path / "reference" / "transcriptome.fa").write_bytes(b"\x00\x01 not a FASTA" if bad == "transcriptome" else FASTA.encode())
    layout_of("chr1:1-10000").write(tmp_path / "layout.tsv")
    code = gene_annotation.main(["--gtf", "reference/annotation", "--transcriptome", "reference/transcriptome.fa", "--layout", "layout.tsv",
                                 "--outdir", "out", "--annotation_source", "/data/my genes.gtf", "--transcriptome_source", "/data/cdna.fa"])
    error = one_error(capsys)
    assert code == 2 and "reference/" not in error, error
    assert error.startswith(f"ERROR: {'/data/my genes.gtf' if bad == 'annotation' else '/data/cdna.fa'}"), error
