"""Streaming FASTQ content checks for one sample (check_fastq.py).

kallisto 0.48 exits 0 after a malformed record (a quality line shorter or longer than its
sequence): it stops reading there, or, when the short quality line and the next line add up to
the sequence's length, takes the next header as quality and skips that read. It pairs mates by
position, never by name. Both give plausible but wrong abundances with no warning.
`check_sample` reads every record of a sample's files once, before kallisto; check_quant.py then
compares kallisto's `n_processed` with its count.

Speed: the files are decompressed with ISA-L (`isal.isal_zlib`, ~4x faster than zlib) into a buffer
and each chunk is parsed with a few vectorised numpy passes over its bytes (line ends, record
layout, lengths, read names), so no Python code runs per record. Records straddling a chunk
boundary are carried over to the next chunk.
"""

from __future__ import annotations

import io
import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

import isal
import numpy as np
from isal import isal_zlib
from numpy.lib.stride_tricks import as_strided

from .cli import InputError
from .files import GZIP_MAGIC

log = logging.getLogger("atac2expr.fastq")

CHUNK_SIZE = 1 << 22  # 4 MiB of decompressed FASTQ per parsing step: the numpy temporaries stay in cache
GZIP_READ = 1 << 17  # compressed bytes per read from a gzip file
MAX_RECORD = 1 << 25  # a "record" of more than 32 MiB is not short-read FASTQ: refused before it fills the memory
OTHER_COMPRESSION = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
AT, PLUS, NEWLINE, CR, SLASH = ord("@"), ord("+"), ord("\n"), ord("\r"), ord("/")
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, isal_zlib.error)

Opener = Callable[[Path], IO[bytes]]


def isal_version() -> str:
    return isal.__version__


class _GzipMembers(io.RawIOBase):
    """The text of a gzip file's members, one after another, as gzip and kallisto read them.

    Bytes after the last member that do not start another member (trailing garbage, e.g. zero padding) end the
    text with a warning, as `gzip -d` ignores them ("trailing garbage ignored") and kallisto reads every record
    before them. A read that meets damaged data returns the bytes decompressed before it first, so that the
    count of whole records in the error message is exact.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = open(path, "rb")
        self._decompressor = isal_zlib.decompressobj(31)  # 31: a gzip header and trailer around deflate
        self._input = b""
        self._ended = False
        self._failed: BaseException | None = None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()
        super().close()

    def _next_member(self) -> bool:
        """After a member's end: start the next one, or end the text (with a warning when bytes that are not a member follow)."""
        rest = self._decompressor.unused_data
        while len(rest) < len(GZIP_MAGIC) and (more := self._file.read(GZIP_READ)):
            rest += more
        if not rest:
            return False
        if not rest.startswith(GZIP_MAGIC):
            size = len(rest) + len(self._file.read())
            log.warning("%s: %s byte(s) after the last gzip member are not gzip data and are ignored (as gzip and kallisto do: "
                        "'trailing garbage ignored')", self._path, f"{size:,}")
            return False
        self._decompressor = isal_zlib.decompressobj(31)
        self._input = rest
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._failed is not None:
            raise self._failed
        view = memoryview(buffer).cast("B")
        done = 0
        try:
            while done < len(view) and not self._ended:
                if self._decompressor.eof and not self._next_member():
                    self._ended = True
                    break
                data = self._input or self._file.read(GZIP_READ)
                if not data:
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
                out = self._decompressor.decompress(data, len(view) - done)
                self._input = self._decompressor.unconsumed_tail
                view[done: done + len(out)] = out
                done += len(out)
        except DECOMPRESSION_ERRORS as err:
            if not done:
                raise
            self._failed = err  # the bytes before the damage first; the error on the next read
        return done


def open_fastq(path: Path) -> IO[bytes]:
    """A binary stream of the FASTQ text: gzip (detected by its magic bytes, any number of members) or plain."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(GZIP_MAGIC):
        return _GzipMembers(path)
    for prefix, name in OTHER_COMPRESSION.items():
        if magic.startswith(prefix):
            raise InputError(f"{path}: compressed with {name}; kallisto reads gzip or plain FASTQ only")
    return open(path, "rb")


@dataclass
class FileStats:
    """What one FASTQ file held; filled while its records stream by."""

    path: Path
    records: int = 0
    short: int = 0  # records shorter than k
    bases: int = 0
    min_length: int | None = None
    max_length: int = 0


@dataclass
class _Stream:
    """The records of one FASTQ file, checked one chunk at a time.

    `batches()` yields, per chunk, the read names of its records (an (n, width) uint8 array, padded
    with zeros; names hold no byte <= 32, so padded rows compare equal exactly when the names do),
    or the bare record count when names are off.
    """

    path: Path
    sample: str
    k: int
    names: bool
    opener: Opener
    chunk_size: int
    stats: FileStats = field(init=False)
    kmer_found: bool = field(init=False, default=False)  # a read with k bases in a row that kallisto can look up

    def __post_init__(self) -> None:
        self.stats = FileStats(self.path)

    def error(self, message: str) -> InputError:
        return InputError(f"{self.path}: {message} (sample {self.sample})")

    def batches(self) -> Iterator[np.ndarray | int]:
        if not self.path.is_file():
            raise self.error("file not found")
        buf = bytearray(self.chunk_size)
        filled = 0
        try:
            handle = self.opener(self.path)
        except InputError as err:
            raise InputError(f"{err} (sample {self.sample})") from None
        with handle:
            while True:
                if filled > len(buf) // 2:  # a line longer than half the buffer: make room for whole records
                    if filled > MAX_RECORD:
                        raise self.error(f"record {self.stats.records + 1}: more than {MAX_RECORD:,} bytes without 4 whole lines "
                                         f"(not a FASTQ file?)")
                    bigger = bytearray(2 * len(buf))
                    bigger[:filled] = buf[:filled]
                    buf = bigger
                try:
                    n = handle.readinto(memoryview(buf)[filled:])
                except DECOMPRESSION_ERRORS as err:
                    raise self.error(f"gzip file is truncated or corrupt ({err}); {self.stats.records:,} whole records were read "
                                     f"before the damaged part") from None
                if not n:
                    break
                filled += n
                arr = np.frombuffer(buf, dtype=np.uint8, count=filled)
                sep = np.flatnonzero(arr <= 32)  # line ends, CRs, spaces and tabs: the only bytes that end a read name
                newlines = sep[arr[sep] == NEWLINE]
                whole = len(newlines) // 4 * 4
                if not whole:
                    continue
                cut = int(newlines[whole - 1]) + 1
                yield self._check(arr[:cut], newlines[:whole], sep[: np.searchsorted(sep, cut)])
                del arr
                buf[: filled - cut] = buf[cut:filled]
                filled -= cut
        tail = self._last_records(bytes(buf[:filled]))
        if tail:
            arr = np.frombuffer(tail, dtype=np.uint8)
            sep = np.flatnonzero(arr <= 32)
            yield self._check(arr, sep[arr[sep] == NEWLINE], sep)

    def _last_records(self, tail: bytes) -> bytes:
        """The records left at the end of the file, with a final newline; blank lines after the last record are dropped."""
        if not tail:
            return b""
        lines = tail.split(b"\n")
        if lines[-1] == b"":  # the file ends with a newline
            lines.pop()
        blank = 0
        while blank < len(lines) and lines[len(lines) - 1 - blank] in (b"", b"\r"):
            blank += 1
        body = len(lines) - blank
        keep = body + min(blank, -body % 4)  # an empty quality line (a read of length 0) is a line, not padding
        lines = lines[:keep]
        if len(lines) % 4:
            number = self.stats.records + len(lines) // 4 + 1
            raise self.error(f"record {number}: the file ends inside the record ({len(lines) % 4} of its 4 lines; truncated?)")
        return b"\n".join(lines) + b"\n" if lines else b""

    def _check(self, arr: np.ndarray, newlines: np.ndarray, sep: np.ndarray) -> np.ndarray | int:
        """Check whole records: arr holds them exactly, `newlines` are their line ends and `sep` every byte <= 32."""
        starts = np.empty(len(newlines), dtype=np.int64)
        starts[0] = 0
        starts[1:] = newlines[:-1] + 1
        lengths = newlines - starts
        # CRLF: kallisto drops the CR too. newlines - 1 is -1 only for an empty first line, and arr[-1] is a newline
        lengths -= arr[newlines - 1] == CR
        heads, pluses = starts[0::4], starts[2::4]
        seq_len, qual_len = lengths[1::4], lengths[3::4]
        bad = (arr[heads] != AT) | (arr[pluses] != PLUS) | (seq_len != qual_len)
        if bad.any():
            self._explain(arr, starts, lengths, int(np.argmax(bad)))
        n = len(heads)
        stats = self.stats
        stats.records += n
        stats.short += int(np.count_nonzero(seq_len < self.k))
        stats.bases += int(seq_len.sum())
        low, high = int(seq_len.min()), int(seq_len.max())
        stats.min_length = low if stats.min_length is None else min(stats.min_length, low)
        stats.max_length = max(stats.max_length, high)
        if not self.kmer_found:  # one such read is enough: normal files are past this after their first chunk
            self.kmer_found = _has_kmer(arr, starts[1::4], seq_len, self.k)
        if not self.names:
            return n
        first = heads + 1
        end = sep[np.searchsorted(sep, first)]  # the first space, tab, CR or newline after '@'
        mate = (end - first >= 2) & (arr[end - 2] == SLASH) & ((arr[end - 1] == ord("1")) | (arr[end - 1] == ord("2")))
        end -= 2 * mate  # name/1 and name/2 are mates
        length = end - first
        width = int(length.max())
        cols = np.arange(width)
        if int(first[-1]) + width <= len(arr):
            # each name's bytes are a row of a (bytes x width) sliding view: fancy indexing copies whole rows
            names = as_strided(arr, shape=(len(arr) - width + 1, width), strides=(1, 1))[first]
        else:  # very short last reads: the last rows would run past the chunk
            names = arr[np.minimum(first[:, None] + cols, len(arr) - 1)]
        names *= cols < length[:, None]
        return names

    def _explain(self, arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray, i: int) -> None:
        number = self.stats.records + i + 1

        def line(j: int) -> str:
            text = arr[starts[j]: starts[j] + min(int(lengths[j]), 60)].tobytes().decode("ascii", "replace")
            return repr(text + ("..." if lengths[j] > 60 else ""))

        head, seq, plus, qual = 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3
        if arr[starts[head]] != AT:
            hint = " (not a FASTQ file?)" if number == 1 else " (a line missing or extra in an earlier record?)"
            raise self.error(f"record {number}: header line does not start with '@': {line(head)}{hint}")
        if arr[starts[plus]] != PLUS:
            raise self.error(f"record {number}: third line does not start with '+' (missing '+' line?): {line(plus)}")
        relation = "shorter" if lengths[qual] < lengths[seq] else "longer"
        raise self.error(f"record {number}: quality line is {relation} than the sequence ({lengths[qual]} vs {lengths[seq]} characters); "
                         f"kallisto 0.48 stops or misreads the following records here, without an error")


_ACGT = np.zeros(256, dtype=bool)
_ACGT[list(b"ACGTacgt")] = True


def _has_kmer(arr: np.ndarray, seq_starts: np.ndarray, seq_len: np.ndarray, k: int) -> bool:
    """Whether any sequence line holds k A/C/G/T bases in a row: kallisto looks up only such k-mers (N, IUPAC codes and
    other letters break them), so a sample without one can pseudoalign no read."""
    long_enough = seq_len >= k
    if not long_enough.any():
        return False
    starts, lengths = seq_starts[long_enough], seq_len[long_enough]
    span = arr[int(starts[0]): int(starts[-1] + lengths[-1])]
    other = np.zeros(len(span) + 1, dtype=np.int32)
    np.cumsum(~_ACGT[span], out=other[1:])  # other[i]: bytes that are not A/C/G/T before position i of the span
    clean = np.flatnonzero(other[k:] == other[:-k])  # windows [i, i + k) of bases only
    if not len(clean):
        return False
    starts = starts - starts[0]
    line = np.searchsorted(starts, clean, side="right") - 1  # a window counts only inside a sequence line
    return bool((clean + k <= starts[line] + lengths[line]).any())


def _pad(names: np.ndarray, width: int) -> np.ndarray:
    return names if names.shape[1] == width else np.pad(names, ((0, 0), (0, width - names.shape[1])))


def _append(pending: np.ndarray, names: np.ndarray) -> np.ndarray:
    width = max(pending.shape[1], names.shape[1])
    return np.concatenate([_pad(pending, width), _pad(names, width)])


def _name(row: np.ndarray) -> str:
    return row.tobytes().rstrip(b"\0").decode("ascii", "replace")


def _check_pair(one: _Stream, two: _Stream) -> None:
    """Stream R1 and R2 side by side: the same read names in the same order, and the same count."""
    batches = [one.batches(), two.batches()]
    pending = [np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.uint8)]
    done = [False, False]
    compared = 0
    while not all(done):
        side = 0 if not done[0] and (done[1] or len(pending[0]) <= len(pending[1])) else 1
        names = next(batches[side], None)
        if names is None:
            done[side] = True
            # the other file is longer: count the rest of its records without holding their names
            other = (one, two)[1 - side]
            other.names = False
            pending[1 - side] = pending[1 - side][:0]
            continue
        if isinstance(names, np.ndarray):
            pending[side] = _append(pending[side], names)
        n = min(len(pending[0]), len(pending[1]))
        if n:
            width = max(pending[0].shape[1], pending[1].shape[1])
            first, second = _pad(pending[0][:n], width), _pad(pending[1][:n], width)
            differ = (first != second).any(axis=1)
            if differ.any():
                i = int(np.argmax(differ))
                raise two.error(f"record {compared + i + 1}: read name '{_name(second[i])}' but '{_name(first[i])}' in {one.path}; "
                                f"paired files must hold the same reads in the same order")
            compared += n
            pending = [pending[0][n:], pending[1][n:]]
    a, b = one.stats.records, two.stats.records
    if a != b:
        short, long_ = (one, two) if a < b else (two, one)
        raise short.error(f"record {short.stats.records + 1}: the file ends after {short.stats.records:,} records but {long_.path} "
                          f"has {long_.stats.records:,}; paired files must hold the same reads in the same order")


def _drain(stream: _Stream) -> None:
    for _ in stream.batches():
        pass


def check_sample(sample: str, fastq_1: Sequence[Path | str], fastq_2: Sequence[Path | str] | None, min_read_length: int,
                 opener: Opener = open_fastq, chunk_size: int = CHUNK_SIZE) -> dict:
    """Check every record of a sample's lanes; the report written as <sample>.fastq_check.json.

    fastq_2, when given, pairs with fastq_1 lane by lane. Raises InputError (one line naming the
    file, the record and the sample) on the first problem.
    """
    t0 = time.perf_counter()
    if min_read_length < 1:
        raise InputError(f"--min_read_length {min_read_length}: must be at least 1 (kallisto's k-mer length)")
    paired = bool(fastq_2)
    if paired and len(fastq_1) != len(fastq_2):
        raise InputError(f"sample {sample}: {len(fastq_1)} fastq_1 file(s) but {len(fastq_2)} fastq_2 file(s); lanes pair up in order")
    if paired:
        for path_1, path_2 in zip(fastq_1, fastq_2, strict=True):
            if Path(path_1).resolve() == Path(path_2).resolve():
                raise InputError(f"{path_2}: the same file as fastq_1 and fastq_2 (sample {sample})")
    lanes = []
    files: list[FileStats] = []
    stream_kmers: list[bool] = []
    for lane, path_1 in enumerate(fastq_1):
        streams = [_Stream(Path(p), sample, min_read_length, paired, opener, chunk_size)
                   for p in ([path_1, fastq_2[lane]] if paired else [path_1])]
        if paired:
            _check_pair(*streams)
        else:
            _drain(streams[0])
        for stream in streams:
            if not stream.stats.records:
                raise stream.error("no reads: the file holds no FASTQ record")
        files.extend(s.stats for s in streams)
        stream_kmers.extend(s.kmer_found for s in streams)
        lanes.append({"fastq_1": str(path_1), "fastq_2": str(fastq_2[lane]) if paired else None, "reads": streams[0].stats.records})
        log.info("sample %s lane %d: %s reads%s", sample, lane + 1, f"{streams[0].stats.records:,}", " (pairs)" if paired else "")
    records = sum(f.records for f in files)
    short = sum(f.short for f in files)
    kmers = any(stream_kmers)
    apart = "; R1 and R2 counted apart" if paired else ""
    if short == records:
        longest = max(f.max_length for f in files)
        others = f" and its {len(files) - 1} other file(s)" if len(files) > 1 else ""
        raise InputError(f"{files[0].path}{others}: all {records:,} reads of sample {sample} are shorter than k = {min_read_length} "
                         f"(longest {longest}{apart}): kallisto can pseudoalign none of them")
    if not kmers:
        others = f" and its {len(files) - 1} other file(s)" if len(files) > 1 else ""
        raise InputError(f"{files[0].path}{others}: none of the {records:,} reads of sample {sample} has k = {min_read_length} "
                         f"A/C/G/T bases in a row (all N?): kallisto can pseudoalign none of them")
    if short:
        log.warning("sample %s: %s of %s reads (%.3f%%%s) are shorter than k = %d: kallisto finds no k-mer in them", sample, f"{short:,}",
                    f"{records:,}", 100 * short / records, apart, min_read_length)
    return {
        "sample": sample,
        "paired": paired,
        "lanes": lanes,
        "total_reads": sum(lane["reads"] for lane in lanes),
        "records": records,
        "kmer_length": min_read_length,
        "reads_shorter_than_k": short,
        "read_length": {"min": min(f.min_length for f in files), "max": max(f.max_length for f in files),
                        "mean": round(sum(f.bases for f in files) / records, 3)},
        "seconds": round(time.perf_counter() - t0, 3),
    }

