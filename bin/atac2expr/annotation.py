"""Gene annotations: an Ensembl or GENCODE GTF, or a BED6/BED12 (--gene_bed); genes, their transcripts, exon
lengths, and the genes of a region.

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
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import pandas as pd

from .cli import InputError
from .files import open_binary, read_text
from .formats import GENES
from .regions import Region, normalize_chroms

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 23  # bytes of decompressed text per step: memory stays flat whatever the file's size
READ_SIZE = 1 << 18  # bytes per read from the (gzip) file into the chunk
MAX_LINE = 1 << 20  # a longer "line" means a binary or non-GTF file; refusing it bounds the carried-over text
_FEATURE = re.compile(rb"\t(?:gene|transcript)\t")  # a superset of the wanted lines; the feature column is checked after
_FIELDS = 9
# GTF columns read: seqname, feature, start, end, strand, attributes
_USECOLS = [0, 2, 3, 4, 6, 8]
_NAMES = ["chrom", "feature", "start", "end", "strand", "attributes"]


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


def _kept_lines(buffer: bytearray, end: int, feature: re.Pattern = _FEATURE) -> tuple[list[bytearray], list[int]]:
    """The lines of buffer[:end] that may be 'gene' or 'transcript' lines, and their positions in it.

    A line starting with '#' is a header or comment (Ensembl '#!genome-build', GENCODE '##provider');
    a '#' elsewhere is text (it may be inside a quoted attribute value).
    """
    lines, positions, last_end = [], [], 0
    for match in feature.finditer(buffer, 0, end):
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

    genes: formats.GENES, 0-based half-open coordinates, TSS strand-aware (0-based position);
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
    genes = GENES.frame(genes).drop_duplicates("gene_id").reset_index(drop=True)

    tx = pd.concat(transcript_parts, ignore_index=True)
    transcripts = pd.DataFrame({
        "transcript_id": strip_version(tx["transcript_id"]), "gene_id": strip_version(tx["gene_id"]),
    })[tx["transcript_id"].notna() & tx["gene_id"].notna()].drop_duplicates("transcript_id").reset_index(drop=True)
    if transcripts.empty:
        raise InputError(f"{path}: no 'transcript' lines; an Ensembl GTF is expected")
    log.debug("%s: %d genes, %d transcripts", path, len(genes), len(transcripts))
    return genes, transcripts


TSS_ONLY_NOTE = ("the annotation gives TSSs only (--gene_bed of TSSs): each gene's body is its TSS (1 bp), so archr scores the bins "
                 "around the TSS (5 kb upstream and the distance-weighted neighbourhood) and signac the 2 kb upstream of it")


def tss_only(genes: pd.DataFrame) -> bool:
    """Every gene's body is its TSS alone (a TSS-only annotation): what the gene-activity baselines then score."""
    return bool(len(genes)) and bool(((genes["end"].to_numpy() - genes["start"].to_numpy()) == 1).all())


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


# ---------------------------------------------------------------------------------------------
# exon lengths: counts -> TPM


def union_lengths(gene_ids: pd.Series | np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pd.Series:
    """Bases covered by the union of each gene's exons (of all its transcripts): gene_id -> length."""
    frame = pd.DataFrame({"gene_id": np.asarray(gene_ids), "start": np.asarray(starts, np.int64), "end": np.asarray(ends, np.int64)})
    frame = frame.sort_values(["gene_id", "start", "end"], kind="stable").reset_index(drop=True)
    reach = frame.groupby("gene_id", sort=False)["end"].cummax()
    previous = reach.groupby(frame["gene_id"], sort=False).shift(1)
    block = (previous.isna() | (frame["start"] > previous)).cumsum()  # a new block where an exon starts past all before
    blocks = frame.groupby([frame["gene_id"], block], sort=False).agg(start=("start", "min"), end=("end", "max"))
    return (blocks["end"] - blocks["start"]).groupby(level=0, sort=False).sum().astype(np.int64).rename("length")


_EXON = re.compile(rb"\texon\t")


def read_gtf_exon_lengths(path: str | Path, chunk_size: int = CHUNK_SIZE) -> pd.Series:
    """gene_id (version stripped) -> bases of the union of its exons, streamed from the GTF's 'exon' lines."""
    path = Path(path)
    parts = []
    for offset, buffer, end in _text_blocks(path, chunk_size):
        lines, positions = _kept_lines(buffer, end, _EXON)
        if lines:
            frame = _parse_lines(path, offset, lines, positions)
            frame = frame[frame["feature"] == "exon"]
            parts.append(pd.DataFrame({"gene_id": _attribute(frame["attributes"], "gene_id"), "start": frame["start"] - 1, "end": frame["end"]}))
    exons = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["gene_id", "start", "end"])
    exons = exons[exons["gene_id"].notna()]
    return union_lengths(strip_version(exons["gene_id"]), exons["start"].to_numpy(), exons["end"].to_numpy())


# ---------------------------------------------------------------------------------------------
# BED annotations (--gene_bed)

BED6_COLUMNS = ("chrom", "start", "end", "name", "score", "strand")
_BED_HEADERS = ("track", "browser", "#")


@dataclass(frozen=True)
class BedAnnotation:
    """What a gene BED gives: genes (formats.GENES), the transcript -> gene map (empty when the BED names no
    transcripts), each gene's exon length (None without BED12 blocks), and whether it holds TSSs only."""

    genes: pd.DataFrame
    transcripts: pd.DataFrame
    lengths: pd.Series | None
    tss_only: bool


def _bed_lines(path: Path) -> tuple[list[list[str]], list[int]]:
    """The tab-separated fields and line numbers of the data lines (track/browser/# lines skipped)."""
    rows, numbers = [], []
    for number, line in enumerate(read_text(path).lstrip("\ufeff").splitlines(), start=1):
        if not line.strip() or line.startswith(_BED_HEADERS):
            continue
        rows.append(line.rstrip("\r").split("\t"))
        numbers.append(number)
    if not rows:
        raise InputError(f"{path}: no BED lines")
    return rows, numbers


def _bed_column(path: Path, rows: list[list[str]], numbers: list[int], index: int, name: str) -> np.ndarray:
    values = [row[index].strip() for row in rows]
    bad = next((i for i, v in enumerate(values) if not v.isdigit()), None)
    if bad is not None:
        raise InputError(f"{path} line {numbers[bad]}, column {index + 1} ({name}): '{values[bad][:40]}' is not a whole non-negative number")
    return np.array(values, dtype=np.int64)


def _is_number(text: str) -> bool:
    return text in (".", "") or re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text) is not None


def read_gene_bed(path: str | Path) -> BedAnnotation:
    """Genes of a BED6 or BED12 annotation (gz or plain), by one rule for genes with several lines.

    - The gene of a line is its name column (4), or its score column (5) when that column holds gene symbols
      rather than numbers (UCSC refGene exports: accession in 4, symbol in 5; the accession is then the transcript).
    - A zero-length line (start = end) is a TSS at `start`; another line is a transcript (or gene) whose TSS is its
      start on '+' and end - 1 on '-'. BED12 blocks are its exons.
    - A gene on several chromosomes or strands keeps those of most of its lines (the first such in the file on a tie).
    - TSS: the 5'-most of its lines (as a GTF gene line's start); body: the span of its non-zero-length lines, which
      the TSS extends; a gene of TSS lines only has the TSS as a 1-bp body.
    - Exon length (BED12): the union of the exons of its transcripts.
    Refused with one line naming the line: fewer than 6 columns, a strand other than + or -, coordinates that are not
    whole numbers or end < start, a BED12 whose blocks do not fit its line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    rows, numbers = _bed_lines(path)
    widths = np.array([len(row) for row in rows])
    if (widths < 6).any():
        first = int(np.flatnonzero(widths < 6)[0])
        raise InputError(f"{path} line {numbers[first]}: {widths[first]} tab-separated columns; a gene BED needs at least 6 "
                         f"({', '.join(BED6_COLUMNS)}), with the strand")
    start = _bed_column(path, rows, numbers, 1, "start")
    end = _bed_column(path, rows, numbers, 2, "end")
    if (end < start).any():
        first = int(np.flatnonzero(end < start)[0])
        raise InputError(f"{path} line {numbers[first]}: end {end[first]} < start {start[first]}")
    strand = np.array([row[5].strip() for row in rows])
    bad = np.flatnonzero(~np.isin(strand, ["+", "-"]))
    if len(bad):
        raise InputError(f"{path} line {numbers[bad[0]]}, column 6 (strand): '{strand[bad[0]][:20]}' is not + or -; "
                         f"a gene's strand says where its TSS is")
    names = np.array([row[3].strip() for row in rows], dtype=object)
    scores = np.array([row[4].strip() for row in rows], dtype=object)
    symbol_in_score = not all(_is_number(s) for s in scores)
    gene = scores if symbol_in_score else names
    empty = np.flatnonzero(gene == "")
    if len(empty):
        raise InputError(f"{path} line {numbers[empty[0]]}: no gene name (column {5 if symbol_in_score else 4})")
    chrom = normalize_chroms(pd.Series([row[0] for row in rows])).to_numpy()
    minus = strand == "-"
    point = end == start
    tss = np.where(point | ~minus, start, end - 1)
    lines = pd.DataFrame({"gene": gene, "chrom": chrom, "strand": strand, "start": start, "end": end, "tss": tss, "point": point,
                          "order": np.arange(len(rows))})

    # one chromosome and strand per gene: those of most of its lines
    placement = lines.groupby(["gene", "chrom", "strand"], sort=False).agg(n=("order", "size"), first=("order", "min")).reset_index()
    placement = placement.sort_values(["gene", "n", "first"], ascending=[True, False, True])
    chosen = placement.drop_duplicates("gene")
    split = placement["gene"].duplicated(keep=False)
    if split.any():
        log.warning("%s: %d genes have lines on several chromosomes or strands; each keeps those of most of its lines (e.g. %s)",
                    path, placement.loc[split, "gene"].nunique(), placement.loc[split, "gene"].iloc[0])
    kept = lines.merge(chosen[["gene", "chrom", "strand"]], on=["gene", "chrom", "strand"])
    grouped = kept.groupby("gene", sort=False)
    body = kept[~kept["point"]].groupby("gene", sort=False).agg(body_start=("start", "min"), body_end=("end", "max"))
    per_gene = grouped.agg(chrom=("chrom", "first"), strand=("strand", "first"), tss_min=("tss", "min"), tss_max=("tss", "max"),
                           order=("order", "min")).join(body)
    gene_tss = np.where(per_gene["strand"] == "-", per_gene["tss_max"], per_gene["tss_min"]).astype(np.int64)
    body_start = per_gene["body_start"].fillna(pd.Series(gene_tss, index=per_gene.index)).to_numpy(np.int64)
    body_end = per_gene["body_end"].fillna(pd.Series(gene_tss + 1, index=per_gene.index)).to_numpy(np.int64)
    genes = pd.DataFrame({
        "gene_id": per_gene.index.astype(str), "gene_name": per_gene.index.astype(str), "gene_biotype": "",
        "chrom": per_gene["chrom"].to_numpy(), "start": np.minimum(body_start, gene_tss), "end": np.maximum(body_end, gene_tss + 1),
        "strand": per_gene["strand"].to_numpy(), "tss": gene_tss, "order": per_gene["order"].to_numpy(),
    }).sort_values("order")
    genes = GENES.frame(genes).reset_index(drop=True)

    transcripts = pd.DataFrame({"transcript_id": pd.Series(dtype=str), "gene_id": pd.Series(dtype=str)})
    if symbol_in_score:
        transcripts = pd.DataFrame({"transcript_id": strip_version(pd.Series(names)), "gene_id": gene.astype(str)})
        transcripts = transcripts.drop_duplicates("transcript_id").reset_index(drop=True)

    lengths = None
    if (widths >= 12).all():
        lengths = _bed12_exon_lengths(path, rows, numbers, lines, kept["order"].to_numpy())
    tss_only = bool(point.all())
    log.info("%s: %d lines -> %d genes (%s%s)", path, len(rows), len(genes), "TSSs only" if tss_only else "with gene bodies",
             ", exons from BED12 blocks" if lengths is not None else "")
    return BedAnnotation(genes, transcripts, lengths, tss_only)


def _bed12_exon_lengths(path: Path, rows: list[list[str]], numbers: list[int], lines: pd.DataFrame, kept: np.ndarray) -> pd.Series:
    """Exon length of each gene from BED12 blocks (columns 10-12: blockCount, blockSizes, blockStarts) of its kept lines."""
    genes, starts, ends = [], [], []
    for i in kept:
        row, where = rows[i], f"{path} line {numbers[i]}"
        try:
            count = int(row[9])
            sizes = [int(v) for v in row[10].strip().rstrip(",").split(",")]
            offsets = [int(v) for v in row[11].strip().rstrip(",").split(",")]
        except ValueError:
            raise InputError(f"{where}: blockCount, blockSizes, blockStarts (columns 10-12) are not BED12 numbers") from None
        line_start, line_end = int(lines["start"].iat[i]), int(lines["end"].iat[i])
        if count != len(sizes) or count != len(offsets) or any(line_start + o + s > line_end or o < 0 or s < 0 for o, s in zip(offsets, sizes, strict=True)):
            raise InputError(f"{where}: its BED12 blocks do not fit the line ({count} blocks, sizes {row[10]}, starts {row[11]})")
        genes += [lines["gene"].iat[i]] * count
        starts += [line_start + o for o in offsets]
        ends += [line_start + o + s for o, s in zip(offsets, sizes, strict=True)]
    return union_lengths(pd.Series(genes, dtype=str), np.array(starts), np.array(ends))
