"""ATAC-seq peak files -> one value per bin: open/closed (binary) or the strongest peak's signal (signal), and each
bin's activity (the strongest overlapping peak's signalValue, whatever --bin_value says).

The format of a peak file is read from its columns (peak_format): narrowPeak, broadPeak and gappedPeak carry a
signalValue (columns 7, 7 and 13); BED3-BED12 carry none, so their activity is open/closed."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PeakFormat:
    """What a peak file's columns hold, detected from its content (peak_format): the name, the 0-based column of each
    peak's signalValue (None: the format has none) and of its summit offset (narrowPeak's column 10)."""

    name: str
    columns: int
    signal_column: int | None = None
    summit_column: int | None = None

    def describe(self) -> str:
        return f"{self.name} ({self.columns} columns)"


# the formats with a signal: ENCODE's narrowPeak (BED6+4), broadPeak (BED6+3) and gappedPeak (BED12+3)
NARROWPEAK = PeakFormat("narrowPeak", 10, SIGNAL_COLUMN, 9)
BROADPEAK = PeakFormat("broadPeak", 9, SIGNAL_COLUMN)
GAPPEDPEAK = PeakFormat("gappedPeak", 15, 12)
_SIGNAL_FORMATS = "narrowPeak, broadPeak or gappedPeak"


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit()


def _is_rgb(value: str) -> bool:
    parts = value.split(",")
    return len(parts) in (1, 3) and all(p.strip().isdigit() for p in parts)


def _classify(fields: list[str], extension: str) -> PeakFormat:
    """The format of a data line: its column count, and for 9 columns what they hold (broadPeak's signal, p and q
    against BED9's thick span and itemRgb; the file's extension .broadPeak decides only what the columns allow
    either way). 10 columns are narrowPeak (BED6+4) and 15 gappedPeak (BED12+3): the readers check their values."""
    n = len(fields)
    if n == 10:
        return NARROWPEAK
    if n == 15:
        return GAPPEDPEAK
    if n == 9:
        bed9 = (_is_int(fields[6]) and _is_int(fields[7]) and _is_rgb(fields[8]) and fields[1].isdigit() and fields[2].isdigit()
                and int(fields[1]) <= int(fields[6]) <= int(fields[7]) <= int(fields[2]))
        if bed9 and extension != "broadpeak":
            return PeakFormat("BED9", 9)
        return BROADPEAK
    if n in (3, 4, 5, 6, 12):
        return PeakFormat(f"BED{n}", n)
    return PeakFormat(f"BED12+{n - 12}" if n > 12 else f"BED6+{n - 6}" if n > 6 else "BED", n)


def peak_format(path: str | Path) -> PeakFormat:
    """The format of a peak file, from its first data line (_classify); the readers check every line."""
    path = Path(path)
    extension = path.name.lower().removesuffix(".gz").rsplit(".", 1)[-1]
    try:
        with open_binary(path) as handle:
            for raw in handle:
                line = raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
                if line.strip() and not line.startswith(_HEADER_PREFIXES):
                    return _classify(line.split("\t"), extension)
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{path}: gzip file is truncated or corrupt ({err})") from None
    return PeakFormat("BED3", 3)


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


def _read_fast(path: Path, signal_column: int | None) -> pd.DataFrame:
    columns = {0: ("chrom", "category"), 1: ("start", np.int64), 2: ("end", np.int64)}
    if signal_column is not None:
        columns[signal_column] = ("signal", np.float64)
    return pd.read_csv(
        path, sep="\t", header=None, usecols=list(columns), names=[name for name, _ in columns.values()], skiprows=_header_lines(path),
        compression="gzip" if is_gzip(path) else None, dtype=dict(columns.values()),
        skip_blank_lines=True, comment=None, encoding="utf-8-sig",
    )


def _signal_problem(value: str) -> str | None:
    """Why a value cannot be a peak's signalValue, or None."""
    try:
        number = float(value)
    except ValueError:
        return f"'{value[:40]}' is not a number"
    if not np.isfinite(number) or number < 0:
        return f"{value[:40]} is not a finite signal >= 0 (narrowPeak writes -1 where a peak has no signalValue)"
    return None


def _read_checked(path: Path, fmt: PeakFormat | None) -> pd.DataFrame:
    """The slow path: every line looked at, so that the error names the line and column. fmt: read its signal column
    (every line must hold a valid one), or None for coordinates only."""
    text = read_text(path).lstrip("\ufeff")
    column = fmt.signal_column if fmt is not None else None
    chroms, starts, ends, signals = [], [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith(_HEADER_PREFIXES):
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 3:
            raise InputError(f"{path} line {number}: fewer than 3 tab-separated columns (chrom, start, end)")
        for name, value in (("start", fields[1]), ("end", fields[2])):
            if not value.strip().isdigit():
                raise InputError(f"{path} line {number}, column {name}: '{value[:40]}' is not a whole non-negative number")
            if int(value) >= int(_POS_SPAN):
                raise InputError(f"{path} line {number}, column {name}: {value[:40]} is larger than any chromosome")
        if column is not None:
            if len(fields) <= column:
                raise InputError(f"{path} line {number}: {len(fields)} columns, no signalValue (column {column + 1} of {fmt.name}, "
                                 f"the format of the file's first line)")
            problem = _signal_problem(fields[column])
            if problem:
                raise InputError(f"{path} line {number}, column {column + 1} (signalValue): {problem} ({fmt.name}: a signalValue "
                                 f"on every line)")
            signals.append(float(fields[column]))
        chroms.append(fields[0])
        starts.append(int(fields[1]))
        ends.append(int(fields[2]))
    frame = pd.DataFrame({"chrom": pd.Categorical(chroms), "start": np.array(starts, dtype=np.int64), "end": np.array(ends, dtype=np.int64)})
    return frame.assign(signal=np.array(signals, dtype=np.float64)) if column is not None else frame


def read_peaks(path: str | Path, signal: bool = False, activity: bool = False) -> pd.DataFrame:
    """Peaks of a BED3-BED12, narrowPeak, broadPeak or gappedPeak file (gz or plain; track/browser/# lines and a
    UTF-8 BOM skipped), its format detected from its columns (peak_format, in frame.attrs["format"]).

    Returns columns chrom (normalised, categorical: the name checks and lookups run once per chromosome,
    not once per peak), start, end (0-based half-open, as in BED) and, with `signal` or `activity`, signal: the
    format's signalValue column.
      signal=True:   the format must have one, a finite number >= 0 on every line; else the file is refused naming
                     the format, or the line.
      activity=True: the signal when the format has a valid one on every line; else no signal column, and a warning
                     says why the peaks' activity is open/closed.
    pandas parses the file; when it cannot, every line is checked to name the one that is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    binary = _binary_format(path)
    if binary:
        raise InputError(f"{path}: a {binary[0]} file, not BED/narrowPeak text (gz or plain); {binary[1]}")
    fmt = peak_format(path)
    if signal and fmt.signal_column is None:
        raise InputError(f"{path}: {fmt.describe()} peaks hold no signalValue: --bin_value signal needs {_SIGNAL_FORMATS} peaks "
                         f"(the signalValue is column 7, 7 and 13); give those, or bin these with --bin_value binary")
    wanted = fmt if (signal or activity) and fmt.signal_column is not None else None
    try:
        frame = _read_fast(path, wanted.signal_column if wanted else None)
        if wanted and not (np.isfinite(frame["signal"].to_numpy()) & (frame["signal"].to_numpy() >= 0)).all():
            raise ValueError("a signalValue is not a finite number >= 0")
    except pd.errors.EmptyDataError:
        frame = _empty(wanted is not None)
    except (ValueError, OverflowError, UnicodeDecodeError, pd.errors.ParserError, EOFError, OSError, zlib.error):
        try:
            frame = _read_checked(path, wanted)
        except InputError as err:
            if signal or wanted is None:
                raise
            # the coordinates may be fine: only the activity falls back, saying why
            frame = _read_checked(path, None)
            log.warning("%s: %s; the peaks' activity is open/closed (1 per overlapped bin)", path, err)
    if activity and "signal" not in frame and fmt.signal_column is None:
        log.warning("%s: %s peaks hold no signalValue; their activity is open/closed (1 per overlapped bin)", path, fmt.describe())
    if frame.empty:
        log.warning("%s: no peaks; every bin will be 0", path)
        frame = _empty("signal" in frame)
        frame.attrs["format"] = fmt.name
        return frame
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
    frame.attrs["format"] = fmt.name
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


def _strongest(peaks: pd.DataFrame, layout: BinLayout, values: np.ndarray | None) -> np.ndarray:
    """Per bin of the layout, the largest of `values` (one per peak) among the peaks overlapping it, 0 where none does;
    values None: 1 for every overlapped bin."""
    covered, peak = _covered_bins(peaks, layout) if len(peaks) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    strongest = np.zeros(layout.n_bins, dtype=np.float64)
    if values is None:
        strongest[covered] = 1.0
    else:
        np.maximum.at(strongest, covered, np.asarray(values, dtype=np.float64)[peak])  # repeated bins keep their largest
    return strongest


def bin_peaks(peaks: pd.DataFrame, layout: BinLayout, bin_value: str) -> np.ndarray:
    """One value per bin of the layout, in one vectorised pass over the peaks.

    binary: uint8, 1 for every bin that any peak overlaps (half-open coordinates), else 0.
    signal: float32, signal_value() of the largest signalValue among the peaks overlapping the bin, 0 where none
            does; `peaks` must have the signal column (read_peaks(path, signal=True)).
    """
    if bin_value not in BIN_VALUES:
        raise InputError(f"--bin_value {bin_value}: choose one of {', '.join(BIN_VALUES)}")
    if bin_value == "binary":
        return _strongest(peaks, layout, None).astype(np.uint8)
    return signal_value(_strongest(peaks, layout, peaks["signal"].to_numpy(np.float64)))


def bin_activity(peaks: pd.DataFrame, layout: BinLayout) -> tuple[np.ndarray, str]:
    """(activity, kind) per bin of the layout, whatever --bin_value says: the largest signalValue among the peaks
    overlapping the bin (kind 'signal', float32, as the file gives it: scales differ between callers and assays, so
    whoever compares samples normalises it), or 1 for every overlapped bin when the peaks have no signal column
    (kind 'binary'); 0 where no peak overlaps."""
    if "signal" in peaks:
        return _strongest(peaks, layout, peaks["signal"].to_numpy(np.float64)).astype(np.float32), "signal"
    return _strongest(peaks, layout, None).astype(np.float32), "binary"
