"""Ensembl or GENCODE GTF: genes, their transcripts, and the genes of a region.

The GTF is streamed: a chunk of whole lines at a time, a regex finds the few lines that may be
'gene' or 'transcript' lines (~10% of a GRCh38 GTF; exon, CDS and UTR lines are never split or
decoded) and pandas parses only those. Whole-file parsing held the text several times over
(~6x the unpacked size: 8.7 GB for a GRCh38-sized GTF); streaming stays near the size of the result.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pandas as pd

from .cli import InputError
from .files import open_binary
from .regions import Region, normalize_chroms

log = logging.getLogger(__name__)

GENE_COLUMNS = ["gene_id", "gene_name", "gene_biotype", "chrom", "start", "end", "strand", "tss"]

CHUNK_SIZE = 1 << 23  # bytes of decompressed text per step: memory stays flat whatever the file's size
READ_SIZE = 1 << 18  # bytes per read from the (gzip) file into the chunk
MAX_LINE = 1 << 20  # a longer "line" means a binary or non-GTF file; refusing it bounds the carried-over text
_FEATURE = re.compile(rb"\t(?:gene|transcript)\t")  # a superset of the wanted lines; the feature column is checked after
_FIELDS = 9
# GTF columns read: seqname, feature, start, end, strand, attributes
_USECOLS = [0, 2, 3, 4, 6, 8]
_NAMES = ["chrom", "feature", "start", "end", "strand", "attributes"]


def read_genes(path: str | Path) -> pd.DataFrame:
    """A genes table (GENE_COLUMNS) as gene_annotation.py and gene_tpm.py write it; a gene named NA stays a name."""
    return pd.read_csv(path, sep="\t", dtype={"gene_id": str, "gene_name": str, "gene_biotype": str, "chrom": str},
                       keep_default_na=False)


def strip_version(ids: pd.Series) -> pd.Series:
    """ENSG00000115138.10 -> ENSG00000115138 (Ensembl ids are joined without versions)."""
    return ids.astype(str).str.replace(r"\.\d+$", "", regex=True)


def _attribute(attributes: pd.Series, key: str) -> pd.Series:
    return attributes.str.extract(rf'(?:^|;)\s*{key} "([^"]*)"', expand=False)


def _line_number(path: Path, offset: int) -> int:
    """1-based line of a byte offset of the (decompressed) text; only called to word an error."""
    lines, done = 1, 0
    with open_binary(path) as handle:
        while done < offset and (chunk := handle.read(min(CHUNK_SIZE, offset - done))):
            lines += chunk.count(b"\n")
            done += len(chunk)
    return lines


def _read_into(handle: BinaryIO, view: memoryview) -> int:
    """Fill `view` (less at the end of the file) in reads of at most READ_SIZE.

    Small reads keep the decompressor's temporary buffers small: freed multi-megabyte blocks raise
    malloc's mmap threshold and the next ones then fragment the heap, which shows as a higher peak RSS.
    """
    done = 0
    while done < len(view) and (size := handle.readinto(view[done : done + READ_SIZE])):
        done += size
    return done


def _text_blocks(path: Path, chunk_size: int) -> Iterator[tuple[int, bytearray, int]]:
    """(offset, buffer, end): buffer[:end] holds whole lines of the text from byte `offset`, checked to be UTF-8.

    One buffer is reused (a fresh multi-megabyte object per chunk costs more in page faults than
    the parsing): it is valid only until the next step. Truncated or corrupt gzip and non-UTF-8 text
    are InputErrors naming the file (and the line).
    """
    buffer = bytearray(chunk_size + MAX_LINE + 1)
    view = memoryview(buffer)
    offset, filled = 0, 0
    with open_binary(path) as handle:
        while True:
            try:
                size = _read_into(handle, view[filled : filled + chunk_size])
            except (EOFError, OSError, zlib.error) as err:
                raise InputError(f"{path}: gzip file is truncated or corrupt ({err})") from None
            if not size:
                break
            filled += size
            end = buffer.rfind(b"\n", 0, filled) + 1
            if filled - end > MAX_LINE:
                raise InputError(f"{path}: line {_line_number(path, offset + end)} is longer than {MAX_LINE} bytes; not a GTF file")
            if end:
                _check_utf8(path, offset, buffer, end)
                yield offset, buffer, end
                buffer[: filled - end] = buffer[end:filled]  # the partial last line goes first
                offset, filled = offset + end, filled - end
    if filled:  # a last line without a newline
        buffer[filled] = ord("\n")
        _check_utf8(path, offset, buffer, filled + 1)
        yield offset, buffer, filled + 1


def _check_utf8(path: Path, offset: int, buffer: bytearray, end: int) -> None:
    # ASCII is the common case and far cheaper to check than decoding; bytes past `end` are left over
    # from earlier chunks, so a non-ASCII one there costs only a needless decode
    if buffer.isascii():
        return
    try:
        buffer[:end].decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: line {_line_number(path, offset + err.start)} is not valid UTF-8 text") from None


def _not_gtf(path: Path, line: int, fields: int) -> InputError:
    return InputError(f"{path}: not a GTF file with 9 tab-separated columns (line {line} has {fields})")


def _first_data_line(buffer: bytearray, end: int) -> tuple[int, bytes] | None:
    """(position, line) of the first line that is neither blank nor a '#' header/comment."""
    pos = 0
    while pos < end:
        stop = buffer.index(b"\n", pos)
        line = bytes(buffer[pos:stop])
        if line.strip() and not line.startswith(b"#"):
            return pos, line.rstrip(b"\r")
        pos = stop + 1
    return None


def _kept_lines(buffer: bytearray, end: int) -> tuple[list[bytearray], list[int]]:
    """The lines of buffer[:end] that may be 'gene' or 'transcript' lines, and their positions in it.

    A line starting with '#' is a header or comment (Ensembl '#!genome-build', GENCODE '##provider');
    a '#' elsewhere is text (it may be inside a quoted attribute value).
    """
    lines, positions, last_end = [], [], 0
    for match in _FEATURE.finditer(buffer, 0, end):
        start = buffer.rfind(b"\n", 0, match.start()) + 1
        if start < last_end:  # a second hit on a line already taken
            continue
        last_end = buffer.index(b"\n", match.end() - 1) + 1
        if buffer[start] != ord("#"):
            lines.append(buffer[start:last_end])
            positions.append(start)
    return lines, positions


def _is_int64(text: str) -> bool:
    return re.fullmatch(r"\s*[+-]?\d+\s*", text) is not None and -(2**63) <= int(text) < 2**63


def _parse_lines(path: Path, offset: int, lines: list[bytearray], positions: list[int]) -> pd.DataFrame:
    """The needed columns of candidate lines; a line without 9 columns or with non-integer coordinates names its line."""
    tabs = np.fromiter((line.count(b"\t") for line in lines), dtype=np.int64, count=len(lines))
    bad = np.flatnonzero(tabs != _FIELDS - 1)
    if bad.size:
        raise _not_gtf(path, _line_number(path, offset + positions[bad[0]]), int(tabs[bad[0]]) + 1)
    blob = b"".join(lines)
    read = dict(sep="\t", header=None, usecols=_USECOLS, names=list(range(_FIELDS)), quoting=csv.QUOTE_NONE,
                na_filter=False, encoding="utf-8")
    try:
        frame = pd.read_csv(io.BytesIO(blob), dtype={0: str, 2: str, 3: np.int64, 4: np.int64, 6: str, 8: str}, **read)
    except (ValueError, OverflowError) as err:
        text = pd.read_csv(io.BytesIO(blob), dtype=str, **read)
        for row, (start, end) in enumerate(zip(text[3], text[4], strict=True)):
            if not (_is_int64(start) and _is_int64(end)):
                raise InputError(f"{path}: line {_line_number(path, offset + positions[row])}: start/end "
                                 f"'{start}'/'{end}' are not integers; not a GTF file") from None
        raise InputError(f"{path}: not a GTF file ({err})") from None
    frame.columns = _NAMES
    return frame


def _genes_of(lines: pd.DataFrame) -> pd.DataFrame:
    genes = lines[lines["feature"] == "gene"]
    attributes = genes["attributes"]
    biotype = _attribute(attributes, "gene_biotype")
    missing = biotype.isna()
    if missing.any():  # GENCODE says gene_type
        biotype[missing] = _attribute(attributes[missing], "gene_type")
    return pd.DataFrame({
        "gene_id": _attribute(attributes, "gene_id"), "gene_name": _attribute(attributes, "gene_name"),
        "gene_biotype": biotype, "chrom": genes["chrom"], "start": genes["start"], "end": genes["end"],
        "strand": genes["strand"],
    })


def _transcripts_of(lines: pd.DataFrame) -> pd.DataFrame:
    attributes = lines.loc[lines["feature"] == "transcript", "attributes"]
    return pd.DataFrame({"transcript_id": _attribute(attributes, "transcript_id"), "gene_id": _attribute(attributes, "gene_id")})


def read_gtf(path: str | Path, chunk_size: int = CHUNK_SIZE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Genes and the transcript -> gene map of an Ensembl or GENCODE GTF (gz or plain), read in one streaming pass.

    Only 'gene' and 'transcript' lines are parsed, a chunk at a time: memory follows the number of
    genes and transcripts, not the size of the file (exon, CDS and UTR lines are skipped unparsed).

    genes: GENE_COLUMNS, 0-based half-open coordinates, TSS strand-aware (0-based position);
    gene_biotype is GENCODE's gene_type where gene_biotype is absent.
    transcripts: transcript_id, gene_id (versions stripped on both).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    gene_parts: list[pd.DataFrame] = []
    transcript_parts: list[pd.DataFrame] = []
    seen_data = False
    without_transcript_id, first_without_transcript_id = 0, None
    for offset, buffer, end in _text_blocks(path, chunk_size):
        if not seen_data and (first := _first_data_line(buffer, end)) is not None:
            seen_data = True
            fields = first[1].count(b"\t") + 1
            if fields != _FIELDS:
                raise _not_gtf(path, _line_number(path, offset + first[0]), fields)
        lines, positions = _kept_lines(buffer, end)
        if lines:
            frame = _parse_lines(path, offset, lines, positions)
            genes_here, transcripts_here = _genes_of(frame), _transcripts_of(frame)
            # gene_id is mandatory on every GTF line: a gene or transcript without one cannot be counted anywhere
            no_gene_id = genes_here.index[genes_here["gene_id"].isna()].union(transcripts_here.index[transcripts_here["gene_id"].isna()])
            if len(no_gene_id):
                row = int(no_gene_id.min())
                raise InputError(f"{path}: line {_line_number(path, offset + positions[row])}: a '{frame['feature'].iat[row]}' line "
                                 f"without gene_id, which GTF requires on every line")
            no_transcript_id = transcripts_here.index[transcripts_here["transcript_id"].isna()]
            if len(no_transcript_id) and first_without_transcript_id is None:
                first_without_transcript_id = _line_number(path, offset + positions[int(no_transcript_id.min())])
            without_transcript_id += len(no_transcript_id)
            gene_parts.append(genes_here)
            transcript_parts.append(transcripts_here)
    if without_transcript_id:
        log.warning("%s: %d 'transcript' line(s) without transcript_id left out (the first on line %d)", path, without_transcript_id,
                    first_without_transcript_id)
    if not seen_data:
        raise InputError(f"{path}: not a GTF file with 9 tab-separated columns (no data lines)")

    genes = pd.concat(gene_parts, ignore_index=True) if gene_parts else pd.DataFrame()
    if genes.empty:
        raise InputError(f"{path}: no 'gene' lines; an Ensembl GTF is expected")
    genes["gene_id"] = strip_version(genes["gene_id"])
    genes["gene_name"] = genes["gene_name"].fillna(genes["gene_id"])
    genes["gene_biotype"] = genes["gene_biotype"].fillna("")
    genes["chrom"] = normalize_chroms(genes["chrom"])
    genes["start"] = genes["start"] - 1  # GTF is 1-based inclusive
    genes["tss"] = np.where(genes["strand"] == "-", genes["end"] - 1, genes["start"])
    genes = genes[GENE_COLUMNS].drop_duplicates("gene_id").reset_index(drop=True)

    tx = pd.concat(transcript_parts, ignore_index=True)
    transcripts = pd.DataFrame({
        "transcript_id": strip_version(tx["transcript_id"]), "gene_id": strip_version(tx["gene_id"]),
    })[tx["transcript_id"].notna() & tx["gene_id"].notna()].drop_duplicates("transcript_id").reset_index(drop=True)
    if transcripts.empty:
        raise InputError(f"{path}: no 'transcript' lines; an Ensembl GTF is expected")
    log.debug("%s: %d genes, %d transcripts", path, len(genes), len(transcripts))
    return genes, transcripts


def genes_in_regions(genes: pd.DataFrame, regions: list[Region]) -> pd.DataFrame:
    """Genes whose body overlaps any region (half-open), in region order then by start.

    A gene that straddles a region's edge counts as in the region.
    """
    keep = np.zeros(len(genes), dtype=bool)
    order = np.full(len(genes), -1)
    for i, region in enumerate(regions):
        hit = (genes["chrom"].to_numpy() == region.chrom) & (genes["start"].to_numpy() < region.end) & (genes["end"].to_numpy() > region.start)
        order[hit & ~keep] = i
        keep |= hit
    selected = genes[keep].assign(_region=order[keep]).sort_values(["_region", "start", "gene_id"])
    return selected.drop(columns="_region").reset_index(drop=True)
