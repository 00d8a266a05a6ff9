"""Gene-to-bin links: which bins drive each gene's predicted expression, as tables and genome-browser files.

A link is a (gene, bin) pair with a weight: how much the bin's accessibility moves the gene's prediction, in the
model's target units (log1p(TPM) by default). Each model says how it weighs a bin (`links_rule` of its predictor
in modelling/predictors.py; docs/modelling.md lists the rules). Links are kept only for bins within
--links_max_distance bp of the gene's TSS on its chromosome, and only each gene's --links_top strongest by
|weight| (ties: the bin nearer the TSS first); a weight of 0 is no link.

Every link also carries its regulatory score (link_scores.py: score, abc, correlation, fdr). A sample's links (-entry
PREDICT's, the training samples' scores) are chosen and ranked by score; a model's by |weight|, as above.

Files of a set of links (a model's, or one sample's), named <name>.<suffix>:
  links.tsv.gz  formats.LINKS (SAMPLE_LINKS, SAMPLE_SCORES with a sample column): gene_id, gene_name, chrom, start, end
                (the bin, 0-based half-open), tss, distance (TSS to the bin's centre, bp, negative upstream on the
                gene's strand), weight, score, abc, correlation, fdr, rank (1 = the gene's strongest)
  interact      UCSC interact text (BED5+13 under a `track type=interact` line): source = the bin, target = the
                gene's TSS (1 bp), value = the value (a model's weight, a sample's score), score = |value| scaled to
                0-1000 over the file, red for positive and blue for negative values. UCSC and IGV open it;
                bedToBigBed -as=interact.as -type=bed5+13 makes the bigInteract that track hubs and the WashU browser read
  bedpe         BEDPE (chrom1 start1 end1 = the bin, chrom2 start2 end2 = the TSS, name = gene, score = the value,
                strand1 ., strand2 = the gene's strand): IGV and the WashU browser open it
  bw            bigWig: per bin, the sum over genes of |value| of the links in the table (where the model's
                attention lies, or how much the sample's bin regulates); per-gene bigWigs (signed) go beside it for the
                genes the caller chooses
Browser files name chromosomes UCSC-style (chr1, chrM; IGV maps them to Ensembl names); the tables keep the
pipeline's Ensembl-style names. They are tab-separated, one record a line, never quoted (a '"' in a gene name is
written as it is): a gene name holding what cannot be written in a field (a tab, a line break, another control
character) is written with '_' in its place, and the genes so renamed are logged. read_interact and read_bedpe read
back exactly what was written.

Files named after genes (per-gene bigWigs and figures) are named by gene_file_names: the gene id where it is a safe,
unique file name, else the safe characters plus a suffix of the id's SHA-1, so no two genes share a file (not even on a
file system that ignores case).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .cli import InputError
from .files import atomic_output, atomic_path
from .formats import LINKS, SAMPLE_LINKS, SAMPLE_SCORES
from .regions import ucsc_chrom

log = logging.getLogger(__name__)

INTERACT_COLUMNS = ("chrom", "chromStart", "chromEnd", "name", "score", "value", "exp", "color", "sourceChrom", "sourceStart",
                    "sourceEnd", "sourceName", "sourceStrand", "targetChrom", "targetStart", "targetEnd", "targetName", "targetStrand")
BEDPE_COLUMNS = ("chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score", "strand1", "strand2")
POSITIVE, NEGATIVE = "#B2182B", "#2166AC"  # red: opening the bin raises the prediction; blue: lowers it


@dataclass(frozen=True)
class Links:
    """Links as parallel arrays: rows of the model's genes and bins, the weight, the rank within the gene (and sample).
    sample: row of the samples for per-sample links (-entry PREDICT), else None."""

    gene: np.ndarray
    bin: np.ndarray
    weight: np.ndarray
    rank: np.ndarray
    sample: np.ndarray | None = None
    scores: dict[str, np.ndarray] | None = None  # score, abc, correlation, fdr (link_scores.py) of each link

    def __len__(self) -> int:
        return len(self.weight)


SCORE_COLUMNS = ("score", "abc", "correlation", "fdr")
UNSCORED = {"score": 0.0, "abc": 0.0, "correlation": 0.0, "fdr": 1.0}  # a link of a closed bin, or without evidence


def signed_distance(bin_start: np.ndarray, bin_end: np.ndarray, tss: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """bp from the TSS to the bin's centre, negative upstream of the gene's transcription (strand-aware)."""
    offset = (np.asarray(bin_start, dtype=np.int64) + np.asarray(bin_end, dtype=np.int64)) // 2 - np.asarray(tss, dtype=np.int64)
    return np.where(minus, -offset, offset)


def top_links(group: np.ndarray, weight: np.ndarray, tie_break: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions kept, their rank) of the `top` largest |weight| of each group (a gene, or a sample x gene; top 0:
    every one), ties broken by the smaller tie_break (|distance| to the TSS); zero and non-finite weights are never kept."""
    if top < 0:
        raise InputError(f"--links_top {top}: must be at least 0 (0: every candidate)")
    weight = np.asarray(weight, dtype=np.float64)
    candidates = np.flatnonzero(np.isfinite(weight) & (weight != 0))
    if not len(candidates):
        return candidates, np.zeros(0, dtype=np.int64)
    g = np.asarray(group)[candidates]
    order = candidates[np.lexsort((np.asarray(tie_break)[candidates], -np.abs(weight[candidates]), g))]
    g = np.asarray(group)[order]
    first = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(first)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    keep = rank <= top if top else np.ones(len(rank), dtype=bool)
    return order[keep], rank[keep].astype(np.int64)


def links_table(links: Links, genes: pd.DataFrame, bins: pd.DataFrame, samples: np.ndarray | None = None,
                with_weight: bool = True) -> pd.DataFrame:
    """formats.LINKS rows (SAMPLE_LINKS when the links are per sample; SAMPLE_SCORES without weight), sorted by
    [sample,] gene order and rank. Links without scores get UNSCORED's."""
    g = genes.iloc[links.gene]
    b = bins.iloc[links.bin]
    minus = g["strand"].to_numpy(str) == "-"
    frame = pd.DataFrame({
        "gene_id": g["gene_id"].to_numpy(str), "gene_name": g["gene_name"].to_numpy(str), "chrom": b["chrom"].to_numpy(str),
        "start": b["start"].to_numpy(np.int64), "end": b["end"].to_numpy(np.int64), "tss": g["tss"].to_numpy(np.int64),
        "distance": signed_distance(b["start"].to_numpy(), b["end"].to_numpy(), g["tss"].to_numpy(), minus),
        "weight": np.asarray(links.weight, dtype=np.float64), "rank": np.asarray(links.rank, dtype=np.int64),
    })
    for column in SCORE_COLUMNS:
        frame[column] = (np.asarray(links.scores[column], dtype=np.float64) if links.scores is not None
                         else np.full(len(links), UNSCORED[column]))
    keys = [links.gene, links.rank]
    if links.sample is not None:
        if samples is None:
            raise ValueError("per-sample links need the sample names")
        frame.insert(0, "sample", np.asarray(samples).astype(str)[links.sample])
        keys = [links.sample, *keys]
    order = np.lexsort(tuple(reversed(keys)))
    table = (SAMPLE_LINKS if with_weight else SAMPLE_SCORES) if links.sample is not None else LINKS
    return table.frame(frame.iloc[order].reset_index(drop=True))


def read_links(path: str | Path) -> pd.DataFrame:
    """A links.tsv.gz (with or without the sample column, with or without weight), checked against its format."""
    with gzip.open(path, "rt") as handle:
        header = handle.readline().rstrip("\n").split("\t")
    if header[:1] != ["sample"]:
        return LINKS.read(path)
    return (SAMPLE_LINKS if "weight" in header else SAMPLE_SCORES).read(path)


# ---------------------------------------------------------------- browser files

def field_text(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Values as fields of a tab-separated record: each character that cannot be in a field (tab, line break, another
    control character or line separator) becomes '_'; empty text becomes '.'. Returns the fields and the values changed."""
    text = values.astype(str)
    unique = pd.unique(text)
    fixed = {v: "".join("_" if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in v) or "." for v in unique}
    changed = [v for v in unique if fixed[v] != v and v != ""]
    return text.map(fixed) if changed or "" in fixed else text, changed


def _log_renamed(changed: list[str], path: str | Path) -> None:
    if changed:
        log.warning("%s: %d gene name(s) hold a tab, line break or other control character, which a browser file cannot carry: "
                    "written with '_' in their place (e.g. %s)", path, len(changed), ", ".join(repr(v) for v in changed[:3]))


def interact_frame(table: pd.DataFrame, experiment: str, strands: pd.Series | None = None, value: str = "weight") -> pd.DataFrame:
    """UCSC interact rows of a links table: source = the bin, target = the gene's TSS (strand: the gene's, or '.'),
    value = the table's `value` column; gene names as field_text makes them."""
    tss_end = table["tss"] + 1
    chrom = table["chrom"].map(ucsc_chrom)
    scale = float(table[value].abs().max()) if len(table) else 1.0
    names, _ = field_text(table["gene_name"])
    return pd.DataFrame({
        "chrom": chrom, "chromStart": np.minimum(table["start"], table["tss"]), "chromEnd": np.maximum(table["end"], tss_end),
        "name": names, "score": np.round(1000 * table[value].abs() / (scale or 1.0)).astype(np.int64),
        "value": table[value], "exp": experiment, "color": np.where(table[value] > 0, POSITIVE, NEGATIVE),
        "sourceChrom": chrom, "sourceStart": table["start"], "sourceEnd": table["end"],
        "sourceName": chrom + ":" + (table["start"] + 1).astype(str) + "-" + table["end"].astype(str), "sourceStrand": ".",
        "targetChrom": chrom, "targetStart": table["tss"], "targetEnd": tss_end, "targetName": names,
        "targetStrand": strands if strands is not None else ".",
    })[list(INTERACT_COLUMNS)]


def write_interact(table: pd.DataFrame, path: str | Path, name: str, description: str, strands: pd.Series | None = None,
                   value: str = "weight") -> None:
    frame = interact_frame(table, name, strands, value)
    frame = frame.sort_values(["chrom", "chromStart", "chromEnd"], kind="stable")
    track = (f'track type=interact name="{_quoted(name)}" description="{_quoted(description)}" interactDirectional=true '
             f"maxHeightPixels=200:100:50 visibility=full")
    _log_renamed(field_text(table["gene_name"])[1], path)
    with atomic_output(path) as handle:
        handle.write(track + "\n")
        _write_records(frame, handle)


def write_bedpe(table: pd.DataFrame, path: str | Path, strands: pd.Series | None = None, value: str = "weight") -> None:
    chrom = table["chrom"].map(ucsc_chrom)
    frame = pd.DataFrame({
        "chrom1": chrom, "start1": table["start"], "end1": table["end"], "chrom2": chrom, "start2": table["tss"],
        "end2": table["tss"] + 1, "name": field_text(table["gene_name"])[0], "score": table[value], "strand1": ".",
        "strand2": strands if strands is not None else ".",
    })[list(BEDPE_COLUMNS)]
    _log_renamed(field_text(table["gene_name"])[1], path)
    with atomic_output(path) as handle:
        handle.write("#" + "\t".join(BEDPE_COLUMNS) + "\n")
        _write_records(frame, handle)


def _write_records(frame: pd.DataFrame, handle) -> None:
    """Tab-separated records, never quoted (fields are field_text's: no tab or line break to protect)."""
    frame.to_csv(handle, sep="\t", index=False, header=False, lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar=None)


def _quoted(text: str) -> str:
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(text)).replace('"', "'")


def read_interact(path: str | Path) -> pd.DataFrame:
    """The rows of an interact file, each field checked against the format (for tests and users' own checks)."""
    lines = _records(path)
    if not lines or not lines[0].startswith("track ") or "type=interact" not in lines[0]:
        raise InputError(f"{path}: no 'track type=interact' line first")
    rows = [line.split("\t") for line in lines[1:] if line and not line.startswith("#")]
    bad = next((i for i, row in enumerate(rows, start=2) if len(row) != len(INTERACT_COLUMNS)), None)
    if bad is not None:
        raise InputError(f"{path} line {bad}: {len(rows[bad - 2])} fields, interact has {len(INTERACT_COLUMNS)}")
    frame = pd.DataFrame(rows, columns=list(INTERACT_COLUMNS))
    ints = ["chromStart", "chromEnd", "score", "sourceStart", "sourceEnd", "targetStart", "targetEnd"]
    try:
        frame[ints] = frame[ints].astype(np.int64)
        frame["value"] = frame["value"].astype(np.float64)
    except ValueError as err:
        raise InputError(f"{path}: a coordinate, score or value is not a number ({err})") from None
    problems = []
    if ((frame["score"] < 0) | (frame["score"] > 1000)).any():
        problems.append("score outside 0-1000")
    if ((frame["chromStart"] > frame[["sourceStart", "targetStart"]].min(axis=1))
            | (frame["chromEnd"] < frame[["sourceEnd", "targetEnd"]].max(axis=1))).any():
        problems.append("chromStart-chromEnd does not span both regions")
    if ((frame["sourceEnd"] <= frame["sourceStart"]) | (frame["targetEnd"] <= frame["targetStart"])).any():
        problems.append("a region with end <= start")
    if not frame["sourceStrand"].isin(["+", "-", "."]).all() or not frame["targetStrand"].isin(["+", "-", "."]).all():
        problems.append("a strand other than +, - or .")
    if problems:
        raise InputError(f"{path}: not valid interact: {'; '.join(problems)}")
    return frame


def _records(path: str | Path) -> list[str]:
    """The lines of a browser file: split at line feeds only (a field may hold other characters str.splitlines splits at)."""
    text = Path(path).read_text(encoding="utf-8")
    return text.removesuffix("\n").split("\n") if text else []


def read_bedpe(path: str | Path) -> pd.DataFrame:
    rows = [line.split("\t") for line in _records(path) if line and not line.startswith(("#", "track"))]
    if any(len(row) < len(BEDPE_COLUMNS) for row in rows):
        raise InputError(f"{path}: a line with fewer than {len(BEDPE_COLUMNS)} fields")
    frame = pd.DataFrame([row[: len(BEDPE_COLUMNS)] for row in rows], columns=list(BEDPE_COLUMNS))
    ints = ["start1", "end1", "start2", "end2"]
    try:
        frame[ints] = frame[ints].astype(np.int64)
        frame["score"] = frame["score"].astype(np.float64)
    except ValueError as err:
        raise InputError(f"{path}: a coordinate or score is not a number ({err})") from None
    if ((frame["end1"] <= frame["start1"]) | (frame["end2"] <= frame["start2"])).any():
        raise InputError(f"{path}: a region with end <= start")
    return frame


def bin_track(table: pd.DataFrame, signed: bool, value: str = "weight") -> pd.DataFrame:
    """chrom, start, end, value per linked bin: the sum of the links' |value| (signed=False) or value (signed=True)."""
    values = table[value] if signed else table[value].abs()
    return (table.assign(value=values).groupby(["chrom", "start", "end"], sort=False, as_index=False)["value"].sum())


def write_bigwig(track: pd.DataFrame, chrom_sizes: dict[str, int], path: str | Path) -> None:
    """A bigWig of chrom, start, end, value rows (non-overlapping), chromosomes UCSC-style, in chrom_sizes' order."""
    import pyBigWig  # the links' environment has it; importing it here keeps the tables usable without it

    chroms = [c for c in chrom_sizes if c in set(track["chrom"])]
    missing = sorted(set(track["chrom"]) - set(chrom_sizes))
    if missing:
        raise InputError(f"chromosome(s) {', '.join(missing[:5])} of the links are not in --chrom_sizes")
    order = {c: i for i, c in enumerate(chroms)}
    track = track.assign(_o=track["chrom"].map(order)).sort_values(["_o", "start"], kind="stable")
    with atomic_path(path) as tmp:
        handle = pyBigWig.open(str(tmp), "w")
        try:
            # a header needs one chromosome at least: an empty track still opens in a browser
            header = [(ucsc_chrom(c), int(chrom_sizes[c])) for c in chroms] or [(ucsc_chrom(c), int(s)) for c, s in list(chrom_sizes.items())[:1]]
            handle.addHeader(header, maxZooms=10)
            if len(track):
                handle.addEntries([ucsc_chrom(c) for c in track["chrom"]], track["start"].astype(np.int64).tolist(),
                                  ends=track["end"].astype(np.int64).tolist(), values=track["value"].astype(np.float64).tolist())
        finally:
            handle.close()


def write_table(table: pd.DataFrame | Iterable[pd.DataFrame], path: str | Path, chunk: int = 200_000) -> None:
    """A links table as gzipped TSV, from one frame or from parts of the same columns written one after the other (a
    sample at a time), streamed in chunks of rows so that a genome's millions of rows never sit in memory as text.
    mtime 0: the same links give the same bytes; level 6, gzip's own default (level 9 takes three times as long for a
    few per cent)."""
    parts = [table] if isinstance(table, pd.DataFrame) else table
    with atomic_path(path) as tmp, open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as handle:
        header = True
        for part in parts:
            for first in range(0, max(len(part), 1 if header else 0), chunk):
                handle.write(part.iloc[first:first + chunk].to_csv(sep="\t", index=False, header=header, lineterminator="\n").encode())
                header = False


def write_links(table: pd.DataFrame, outdir: str | Path, name: str, description: str, genes: pd.DataFrame,
                chrom_sizes: dict[str, int], with_table: bool = True, value: str = "weight") -> dict[str, Path]:
    """<name>.links.tsv.gz (unless with_table=False), .interact, .bedpe and .bw of one links table, the browser files
    showing its `value` column (a model's weight, a sample's score); the paths by kind."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    strands = table["gene_id"].map(genes.set_index("gene_id")["strand"]).fillna(".")
    paths = {kind: outdir / f"{name}.{kind}" for kind in ("links.tsv.gz", "interact", "bedpe", "bw")}
    if with_table:
        write_table(table, paths["links.tsv.gz"])
    else:
        del paths["links.tsv.gz"]
    write_interact(table, paths["interact"], name, description, strands, value)
    write_bedpe(table, paths["bedpe"], strands, value)
    write_bigwig(bin_track(table, signed=False, value=value), chrom_sizes, paths["bw"])
    return paths


def write_gene_tracks(table: pd.DataFrame, gene_ids: list[str], outdir: str | Path, chrom_sizes: dict[str, int]) -> list[Path]:
    """One bigWig of signed link weights per gene, <outdir>/<file name>.bw (gene_file_names: unique whatever the ids)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    names = gene_file_names(gene_ids)
    paths = []
    for gene_id in gene_ids:
        path = outdir / f"{names[gene_id]}.bw"
        write_bigwig(bin_track(table[table["gene_id"] == gene_id], signed=True), chrom_sizes, path)
        paths.append(path)
    return paths


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_MAX_NAME = 100  # characters of a gene id kept in its file name


def gene_file_names(gene_ids: list[str]) -> dict[str, str]:
    """A file name (no suffix) for each gene id, unique among them even where case is ignored: the id itself when it is
    made of ASCII letters, digits, '.', '_' and '-' (not first '.'), short, and alone in its spelling; else those
    characters (others as '_') plus '-' and the first 10 hex digits of the id's SHA-1 (more where 10 would collide)."""
    ids = list(dict.fromkeys(str(g) for g in gene_ids))

    def safe(text: str) -> str:
        return "".join(c if c in _SAFE else "_" for c in text).lstrip(".")[:_MAX_NAME] or "gene"

    def hashed(text: str, digits: int) -> str:
        return f"{safe(text)}-{hashlib.sha1(text.encode()).hexdigest()[:digits]}"

    spelling = pd.Series([safe(g).lower() for g in ids]).value_counts()
    names = {g: g if safe(g) == g and spelling[g.lower()] == 1 else hashed(g, 10) for g in ids}
    folded = pd.Series([n.lower() for n in names.values()])
    if folded.duplicated().any():  # a hashed name spelling another id: take the whole hash for the hashed ones
        names = {g: n if n == g else hashed(g, 40) for g, n in names.items()}
        if pd.Series([n.lower() for n in names.values()]).duplicated().any():
            raise ValueError("gene ids whose file names collide even with their whole SHA-1")
    return names
