"""The assemblies `--genome` names (GRCh38, GRCh37, GRCm39, GRCm38; aliases hg38, hg19, mm39, mm10), defined once in
genomes.json beside this module (main.nf reads the same file to find the bundled chromosome sizes in assets/).

Each assembly has: its chromosome sizes (assets/<name>.chrom.sizes, primary chromosomes and MT), the primary
chromosomes `--region genome` means (human 1-22, X, Y; mouse 1-19, X, Y), a pattern of the contig names only it
has (peaks on another assembly's contigs are of that assembly), and where Ensembl and ENCODE keep its files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .cli import InputError

GENOMES_JSON = Path(__file__).resolve().parent / "genomes.json"


@dataclass(frozen=True)
class Genome:
    name: str
    aliases: tuple[str, ...]
    species: str
    chrom_sizes: str  # file name in assets/
    primary: tuple[str, ...]
    contigs: re.Pattern
    ensembl: dict[str, Any]
    encode: dict[str, str] | None

    @property
    def label(self) -> str:
        return f"{self.name} ({'/'.join(self.aliases)})" if self.aliases else self.name


@cache
def _table() -> dict[str, Any]:
    with open(GENOMES_JSON) as handle:
        return json.load(handle)


@cache
def genomes() -> dict[str, Genome]:
    """Every assembly by its name, in the file's order."""
    return {name: Genome(name, tuple(spec["aliases"]), spec["species"], spec["chrom_sizes"], tuple(spec["primary"]),
                         re.compile(spec["contigs"]), spec["ensembl"], spec["encode"])
            for name, spec in _table()["genomes"].items()}


def default_genome() -> str:
    return _table()["default"]


def names() -> list[str]:
    """Every name --genome accepts: the assemblies, then their aliases."""
    return [*genomes(), *(alias for genome in genomes().values() for alias in genome.aliases)]


def resolve(name: str | None) -> Genome:
    """The assembly of a --genome value (a name or an alias, any case); none given is the default."""
    wanted = (name or default_genome()).strip().lower()
    for genome in genomes().values():
        if wanted == genome.name.lower() or wanted in (a.lower() for a in genome.aliases):
            return genome
    raise InputError(f"--genome {name}: choose one of {', '.join(names())}")


def foreign_contigs(chroms: list[str], genome: Genome, sizes: dict[str, int]) -> dict[str, str]:
    """Sequence names (normalised, not in `sizes`) that belong to another assembly: {name: that assembly}.

    A name is another assembly's when it matches that assembly's contig pattern and not this one's, or when it is a
    primary chromosome of another species that this one lacks (chromosome 20 on a mouse genome)."""
    found: dict[str, str] = {}
    for chrom in chroms:
        if chrom in sizes or genome.contigs.search(chrom):
            continue
        for other in genomes().values():
            if other.name == genome.name:
                continue
            if other.contigs.search(chrom) or (other.species != genome.species and chrom in other.primary):
                found[chrom] = other.label
                break
    return found


def ensembl_files(genome: Genome, release: int, base_url: str) -> dict[str, tuple[str, str]]:
    """{'gtf': (file URL, CHECKSUMS URL), 'cdna': (...)} of an assembly at an Ensembl release; one line when Ensembl
    has no such release of it. GRCh37 lives under <base>/grch37/release-<n>/ with the gene set frozen at release 87."""
    spec = genome.ensembl
    first, last = spec["first_release"], spec["last_release"]
    if release < first or (last is not None and release > last):
        span = f"{first}-{last}" if last is not None else f">= {first}"
        raise InputError(f"--ensembl_release {release}: Ensembl has --genome {genome.name} in releases {span}")
    base = f"{base_url.rstrip('/')}/{spec['folder']}release-{release}"
    species, prefix = spec["species"], spec["prefix"]
    gtf_folder = f"{base}/gtf/{species}"
    cdna_folder = f"{base}/fasta/{species}/cdna"
    return {
        "gtf": (f"{gtf_folder}/{prefix}.{spec['gene_set'] or release}.gtf.gz", f"{gtf_folder}/CHECKSUMS"),
        "cdna": (f"{cdna_folder}/{prefix}.cdna.all.fa.gz", f"{cdna_folder}/CHECKSUMS"),
    }
