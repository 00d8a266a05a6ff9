#!/usr/bin/env python3
"""Generate pipeline inputs of real size and shape for the scale benchmark, deterministically from --seed.

Defaults give the sizes of ../shared/docs/real-scale.md: an Ensembl GRCh38 release-113-like annotation
(62,700 genes, ~250,000 transcripts, ~1.6 M exon lines, ~3.5 M lines in all, ~1.4 GB unpacked), its
cDNA (~250,000 records, ~450 MB unpacked), 50 samples of ATAC-seq peaks (~110,000-170,000 narrowPeak rows each)
and of paired-end RNA-seq reads simulated from the transcriptome. Everything is random but shaped
like the real files:

  genes.gtf.gz           Ensembl 113 line and attribute layout (gene_id, gene_version, gene_name,
                         gene_source, gene_biotype, transcript_*, exon_number, exon_id, protein_id,
                         ccds_id, tags, transcript_support_level), '#!genome-build' header lines;
                         gene, transcript, exon, CDS, start_codon, stop_codon, five_prime_utr and
                         three_prime_utr lines; Ensembl's biotype mix (protein_coding and lncRNA genes
                         with many isoforms, one-exon pseudogenes and small RNAs, repeated names such
                         as Y_RNA and U6, a quarter of the genes without a name); genes on every
                         chromosome of --chrom_sizes in proportion to its length, 37 on MT
  transcriptome.fa.gz    cDNA of every transcript, Ensembl header ('>ENST... cdna chromosome:GRCh38:...
                         gene:ENSG... gene_biotype:... transcript_biotype:... gene_symbol:...');
                         each gene has a pool of exons with random sequence and its isoforms are
                         chains of them, so isoforms share exons as real ones do
  peaks/Sxx.narrowPeak.gz  chr-prefixed narrowPeak rows, widths 150-2,000 bp, at promoters, near
                         genes and genome-wide, plus a few chrM, chrUn_*, *_random and chrEBV rows
  fastq/Sxx_R{1,2}.fastq.gz  --read_pairs read pairs (75 bp) per sample from that sample's
                         transcript abundances (the last --single_end samples single-end)
  abundance/Sxx/abundance.tsv  kallisto-shaped tables of the true abundances (for benchmarks that
                         need quantifications without running kallisto)
  samplesheet.csv        sample,fastq_1,fastq_2,peaks (paths relative to this folder)
  manifest.json          parameters, counts, sizes and generation times

Expression has a planted link to accessibility: a gene's promoter peak and one nearby peak, when
open in a sample, raise its expression there, so the models have something to find.
Gzip members have mtime 0 and no file name: the same parameters give the same bytes.

  benchmarks/make_scale_data.py --outdir ~/.cache/atac2expr/scale/data-x1 --jobs 2   # full size, ~20 min
  benchmarks/make_scale_data.py --outdir /tmp/small --genes 3000 --samples 8 --peaks 20000 --read_pairs 20000
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger("make_scale_data")

REPO = Path(__file__).resolve().parents[1]
CHROM_SIZES = REPO / "assets" / "GRCh38.chrom.sizes"

VERSION = 1  # of the generated data: bump it when a change alters the output (a manifest of another version is stale)
REAL_GENES = 62_700  # Ensembl 113; the MT gene count and the peak universe scale with --genes / REAL_GENES
MT_GENES = 37
READ_LENGTH = 75
FRAGMENT_MEAN, FRAGMENT_SD = 200.0, 20.0
ERROR_RATE = 0.001
FASTA_WIDTH = 60
LEVEL_TEXT = 6  # GTF and peaks: text compresses well and fast at Ensembl's level
LEVEL_SEQUENCE = 1  # cDNA and FASTQ: random bases; level 1 is ~10x faster than 6 for ~15% more bytes
CHUNK_BASES = 32_000_000  # bases per vectorised chunk (bounds the int64 index arrays to ~256 MB)
CHUNK_READS = 250_000

# ENCODE GRCh38 peak files name contigs beyond the primary assembly; a few rows land on them
EXTRA_CONTIGS = {
    "chrM": 16_569, "chrEBV": 171_823, "chrUn_GL000220v1": 161_802, "chrUn_KI270742v1": 186_739,
    "chr1_KI270706v1_random": 175_055, "chr17_GL000205v2_random": 185_591, "chr14_GL000225v1_random": 211_173,
}
EXTRA_ROWS = 40  # per sample, about; chrM gets half

HEADER = (
    "#!genome-build GRCh38.p14\n#!genome-version GRCh38\n#!genome-date 2013-12\n"
    "#!genome-build-accession GCA_000001405.29\n#!genebuild-last-updated 2024-07\n"
)

# independent random streams per component: changing --read_pairs leaves the annotation and peaks alone
_GENES, _SEQUENCE, _IDS, _EXPRESSION, _SITES, _PEAKS, _READS = range(7)

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = np.array([3, 2, 1, 0], dtype=np.uint8)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


# ---------------------------------------------------------------- gene classes


@dataclass(frozen=True)
class GeneClass:
    """How genes of one Ensembl biotype look: isoform count, exon pool, exon lengths (log-normal)."""

    biotype: str
    share: float  # of all nuclear genes (Ensembl 113 proportions, rounded)
    extra_tx: float  # mean number of isoforms beyond the first (geometric)
    pool: float  # mean exons in the gene's pool beyond the minimum
    min_pool: int
    exon_median: float  # internal exons
    first_median: float
    last_median: float  # the 3'-most exon carries the 3' UTR
    sigma: float
    tx_biotypes: tuple[tuple[str, float], ...]  # biotypes of the isoforms beyond the first
    named: float  # share of genes with a gene_name
    names: tuple[tuple[str, float], ...] = ()  # repeated names (Y_RNA, U6, ...) and their shares
    prefix: str = ""  # unique names: prefix + number


PC_ISOFORMS = (("protein_coding", 0.50), ("retained_intron", 0.18), ("nonsense_mediated_decay", 0.15),
               ("protein_coding_CDS_not_defined", 0.15), ("non_stop_decay", 0.02))
CLASSES = (
    GeneClass("protein_coding", 0.320, 7.5, 13.0, 2, 125, 160, 800, 0.6, PC_ISOFORMS, 0.99),
    GeneClass("lncRNA", 0.310, 2.0, 2.5, 1, 220, 250, 650, 0.8, (("lncRNA", 1.0),), 0.45, prefix="LINC"),
    GeneClass("processed_pseudogene", 0.161, 0.02, 0.0, 1, 900, 900, 900, 0.7, (("processed_pseudogene", 1.0),), 0.7, prefix="RPL21P"),
    GeneClass("unprocessed_pseudogene", 0.042, 0.1, 3.0, 1, 140, 160, 400, 0.6, (("unprocessed_pseudogene", 1.0),), 0.7, prefix="OR7E"),
    GeneClass("transcribed_unprocessed_pseudogene", 0.015, 1.5, 4.0, 1, 150, 180, 500, 0.6,
              (("processed_transcript", 0.6), ("transcribed_unprocessed_pseudogene", 0.4)), 0.9, prefix="TUP"),
    GeneClass("transcribed_processed_pseudogene", 0.008, 1.0, 1.0, 1, 300, 300, 800, 0.6,
              (("processed_transcript", 0.6), ("transcribed_processed_pseudogene", 0.4)), 0.9, prefix="TPP"),
    GeneClass("misc_RNA", 0.035, 0.0, 0.0, 1, 160, 160, 160, 0.4, (("misc_RNA", 1.0),), 1.0,
              (("Y_RNA", 0.4), ("Metazoa_SRP", 0.1), ("7SK", 0.1)), prefix="VTRNA"),
    GeneClass("snRNA", 0.030, 0.0, 0.0, 1, 140, 140, 140, 0.3, (("snRNA", 1.0),), 1.0, (("U6", 0.45), ("U2", 0.1), ("U1", 0.05)), prefix="RNU6-"),
    GeneClass("miRNA", 0.030, 0.0, 0.0, 1, 85, 85, 85, 0.2, (("miRNA", 1.0),), 1.0, prefix="MIR"),
    GeneClass("snoRNA", 0.015, 0.0, 0.0, 1, 120, 120, 120, 0.4, (("snoRNA", 1.0),), 1.0, (("SNORA70", 0.05), ("SNORD112", 0.05)), prefix="SNORD"),
    GeneClass("TEC", 0.017, 0.0, 0.0, 1, 1500, 1500, 1500, 0.7, (("TEC", 1.0),), 0.0),
    GeneClass("rRNA_pseudogene", 0.008, 0.0, 0.0, 1, 120, 120, 120, 0.3, (("rRNA_pseudogene", 1.0),), 1.0, (("5S_rRNA", 0.3),), prefix="RNA5SP"),
    GeneClass("IG_V_gene", 0.005, 0.1, 0.0, 2, 300, 50, 300, 0.2, (("IG_V_gene", 1.0),), 1.0, prefix="IGKV1-"),
    GeneClass("TR_V_gene", 0.004, 0.1, 0.0, 2, 300, 50, 300, 0.2, (("TR_V_gene", 1.0),), 1.0, prefix="TRBV"),
)
CODING_TX = ("protein_coding", "nonsense_mediated_decay", "non_stop_decay")
MT_CLASSES = (("Mt_tRNA", 22, 70), ("Mt_rRNA", 2, 1200), ("protein_coding", 13, 900))  # biotype, count, length
INTRON_MEDIAN, INTRON_SIGMA = 1600.0, 1.3  # log-normal: mean ~3.7 kb, long tail
P_CONSTITUTIVE = 0.8  # share of a pool's exons that are in (almost) every isoform spanning them
P_ALT_INCLUDED = 0.35  # how often an isoform includes an alternative exon of its span


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int) -> np.ndarray:
    return np.exp(np.log(median) + sigma * rng.standard_normal(n))


def _segments(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., length-1 for each segment, concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _group_starts(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


# ---------------------------------------------------------------- annotation


@dataclass
class Annotation:
    genes: pd.DataFrame  # chrom, start, end (1-based inclusive), strand, biotype, gene_id, version, name, source, tss
    transcripts: pd.DataFrame  # gene, start, end, biotype, transcript_id, version, name, length, coding, ...
    exons: pd.DataFrame  # tx, number (1 = 5'-most), start, end, exon_id, version, pool (pool exon), trim5, trim3
    pool_codes: np.ndarray  # uint8 0-3: every pool exon's sequence in transcript orientation, concatenated
    pool_offset: np.ndarray  # start of each pool exon in pool_codes


def _ids(rng: np.random.Generator, n: int, prefix: str) -> np.ndarray:
    """Unique Ensembl-style ids in random order: increasing numbers with random gaps, shuffled."""
    numbers = np.cumsum(rng.integers(1, 5, size=n)) + 1000
    return np.array([f"{prefix}{k:011d}" for k in rng.permutation(numbers).tolist()], dtype=object)


def _versions(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    return 1 + rng.geometric(1 / mean, size=n) - 1


def _gene_names(cls: GeneClass, n: int, rng: np.random.Generator) -> list[str | None]:
    """Unique names (a prefix and a number, or for protein-coding genes letters and a digit), some
    repeated names (as Ensembl's Y_RNA or U6 genes) and no name for a share of the genes."""
    names: list[str | None] = [None] * n
    named = rng.random(n) < cls.named
    kind = rng.random(n)
    edge = 0.0
    for name, share in cls.names:
        pick = named & (kind >= edge) & (kind < edge + share)
        for i in np.flatnonzero(pick):
            names[i] = name
        edge += share
    unique = np.flatnonzero(named & (kind >= edge))
    if cls.biotype == "protein_coding":
        codes = rng.choice(26**3 * 9, size=len(unique), replace=False)
        letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        for i, code in zip(unique, codes.tolist(), strict=True):
            word, digit = divmod(code, 9)
            names[i] = f"{letters[word // 676]}{letters[word // 26 % 26]}{letters[word % 26]}{digit + 1}"
    else:
        for i, number in zip(unique, rng.permutation(len(unique)) + 1, strict=True):
            names[i] = f"{cls.prefix}{number}"
    return names


def _pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    labels = np.array([t[0] for t in table], dtype=object)
    p = np.array([t[1] for t in table])
    return labels[rng.choice(len(labels), size=n, p=p / p.sum())]


def build_annotation(n_genes: int, chrom_sizes: dict[str, int], seed: int) -> Annotation:
    """Genes, isoforms and exons of a GRCh38-like annotation, with the exon sequences."""
    rng = _rng(seed, _GENES)
    nuclear = {c: n for c, n in chrom_sizes.items() if c != "MT"}
    n_mt = max(1, round(MT_GENES * n_genes / REAL_GENES)) if "MT" in chrom_sizes else 0
    n_nuclear = n_genes - n_mt

    # gene classes and per-gene counts
    shares = np.array([c.share for c in CLASSES])
    cls_of = rng.choice(len(CLASSES), size=n_nuclear, p=shares / shares.sum())
    extra = np.array([c.extra_tx for c in CLASSES])[cls_of]
    n_tx = 1 + np.where(extra > 0, rng.geometric(1 / (1 + np.maximum(extra, 1e-9))) - 1, 0)
    pool_mean = np.array([c.pool for c in CLASSES])[cls_of]
    n_pool = np.array([c.min_pool for c in CLASSES])[cls_of] + np.where(pool_mean > 0, rng.negative_binomial(3, 3 / (3 + np.maximum(pool_mean, 1e-9))), 0)
    biotype = np.array([c.biotype for c in CLASSES], dtype=object)[cls_of]
    names: list[str | None] = [None] * n_nuclear
    for k, cls in enumerate(CLASSES):
        members = np.flatnonzero(cls_of == k)
        for i, name in zip(members, _gene_names(cls, len(members), rng), strict=True):
            names[i] = name

    # mitochondrial genes: one exon, one transcript each
    mt_biotype = np.concatenate([[b] * n for b, n, _ in MT_CLASSES]).astype(object)
    mt_pick = np.sort(rng.choice(len(mt_biotype), size=n_mt, replace=False)) if n_mt < len(mt_biotype) else np.arange(len(mt_biotype))[:n_mt]
    mt_biotype = mt_biotype[mt_pick]
    mt_length = np.array([dict((b, n) for b, _, n in MT_CLASSES)[b] for b in mt_biotype], dtype=np.int64)
    biotype = np.concatenate([biotype, mt_biotype])
    names += [f"MT-{'T' if b == 'Mt_tRNA' else 'RNR' if b == 'Mt_rRNA' else 'ND'}{i + 1}" for i, b in enumerate(mt_biotype)]
    n_tx = np.concatenate([n_tx, np.ones(n_mt, dtype=np.int64)])
    n_pool = np.concatenate([n_pool, np.ones(n_mt, dtype=np.int64)])
    cls_idx = np.concatenate([cls_of, np.full(n_mt, -1)])
    is_mt = cls_idx < 0

    # exon pool: lengths in transcript orientation (pool exon 0 is the 5'-most), introns between them
    gene_of_pool = np.repeat(np.arange(n_genes), n_pool)
    rank = _segments(n_pool)
    last = rank == n_pool[gene_of_pool] - 1
    cls_pool = cls_idx[gene_of_pool]
    median = np.array([c.exon_median for c in CLASSES] + [1.0])[cls_pool]
    median = np.where(rank == 0, np.array([c.first_median for c in CLASSES] + [1.0])[cls_pool], median)
    median = np.where(last, np.array([c.last_median for c in CLASSES] + [1.0])[cls_pool], median)
    sigma = np.array([c.sigma for c in CLASSES] + [0.0])[cls_pool]
    length = np.maximum(np.round(np.exp(np.log(median) + sigma * rng.standard_normal(len(rank)))), 40).astype(np.int64)
    length[is_mt[gene_of_pool]] = mt_length
    intron = np.where(last, 0, np.maximum(np.round(_lognormal(rng, INTRON_MEDIAN, INTRON_SIGMA, len(rank))), 60)).astype(np.int64)
    offset = np.cumsum(length + intron) - (length + intron)  # from the gene's 5' end, restarted per gene below
    pool_start = _group_starts(n_pool)
    offset -= np.repeat(offset[pool_start], n_pool)
    span = np.add.reduceat(length + intron, pool_start)
    constitutive = rng.random(len(rank)) < P_CONSTITUTIVE
    constitutive[rank == 0] = True
    constitutive[last] = True

    # place genes: chromosome in proportion to its length, strand at random, anywhere the span fits
    names_c = np.array(list(nuclear), dtype=object)
    lengths_c = np.array(list(nuclear.values()), dtype=np.int64)
    chrom = np.concatenate([names_c[rng.choice(len(names_c), size=n_nuclear, p=lengths_c / lengths_c.sum())], np.full(n_mt, "MT", dtype=object)])
    chrom_len = np.array([chrom_sizes[c] for c in chrom], dtype=np.int64)
    too_long = span > chrom_len // 4  # a pool longer than a quarter of its chromosome: shrink its introns
    if too_long.any():
        scale = np.where(too_long, (chrom_len // 4) / span, 1.0)
        intron = np.round(intron * scale[gene_of_pool]).astype(np.int64)
        offset = np.cumsum(length + intron) - (length + intron)
        offset -= np.repeat(offset[pool_start], n_pool)
        span = np.add.reduceat(length + intron, pool_start)
    low = 1 + (rng.random(n_genes) * (chrom_len - span)).astype(np.int64)
    strand = np.where(rng.random(n_genes) < 0.5, "+", "-").astype(object)
    strand[is_mt] = np.where(rng.random(n_mt) < 0.85, "+", "-")
    five = np.where(strand == "+", low, low + span - 1)  # the gene pool's 5'-most base

    # isoforms: the first spans the pool and keeps its constitutive exons; the others take a random
    # sub-range, keep constitutive exons with probability 0.95 and alternative ones with P_ALT_INCLUDED,
    # and often start or end inside their first or last exon (alternative TSS / polyA site)
    total_tx = int(n_tx.sum())
    gene_of_tx = np.repeat(np.arange(n_genes), n_tx)
    first_tx = _segments(n_tx) == 0
    k = n_pool[gene_of_tx]
    a = np.where(first_tx | (rng.random(total_tx) < 0.6), 0, (rng.random(total_tx) * k).astype(np.int64))
    b_rand = a + (rng.random(total_tx) * (k - a)).astype(np.int64)
    b = np.where(first_tx | (rng.random(total_tx) < 0.5), k - 1, b_rand)
    span_n = b - a + 1
    cand_tx = np.repeat(np.arange(total_tx), span_n)
    cand_pool = pool_start[gene_of_tx][cand_tx] + a[cand_tx] + _segments(span_n)
    cand_rank = rank[cand_pool]
    p_keep = np.where(constitutive[cand_pool], np.where(first_tx[cand_tx], 1.0, 0.95), np.where(first_tx[cand_tx], 0.0, P_ALT_INCLUDED))
    keep = (rng.random(len(cand_pool)) < p_keep) | (cand_rank == a[cand_tx]) | (cand_rank == b[cand_tx])
    ex_tx, ex_pool = cand_tx[keep], cand_pool[keep]
    n_ex = np.bincount(ex_tx, minlength=total_tx)
    ex_start_of_tx = _group_starts(n_ex)
    ex_first = np.zeros(len(ex_tx), dtype=bool)
    ex_first[ex_start_of_tx] = True
    ex_last = np.zeros(len(ex_tx), dtype=bool)
    ex_last[ex_start_of_tx + n_ex - 1] = True
    ex_len_full = length[ex_pool]
    alt_tss = ~first_tx & (rng.random(total_tx) < 0.6)
    alt_pas = ~first_tx & (rng.random(total_tx) < 0.5)
    trim5 = np.where(ex_first & alt_tss[ex_tx] & (ex_len_full >= 90), (rng.random(len(ex_tx)) * (ex_len_full // 3)).astype(np.int64), 0)
    trim3 = np.where(ex_last & alt_pas[ex_tx] & (ex_len_full >= 90), (rng.random(len(ex_tx)) * (ex_len_full // 3)).astype(np.int64), 0)
    ex_len = ex_len_full - trim5 - trim3

    # genomic coordinates (1-based inclusive) of each exon piece
    gene_of_ex = gene_of_tx[ex_tx]
    lo5 = offset[ex_pool] + trim5  # distance of the piece's 5' end from the gene's 5' end
    plus = strand[gene_of_ex] == "+"
    ex_gstart = np.where(plus, five[gene_of_ex] + lo5, five[gene_of_ex] - lo5 - ex_len + 1)
    ex_gend = ex_gstart + ex_len - 1
    tx_start = np.minimum.reduceat(ex_gstart, ex_start_of_tx)
    tx_end = np.maximum.reduceat(ex_gend, ex_start_of_tx)
    tx_len = np.add.reduceat(ex_len, ex_start_of_tx)
    g_start = np.minimum.reduceat(tx_start, _group_starts(n_tx))
    g_end = np.maximum.reduceat(tx_end, _group_starts(n_tx))

    # transcript biotypes: the first isoform has the gene's biotype; the others that of the class mix
    tx_biotype = biotype[gene_of_tx].copy()
    for kk, cls in enumerate(CLASSES):
        sel = ~first_tx & (cls_idx[gene_of_tx] == kk)
        tx_biotype[sel] = _pick(rng, cls.tx_biotypes, int(sel.sum()))
    coding = np.isin(tx_biotype, CODING_TX) & (biotype[gene_of_tx] == "protein_coding")

    # ids, versions, names, sources
    irng = _rng(seed, _IDS)
    gene_id = _ids(irng, n_genes, "ENSG")
    tx_id = _ids(irng, total_tx, "ENST")
    gene_version = _versions(irng, n_genes, 4.0)
    tx_version = _versions(irng, total_tx, 2.0)
    gene_source = _pick(irng, (("ensembl_havana", 0.35), ("havana", 0.5), ("ensembl", 0.15)), n_genes)
    gene_source[is_mt] = "insdc"
    tx_source = np.where(first_tx, gene_source[gene_of_tx], _pick(irng, (("havana", 0.75), ("ensembl", 0.25)), total_tx)).astype(object)
    tx_source[is_mt[gene_of_tx]] = "insdc"
    iso = _segments(n_tx)
    tx_name = np.array([None if names[g] is None else f"{names[g]}-{201 + i}" for g, i in zip(gene_of_tx.tolist(), iso.tolist(), strict=True)], dtype=object)
    tsl = _pick(irng, (("1", 0.35), ("2", 0.15), ("3", 0.1), ("4", 0.05), ("5", 0.15), ("NA", 0.2)), total_tx)
    noted = (tsl != "NA") & (irng.random(total_tx) < 0.3)  # Ensembl notes support carried over from an older version
    previous = irng.integers(1, 6, int(noted.sum())).tolist()
    tsl[noted] = [f"{t} (assigned to previous version {v})" for t, v in zip(tsl[noted].tolist(), previous, strict=True)]
    protein_id = np.where(coding, _ids(irng, total_tx, "ENSP"), None)
    ccds = first_tx & coding & (irng.random(total_tx) < 0.9)
    ccds_id = np.array([f"CCDS{i}" for i in (irng.permutation(total_tx) + 1000).tolist()], dtype=object)

    # exon ids: a pool exon used whole has one id in every isoform; a trimmed piece is its own exon
    modified = (trim5 > 0) | (trim3 > 0)
    pool_ids = _ids(irng, len(rank), "ENSE")
    exon_id = pool_ids[ex_pool].copy()
    exon_id[modified] = _ids(irng, int(modified.sum()), "ENSE") if modified.any() else exon_id[modified]
    exon_version = _versions(irng, len(rank), 1.3)[ex_pool]

    # exon sequences: random, in transcript orientation, one block per pool exon
    srng = _rng(seed, _SEQUENCE)
    pool_codes = srng.integers(0, 4, size=int(length.sum()), dtype=np.uint8)
    pool_offset = np.cumsum(length) - length

    genes = pd.DataFrame({
        "chrom": chrom, "start": g_start, "end": g_end, "strand": strand, "biotype": biotype, "gene_id": gene_id,
        "version": gene_version, "name": np.array(names, dtype=object), "source": gene_source, "n_tx": n_tx,
        "tss": np.where(strand == "+", g_start, g_end),
    })
    transcripts = pd.DataFrame({
        "gene": gene_of_tx, "start": tx_start, "end": tx_end, "biotype": tx_biotype, "transcript_id": tx_id,
        "version": tx_version, "name": tx_name, "source": tx_source, "length": tx_len, "coding": coding,
        "canonical": first_tx, "tsl": tsl, "protein_id": protein_id, "ccds": np.where(ccds, ccds_id, None), "n_exons": n_ex,
    })
    exons = pd.DataFrame({
        "tx": ex_tx, "number": _segments(n_ex) + 1, "start": ex_gstart, "end": ex_gend, "exon_id": exon_id,
        "version": exon_version, "pool": ex_pool, "trim5": trim5, "length": ex_len,
    })
    return Annotation(genes, transcripts, exons, pool_codes, pool_offset)


def coding_features(ann: Annotation, seed: int) -> pd.DataFrame:
    """CDS, start/stop codon and UTR pieces of the coding isoforms: tx, feature, number, start, end, frame.

    In transcript coordinates a coding isoform is 5' UTR [0, u5), CDS [u5, c) (start codon its first
    3 bases), stop codon [c, c + 3), 3' UTR [c + 3, L); each interval is cut at the exon junctions,
    as in Ensembl's GTF (a codon split by an intron gives two lines).
    """
    rng = _rng(seed, _GENES, 1)
    tx = ann.transcripts
    length = tx["length"].to_numpy()
    u5 = np.minimum(np.round(_lognormal(rng, 150, 0.8, len(tx))), length * 0.3).astype(np.int64)
    u3 = np.minimum(np.round(_lognormal(rng, 600, 1.0, len(tx))), (length - u5) * 0.5).astype(np.int64)
    cds_len = (length - u5 - u3 - 3) // 3 * 3
    coding = tx["coding"].to_numpy() & (cds_len >= 60)
    c_end = u5 + cds_len
    has_start = coding & (rng.random(len(tx)) < 0.96)  # some models are 5'-incomplete
    intervals = {
        "five_prime_utr": (np.zeros(len(tx), dtype=np.int64), u5, coding),
        "CDS": (u5, c_end, coding),
        "start_codon": (u5, u5 + 3, has_start),
        "stop_codon": (c_end, c_end + 3, coding),
        "three_prime_utr": (c_end + 3, length, coding),
    }
    ex = ann.exons
    ex_tx = ex["tx"].to_numpy()
    ex_len = ex["length"].to_numpy()
    n_ex = tx["n_exons"].to_numpy()
    c0 = np.cumsum(ex_len) - ex_len
    c0 -= np.repeat(c0[_group_starts(n_ex)], n_ex)
    c1 = c0 + ex_len
    plus = (ann.genes["strand"].to_numpy()[tx["gene"].to_numpy()] == "+")[ex_tx]
    gs, ge = ex["start"].to_numpy(), ex["end"].to_numpy()
    frames = []
    for feature, (f0, f1, on) in intervals.items():
        sel = on[ex_tx]
        lo = np.maximum(c0, f0[ex_tx])
        hi = np.minimum(c1, f1[ex_tx])
        hit = sel & (hi > lo)
        lo, hi, rows = lo[hit], hi[hit], np.flatnonzero(hit)
        start = np.where(plus[rows], gs[rows] + (lo - c0[rows]), ge[rows] - (hi - c0[rows]) + 1)
        end = np.where(plus[rows], gs[rows] + (hi - c0[rows]) - 1, ge[rows] - (lo - c0[rows]))
        if feature in ("CDS", "start_codon", "stop_codon"):
            frame = ((-(lo - f0[ex_tx][rows])) % 3).astype(str).astype(object)
        else:
            frame = np.full(len(rows), ".", dtype=object)
        frames.append(pd.DataFrame({
            "tx": ex_tx[rows], "feature": feature, "number": ex["number"].to_numpy()[rows], "start": start, "end": end, "frame": frame,
        }))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- writers


class GzipWriter:
    """A gzip file written in pieces, with mtime 0 and no file name, renamed into place when complete."""

    def __init__(self, path: Path, level: int) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        self.raw: IO[bytes] = open(self.tmp, "wb")
        self.gz = gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=self.raw, mtime=0)
        self.unpacked = 0

    def write(self, data: bytes) -> None:
        self.gz.write(data)
        self.unpacked += len(data)

    def close(self) -> None:
        self.gz.close()
        self.raw.close()
        os.replace(self.tmp, self.path)

    def __enter__(self) -> "GzipWriter":
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.gz.close()
            self.raw.close()
            self.tmp.unlink(missing_ok=True)


def _opt(column: pd.Series) -> np.ndarray:
    """A column as objects with None where missing (pandas stores missing strings as NaN)."""
    return column.to_numpy(dtype=object, na_value=None)


def _attrs(pairs: Sequence[tuple[str, np.ndarray | None]], n: int) -> np.ndarray:
    """'key "value"; ' for each row, empty where the value is None (Ensembl leaves such keys out)."""
    out = np.full(n, "", dtype=object)
    for key, values in pairs:
        if values is None:
            continue
        vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
        out = out + np.array(["" if v is None else f'{key} "{v}"; ' for v in vals], dtype=object)
    return out


def write_gtf(ann: Annotation, coding: pd.DataFrame, path: Path, level: int) -> dict[str, int]:
    """The GTF, chromosome by chromosome, genes by start, each gene's transcripts and their features in
    Ensembl's order (transcript, then per exon: exon, CDS, start/stop codon; then the UTR pieces)."""
    genes, tx, ex = ann.genes, ann.transcripts, ann.exons
    g_of_t = tx["gene"].to_numpy()
    # per-gene and per-transcript attribute strings, shared by all their lines
    gene_attr = _attrs([("gene_id", genes["gene_id"].to_numpy()), ("gene_version", genes["version"].to_numpy()),
                        ("gene_name", _opt(genes["name"])), ("gene_source", genes["source"].to_numpy()),
                        ("gene_biotype", genes["biotype"].to_numpy())], len(genes))
    head = _attrs([("gene_id", genes["gene_id"].to_numpy()[g_of_t]), ("gene_version", genes["version"].to_numpy()[g_of_t]),
                   ("transcript_id", tx["transcript_id"].to_numpy()), ("transcript_version", tx["version"].to_numpy())], len(tx))
    mid = _attrs([("gene_name", _opt(genes["name"])[g_of_t]), ("gene_source", genes["source"].to_numpy()[g_of_t]),
                  ("gene_biotype", genes["biotype"].to_numpy()[g_of_t]), ("transcript_name", _opt(tx["name"])),
                  ("transcript_source", tx["source"].to_numpy()), ("transcript_biotype", tx["biotype"].to_numpy())], len(tx))
    ccds = _opt(tx["ccds"])
    mid = mid + np.array(["" if c is None else f'tag "CCDS"; ccds_id "{c}"; ' for c in ccds.tolist()], dtype=object)
    canonical = tx["canonical"].to_numpy()
    mane = canonical & tx["coding"].to_numpy()
    tail = np.array([
        ('tag "basic"; tag "Ensembl_canonical"; ' if c else 'tag "basic"; ' if b else "") + ('tag "MANE_Select"; ' if m else "")
        + f'transcript_support_level "{s}";'
        for c, m, b, s in zip(canonical.tolist(), mane.tolist(), (tx["n_exons"].to_numpy() % 2 == 0).tolist(), tx["tsl"].tolist(), strict=True)
    ], dtype=object)
    protein = np.array(["" if p is None else f'protein_id "{p}"; protein_version "1"; ' for p in _opt(tx["protein_id"]).tolist()], dtype=object)
    head = head.tolist()
    mid = mid.tolist()
    tail = tail.tolist()
    protein = protein.tolist()
    # chromosome, strand and source column per transcript / gene
    g_chrom, g_strand = genes["chrom"].to_numpy(), genes["strand"].to_numpy()
    t_pre = [f"{c}\t{s}\t" for c, s in zip(g_chrom[g_of_t].tolist(), tx["source"].tolist(), strict=True)]
    t_strand = g_strand[g_of_t].tolist()

    # one table of all lines with sort keys: gene, transcript, section (0 transcript, 1 exon-level, 2 UTR), exon, kind
    feature_rank = {"exon": 0, "CDS": 1, "start_codon": 2, "stop_codon": 3, "five_prime_utr": 4, "three_prime_utr": 5}
    chrom_order = {c: i for i, c in enumerate(sorted(set(genes["chrom"].tolist()), key=_chrom_rank))}
    order_g = np.lexsort((genes["gene_id"].to_numpy(), genes["start"].to_numpy(), genes["chrom"].map(chrom_order).to_numpy()))
    g_rank = np.empty(len(genes), dtype=np.int64)
    g_rank[order_g] = np.arange(len(genes))
    t_order = np.lexsort((tx["transcript_id"].to_numpy(), tx["start"].to_numpy(), g_rank[g_of_t]))
    t_rank = np.empty(len(tx), dtype=np.int64)
    t_rank[t_order] = np.arange(len(tx))

    counts: dict[str, int] = {}
    written = 0
    with GzipWriter(path, level) as out:
        out.write(HEADER.encode())
        chroms = genes["chrom"].to_numpy()
        for chrom in sorted(set(chroms.tolist()), key=_chrom_rank):
            gsel = np.flatnonzero(chroms == chrom)
            tsel = np.flatnonzero(np.isin(g_of_t, gsel))
            esel = np.flatnonzero(np.isin(ex["tx"].to_numpy(), tsel))
            csel = np.flatnonzero(np.isin(coding["tx"].to_numpy(), tsel))
            lines: list[str] = []
            keys: list[np.ndarray] = []
            # gene lines
            gs = genes.iloc[gsel]
            lines += [f"{c}\t{src}\tgene\t{s}\t{e}\t.\t{st}\t.\t{a}".rstrip() + "\n"
                      for c, src, s, e, st, a in _columns(gs, "chrom", "source", "start", "end", "strand", extra=gene_attr[gsel])]
            keys.append(np.column_stack([g_rank[gsel], np.full(len(gsel), -1), np.zeros((len(gsel), 3), dtype=np.int64)]))
            # transcript lines
            ts = tx.iloc[tsel]
            lines += [f"{t_pre[t]}transcript\t{s}\t{e}\t.\t{t_strand[t]}\t.\t{head[t]}{mid[t]}{tail[t]}\n"
                      for t, s, e in _columns(ts, "start", "end", first=tsel)]
            keys.append(np.column_stack([g_rank[g_of_t[tsel]], t_rank[tsel], np.zeros((len(tsel), 3), dtype=np.int64)]))
            # exon lines
            es = ex.iloc[esel]
            e_tx = es["tx"].to_numpy()
            lines += [f'{t_pre[t]}exon\t{s}\t{e}\t.\t{t_strand[t]}\t.\t{head[t]}exon_number "{n}"; {mid[t]}exon_id "{i}"; exon_version "{v}"; {tail[t]}\n'
                      for t, n, s, e, i, v in _columns(es, "tx", "number", "start", "end", "exon_id", "version")]
            ones = np.ones(len(esel), dtype=np.int64)
            keys.append(np.column_stack([g_rank[g_of_t[e_tx]], t_rank[e_tx], ones, es["number"].to_numpy(), 0 * ones]))
            # coding pieces
            cs = coding.iloc[csel]
            c_tx = cs["tx"].to_numpy()
            for t, f, n, s, e, fr in _columns(cs, "tx", "feature", "number", "start", "end", "frame"):
                if f == "CDS":
                    attrs = f'{head[t]}exon_number "{n}"; {mid[t]}{protein[t]}{tail[t]}'
                elif f in ("start_codon", "stop_codon"):
                    attrs = f'{head[t]}exon_number "{n}"; {mid[t]}{tail[t]}'
                else:
                    attrs = f"{head[t]}{mid[t]}{tail[t]}"
                lines.append(f"{t_pre[t]}{f}\t{s}\t{e}\t.\t{t_strand[t]}\t{fr}\t{attrs}\n")
            rank = cs["feature"].map(feature_rank).to_numpy()
            utr = rank >= 4
            keys.append(np.column_stack([g_rank[g_of_t[c_tx]], t_rank[c_tx], np.where(utr, 2, 1), cs["number"].to_numpy(), rank]))
            key = np.concatenate(keys)
            order = np.lexsort(key.T[::-1])
            text = "".join([lines[i] for i in order.tolist()]).encode()
            out.write(text)
            written += len(order)
            for feature, n in [("gene", len(gsel)), ("transcript", len(tsel)), ("exon", len(esel)), *cs["feature"].value_counts().items()]:
                counts[str(feature)] = counts.get(str(feature), 0) + int(n)
        unpacked = out.unpacked
    counts["lines"] = written + HEADER.count("\n")
    counts["bytes_unpacked"] = unpacked
    return counts


def _columns(frame: pd.DataFrame, *names: str, first: np.ndarray | None = None, extra: np.ndarray | None = None) -> Iterator[tuple]:
    """Rows of some columns as plain Python values (much faster to format than numpy scalars)."""
    cols = [frame[n].tolist() for n in names]
    if first is not None:
        cols.insert(0, first.tolist())
    if extra is not None:
        cols.append(extra.tolist())
    return zip(*cols, strict=True)


def _chrom_rank(chrom: str) -> tuple[int, int, str]:
    """1..22, X, Y, MT, then anything else by name."""
    if chrom.isdigit():
        return (0, int(chrom), "")
    return (1, {"X": 0, "Y": 1, "MT": 2}.get(chrom, 3), chrom)


def transcript_codes(ann: Annotation) -> tuple[np.ndarray, np.ndarray]:
    """Every transcript's sequence (uint8 0-3, concatenated in transcript order) and its offsets."""
    ex = ann.exons
    length = ann.transcripts["length"].to_numpy()
    offsets = np.cumsum(length) - length
    seg_len = ex["length"].to_numpy()
    seg_src = ann.pool_offset[ex["pool"].to_numpy()] + ex["trim5"].to_numpy()
    seg_dst = np.cumsum(seg_len) - seg_len  # exons are stored transcript by transcript, 5' to 3'
    codes = np.empty(int(length.sum()), dtype=np.uint8)
    for lo, hi in _chunks(seg_len, CHUNK_BASES):
        n = seg_len[lo:hi]
        src = np.repeat(seg_src[lo:hi] - seg_dst[lo:hi], n) + np.arange(seg_dst[lo], seg_dst[lo] + int(n.sum()), dtype=np.int64)
        codes[seg_dst[lo] : seg_dst[lo] + len(src)] = ann.pool_codes[src]
    return codes, offsets


def _chunks(sizes: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive [lo, hi) index ranges whose sizes sum to about `budget` each."""
    ends = np.searchsorted(np.cumsum(sizes), np.arange(budget, int(sizes.sum()) + budget, budget), side="right")
    lo = 0
    for hi in np.unique(np.minimum(np.maximum(ends, 1), len(sizes))).tolist():
        if hi > lo:
            yield lo, hi
            lo = hi
    if lo < len(sizes):
        yield lo, len(sizes)


def fasta_headers(ann: Annotation) -> list[str]:
    genes, tx = ann.genes, ann.transcripts
    g = tx["gene"].to_numpy()
    cols = zip(tx["transcript_id"].tolist(), tx["version"].tolist(), genes["chrom"].to_numpy()[g].tolist(), tx["start"].tolist(), tx["end"].tolist(),
               genes["strand"].to_numpy()[g].tolist(), genes["gene_id"].to_numpy()[g].tolist(), genes["version"].to_numpy()[g].tolist(),
               genes["biotype"].to_numpy()[g].tolist(), tx["biotype"].tolist(), _opt(genes["name"])[g].tolist(), strict=True)
    return [
        f"{t}.{v} cdna chromosome:GRCh38:{c}:{s}:{e}:{1 if st == '+' else -1} gene:{gi}.{gv} gene_biotype:{gb} transcript_biotype:{tb}"
        + ("" if n is None else f" gene_symbol:{n} description:synthetic gene {n} [Source:HGNC Symbol;Acc:HGNC:{gv}{len(n)}]")
        for t, v, c, s, e, st, gi, gv, gb, tb, n in cols
    ]


def write_fasta(ann: Annotation, codes: np.ndarray, offsets: np.ndarray, path: Path, level: int) -> int:
    """FASTA with 60 bases a line, built one chunk of records at a time as a byte array: headers and
    bases scattered to their places, every other byte a newline."""
    headers = fasta_headers(ann)
    length = ann.transcripts["length"].to_numpy()
    with GzipWriter(path, level) as out:
        for lo, hi in _chunks(length, CHUNK_BASES):
            blob = np.frombuffer("".join(f">{h}\n" for h in headers[lo:hi]).encode(), dtype=np.uint8)
            h_len = np.array([len(h) + 2 for h in headers[lo:hi]], dtype=np.int64)
            L = length[lo:hi]
            rec = h_len + L + (L + FASTA_WIDTH - 1) // FASTA_WIDTH
            rec_start = np.cumsum(rec) - rec
            buf = np.full(int(rec.sum()), ord("\n"), dtype=np.uint8)
            buf[np.repeat(rec_start - (np.cumsum(h_len) - h_len), h_len) + np.arange(len(blob))] = blob
            j = _segments(L)
            dst = np.repeat(rec_start + h_len, L) + j + j // FASTA_WIDTH
            buf[dst] = _BASES[codes[offsets[lo] : offsets[lo] + int(L.sum())]]
            out.write(buf.tobytes())
        return out.unpacked


# ---------------------------------------------------------------- accessibility and expression


@dataclass
class Sites:
    chrom: np.ndarray  # Ensembl-style names
    center: np.ndarray
    p_open: np.ndarray  # base probability of being open in a sample
    program: np.ndarray  # latent program that raises or lowers it (-1: none)
    gene: np.ndarray  # gene whose expression it drives (-1: none)
    weight: np.ndarray  # log-expression effect when open


def build_sites(ann: Annotation, chrom_sizes: dict[str, int], n_peaks: int, n_programs: int, seed: int) -> Sites:
    """Promoter sites (one per gene, at its TSS), one enhancer site within 50 kb of each protein-coding
    gene, and background sites genome-wide, as many as give about n_peaks open sites per sample."""
    rng = _rng(seed, _SITES)
    genes = ann.genes
    nuclear = (genes["chrom"] != "MT").to_numpy()
    g_idx = np.flatnonzero(nuclear)
    prom_p = np.where(genes["biotype"].to_numpy()[g_idx] == "protein_coding", rng.beta(3, 1.5, len(g_idx)), rng.beta(1, 3, len(g_idx)))
    pc = g_idx[genes["biotype"].to_numpy()[g_idx] == "protein_coding"]
    enh_off = np.round(rng.uniform(2_000, 50_000, len(pc)) * np.where(rng.random(len(pc)) < 0.5, -1, 1)).astype(np.int64)
    enh_center = genes["tss"].to_numpy()[pc] + enh_off
    enh_p = rng.beta(1.5, 1.5, len(pc))
    expected = prom_p.sum() + enh_p.sum()
    bg_mean_p = 0.35
    n_bg = max(0, int(round((n_peaks - expected) / bg_mean_p)))
    names = np.array([c for c in chrom_sizes if c != "MT"], dtype=object)
    lengths = np.array([chrom_sizes[c] for c in names], dtype=np.int64)
    bg_chrom = names[rng.choice(len(names), size=n_bg, p=lengths / lengths.sum())]
    bg_len = np.array([chrom_sizes[c] for c in bg_chrom.tolist()], dtype=np.int64)
    bg_center = 2_500 + (rng.random(n_bg) * (bg_len - 5_000)).astype(np.int64)
    bg_p = rng.beta(0.7, 1.3, n_bg)
    chrom_len = np.array([chrom_sizes[c] for c in genes["chrom"].to_numpy()[pc].tolist()], dtype=np.int64)
    enh_center = np.clip(enh_center, 2_500, chrom_len - 2_500)
    n = len(g_idx) + len(pc) + n_bg
    return Sites(
        chrom=np.concatenate([genes["chrom"].to_numpy()[g_idx], genes["chrom"].to_numpy()[pc], bg_chrom]),
        center=np.concatenate([genes["tss"].to_numpy()[g_idx], enh_center, bg_center]).astype(np.int64),
        p_open=np.concatenate([prom_p, enh_p, bg_p]),
        program=np.where(rng.random(n) < 0.6, rng.integers(0, n_programs, n), -1),
        gene=np.concatenate([g_idx, pc, np.full(n_bg, -1)]),
        weight=np.concatenate([rng.uniform(0.8, 2.0, len(g_idx)), rng.uniform(0.5, 1.5, len(pc)), np.zeros(n_bg)]),
    )


def site_openness(sites: Sites, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which sites are open in one sample: a site of an active program opens more often, of an inactive one less."""
    boost = np.where(sites.program < 0, 1.0, np.where(active[np.maximum(sites.program, 0)], 1.6, 0.4))
    return rng.random(len(sites.p_open)) < np.clip(sites.p_open * boost, 0.0, 0.98)


def gene_log_expression(ann: Annotation, sites: Sites, open_sites: np.ndarray, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Baseline + the weights of the gene's open sites + noise (sd 0.3)."""
    drive = np.zeros(len(ann.genes))
    hit = (sites.gene >= 0) & open_sites
    np.add.at(drive, sites.gene[hit], sites.weight[hit])
    return base + drive + 0.3 * rng.standard_normal(len(base))


def transcript_tpm(ann: Annotation, gene_log: np.ndarray, shares: np.ndarray) -> np.ndarray:
    expr = np.exp(gene_log)[ann.transcripts["gene"].to_numpy()] * shares
    return expr / expr.sum() * 1e6


# ---------------------------------------------------------------- per-sample files


def peaks_frame(sites: Sites, open_sites: np.ndarray, chrom_sizes: dict[str, int], n_extra: int, rng: np.random.Generator) -> pd.DataFrame:
    """One sample's narrowPeak rows, strongest first (as MACS2/IDR write them), named Peak_<rank>."""
    idx = np.flatnonzero(open_sites)
    width = np.clip(np.round(_lognormal(rng, 450, 0.55, len(idx))), 150, 2000).astype(np.int64)
    center = sites.center[idx] + np.round(rng.normal(0, 30, len(idx))).astype(np.int64)
    chrom_len = pd.Series(sites.chrom[idx]).map(chrom_sizes).to_numpy()
    start = np.clip(center - width // 2, 0, chrom_len - width)
    chrom = np.array(["chr" + c for c in sites.chrom[idx].tolist()], dtype=object)
    # a few rows on chrM and on contigs outside the primary assembly
    extra_names = np.array(list(EXTRA_CONTIGS), dtype=object)
    p_extra = np.where(extra_names == "chrM", 0.5, 0.5 / (len(extra_names) - 1))
    e_chrom = extra_names[rng.choice(len(extra_names), size=n_extra, p=p_extra)]
    e_len = np.array([EXTRA_CONTIGS[c] for c in e_chrom.tolist()], dtype=np.int64)
    e_width = np.clip(np.round(_lognormal(rng, 450, 0.55, n_extra)), 150, 2000).astype(np.int64)
    e_start = (rng.random(n_extra) * (e_len - e_width)).astype(np.int64)
    chrom = np.concatenate([chrom, e_chrom])
    start = np.concatenate([start, e_start])
    width = np.concatenate([width, e_width])
    n = len(chrom)
    signal = np.round(_lognormal(rng, 8.0, 0.6, n), 5)
    p_value = np.round(signal * rng.uniform(2.0, 4.0, n), 5)
    q_value = np.round(np.maximum(p_value - rng.uniform(1.0, 3.0, n), 0.5), 5)
    order = np.argsort(-p_value, kind="stable")
    return pd.DataFrame({
        "chrom": chrom[order], "start": start[order], "end": (start + width)[order], "name": [f"Peak_{i + 1}" for i in range(n)],
        "score": np.minimum(1000, np.round(p_value[order] * 10)).astype(np.int64), "strand": ".", "signal": signal[order],
        "p": p_value[order], "q": q_value[order], "summit": (width[order] * rng.uniform(0.3, 0.7, n)).astype(np.int64),
    })


def fastq_chunk(sample: str, mate: int, first: int, codes: np.ndarray) -> bytes:
    """FASTQ records '@<sample>.<number>/<mate>' (numbers zero-padded to 9 digits), qualities 'I', as one byte matrix."""
    n = codes.shape[0]
    numbers = np.arange(first, first + n, dtype=np.int64)[:, None] // 10 ** np.arange(8, -1, -1, dtype=np.int64)
    parts = [f"@{sample}.".encode(), (numbers % 10 + ord("0")).astype(np.uint8), f"/{mate}\n".encode(),
             _BASES[codes], b"\n+\n", b"I" * codes.shape[1] + b"\n"]
    cols = [np.broadcast_to(np.frombuffer(p, dtype=np.uint8), (n, len(p))) if isinstance(p, bytes) else p for p in parts]
    return np.concatenate(cols, axis=1).tobytes()


def _with_errors(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    flat = codes.reshape(-1)
    where = rng.integers(0, flat.size, size=rng.binomial(flat.size, ERROR_RATE))
    flat[where] = (flat[where] + rng.integers(1, 4, size=len(where), dtype=np.uint8)) % 4
    return codes


def write_reads(sample: str, paired: bool, n_pairs: int, tpm: np.ndarray, codes: np.ndarray, offsets: np.ndarray,
                length: np.ndarray, outdir: Path, level: int, rng: np.random.Generator) -> list[str]:
    """Fragments drawn in proportion to TPM x effective length; R1 from the fragment's 5' end, R2 the
    reverse complement of its 3' end (kallisto's default fr-unstranded accepts either orientation)."""
    weight = tpm * np.maximum(length - FRAGMENT_MEAN + 1, 0) * (length >= READ_LENGTH)
    cdf = np.cumsum(weight)
    names = [f"fastq/{sample}_R{m}.fastq.gz" for m in ((1, 2) if paired else (1,))]
    writers = [GzipWriter(outdir / name, level) for name in names]
    steps = np.arange(READ_LENGTH, dtype=np.int64)
    try:
        for first in range(0, n_pairs, CHUNK_READS):
            n = min(CHUNK_READS, n_pairs - first)
            t = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)
            frag = np.clip(np.round(rng.normal(FRAGMENT_MEAN, FRAGMENT_SD, n)).astype(np.int64), READ_LENGTH, length[t])
            start = offsets[t] + (rng.random(n) * (length[t] - frag + 1)).astype(np.int64)
            writers[0].write(fastq_chunk(sample, 1, first + 1, _with_errors(codes[start[:, None] + steps], rng)))
            if paired:
                last = start + frag - 1
                writers[1].write(fastq_chunk(sample, 2, first + 1, _with_errors(_COMPLEMENT[codes[last[:, None] - steps]], rng)))
    except BaseException:
        for w in writers:
            w.__exit__(RuntimeError, None, None)
        raise
    for w in writers:
        w.close()
    return names


def write_abundance(path: Path, ann: Annotation, tpm: np.ndarray, n_pairs: int) -> None:
    """kallisto's abundance.tsv columns (target_id, length, eff_length, est_counts, tpm) from the true TPMs."""
    tx = ann.transcripts
    length = tx["length"].to_numpy()
    eff = np.maximum(length - FRAGMENT_MEAN + 1, 1.0)
    counts = tpm * eff
    counts = counts / counts.sum() * n_pairs
    frame = pd.DataFrame({
        "target_id": tx["transcript_id"] + "." + tx["version"].astype(str), "length": length, "eff_length": eff,
        "est_counts": np.round(counts, 2), "tpm": tpm,
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    os.replace(tmp, path)


@dataclass
class SampleJob:
    index: int
    sample: str
    paired: bool


_STATE: dict = {}  # the big arrays, shared with forked workers without pickling


def _sample_files(job: SampleJob) -> dict:
    """All files of one sample, from its own random streams (so samples can be written in any order)."""
    st = _STATE
    args = st["args"]
    outdir: Path = args.outdir
    began = time.perf_counter()
    prng = _rng(args.seed, _PEAKS, job.index)
    open_sites = site_openness(st["sites"], st["activity"][job.index], prng)
    n_extra = int(prng.poisson(EXTRA_ROWS * min(1.0, args.peaks / 150_000)))
    peaks = peaks_frame(st["sites"], open_sites, st["chrom_sizes"], n_extra, prng)
    peak_file = f"peaks/{job.sample}.narrowPeak.gz"
    with GzipWriter(outdir / peak_file, LEVEL_TEXT) as out:
        out.write(peaks.to_csv(sep="\t", header=False, index=False, lineterminator="\n").encode())
    gene_log = gene_log_expression(st["ann"], st["sites"], open_sites, st["base"], _rng(args.seed, _EXPRESSION, job.index))
    tpm = transcript_tpm(st["ann"], gene_log, st["shares"])
    if args.abundance:
        write_abundance(outdir / "abundance" / job.sample / "abundance.tsv", st["ann"], tpm, args.read_pairs)
    fastqs = write_reads(job.sample, job.paired, args.read_pairs, tpm, st["codes"], st["offsets"], st["length"], outdir,
                         LEVEL_SEQUENCE, _rng(args.seed, _READS, job.index)) if args.read_pairs else []
    return {"sample": job.sample, "fastq_1": fastqs[0] if fastqs else "", "fastq_2": fastqs[1] if len(fastqs) > 1 else "",
            "peaks": peak_file, "_peaks": len(peaks), "_seconds": time.perf_counter() - began}


def _run_jobs(jobs: list[SampleJob], n_workers: int, progress: Callable[[dict], None]) -> list[dict]:
    if n_workers <= 1:
        results = []
        for job in jobs:
            results.append(_sample_files(job))
            progress(results[-1])
        return results
    with multiprocessing.get_context("fork").Pool(n_workers) as pool:
        results = []
        for row in pool.imap(_sample_files, jobs):
            results.append(row)
            progress(row)
        return results


# ---------------------------------------------------------------- command line


def read_chrom_sizes(path: Path) -> dict[str, int]:
    frame = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1], names=["chrom", "length"], dtype={"chrom": str}, comment="#")
    chrom = frame["chrom"].str.replace(r"^chr", "", regex=True).replace({"M": "MT"})
    return dict(zip(chrom, frame["length"].astype(np.int64), strict=True))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outdir", type=Path, required=True, help="folder to write into (created); keep it out of the repository")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--genes", type=int, default=REAL_GENES, help=f"genes (default {REAL_GENES:,}: ~4 transcripts and ~26 exons each)")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--peaks", type=int, default=150_000, help="narrowPeak rows per sample, about (default 150,000)")
    parser.add_argument("--read_pairs", type=int, default=2_000_000,
                        help="read pairs (fragments) per sample, 0 for none (default 2,000,000: ~240 MB of FASTQ.gz per sample)")
    parser.add_argument("--single_end", type=int, default=0, help="the last N samples are single-end (default 0)")
    parser.add_argument("--programs", type=int, default=8, help="latent programs that open groups of sites together (default 8)")
    parser.add_argument("--chrom_sizes", type=Path, default=CHROM_SIZES)
    parser.add_argument("--abundance", action=argparse.BooleanOptionalAction, default=True,
                        help="also write abundance/<sample>/abundance.tsv from the true TPMs (default on)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies --genes, --peaks and --read_pairs (not --samples): 0.05 gives a quick, small dataset")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the per-sample files (default 1)")
    parser.add_argument("--force", action="store_true", help="write the data even when --outdir holds the same parameters' data")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scale <= 0:
        print(f"ERROR: --scale {args.scale}: must be positive", file=sys.stderr)
        return 2
    args.genes = max(1, round(args.genes * args.scale))
    args.peaks = max(1, round(args.peaks * args.scale))
    args.read_pairs = round(args.read_pairs * args.scale)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s [%(name)s] %(message)s", stream=sys.stderr)
    for name in ("genes", "samples", "peaks"):
        if getattr(args, name) < 1:
            print(f"ERROR: --{name} {getattr(args, name)}: must be at least 1", file=sys.stderr)
            return 2
    if args.samples > 999 or not 0 <= args.single_end <= args.samples or args.read_pairs < 0:
        print("ERROR: --samples at most 999, --single_end between 0 and --samples, --read_pairs >= 0", file=sys.stderr)
        return 2
    outdir: Path = args.outdir
    parameters = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("outdir", "jobs", "verbose", "force", "scale")}
    parameters["generator_version"] = VERSION
    if not args.force and (outdir / "manifest.json").is_file() and (outdir / "samplesheet.csv").is_file():
        if json.loads((outdir / "manifest.json").read_text()).get("parameters") == parameters:
            log.info("%s already holds this data (manifest.json); --force writes it again", outdir)
            return 0
    (outdir / "manifest.json").unlink(missing_ok=True)  # written last: its presence means the data is complete
    outdir.mkdir(parents=True, exist_ok=True)
    chrom_sizes = read_chrom_sizes(args.chrom_sizes)
    times: dict[str, float] = {}
    began = t0 = time.perf_counter()

    ann = build_annotation(args.genes, chrom_sizes, args.seed)
    coding = coding_features(ann, args.seed)
    times["annotation"] = time.perf_counter() - t0
    log.info("annotation: %d genes, %d transcripts, %d exons, %d coding pieces (%.1f s)",
             len(ann.genes), len(ann.transcripts), len(ann.exons), len(coding), times["annotation"])

    t0 = time.perf_counter()
    gtf_counts = write_gtf(ann, coding, outdir / "genes.gtf.gz", LEVEL_TEXT)
    times["gtf"] = time.perf_counter() - t0
    log.info("genes.gtf.gz: %d lines, %.2f GB unpacked (%.1f s): %s", gtf_counts["lines"], gtf_counts["bytes_unpacked"] / 1e9, times["gtf"],
             ", ".join(f"{k} {v:,}" for k, v in gtf_counts.items() if k not in ("lines", "bytes_unpacked")))
    del coding

    t0 = time.perf_counter()
    codes, offsets = transcript_codes(ann)
    fasta_unpacked = write_fasta(ann, codes, offsets, outdir / "transcriptome.fa.gz", LEVEL_SEQUENCE)
    times["fasta"] = time.perf_counter() - t0
    log.info("transcriptome.fa.gz: %d records, %d bases, %.2f GB unpacked (%.1f s)", len(ann.transcripts), len(codes), fasta_unpacked / 1e9, times["fasta"])

    # per-sample states: active programs, a baseline per gene, isoform shares fixed per gene
    t0 = time.perf_counter()
    erng = _rng(args.seed, _EXPRESSION)
    sites = build_sites(ann, chrom_sizes, args.peaks, args.programs, args.seed)
    activity = erng.random((args.samples, args.programs)) < 0.5
    biotype = ann.genes["biotype"].to_numpy()
    base = np.where(biotype == "protein_coding", erng.normal(1.5, 1.5, len(biotype)),
                    np.where(biotype == "lncRNA", erng.normal(-0.5, 1.5, len(biotype)), erng.normal(-1.5, 1.8, len(biotype))))
    base[ann.genes["chrom"].to_numpy() == "MT"] += 6.0  # mitochondrial transcripts are among the most abundant
    shares = erng.gamma(0.5, 1.0, len(ann.transcripts)) + 1e-3
    _STATE.update(args=args, ann=ann, sites=sites, activity=activity, base=base, shares=shares, codes=codes, offsets=offsets,
                  length=ann.transcripts["length"].to_numpy(), chrom_sizes=chrom_sizes)
    samples = [f"S{i + 1:02d}" for i in range(args.samples)]
    jobs = [SampleJob(i, s, i < args.samples - args.single_end) for i, s in enumerate(samples)]

    def progress(row: dict) -> None:
        log.info("%s: %d peaks, %s read pairs (%.1f s)", row["sample"], row["_peaks"], f"{args.read_pairs:,}" if args.read_pairs else "no", row["_seconds"])

    rows = _run_jobs(jobs, args.jobs, progress)
    times["samples"] = time.perf_counter() - t0
    sheet = pd.DataFrame(rows)[["sample", "fastq_1", "fastq_2", "peaks"]]
    sheet.to_csv(outdir / "samplesheet.csv", index=False, lineterminator="\n")
    times["total"] = time.perf_counter() - began

    sizes = {name: _size(outdir / name) for name in ("genes.gtf.gz", "transcriptome.fa.gz", "peaks", "fastq", "abundance") if (outdir / name).exists()}
    manifest = {
        "parameters": parameters,
        "genes": len(ann.genes), "transcripts": len(ann.transcripts), "exons": len(ann.exons), "gtf": gtf_counts,
        "cdna_bases": int(len(codes)), "cdna_bytes_unpacked": int(fasta_unpacked),
        "peaks_per_sample": {r["sample"]: r["_peaks"] for r in rows}, "bytes": sizes, "seconds": {k: round(v, 1) for k, v in times.items()},
        "gene_biotypes": ann.genes["biotype"].value_counts().to_dict(), "unnamed_genes": int(ann.genes["name"].isna().sum()),
    }
    with open(outdir / "manifest.json", "w") as handle:
        json.dump(manifest, handle, indent=1)
    log.info("sizes: %s", ", ".join(f"{k} {v / 1e6:,.0f} MB" for k, v in sizes.items()))
    log.info("wrote %s in %.0f s (annotation %.0f, GTF %.0f, FASTA %.0f, samples %.0f)", outdir, times["total"], times["annotation"],
             times["gtf"], times["fasta"], times["samples"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
