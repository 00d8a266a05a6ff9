"""Reading possibly-gzipped text and writing outputs atomically."""

from __future__ import annotations

import contextlib
import gzip
import os
import secrets
import tempfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO, Iterator

from .cli import InputError

GZIP_MAGIC = b"\x1f\x8b"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_binary(path: str | Path) -> BinaryIO:
    """The file's bytes, decompressed when it starts with the gzip magic (whatever its name)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def staged_source(path: str | Path) -> Path:
    """The file a task input stands for: Nextflow stages inputs as symlinks under names the pipeline makes, so
    reading through the link's target makes every message name the user's own file (one level: the path as the
    samplesheet gave it, not wherever further links lead). A plain file (a copy) is itself."""
    path = Path(path)
    if not path.is_symlink():
        return path
    target = Path(os.readlink(path))
    return target if target.is_absolute() else path.parent / target


def read_text(path: str | Path) -> str:
    """The whole file as text (gz or plain); non-UTF-8 content is an InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        raw = gzip.decompress(path.read_bytes()) if is_gzip(path) else path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{path}: gzip file is truncated or corrupt ({err})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line} is not valid UTF-8 text") from None


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside `path`, renamed into place only on success.

    A crash or an error never leaves a half-written file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_path(path: str | Path) -> "contextlib.AbstractContextManager[Path]":
    """Like atomic_output, for writers that want a path (np.savez, torch.save, savefig)."""
    return _atomic_path(Path(path))


@contextlib.contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # unique per writer; keeps the suffix because some writers (savefig, np.save) look at it
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

