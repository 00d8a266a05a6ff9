"""Ensembl GTF: genes, their transcripts, and the genes of a region."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .cli import InputError
from .files import read_text
from .regions import Region, normalize_chroms

log = logging.getLogger(__name__)

GENE_COLUMNS = ["gene_id", "gene_name", "gene_biotype", "chrom", "start", "end", "strand", "tss"]


def strip_version(ids: pd.Series) -> pd.Series:
    """ENSG00000115138.10 -> ENSG00000115138 (Ensembl ids are joined without versions)."""
    return ids.astype(str).str.replace(r"\.\d+$", "", regex=True)


def _attribute(attributes: pd.Series, key: str) -> pd.Series:
    return attributes.str.extract(rf'(?:^|;)\s*{key} "([^"]*)"', expand=False)


def read_gtf(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Genes and the transcript -> gene map of an Ensembl GTF (gz or plain).

    genes: GENE_COLUMNS, 0-based half-open coordinates, TSS strand-aware (0-based position).
    transcripts: transcript_id, gene_id (versions stripped on both).
    """
    text = read_text(path)
    try:
        gtf = pd.read_csv(
            io.StringIO(text), sep="\t", header=None, comment="#", usecols=[0, 2, 3, 4, 6, 8],
            names=["chrom", "feature", "start", "end", "strand", "attributes"],
            dtype={"chrom": str, "feature": str, "start": np.int64, "end": np.int64, "strand": str, "attributes": str},
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: not a GTF file with 9 tab-separated columns ({err})") from None
    genes = gtf[gtf["feature"] == "gene"].copy()
    if genes.empty:
        raise InputError(f"{path}: no 'gene' lines; an Ensembl GTF is expected")
    genes["gene_id"] = strip_version(_attribute(genes["attributes"], "gene_id"))
    genes["gene_name"] = _attribute(genes["attributes"], "gene_name").fillna(genes["gene_id"])
    genes["gene_biotype"] = _attribute(genes["attributes"], "gene_biotype").fillna("")
    genes["chrom"] = normalize_chroms(genes["chrom"])
    genes["start"] = genes["start"] - 1  # GTF is 1-based inclusive
    genes["tss"] = np.where(genes["strand"] == "-", genes["end"] - 1, genes["start"])
    genes = genes[GENE_COLUMNS].drop_duplicates("gene_id").reset_index(drop=True)

    tx = gtf[gtf["feature"] == "transcript"]
    transcripts = pd.DataFrame({
        "transcript_id": strip_version(_attribute(tx["attributes"], "transcript_id")),
        "gene_id": strip_version(_attribute(tx["attributes"], "gene_id")),
    }).dropna().drop_duplicates("transcript_id").reset_index(drop=True)
    if transcripts.empty:
        raise InputError(f"{path}: no 'transcript' lines; an Ensembl GTF is expected")
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


def chromosome_extents(genes: pd.DataFrame) -> dict[str, int]:
    """The last annotated base per chromosome: a lower bound on its length."""
    return genes.groupby("chrom")["end"].max().to_dict()
