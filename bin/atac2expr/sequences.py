"""Transcript sequences (cDNA FASTA): their ids, read in one streaming pass."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from .annotation import strip_version
from .cli import InputError
from .files import is_gzip, open_binary


def _first_character(path: Path) -> bytes:
    """The first byte that is not whitespace ('' for a blank file); reads only the file's head."""
    try:
        with open_binary(path) as handle:
            while chunk := handle.read(1 << 16):
                if stripped := chunk.lstrip():
                    return stripped[:1]
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{path}: gzip file is truncated or corrupt ({err})") from None
    return b""


def _names(path: Path) -> list[str]:
    """The first word of every header, in file order (htslib's reader: gz or plain, sequences skipped over)."""
    names: list[str] = []
    verbosity = pysam.set_verbosity(0)  # htslib's own '[E::bgzf_read] ...' lines would add to the one-line error
    try:
        with pysam.FastxFile(str(path), persist=False) as records:
            for record in records:
                names.append(record.name)
    except UnicodeDecodeError:
        raise InputError(f"{path}: the header of record {len(names) + 1} is not valid UTF-8 text") from None
    except (ValueError, OSError) as err:
        if is_gzip(path):
            raise InputError(f"{path}: gzip file is truncated or corrupt (after record {len(names)})") from None
        raise InputError(f"{path}: not a readable FASTA file after record {len(names)} ({err})") from None
    finally:
        pysam.set_verbosity(verbosity)
    return names


def fasta_ids(path: str | Path) -> set[str]:
    """Transcript ids of a cDNA FASTA (gz or plain): the first word of each header, versions stripped.

    GENCODE's headers (`>ENST...|ENSG...|...`) give their first '|' field. A file that does not
    start with a '>' record, a truncated gzip, a header without an id and an id that repeats (kallisto
    would refuse or mis-assign it) are InputErrors naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    first = _first_character(path)
    if not first:
        raise InputError(f"{path}: not a FASTA file (empty)")
    if first != b">":
        raise InputError(f"{path}: not a FASTA file (it starts with '{first.decode(errors='replace')}', not a '>' header)")
    names = pd.Series(_names(path), dtype=str)
    ids = strip_version(names.str.split("|", n=1, regex=False).str[0])
    empty = np.flatnonzero((ids == "").to_numpy())
    if empty.size:
        raise InputError(f"{path}: record {empty[0] + 1} has no transcript id right after '>'")
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        first_id = ids.iloc[int(np.flatnonzero(repeated)[0])]
        where = np.flatnonzero((ids == first_id).to_numpy())[:2]
        raise InputError(f"{path}: transcript id {first_id} repeats (records {where[0] + 1} '{names.iloc[where[0]]}' and "
                         f"{where[1] + 1} '{names.iloc[where[1]]}'); each transcript must appear once")
    return set(ids)
