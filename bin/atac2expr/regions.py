"""Chromosome names, regions of interest and their bins.

Conventions (the whole pipeline follows them):
- Chromosome names are normalised to Ensembl style: a leading 'chr' is dropped and 'M'
  becomes 'MT' (chr1 -> 1, chrX -> X, chrM -> MT). ENCODE files say chr1, Ensembl says 1;
  the same rule is applied to the region, the GTF and every peak file.
- A region is written as in samtools, 1-based inclusive (chr1:1-1000000, thousands separators
  allowed: chr1:1,000-2,000), or as a whole chromosome (chr1, 1), or `genome` (every primary
  chromosome of the chromosome sizes: 1-22, X, Y). Several are separated by commas. Inside the
  code a region is 0-based half-open [start, end).
- Bin i of a region covers [start + i*bin_size, min(start + (i+1)*bin_size, end)): the last bin
  of a region whose length the bin size does not divide (e.g. a whole chromosome) is shorter.
- The bin layout (regions in order + bin size) is written once, as a table (chrom, start, end,
  bin_size), and every later step derives the bins from it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .cli import InputError
from .files import atomic_output, read_text
from .formats import BIN_LAYOUT, read_tsv

PRIMARY_CHROMOSOMES = tuple([str(i) for i in range(1, 23)] + ["X", "Y"])  # GRCh38's; genomes.py has each assembly's
GENOME = "genome"

_NUMBER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
# one region at a time, from the left: a chromosome name, optionally :start-end, then a comma or the end
_REGION_TOKEN = re.compile(
    rf"\s*(?P<chrom>[A-Za-z0-9_.]+)(?::(?P<start>{_NUMBER})-(?P<end>{_NUMBER}))?\s*(?P<sep>,|$)"
)


def normalize_chrom(name: str) -> str:
    """One chromosome name style for every input: chr1 -> 1, chrM/M -> MT."""
    name = name.strip()
    if name[:3].lower() == "chr":
        name = name[3:]
    return "MT" if name in ("M", "m") else name


def ucsc_chrom(name: str) -> str:
    """A normalised name as the UCSC and WashU browsers want it in track files: 1 -> chr1, MT -> chrM."""
    return "chrM" if name == "MT" else f"chr{name}"


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


def _region_tokens(text: str, param: str) -> list[tuple[str, str | None, str | None, str]]:
    """(chrom, start, end, as written) of each comma-separated region; samtools-style thousands
    separators (chr1:1,000-2,000) are part of a number, not separators."""
    tokens, pos = [], 0
    text = str(text)
    while pos < len(text):
        match = _REGION_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            rest = text[pos:].split(",")[0].strip() or text[pos:]
            raise InputError(f"{param} '{text}': '{rest}' is not a region (chr:start-end, a chromosome such as chr1, or '{GENOME}')")
        tokens.append((match["chrom"], match["start"], match["end"], match.group(0).strip(" ,")))
        pos = match.end()
        if match["sep"] == "," and not text[pos:].strip():
            raise InputError(f"{param} '{text}': ends with a comma")
    if not tokens:
        raise InputError(f"{param} '{text}': empty")
    return tokens


def parse_regions(text: str, sizes: dict[str, int], param: str = "--region", sizes_source: str = "--chrom_sizes",
                  primary: tuple[str, ...] = PRIMARY_CHROMOSOMES) -> list[Region]:
    """Regions of a --region value, checked against the chromosome sizes (names normalised).

    'genome' is every chromosome of `primary` (the assembly's: human 1-22, X, Y; mouse 1-19, X, Y) that `sizes`
    has (MT and contigs are left out); a bare chromosome name is the whole chromosome; chr:start-end is 1-based
    inclusive. Overlaps are refused.
    """
    regions: list[Region] = []
    for chrom, start_text, end_text, written in _region_tokens(text, param):
        if chrom.lower() == GENOME and start_text is None:
            present = [c for c in primary if c in sizes]
            if not present:
                raise InputError(f"{param} {GENOME}: {sizes_source} has none of the primary chromosomes {_spans(primary)}")
            regions += [Region(c, 0, sizes[c]) for c in present]
            continue
        name = normalize_chrom(chrom)
        length = sizes.get(name)
        if length is None:
            known = ", ".join(list(sizes)[:8])
            raise InputError(f"{param} '{text}': chromosome {chrom} ({name}) is not in {sizes_source} (it has {known}, ...)")
        if start_text is None:
            regions.append(Region(name, 0, length))
            continue
        start, end = int(start_text.replace(",", "")), int(end_text.replace(",", ""))
        if start < 1:
            raise InputError(f"{param} '{text}': '{written}' starts at {start}; coordinates are 1-based, the first base is 1")
        if end < start:
            raise InputError(f"{param} '{text}': '{written}' ends ({end}) before it starts ({start})")
        if end > length:
            raise InputError(f"{param} '{text}': '{written}' ends past the end of chromosome {name} ({length:,} bp in {sizes_source})")
        regions.append(Region(name, start - 1, end))
    ordered = sorted(regions, key=lambda r: (r.chrom, r.start))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.chrom == b.chrom and b.start < a.end:
            raise InputError(f"{param} '{text}': regions {a} and {b} overlap")
    return regions


def _spans(chroms: tuple[str, ...]) -> str:
    """1, 2, ..., 22, X, Y -> '1-22, X, Y'."""
    numbers = [int(c) for c in chroms if c.isdigit()]
    others = [c for c in chroms if not c.isdigit()]
    head = [f"{min(numbers)}-{max(numbers)}"] if numbers else []
    return ", ".join(head + others)


def format_regions(regions: list[Region] | tuple[Region, ...]) -> str:
    return ",".join(str(r) for r in regions)


def read_chrom_sizes(path) -> dict[str, int]:
    """chromosome<TAB>length lines (a UCSC/samtools .chrom.sizes or .fai), names normalised, file order kept."""
    sizes: dict[str, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 2 or not fields[1].strip().isdigit() or int(fields[1]) < 1:
            raise InputError(f"{path} line {number}: expected 'chromosome<TAB>length' with a positive length")
        name = normalize_chrom(fields[0])
        if name in sizes:
            raise InputError(f"{path} line {number}: chromosome {fields[0]} ({name}) is listed twice")
        sizes[name] = int(fields[1])
    if not sizes:
        raise InputError(f"{path}: no chromosomes")
    return sizes


def chrom_sizes_checksum(sizes: dict[str, int]) -> str:
    """MD5 of the chromosome names (normalised) and lengths sorted by name: one assembly's sizes give the same checksum
    whatever the file's order and chromosome naming (chr1 or 1)."""
    text = "".join(f"{name}\t{size}\n" for name, size in sorted(sizes.items()))
    return hashlib.md5(text.encode()).hexdigest()




@dataclass(frozen=True)
class BinLayout:
    """The regions, in order, and the bin size: everything that defines the bins (the columns of X)."""

    regions: tuple[Region, ...]
    bin_size: int

    def __post_init__(self) -> None:
        if self.bin_size < 1:
            raise InputError(f"--bin_size {self.bin_size}: must be a positive number of bases")
        if not self.regions:
            raise InputError("no regions")

    @classmethod
    def of(cls, regions: list[Region], bin_size: int) -> "BinLayout":
        return cls(tuple(regions), int(bin_size))

    @property
    def bins_per_region(self) -> np.ndarray:
        lengths = np.array([r.length for r in self.regions], dtype=np.int64)
        return -(-lengths // self.bin_size)  # a partial last bin counts

    @property
    def offsets(self) -> np.ndarray:
        """Index of each region's first bin; offsets[-1] is the number of bins."""
        return np.concatenate([[0], np.cumsum(self.bins_per_region)]).astype(np.int64)

    @property
    def n_bins(self) -> int:
        return int(self.bins_per_region.sum())

    @property
    def chroms(self) -> list[str]:
        return list(dict.fromkeys(r.chrom for r in self.regions))

    def bins(self) -> pd.DataFrame:
        """chrom, start, end (0-based half-open) of every bin, in layout order; a region's last bin may be shorter."""
        counts = self.bins_per_region
        region = np.repeat(np.arange(len(self.regions)), counts)
        first = np.array([r.start for r in self.regions], dtype=np.int64)
        last = np.array([r.end for r in self.regions], dtype=np.int64)
        within = np.arange(len(region), dtype=np.int64) - np.repeat(self.offsets[:-1], counts)
        start = first[region] + within * self.bin_size
        chroms = np.array([r.chrom for r in self.regions], dtype=str)
        return pd.DataFrame({
            "chrom": chroms[region],
            "start": start,
            "end": np.minimum(start + self.bin_size, last[region]),
        })

    def describe(self) -> str:
        text = format_regions(self.regions)
        if len(text) > 120:
            text = f"{len(self.regions)} regions on {len(self.chroms)} chromosomes ({text[:80]}...)"
        return f"{text} in {self.n_bins:,} bins of {self.bin_size:,} bp"

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "chrom": [r.chrom for r in self.regions], "start": [r.start for r in self.regions],
            "end": [r.end for r in self.regions], "bin_size": self.bin_size,
        })[BIN_LAYOUT.columns]

    @property
    def fingerprint(self) -> str:
        """A short digest of the layout: files binned with different layouts never mix."""
        text = "\n".join(f"{r.chrom}\t{r.start}\t{r.end}" for r in self.regions) + f"\n{self.bin_size}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_arrays(self, prefix: str = "region_") -> dict[str, np.ndarray]:
        """For .npz files and model metadata (no pickled objects)."""
        return {
            f"{prefix}chrom": np.array([r.chrom for r in self.regions], dtype=str),
            f"{prefix}start": np.array([r.start for r in self.regions], dtype=np.int64),
            f"{prefix}end": np.array([r.end for r in self.regions], dtype=np.int64),
            "bin_size": np.array(self.bin_size, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "region_") -> "BinLayout":
        chroms, starts, ends = arrays[f"{prefix}chrom"], arrays[f"{prefix}start"], arrays[f"{prefix}end"]
        if not (len(chroms) == len(starts) == len(ends)):
            raise ValueError("region arrays of different lengths")
        regions = tuple(Region(str(c), int(s), int(e)) for c, s, e in zip(chroms, starts, ends, strict=True))
        for region in regions:
            if region.start < 0 or region.end <= region.start:
                raise ValueError(f"region {region.chrom}:{region.start}-{region.end} is empty or negative")
        return cls(regions, int(np.asarray(arrays["bin_size"])))

    def write(self, path: str | Path) -> None:
        with atomic_output(path) as handle:
            self.frame().to_csv(handle, sep="\t", index=False)

    @classmethod
    def read(cls, path: str | Path) -> "BinLayout":
        try:
            frame = read_tsv(path, dtype={"chrom": str})
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise InputError(f"{path}: not a bin layout table ({err})") from None
        if list(frame.columns) != BIN_LAYOUT.columns or frame.empty or frame["bin_size"].nunique() != 1:
            raise InputError(f"{path}: not a bin layout table (columns {', '.join(BIN_LAYOUT.columns)}, one bin size)")
        regions = [Region(str(c), int(s), int(e)) for c, s, e in frame[BIN_LAYOUT.columns[:3]].itertuples(index=False)]
        bad = [r for r in regions if r.start < 0 or r.end <= r.start]
        if bad:
            raise InputError(f"{path}: not a bin layout table (region {bad[0].chrom}:{bad[0].start}-{bad[0].end} is empty or negative)")
        return cls.of(regions, int(frame["bin_size"].iloc[0]))

