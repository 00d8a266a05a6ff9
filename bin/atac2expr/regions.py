"""Chromosome names, regions of interest and their bins.

Conventions (the whole pipeline follows them):
- Chromosome names are normalised to Ensembl style: a leading 'chr' is dropped and 'M'
  becomes 'MT' (chr1 -> 1, chrX -> X, chrM -> MT). ENCODE files say chr1, Ensembl says 1;
  the same rule is applied to the region, the GTF and every peak file.
- A region string is 1-based inclusive as in samtools (chr1:1-1000000); inside the code it
  is 0-based half-open [0, 1000000). Several regions are separated by commas.
- Bin i of a region covers [start + i*bin_size, start + (i+1)*bin_size).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cli import InputError
from .files import read_text

_REGION_RE = re.compile(r"^(?P<chrom>[A-Za-z0-9_.]+):(?P<start>[0-9][0-9,]*)-(?P<end>[0-9][0-9,]*)$")


def normalize_chrom(name: str) -> str:
    """One chromosome name style for every input: chr1 -> 1, chrM/M -> MT."""
    name = name.strip()
    if name[:3].lower() == "chr":
        name = name[3:]
    return "MT" if name in ("M", "m") else name


def normalize_chroms(names: pd.Series) -> pd.Series:
    """Vectorised normalize_chrom for a column of names."""
    names = names.astype(str).str.strip().str.replace(r"^[cC][hH][rR]", "", regex=True)
    return names.mask(names.isin(["M", "m"]), "MT")


@dataclass(frozen=True)
class Region:
    chrom: str  # normalised
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.chrom}:{self.start + 1}-{self.end}"


def parse_regions(text: str, param: str = "--region") -> list[Region]:
    """Parse 'chr1:1-1000000[,chr2:1-5000]' (1-based inclusive) into 0-based half-open regions."""
    regions: list[Region] = []
    for part in str(text).split(","):
        part = part.strip()
        match = _REGION_RE.match(part)
        if not match:
            raise InputError(f"{param} '{text}': '{part}' is not of the form chr:start-end (e.g. chr1:1-1000000)")
        start = int(match["start"].replace(",", ""))
        end = int(match["end"].replace(",", ""))
        if start < 1:
            raise InputError(f"{param} '{text}': start {start} must be >= 1 (coordinates are 1-based)")
        if end < start:
            raise InputError(f"{param} '{text}': end {end} is before start {start}")
        regions.append(Region(normalize_chrom(match["chrom"]), start - 1, end))
    for i, a in enumerate(regions):
        for b in regions[i + 1 :]:
            if a.chrom == b.chrom and a.start < b.end and b.start < a.end:
                raise InputError(f"{param} '{text}': regions {a} and {b} overlap")
    return regions


def format_regions(regions: list[Region]) -> str:
    return ",".join(str(r) for r in regions)


def check_bin_size(regions: list[Region], bin_size: int) -> None:
    if bin_size < 1:
        raise InputError(f"--bin_size {bin_size}: must be a positive number of bases")
    for region in regions:
        if region.length % bin_size:
            raise InputError(
                f"--bin_size {bin_size} does not divide the length of region {region} "
                f"({region.length} bp); choose a region whose length is a multiple of the bin size"
            )


def make_bins(regions: list[Region], bin_size: int) -> pd.DataFrame:
    """The bins of the regions, in order: columns chrom, start, end (0-based half-open)."""
    check_bin_size(regions, bin_size)
    frames = []
    for region in regions:
        starts = np.arange(region.start, region.end, bin_size, dtype=np.int64)
        frames.append(pd.DataFrame({"chrom": region.chrom, "start": starts, "end": starts + bin_size}))
    return pd.concat(frames, ignore_index=True)


def read_chrom_sizes(path) -> dict[str, int]:
    """chromosome<TAB>length lines (a UCSC/samtools .chrom.sizes or .fai), names normalised."""
    sizes: dict[str, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[1].strip().isdigit():
            raise InputError(f"{path} line {number}: expected 'chromosome<TAB>length'")
        sizes[normalize_chrom(fields[0])] = int(fields[1])
    return sizes


def check_chromosome_lengths(regions: list[Region], lengths: dict[str, int], source: str) -> None:
    """Refuse a region that runs past the end of its chromosome (lengths from `source`)."""
    for region in regions:
        length = lengths.get(region.chrom)
        if length is None:
            raise InputError(f"--region {region}: chromosome {region.chrom} is not in {source}")
        if region.end > length:
            raise InputError(
                f"--region {region}: ends past the end of chromosome {region.chrom} ({length} bp in {source})"
            )
