"""--gene_bed: BED6/BED12 gene annotations (annotation.read_gene_bed) and gene_annotation.py giving the same tables from
a BED as from a GTF."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted import layout_of
from test_gene_annotation import GTF

from atac2expr.annotation import read_gene_bed, read_gtf_exon_lengths, union_lengths
from atac2expr.cli import InputError
from atac2expr.commands import gene_annotation
from atac2expr.formats import GENES

# the refGene TSS layout of the shared real data: chrom, tss, tss, accession, symbol, strand (symbols in the score column)
REFGENE_TSS = ("chr1\t1000\t1000\tNM_1\tA\t+\n"
               "chr1\t1200\t1200\tNM_2\tA\t+\n"        # A: a second TSS downstream; the 5'-most (1000) is A's
               "chr1\t5999\t5999\tNR_3\tB\t-\n"
               "chr1\t5500\t5500\tNR_4\tB\t-\n"        # B on '-': the 5'-most is the largest position
               "chr2\t1000\t1000\tNM_5\tC\t+\n"
               "chrX\t10\t10\tNM_6\tC\t+\n")           # C elsewhere too: the chromosome of most lines, then the first
BED12 = ("chr1\t1000\t2000\tA\t0\t+\t1000\t2000\t0\t2\t100,200,\t0,800,\n"
         "chr1\t1000\t1500\tA\t0\t+\t1000\t1500\t0\t2\t150,100,\t0,400,\n"
         "chr1\t5000\t6000\tB\t0\t-\t5000\t6000\t0\t1\t1000,\t0,\n")


def write(tmp_path: Path, text: str, name: str = "genes.bed.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    return path


def test_tss_only_bed_with_symbols_in_the_score_column(tmp_path):
    bed = read_gene_bed(write(tmp_path, "track name=refGene\n" + REFGENE_TSS))
    genes = bed.genes.set_index("gene_id")
    assert list(genes.index) == ["A", "B", "C"] and bed.tss_only and bed.lengths is None
    assert tuple(genes.loc["A", ["chrom", "start", "end", "tss", "strand"]]) == ("1", 1000, 1001, 1000, "+")
    assert tuple(genes.loc["B", ["chrom", "start", "end", "tss", "strand"]]) == ("1", 5999, 6000, 5999, "-")
    assert tuple(genes.loc["C", ["chrom", "tss"]]) == ("2", 1000)
    assert dict(zip(bed.transcripts["transcript_id"], bed.transcripts["gene_id"], strict=True))["NR_4"] == "B"
    assert list(bed.genes.columns) == GENES.columns


def test_bed12_bodies_tss_and_exon_lengths(tmp_path):
    bed = read_gene_bed(write(tmp_path, BED12, "genes.bed"))
    genes = bed.genes.set_index("gene_id")
    assert tuple(genes.loc["A", ["start", "end", "tss"]]) == (1000, 2000, 1000)
    assert tuple(genes.loc["B", ["start", "end", "tss"]]) == (5000, 6000, 5999)
    # A's exons: [1000,1100) [1800,2000) and [1000,1150) [1400,1500): union 150 + 100 + 200
    assert bed.lengths.to_dict() == {"A": 450, "B": 1000}
    assert not bed.tss_only and bed.transcripts.empty


def test_union_lengths_merges_overlapping_and_touching_exons():
    lengths = union_lengths(pd.Series(["g", "g", "g", "h"]), np.array([0, 5, 10, 0]), np.array([10, 8, 12, 3]))
    assert lengths.to_dict() == {"g": 12, "h": 3}


def test_same_genes_table_from_a_gtf_and_from_a_bed(tmp_path):
    """GENE_ANNOTATION writes the same genes.tsv (formats.GENES) from a GTF and from the BED12 of the same genes."""
    layout_of("chr1:1-10000").write(tmp_path / "layout.tsv")
    (tmp_path / "genes.gtf").write_text(GTF)
    bed = ("1\t1000\t2000\tENSG01\tA\t+\t1000\t2000\t0\t1\t1000,\t0,\n"
           "1\t1000\t1500\tENSG01\tA\t+\t1000\t1500\t0\t1\t500,\t0,\n"
           "1\t5000\t6000\tENSG02\tB\t-\t5000\t6000\t0\t1\t1000,\t0,\n"
           "2\t1000\t2000\tENSG03\tC\t+\t1000\t2000\t0\t1\t1000,\t0,\n")
    write(tmp_path, bed, "genes.bed")
    for flag, name in (("--gtf", "genes.gtf"), ("--gene_bed", "genes.bed")):
        assert gene_annotation.main([flag, str(tmp_path / name), "--layout", str(tmp_path / "layout.tsv"), "--exon_lengths",
                                     "--outdir", str(tmp_path / flag.strip("-"))]) == 0
    from_gtf, from_bed = GENES.read(tmp_path / "gtf" / "genes.tsv"), GENES.read(tmp_path / "gene_bed" / "genes.tsv")
    columns = ["chrom", "start", "end", "strand", "tss"]
    assert from_gtf[columns].equals(from_bed[columns])
    assert list(from_bed["gene_id"]) == ["A", "B", "C"]  # a BED's gene is its symbol (score column)
    gtf_lengths = pd.read_csv(tmp_path / "gtf" / "gene_lengths.tsv", sep="\t")
    assert gtf_lengths.empty  # the test GTF has no exon lines: counts would become CPM


def test_gtf_exon_lengths(tmp_path):
    gtf = (GTF + '1\tensembl\texon\t1001\t1100\t.\t+\t.\tgene_id "ENSG01.2"; transcript_id "ENST01.1";\n'
                 '1\tensembl\texon\t1051\t1200\t.\t+\t.\tgene_id "ENSG01.2"; transcript_id "ENST02.1";\n')
    (tmp_path / "g.gtf").write_text(gtf)
    assert read_gtf_exon_lengths(tmp_path / "g.gtf").to_dict() == {"ENSG01": 200}


@pytest.mark.parametrize("text, message", [
    ("chr1\t10\t20\tA\t0\n", "line 1: 5 tab-separated columns; a gene BED needs at least 6"),
    ("chr1\t10\t20\tA\n", "line 1: 4 tab-separated columns"),
    ("chr1\t10\t20\tA\t0\t+\nchr1\t10\t20\tB\t0\t.\n", "line 2, column 6 (strand): '.' is not + or -"),
    ("chr1\t10\t20\tA\t0\t*\n", "'*' is not + or -"),
    ("chr1\tten\t20\tA\t0\t+\n", "line 1, column 2 (start): 'ten' is not a whole non-negative number"),
    ("chr1\t30\t20\tA\t0\t+\n", "line 1: end 20 < start 30"),
    ("chr1\t10\t20\tA\t0\t+\t10\t20\t0\t2\t5,\t0,\n", "its BED12 blocks do not fit the line"),
    ("track x\n", "no BED lines"),
])
def test_bad_beds_are_refused_naming_the_line(tmp_path, text, message):
    with pytest.raises(InputError, match="genes.bed") as refusal:
        read_gene_bed(write(tmp_path, text, "genes.bed"))
    assert message in str(refusal.value)
