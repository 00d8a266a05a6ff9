"""--genome: the bundled assemblies (atac2expr.genomes), their chromosome sizes, 'genome' regions, the assembly check of
the peaks and Ensembl's files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from atac2expr import genomes
from atac2expr.cli import InputError
from atac2expr.download import ensembl_urls
from atac2expr.peaks import check_assembly
from atac2expr.regions import parse_regions, read_chrom_sizes
from conftest import REPO


def test_names_aliases_and_the_schema_agree():
    schema = json.loads((REPO / "nextflow_schema.json").read_text())
    genome = schema["$defs"]["input_output_options"]["properties"]["genome"]
    assert genome["enum"] == genomes.names() and genome["default"] == genomes.default_genome() == "GRCh38"
    assert [genomes.resolve(a).name for a in ("hg38", "HG19", "mm39", "mm10", "GRCm38")] == ["GRCh38", "GRCh37", "GRCm39", "GRCm38", "GRCm38"]
    with pytest.raises(InputError, match="--genome hg18: choose one of GRCh38"):
        genomes.resolve("hg18")


@pytest.mark.parametrize("name, chr1, n", [("GRCh38", 248956422, 25), ("GRCh37", 249250621, 25), ("GRCm39", 195154279, 22),
                                           ("GRCm38", 195471971, 22)])
def test_bundled_sizes_and_genome_regions(name, chr1, n):
    """Each assembly's sizes (UCSC/NCBI lengths, Ensembl names); 'genome' is its primary chromosomes: mouse 1-19, X, Y."""
    genome = genomes.resolve(name)
    sizes = read_chrom_sizes(REPO / "assets" / genome.chrom_sizes)
    assert sizes["1"] == chr1 and len(sizes) == n and "MT" in sizes
    regions = parse_regions("genome", sizes, primary=genome.primary)
    assert [r.chrom for r in regions] == list(genome.primary)
    assert len(regions) == (24 if genome.species == "Homo sapiens" else 21)
    assert [r.chrom for r in parse_regions("chr2, 3", sizes)] == ["2", "3"]  # chr-prefixed and bare names


def _peaks(*rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


@pytest.mark.parametrize("genome, peaks, message", [
    ("GRCh38", _peaks(("1", 249_000_000, 249_000_100)), "end past their chromosome's end"),
    ("GRCh38", _peaks(("1", 10, 20), ("1_gl000191_random", 1, 5)), "on sequences of GRCh37 (hg19)"),
    ("GRCh37", _peaks(("1", 10, 20), ("1_KI270706v1_random", 1, 5)), "on sequences of GRCh38 (hg38)"),
    ("GRCm39", _peaks(("1", 10, 20), ("22", 1, 5)), "on sequences of GRCh38 (hg38)"),
    ("GRCm39", _peaks(("1", 195_400_000, 195_400_100)), "end past their chromosome's end"),
    ("GRCm38", _peaks(("1", 10, 20), ("1_GL456210v1_random", 1, 5)), "on sequences of GRCm39 (mm39)"),
    ("GRCm39", _peaks(("X_GL456233_random", 1, 5),), "on sequences of GRCm38 (mm10)"),
])
def test_peaks_of_another_assembly_are_refused(genome, peaks, message):
    genome = genomes.resolve(genome)
    sizes = read_chrom_sizes(REPO / "assets" / genome.chrom_sizes)
    with pytest.raises(InputError, match="another assembly than --genome") as refusal:
        check_assembly("p.bed", peaks, sizes, genome=genome)
    assert message in str(refusal.value)


def test_peaks_of_the_assembly_pass():
    for name, contig in (("GRCh38", "1_KI270706v1_random"), ("GRCh37", "1_gl000191_random"), ("GRCm38", "1_GL456210_random"),
                         ("GRCm39", "1_GL456210v1_random")):
        genome = genomes.resolve(name)
        sizes = read_chrom_sizes(REPO / "assets" / genome.chrom_sizes)
        check_assembly("p.bed", _peaks(("1", 10, 20), (contig, 1, 5), ("EBV", 1, 5)), sizes, genome=genome)


def test_ensembl_references_follow_the_genome():
    assert ensembl_urls("gtf", 113, "https://ftp.ensembl.org/pub/", "GRCh37") == (
        "https://ftp.ensembl.org/pub/grch37/release-113/gtf/homo_sapiens/Homo_sapiens.GRCh37.87.gtf.gz",
        "https://ftp.ensembl.org/pub/grch37/release-113/gtf/homo_sapiens/CHECKSUMS")
    assert ensembl_urls("cdna", 110, "https://ftp.ensembl.org/pub", "mm39")[0] == (
        "https://ftp.ensembl.org/pub/release-110/fasta/mus_musculus/cdna/Mus_musculus.GRCm39.cdna.all.fa.gz")
    assert ensembl_urls("gtf", 102, "https://ftp.ensembl.org/pub", "mm10")[0].endswith("mus_musculus/Mus_musculus.GRCm38.102.gtf.gz")
    with pytest.raises(InputError, match="--ensembl_release 113: Ensembl has --genome GRCm38 in releases 76-102"):
        ensembl_urls("gtf", 113, "https://ftp.ensembl.org/pub", "GRCm38")
