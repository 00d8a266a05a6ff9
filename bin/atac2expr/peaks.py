"""ATAC-seq peak files -> one value per bin: open/closed (binary) or the strongest peak's signal (signal)."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from . import genomes
from .cli import InputError
from .files import is_gzip, open_binary, read_text
from .formats import BIN_VALUES
from .genomes import Genome
from .regions import BinLayout, normalize_chroms

log = logging.getLogger(__name__)

_HEADER_PREFIXES = ("track", "browser", "#")
_POS_SPAN = np.int64(1) << np.int64(40)  # > any chromosome position: chromosome code * span + position is a sort key


# binary formats given where BED text is expected, by their first bytes (after gzip, when gzipped); the words say what to do
_BINARY_MAGIC = [
    (b"\xeb\xf2\x89\x87", "bigBed", "convert it with bigBedToBed"),  # 0x8789F2EB, written little- or big-endian
    (b"\x87\x89\xf2\xeb", "bigBed", "convert it with bigBedToBed"),
    (b"\x26\xfc\x8f\x88", "bigWig", "it holds a signal, not peaks: call peaks (e.g. MACS2) and give their BED/narrowPeak file"),
    (b"\x88\x8f\xfc\x26", "bigWig", "it holds a signal, not peaks: call peaks (e.g. MACS2) and give their BED/narrowPeak file"),
    (b"BAM\x01", "BAM", "it holds reads, not peaks: call peaks (e.g. MACS2) and give their BED/narrowPeak file"),
    (b"CRAM", "CRAM", "it holds reads, not peaks: call peaks (e.g. MACS2) and give their BED/narrowPeak file"),
    (b"BCF\x02", "BCF", "it holds variants, not peaks"),
    (b"TBI\x01", "tabix index (.tbi)", "give the indexed BED file itself"),
    (b"CSI\x01", "CSI index", "give the indexed BED file itself"),
    (b"\x43\x27\x41\x1a", "2bit", "it holds a genome sequence, not peaks"),
    (b"BZh", "bzip2-compressed", "decompress it, or compress it with gzip"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it, or compress it with gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it, or compress it with gzip"),
    (b"PK\x03\x04", "zip", "unzip it"),
]


def _binary_format(path: Path) -> tuple[str, str] | None:
    """(format, what to do) when the file is one of the binary formats often given as peaks, or holds NUL bytes; else None."""
    try:
        with open_binary(path) as handle:
            head = handle.read(1 << 16)
    except (EOFError, OSError, zlib.error):
        return None  # damaged gzip: the readers name it
    for magic, name, hint in _BINARY_MAGIC:
        if head.startswith(magic):
            return name, hint
    if b"\0" in head:
        return "binary", "peaks are BED text"
    return None


SIGNAL_COLUMN = 6  # narrowPeak's (and broadPeak's) signalValue, 0-based: the 7th column


def _empty(signal: bool) -> pd.DataFrame:
    frame = pd.DataFrame({"chrom": pd.Categorical([]), "start": pd.Series(dtype=np.int64), "end": pd.Series(dtype=np.int64)})
    return frame.assign(signal=pd.Series(dtype=np.float64)) if signal else frame


def _header_lines(path: Path) -> int:
    """Leading track/browser/# lines (read from the first few kB only)."""
    count = 0
    try:
        with open_binary(path) as handle:
            for raw in handle:
                line = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
                if line.strip() and not line.startswith(_HEADER_PREFIXES):
                    break
                count += 1
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{path}: gzip file is truncated or corrupt ({err})") from None
    return count


def _read_fast(path: Path, signal: bool) -> pd.DataFrame:
    columns = {0: ("chrom", "category"), 1: ("start", np.int64), 2: ("end", np.int64)}
    if signal:
        columns[SIGNAL_COLUMN] = ("signal", np.float64)
    return pd.read_csv(
        path, sep="\t", header=None, usecols=list(columns), names=[name for name, _ in columns.values()], skiprows=_header_lines(path),
        compression="gzip" if is_gzip(path) else None, dtype=dict(columns.values()),
        skip_blank_lines=True, comment=None, encoding="utf-8-sig",
    )


def _signal_problem(value: str) -> str | None:
    """Why column 7 cannot be a peak's signalValue, or None."""
    try:
        number = float(value)
    except ValueError:
        return f"'{value[:40]}' is not a number"
    if not np.isfinite(number) or number < 0:
        return f"{value[:40]} is not a finite signal >= 0 (narrowPeak writes -1 where a peak has no signalValue)"
    return None


def _read_checked(path: Path, signal: bool) -> pd.DataFrame:
    """The slow path: every line looked at, so that the error names the line and column."""
    text = read_text(path).lstrip("\ufeff")
    chroms, starts, ends, signals = [], [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith(_HEADER_PREFIXES):
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 3:
            raise InputError(f"{path} line {number}: fewer than 3 tab-separated columns (chrom, start, end)")
        for column, value in (("start", fields[1]), ("end", fields[2])):
            if not value.strip().isdigit():
                raise InputError(f"{path} line {number}, column {column}: '{value[:40]}' is not a whole non-negative number")
            if int(value) >= int(_POS_SPAN):
                raise InputError(f"{path} line {number}, column {column}: {value[:40]} is larger than any chromosome")
        if signal:
            if len(fields) <= SIGNAL_COLUMN:
                raise InputError(f"{path} line {number}: {len(fields)} columns, no signalValue (column 7 of narrowPeak): "
                                 f"--bin_value signal needs narrowPeak peaks; peaks without one (BED3, BED6) can only be binned with --bin_value binary")
            problem = _signal_problem(fields[SIGNAL_COLUMN])
            if problem:
                raise InputError(f"{path} line {number}, column 7 (signalValue): {problem}; --bin_value signal needs narrowPeak peaks "
                                 f"with a signalValue on every line")
            signals.append(float(fields[SIGNAL_COLUMN]))
        chroms.append(fields[0])
        starts.append(int(fields[1]))
        ends.append(int(fields[2]))
    frame = pd.DataFrame({"chrom": pd.Categorical(chroms), "start": np.array(starts, dtype=np.int64), "end": np.array(ends, dtype=np.int64)})
    return frame.assign(signal=np.array(signals, dtype=np.float64)) if signal else frame


def read_peaks(path: str | Path, signal: bool = False) -> pd.DataFrame:
    """Peaks of a BED3+ or narrowPeak file (gz or plain; track/browser/# lines and a UTF-8 BOM skipped).

    Returns columns chrom (normalised, categorical: the name checks and lookups run once per chromosome,
    not once per peak), start, end (0-based half-open, as in BED) and, with `signal`, signal: column 7, the
    narrowPeak signalValue (a finite number >= 0 on every line, else the file is refused naming the line).
    pandas parses the file; when it cannot, every line is checked to name the one that is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    binary = _binary_format(path)
    if binary:
        raise InputError(f"{path}: a {binary[0]} file, not BED/narrowPeak text (gz or plain); {binary[1]}")
    try:
        frame = _read_fast(path, signal)
        if signal and not (np.isfinite(frame["signal"].to_numpy()) & (frame["signal"].to_numpy() >= 0)).all():
            frame = _read_checked(path, signal)  # a short line, 'NA' or a negative signal: the slow path names the line
    except pd.errors.EmptyDataError:
        frame = _empty(signal)
    except (ValueError, OverflowError, UnicodeDecodeError, pd.errors.ParserError, EOFError, OSError, zlib.error):
        frame = _read_checked(path, signal)
    if frame.empty:
        log.warning("%s: no peaks; every bin will be 0", path)
        return _empty(signal)
    bad = np.flatnonzero((frame["start"].to_numpy() < 0) | (frame["end"].to_numpy() <= frame["start"].to_numpy())
                         | (frame["end"].to_numpy() >= _POS_SPAN))
    if len(bad):
        row = frame.iloc[bad[0]]
        raise InputError(f"{path}: peak {bad[0] + 1} ({row.chrom}:{row.start}-{row.end}) has end <= start, a negative start "
                         f"or a coordinate larger than any chromosome")
    chrom = frame["chrom"]  # read_csv's categories are the names present
    raw = pd.Series(chrom.cat.categories.astype(str))
    has_chr = raw.str.lower().str.startswith("chr")
    if has_chr.any() and not has_chr.all():
        raise InputError(f"{path}: mixes chromosome names with and without 'chr' (e.g. {raw[has_chr].iloc[0]} and {raw[~has_chr].iloc[0]})")
    names, codes = np.unique(normalize_chroms(raw).to_numpy(str), return_inverse=True)  # chrM and M both become MT
    frame["chrom"] = pd.Categorical.from_codes(codes[chrom.cat.codes.to_numpy()], categories=names)
    return frame


def check_assembly(path: str | Path, peaks: pd.DataFrame, sizes: dict[str, int], sizes_source: str = "--chrom_sizes",
                   genome: Genome | None = None) -> None:
    """Refuse peaks of another assembly than `genome` (--genome; GRCh38 when None): peaks past the end of a
    chromosome of `sizes`, or on contigs (or primary chromosomes of another species) that only another assembly of
    genomes.py has. Other sequences missing from `sizes` (unplaced contigs, chrEBV) cannot be in any region and are
    left out of binarisation."""
    if peaks.empty:
        return
    genome = genome or genomes.resolve(None)
    chrom = pd.Categorical(peaks["chrom"])
    names = pd.Series(chrom.categories.astype(str))
    lengths = names.map(sizes).fillna(np.inf).to_numpy()[chrom.codes]
    past = peaks[peaks["end"].to_numpy() > lengths]
    others = genomes.foreign_contigs(list(names), genome, sizes)
    foreign = peaks["chrom"][names.isin(list(others)).to_numpy()[chrom.codes]]
    if len(past) or len(foreign):
        parts = []
        if len(past):
            row = past.iloc[0]
            parts.append(f"{len(past)} of {len(peaks)} peaks end past their chromosome's end in {sizes_source} "
                         f"(e.g. {row.chrom}:{row.start}-{row.end}, chromosome {row.chrom} is {sizes[row.chrom]:,} bp)")
        if len(foreign):
            example = str(foreign.iloc[0])
            parts.append(f"{len(foreign)} peaks on sequences of {others[example]} (e.g. {example})")
        raise InputError(f"{path}: {'; '.join(parts)}: the peaks are of another assembly than --genome {genome.label}; "
                         f"lift them over (e.g. UCSC liftOver) or give the matching --genome (or --chrom_sizes)")


def _covered_bins(peaks: pd.DataFrame, layout: BinLayout) -> tuple[np.ndarray, np.ndarray]:
    """(bin, peak): every bin of the layout that a peak overlaps (half-open coordinates), once per overlapping
    peak, with that peak's row in `peaks`.

    One pass over the peaks for any number of regions: peaks and regions get a sort key
    (chromosome code * span + position), each peak finds the regions it overlaps with two binary
    searches, and the bins each covers are listed. O((peaks + regions) log regions + covered bins): a whole
    genome of 1 kb bins takes a few tens of milliseconds.
    """
    region_chrom = pd.Index(layout.chroms)
    r_code = region_chrom.get_indexer([r.chrom for r in layout.regions]).astype(np.int64)
    r_start = np.array([r.start for r in layout.regions], dtype=np.int64)
    r_end = np.array([r.end for r in layout.regions], dtype=np.int64)
    r_offset = layout.offsets[:-1]
    order = np.argsort(r_code * _POS_SPAN + r_start, kind="stable")
    start_key = (r_code * _POS_SPAN + r_start)[order]
    end_key = (r_code * _POS_SPAN + r_end)[order]

    chrom = pd.Categorical(peaks["chrom"])
    p_code = region_chrom.get_indexer(chrom.categories.astype(str)).astype(np.int64)[chrom.codes]
    known = np.flatnonzero(p_code >= 0)
    p_code = p_code[known]
    p_start = peaks["start"].to_numpy(np.int64)[known]
    p_end = peaks["end"].to_numpy(np.int64)[known]
    first = np.searchsorted(end_key, p_code * _POS_SPAN + p_start, side="right")  # first region ending after the peak's start
    last = np.searchsorted(start_key, p_code * _POS_SPAN + p_end, side="left") - 1  # last region starting before its end
    counts = np.maximum(last - first + 1, 0)
    if counts.max(initial=0) <= 1:  # the usual case: no peak spans two regions
        peak = np.flatnonzero(counts)
        region = order[first[peak]]
    else:  # one row per (peak, overlapped region)
        peak = np.repeat(np.arange(len(counts)), counts)
        region = order[first[peak] + (np.arange(len(peak)) - np.repeat(np.cumsum(counts) - counts, counts))]
    lo = np.maximum(p_start[peak], r_start[region]) - r_start[region]
    hi = np.minimum(p_end[peak], r_end[region]) - r_start[region]  # exclusive, > lo
    first_bin = r_offset[region] + lo // layout.bin_size
    span = (r_offset[region] + (hi - 1) // layout.bin_size) - first_bin + 1
    # every covered bin's index, peak by peak: O(peaks + covered bins), not O(all bins)
    covered = np.repeat(first_bin - np.cumsum(span) + span, span) + np.arange(int(span.sum()), dtype=np.int64)
    return covered, np.repeat(known[peak], span)


def signal_value(strongest: np.ndarray) -> np.ndarray:
    """A bin's value under --bin_value signal: log1p of the strongest overlapping peak's signalValue (MACS2's fold
    enrichment spans ~2 to several hundred; the log keeps the models' inputs within ~0-6 and a few very strong peaks
    from dominating ridge's kernel and the gene scores), float32; 0 where no peak overlaps."""
    return np.log1p(np.asarray(strongest, dtype=np.float64)).astype(np.float32)


def bin_peaks(peaks: pd.DataFrame, layout: BinLayout, bin_value: str) -> np.ndarray:
    """One value per bin of the layout, in one vectorised pass over the peaks.

    binary: uint8, 1 for every bin that any peak overlaps (half-open coordinates), else 0.
    signal: float32, signal_value() of the largest signalValue among the peaks overlapping the bin, 0 where none
            does; `peaks` must have the signal column (read_peaks(path, signal=True)).
    """
    if bin_value not in BIN_VALUES:
        raise InputError(f"--bin_value {bin_value}: choose one of {', '.join(BIN_VALUES)}")
    n_bins = layout.n_bins
    covered, peak = _covered_bins(peaks, layout) if len(peaks) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if bin_value == "binary":
        values = np.zeros(n_bins, dtype=np.uint8)
        values[covered] = 1
        return values
    strongest = np.zeros(n_bins, dtype=np.float64)
    np.maximum.at(strongest, covered, peaks["signal"].to_numpy(np.float64)[peak])  # repeated bins keep their largest
    return signal_value(strongest)
