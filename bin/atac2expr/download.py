"""Download one file over HTTP(S): resumable, retried, verified before it gets its name.

Used by bin/download.py (one file per call, one Nextflow DOWNLOAD task per file) and, for its
retrying HTTP GET, by encode.py (the ENCODE REST API).

- Streaming to a temporary name beside the output (files.atomic_path); the output name appears
  only after the size and checksum (md5, or Ensembl's BSD `sum`) are right.
- Retries with exponential backoff (backoff * 2**attempt, each wait capped at max_wait) on
  connection errors, timeouts, short reads, HTTP 429 and 5xx; a Retry-After header is honoured
  (also capped at max_wait). A partial file is resumed with `Range: bytes=N-` (206 appends,
  200 restarts from byte 0). A checksum mismatch deletes the partial file and downloads again from
  scratch, within the same retry budget; after the last attempt: one InputError line.
- HTTP 401/403/404/410 are not retried: InputError naming the URL ("restricted or missing").
- Redirects are followed (ENCODE's @@download answers 307 to a presigned storage URL, valid for
  hours): every attempt starts again from the original URL; the redirect target is never kept.
- Output names come from outside (API hrefs, samplesheets): only a plain file name is accepted,
  never a path (no '/', '\\', '..', absolute names).
- A cache folder (optional): <cache_dir>/<md5 or bsdsum-S-B>/<name>. A verified file there is
  hard-linked (or copied, across file systems) to the output and nothing is downloaded; a fresh
  download is added to it. A file without any checksum is never cached.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from . import __version__, genomes
from .cli import InputError
from .files import atomic_path

log = logging.getLogger(__name__)

USER_AGENT = f"atac2expr/{__version__} (python urllib)"
CHUNK_SIZE = 1 << 20

ENSEMBL_KINDS = ("gtf", "cdna")

_NOT_FOUND_CODES = (401, 403, 404, 410)


class TransientError(Exception):
    """Worth another attempt: connection trouble, a short read, HTTP 429 or 5xx."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RangeNotSatisfiable(TransientError):
    """HTTP 416 to a resume request: the partial file is dropped and the next attempt starts over."""


class ChecksumMismatch(Exception):
    """The bytes are wrong: the partial file is deleted and the download starts over."""


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5  # attempts after the first one
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    max_wait: float = 120.0  # cap on any single wait, Retry-After included

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before attempt number attempt + 1 (attempt counts from 0)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_wait)
        return min(self.backoff * (2 ** attempt), self.max_wait)


# ---------------------------------------------------------------------------------------------
# names


def safe_name(name: str, what: str = "output name") -> str:
    """A plain file name for the download folder; anything that could leave it is refused."""
    if (
        not name or name in (".", "..") or ".." in name or "/" in name or "\\" in name
        or os.path.isabs(name) or any(ord(c) < 32 for c in name)
    ):
        raise InputError(f"{what} {name!r}: refused, only a plain file name inside the download folder is allowed (no '/', '\\', '..')")
    return name


def name_from_url(url: str) -> str:
    """The (decoded) last path segment of a URL, checked by safe_name."""
    path = urllib.parse.urlsplit(url).path
    segment = path.rsplit("/", 1)[-1]
    return safe_name(urllib.parse.unquote(segment), what=f"file name of {url}:")


# ---------------------------------------------------------------------------------------------
# checksums


def bsd_sum_update(checksum: int, data: bytes) -> int:
    """BSD `sum` (GNU `sum -r`, the default of `sum`): rotate right by one bit, add the byte, mod 2**16."""
    for byte in data:
        checksum = ((checksum >> 1) + ((checksum & 1) << 15) + byte) & 0xFFFF
    return checksum


def bsd_blocks(size: int) -> int:
    """The block count `sum` prints: 1024-byte blocks, rounded up."""
    return (size + 1023) // 1024


def _gnu_sum(path: str | Path) -> tuple[int, int] | None:
    """GNU coreutils `sum -r` (C speed), or None when it is not there."""
    exe = shutil.which("sum")
    if not exe:
        return None
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
        if "GNU coreutils" not in version:
            return None
        fields = subprocess.run([exe, "-r", "--", str(path)], capture_output=True, text=True, timeout=3600, check=True).stdout.split()
        return int(fields[0]), int(fields[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def bsd_sum(path: str | Path, use_gnu: bool = True) -> tuple[int, int]:
    """(checksum, 1 KiB blocks) of a file, as printed by BSD/GNU `sum` without -s.

    GNU `sum -r` computes it when installed (about 100x faster than this loop: a 70 MB cDNA file
    takes ~15 s in Python).
    """
    if use_gnu and (result := _gnu_sum(path)) is not None:
        return result
    checksum = 0
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            checksum = bsd_sum_update(checksum, chunk)
            size += len(chunk)
    return checksum, bsd_blocks(size)


def file_md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def parse_checksums(text: str, source: str = "CHECKSUMS") -> dict[str, tuple[int, int]]:
    """Ensembl's CHECKSUMS file: lines 'SUM BLOCKS NAME' -> {name: (sum, blocks)}."""
    sums: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit() or not fields[1].isdigit():
            raise InputError(f"{source}: line {number} is not 'SUM BLOCKS NAME' (BSD sum output): {line.strip()[:80]!r}")
        sums[" ".join(fields[2:])] = (int(fields[0]), int(fields[1]))
    return sums


@dataclass(frozen=True)
class Expected:
    """What the finished file must be; None = not checked."""

    md5: str | None = None
    size: int | None = None
    bsd_sum: tuple[int, int] | None = None  # (checksum, 1 KiB blocks)

    def __post_init__(self) -> None:
        if self.md5 is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", self.md5):
            raise InputError(f"--md5 {self.md5!r}: not an md5 checksum (32 hexadecimal digits)")
        if self.size is not None and self.size < 0:
            raise InputError(f"--size {self.size}: must be >= 0")

    @property
    def cache_key(self) -> str | None:
        if self.md5:
            return self.md5.lower()
        if self.bsd_sum:
            return f"bsdsum-{self.bsd_sum[0]}-{self.bsd_sum[1]}"
        return None

    def verify(self, path: Path) -> None:
        """Raise ChecksumMismatch unless the file is what was expected."""
        size = path.stat().st_size
        if self.size is not None and size != self.size:
            raise ChecksumMismatch(f"size {size} bytes, expected {self.size}")
        if self.bsd_sum is not None and bsd_blocks(size) != self.bsd_sum[1]:
            raise ChecksumMismatch(f"{bsd_blocks(size)} blocks of 1 KiB, expected {self.bsd_sum[1]} (BSD sum)")
        if self.md5:
            actual = file_md5(path)
            if actual != self.md5.lower():
                raise ChecksumMismatch(f"md5 {actual}, expected {self.md5.lower()}")
        if self.bsd_sum is not None:
            actual_sum = bsd_sum(path)
            if actual_sum != tuple(self.bsd_sum):
                raise ChecksumMismatch(f"BSD sum {actual_sum[0]} {actual_sum[1]}, expected {self.bsd_sum[0]} {self.bsd_sum[1]}")


# ---------------------------------------------------------------------------------------------
# HTTP


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _http_error(err: urllib.error.HTTPError, url: str) -> Exception:
    """TransientError for 429/5xx, InputError for the rest."""
    with contextlib.suppress(Exception):
        err.read()
        err.close()
    reason = f"HTTP {err.code} {err.reason}".strip()
    if err.code == 429 or err.code >= 500:
        return TransientError(reason, retry_after=_retry_after(err.headers.get("Retry-After") if err.headers else None))
    if err.code in _NOT_FOUND_CODES:
        return InputError(f"{url}: {reason}: the file is restricted or missing (not retried)")
    return InputError(f"{url}: {reason} (not retried)")


def _open(url: str, headers: dict[str, str], timeout: float):
    """urlopen (redirects followed) with errors sorted into TransientError / InputError."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and "Range" in headers:
            err.close()
            raise RangeNotSatisfiable(f"HTTP 416 to {headers['Range']}; starting over") from None
        raise _http_error(err, url) from None
    except urllib.error.URLError as err:
        raise TransientError(f"cannot connect ({err.reason})") from None
    except (HTTPException, OSError) as err:  # timeouts, resets, RemoteDisconnected
        raise TransientError(f"connection error ({type(err).__name__}: {err})") from None


def _with_retries(url: str, policy: RetryPolicy, attempt_once, what: str = "download"):
    """Run attempt_once() until it succeeds; TransientError/ChecksumMismatch are retried."""
    last: Exception | None = None
    for attempt in range(policy.retries + 1):
        try:
            return attempt_once()
        except (TransientError, ChecksumMismatch) as err:
            last = err
            if attempt == policy.retries:
                break
            wait = policy.wait(attempt, getattr(err, "retry_after", None))
            log.warning("%s: %s; retry %d of %d in %.1f s", url, err, attempt + 1, policy.retries, wait)
            time.sleep(wait)
    kind = "wrong content" if isinstance(last, ChecksumMismatch) else "failed"
    raise InputError(f"{url}: {what} {kind} after {policy.retries + 1} attempts (last: {last})")


def fetch(
    url: str, *, policy: RetryPolicy = RetryPolicy(), timeout: float = 60.0,
    headers: dict[str, str] | None = None, allow_not_found: bool = False,
) -> tuple[int, bytes]:
    """GET a small document (JSON, CHECKSUMS) with retries: (status, body).

    allow_not_found: a 404 returns (404, body) instead of raising (ENCODE answers an empty
    search with 404 and a JSON body).
    """

    def once() -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
                length = response.headers.get("Content-Length")
                if length is not None and length.isdigit() and len(body) < int(length):
                    raise TransientError(f"connection closed after {len(body)} of {length} bytes")
                return response.status, body
        except urllib.error.HTTPError as err:
            if allow_not_found and err.code == 404:
                try:
                    return 404, err.read()
                finally:
                    err.close()
            raise _http_error(err, url) from None
        except urllib.error.URLError as err:
            raise TransientError(f"cannot connect ({err.reason})") from None
        except (HTTPException, OSError) as err:
            raise TransientError(f"connection error ({type(err).__name__}: {err})") from None

    return _with_retries(url, policy, once, what="request")


# ---------------------------------------------------------------------------------------------
# downloading


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


class _Progress:
    """Logs bytes and rate every `interval` seconds, never per chunk."""

    def __init__(self, name: str, total: int | None, interval: float) -> None:
        self.name, self.total, self.interval = name, total, interval
        self.start = self.last = time.monotonic()
        self.start_bytes: int | None = None

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.start_bytes is None:
            self.start_bytes = done
        if now - self.last < self.interval:
            return
        self.last = now
        rate = (done - self.start_bytes) / max(now - self.start, 1e-9)
        share = f" ({100 * done / self.total:.0f}%)" if self.total else ""
        total = f" of {_human(self.total)}" if self.total else ""
        log.info("%s: %s%s%s at %s/s", self.name, _human(done), total, share, _human(rate))


def _content_range_start(value: str | None) -> int | None:
    match = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", value or "")
    return int(match.group(1)) if match else None


def _fetch_once(url: str, part: Path, expected: Expected, timeout: float, progress: _Progress) -> None:
    """One attempt: resume `part` (Range) or start it over, until the server's body ends."""
    have = part.stat().st_size if part.exists() else 0
    if expected.size is not None and have > expected.size:
        part.unlink()
        have = 0
    if have and expected.size is not None and have == expected.size:
        return  # complete already; verified by the caller
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _open(url, headers, timeout)
    except RangeNotSatisfiable:
        part.unlink()
        raise
    with response:
        mode = "wb"
        if have and response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range"))
            if start != have:
                part.unlink()
                raise TransientError(f"server resumed at byte {start}, not {have}; starting over")
            mode = "ab"
            log.info("%s: resuming at byte %d", part.name, have)
        elif have:
            log.info("%s: server ignored the Range request (HTTP %d); starting over", part.name, response.status)
            have = 0
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        received = 0
        try:
            with open(part, mode) as out:
                while chunk := response.read(CHUNK_SIZE):
                    out.write(chunk)
                    received += len(chunk)
                    if expected.size is not None and have + received > expected.size:
                        raise ChecksumMismatch(f"server sent more than the expected {expected.size} bytes")
                    progress.update(have + received)
        except ChecksumMismatch:
            part.unlink()
            raise
        except (HTTPException, OSError) as err:
            raise TransientError(f"connection lost after {have + received} bytes ({type(err).__name__}: {err})") from None
        if length is not None and received < length:
            raise TransientError(f"connection closed after {have + received} bytes ({received} of {length} in this answer)")


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard link where possible (same file system), else copy; atomic at the target."""
    with atomic_path(target) as tmp:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def _cache_entry(cache_dir: str | Path | None, expected: Expected, url: str) -> Path | None:
    """<cache>/<md5 or BSD sum>/<the URL's file name>: found again whatever name a run gives the download."""
    if not cache_dir:
        return None
    key = expected.cache_key
    if key is None:
        log.warning("%s: no md5 or BSD sum to check a cached copy against; the cache is not used", url)
        return None
    try:
        name = name_from_url(url)
    except InputError:
        name = "download"
    return Path(cache_dir) / key / name


def download(
    url: str, dest: str | Path, expected: Expected = Expected(), *, policy: RetryPolicy = RetryPolicy(),
    cache_dir: str | Path | None = None, timeout: float = 60.0, progress_interval: float = 5.0,
) -> Path:
    """Download `url` to `dest` (a plain file name inside an existing or new folder), verified.

    Returns dest. Raises InputError (one line) when the file cannot be had.
    """
    dest = Path(dest)
    safe_name(dest.name)
    entry = _cache_entry(cache_dir, expected, url)
    if entry is not None and entry.is_file():
        try:
            expected.verify(entry)
        except ChecksumMismatch as err:
            log.warning("%s: cached copy is wrong (%s); removing it and downloading again", entry, err)
            with contextlib.suppress(OSError):
                entry.unlink()
        else:
            _link_or_copy(entry, dest)
            log.info("%s: taken from the cache %s (not downloaded)", dest.name, entry)
            return dest

    progress = _Progress(dest.name, expected.size, progress_interval)
    with atomic_path(dest) as part:
        def once() -> None:
            _fetch_once(url, part, expected, timeout, progress)
            try:
                expected.verify(part)
            except ChecksumMismatch:
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()
                raise

        started = time.monotonic()
        _with_retries(url, policy, once)
        size = part.stat().st_size
    elapsed = max(time.monotonic() - started, 1e-9)
    log.info("%s: %s downloaded and verified in %.1f s (%s/s)", dest.name, _human(size), elapsed, _human(size / elapsed))

    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(dest, entry)
        except OSError as err:
            log.warning("%s: could not add to the cache %s (%s)", dest.name, entry, err)
    return dest


# ---------------------------------------------------------------------------------------------
# Ensembl


def ensembl_urls(kind: str, release: int, base_url: str, genome: str | None = None) -> tuple[str, str]:
    """(file URL, CHECKSUMS URL) of the GTF or cDNA FASTA of an assembly (--genome; GRCh38 when None) at an Ensembl release."""
    if release < 1:
        raise InputError(f"--ensembl_release {release}: must be a positive release number")
    if kind not in ENSEMBL_KINDS:
        raise InputError(f"--ensembl {kind}: choose one of {', '.join(ENSEMBL_KINDS)}")
    return genomes.ensembl_files(genomes.resolve(genome), release, base_url)[kind]


def expected_from_checksums(url: str, checksums_url: str, *, policy: RetryPolicy, timeout: float) -> tuple[int, int]:
    """The (BSD sum, blocks) that `checksums_url` lists for the file named by `url`."""
    _, body = fetch(checksums_url, policy=policy, timeout=timeout)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{checksums_url}: not a text file") from None
    sums = parse_checksums(text, source=checksums_url)
    name = name_from_url(url)
    if name not in sums:
        raise InputError(f"{checksums_url}: no checksum listed for {name}")
    return sums[name]
