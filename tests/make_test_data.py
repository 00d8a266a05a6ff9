#!/usr/bin/env python3
"""Generate the pipeline's test dataset, deterministically from --seed.

Real Ensembl GRCh38 gene models (the GTF shipped with pyranges, chromosome 1, 11,869-1,197,935)
with everything else simulated:
  genes.gtf.gz             the pyranges GTF, copied unchanged
  transcriptome.fa.gz      Ensembl-style cDNA of every GTF transcript plus 3 decoys not in the GTF;
                           each gene is spliced from its own random sequence, so a gene's isoforms
                           share exons but two genes never share sequence (reads are unambiguous
                           between genes even where the GTF's genes overlap)
  peaks/                   one ATAC peak file per sample (gz narrowPeak; one plain BED3; one with
                           a 'track' line); the BED3 sample's peaks also as narrowPeak (S02.narrowPeak.gz)
  fastq/                   RNA-seq reads simulated from the true transcript abundances (the last
                           two samples single-end)
  samplesheet.csv          sample,fastq_1,fastq_2,peaks (paths relative to the samplesheet)
  samplesheet_signal.csv   the same with every sample's narrowPeak file (--bin_value signal refuses BED3), and a
                           group per sample (its first active program: leave-group-out folds)
  truth.tsv                sample, gene_id, gene_name, true_tpm
  truth_transcripts.tsv    sample, transcript_id, gene_id, true_tpm (decoys included)
  regulatory_bins.tsv      gene_id, gene_name, chrom, bin_start, bin_end, weight, program
  programs.tsv             sample, program, active (1 = the program is on in the sample)

The planted signal: every gene of the region has 1-3 regulatory bins within 20 kb of its TSS
(promoter-proximal bins likelier). Accessibility has the structure of real cell states: --programs
latent programs (default 4); every sample has a random half of them active (each program active in
at least 3 samples and inactive in at least 3); every regulatory bin belongs to one program (mostly
its gene's) and is open (covered by a peak) with probability 0.95 where its program is active and
0.05 where not. A gene's log expression = baseline + sum(weight * open) + noise (sd 0.2).
Expression is split among the gene's transcripts in fixed random proportions and normalised to
TPM, so log(true_tpm) follows it up to a per-sample offset. Peaks without signal: constitutive
sites (open in almost every sample), bystander sites that open with a program but regulate no
gene, and a few random peaks per sample; all avoid every regulatory bin, so a regulatory bin is
open exactly when its latent state says so. A site's peak is at the same place in every sample
where it is open, give or take a few tens of bases.
Gzip files have mtime 0 and no file name: the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.resources
import io
import logging
import shutil
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli
from atac2expr.annotation import genes_in_regions, read_gtf, strip_version
from atac2expr.cli import InputError
from atac2expr.files import atomic_output, atomic_path, read_text
from atac2expr.regions import BinLayout, Region, format_regions, parse_regions, read_chrom_sizes, ucsc_chrom

REPO = Path(__file__).resolve().parents[1]

log = logging.getLogger("make_test_data")

READ_LENGTH = 75
FRAGMENT_MEAN = 200.0
FRAGMENT_SD = 20.0
ERROR_RATE = 0.001
MIN_TRANSCRIPT_LENGTH = 1000  # shorter spliced transcripts get a random 3' extension, so every one can be sequenced
TSS_WINDOW = 20_000
TSS_DECAY = 2_500  # regulatory bins are chosen with probability ~ exp(-distance to the TSS / TSS_DECAY)
PROGRAMS = 4  # default --programs: latent regulatory programs (cell states) that open sets of bins together
P_PROGRAM_ACTIVE = 0.5  # every sample has half its programs active, a random half (see program_activity) ...
MIN_PROGRAM_SAMPLES = 3  # ... and every program active in at least 3 samples and inactive in at least 3
P_OPEN_ACTIVE, P_OPEN_INACTIVE = 0.95, 0.05  # a regulatory bin is open with these when its program is on / off
P_OWN_PROGRAM = 0.8  # a regulatory bin belongs to its gene's program with this probability, else to a random one
P_OPEN = P_PROGRAM_ACTIVE * P_OPEN_ACTIVE + (1 - P_PROGRAM_ACTIVE) * P_OPEN_INACTIVE  # marginal, over samples
BASELINE_MEAN, BASELINE_SD = 2.0, 0.5  # log units
WEIGHT_LOW, WEIGHT_HIGH = 1.25, 2.5
WEIGHT_SPLIT = 0.5  # a gene with k regulatory bins has weights / k**WEIGHT_SPLIT: bounded range per gene
NOISE_SD = 0.2
# Peaks that carry no signal (never on a regulatory bin): recurrent sites, the same loci in every sample, ...
CONSTITUTIVE_PER_100KB = 3.0  # ... open in almost every sample (P_CONSTITUTIVE), like promoters and CTCF sites
P_CONSTITUTIVE = 0.95
BYSTANDER_PER_100KB = 2.0  # ... opened by a program (as regulatory bins are) but regulating no gene of the region
BACKGROUND_PER_100KB = 0.3  # plus a few peaks per sample at random places
PEAK_MIN, PEAK_MAX = 150, 2000
SITE_JITTER = 30  # bp: sd of a site's summit between samples
SITE_WIDTH_JITTER = 0.15  # sd of log width between samples
N_SINGLE_END = 2
MIN_SAMPLES = 4
DECOYS = 3
GZIP_LEVEL = 6
FASTQ_GZIP_LEVEL = 3  # random reads: level 6 is 4x slower for 20% less

# independent random streams per component: changing --fragments leaves peaks and truth alone
_GENOME, _SIGNAL, _EXPRESSION, _PEAKS, _READS, _DECOY, _PROGRAM, _BACKGROUND = range(8)

_COMPLEMENT = np.array([3, 2, 1, 0], dtype=np.uint8)  # A C G T -> T G C A
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def pyranges_gtf() -> Path:
    """The Ensembl GRCh38 example GTF shipped with pyranges (MIT licence)."""
    path = Path(str(importlib.resources.files("pyranges") / "example_data" / "ensembl_human.gtf.gz"))
    if not path.is_file():
        raise InputError(f"{path}: the pyranges example GTF is missing; is pyranges installed?")
    return path


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _gz(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """Gzip with no file name and mtime 0: the same data always gives the same bytes."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_output(path, "wb") as handle:
        handle.write(data)


def _tsv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(sep="\t", index=False, lineterminator="\n", float_format="%.6g").encode()


# ---------------------------------------------------------------- annotation and transcriptome


@dataclass
class Transcriptome:
    table: pd.DataFrame  # transcript_id, gene_id (versionless), header, length, decoy
    codes: np.ndarray  # uint8 0-3, all sequences concatenated
    offsets: np.ndarray  # int64 start of each transcript in codes


def _attributes(column: pd.Series, keys: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({key: column.str.extract(rf'(?:^|;)\s*{key} "([^"]*)"', expand=False) for key in keys})


def read_gtf_models(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transcripts (ids, versions, biotypes, coordinates) and their exons, from a GTF."""
    gtf = pd.read_csv(
        io.StringIO(read_text(path)), sep="\t", header=None, comment="#", usecols=[0, 2, 3, 4, 6, 8],
        names=["chrom", "feature", "start", "end", "strand", "attributes"], dtype={"chrom": str},
    )
    keys = ["gene_id", "gene_version", "gene_name", "gene_biotype", "transcript_id", "transcript_version", "transcript_biotype"]
    tx = gtf[gtf["feature"] == "transcript"].reset_index(drop=True)
    tx = pd.concat([tx.drop(columns="attributes"), _attributes(tx["attributes"], keys)], axis=1)
    tx = tx.dropna(subset=["transcript_id", "gene_id"]).drop_duplicates("transcript_id").reset_index(drop=True)
    exons = gtf[gtf["feature"] == "exon"].reset_index(drop=True)
    exons = pd.concat([exons[["chrom", "start", "end", "strand"]], _attributes(exons["attributes"], ["transcript_id"])], axis=1)
    return tx, exons


def _random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 4, size=n, dtype=np.uint8)


def _gene_rng(seed: int, gene_id: str) -> np.random.Generator:
    """The random stream of one gene's sequence, keyed by its id (not by its place in the GTF)."""
    return _rng(seed, _GENOME, zlib.crc32(gene_id.encode()))


def build_transcriptome(gtf: Path, seed: int) -> Transcriptome:
    """cDNA of every GTF transcript plus DECOYS transcripts not in the GTF.

    Each gene has its own random sequence over its span (its own random stream): a gene's isoforms
    share the exons they have in common, but two genes never share sequence, even where their
    GTF coordinates overlap, so every read is unambiguous between genes (as between most real genes).
    """
    tx, exons = read_gtf_models(gtf)
    by_tx = {tid: grp.sort_values("start") for tid, grp in exons.groupby("transcript_id", sort=False)}
    exon_gene = exons.merge(tx[["transcript_id", "gene_id"]], on="transcript_id")
    coords = pd.concat([tx[["gene_id", "start", "end"]], exon_gene[["gene_id", "start", "end"]]])
    span = coords.groupby("gene_id", sort=False).agg(lo=("start", "min"), hi=("end", "max"))
    streams = {g: _gene_rng(seed, g) for g in span.index}
    genome = {g: _random_codes(streams[g], int(r.hi - r.lo + 1)) for g, r in zip(span.index, span.itertuples(), strict=False)}
    pieces, rows = [], []
    for t in tx.itertuples(index=False):
        ex = by_tx.get(t.transcript_id)
        if ex is None:  # a transcript without exon lines: its whole span
            ex = pd.DataFrame({"start": [t.start], "end": [t.end]})
        lo = int(span.loc[t.gene_id, "lo"])
        seq = np.concatenate([genome[t.gene_id][s - lo : e - lo + 1] for s, e in zip(ex["start"], ex["end"], strict=False)])
        if t.strand == "-":
            seq = _COMPLEMENT[seq[::-1]]
        if len(seq) < MIN_TRANSCRIPT_LENGTH:
            seq = np.concatenate([seq, _random_codes(streams[t.gene_id], MIN_TRANSCRIPT_LENGTH - len(seq))])
        version = t.transcript_version if isinstance(t.transcript_version, str) else "1"
        gene_version = t.gene_version if isinstance(t.gene_version, str) else "1"
        header = (
            f"{t.transcript_id}.{version} cdna chromosome:GRCh38:{t.chrom}:{t.start}:{t.end}:{-1 if t.strand == '-' else 1}"
            f" gene:{t.gene_id}.{gene_version} gene_biotype:{t.gene_biotype} transcript_biotype:{t.transcript_biotype}"
            f" gene_symbol:{t.gene_name}"
        )
        pieces.append(seq)
        rows.append((t.transcript_id, t.gene_id, header, len(seq), False))
    drng = _rng(seed, _DECOY)
    position = 1_000_001
    for i in range(DECOYS):
        seq = _random_codes(drng, int(drng.integers(800, 2001)))
        tid, gid = f"ENST9999999999{i}", f"ENSG9999999999{i}"
        header = (
            f"{tid}.1 cdna chromosome:GRCh38:2:{position}:{position + len(seq) - 1}:1 gene:{gid}.1"
            f" gene_biotype:protein_coding transcript_biotype:protein_coding gene_symbol:DECOY{i + 1}"
        )
        position += len(seq) + 10_000
        pieces.append(seq)
        rows.append((tid, gid, header, len(seq), True))
    table = pd.DataFrame(rows, columns=["transcript_id", "gene_id", "header", "length", "decoy"])
    table["transcript_id"] = strip_version(table["transcript_id"])
    table["gene_id"] = strip_version(table["gene_id"])
    offsets = np.concatenate([[0], np.cumsum(table["length"].to_numpy())[:-1]]).astype(np.int64)
    return Transcriptome(table, np.concatenate(pieces), offsets)


def fasta_bytes(tr: Transcriptome, width: int = 60) -> bytes:
    out = io.BytesIO()
    letters = _BASES[tr.codes].tobytes()
    for header, offset, length in zip(tr.table["header"], tr.offsets, tr.table["length"], strict=False):
        out.write(b">" + header.encode() + b"\n")
        seq = letters[offset : offset + length]
        out.write(b"\n".join(seq[i : i + width] for i in range(0, length, width)) + b"\n")
    return out.getvalue()


# ---------------------------------------------------------------- planted signal


def choose_regulatory_bins(genes: pd.DataFrame, bins: pd.DataFrame, n_programs: int, rng: np.random.Generator) -> pd.DataFrame:
    """1-3 bins within TSS_WINDOW of each gene's TSS (inside the region), each with a positive weight and a program.

    Weights are U(WEIGHT_LOW, WEIGHT_HIGH) / k**WEIGHT_SPLIT for a gene with k bins, so a gene with three
    bins does not span a thousand-fold range (and take most of the reads when all three are open).
    Each gene has a program (a random one of n_programs, as many genes in each); each of its bins belongs
    to that program with probability P_OWN_PROGRAM, else to a random one. A bin chosen by several genes
    keeps the program it got first.
    """
    rows = []
    chroms, starts, ends = bins["chrom"].to_numpy(), bins["start"].to_numpy(), bins["end"].to_numpy()
    program_of: dict[tuple[str, int], int] = {}
    gene_program = rng.permutation(len(genes)) % n_programs
    for g, own in zip(genes.itertuples(index=False), gene_program, strict=False):
        candidates = np.flatnonzero((chroms == g.chrom) & (ends > g.tss - TSS_WINDOW) & (starts <= g.tss + TSS_WINDOW))
        if not len(candidates):
            continue
        k = min(int(rng.integers(1, 4)), len(candidates))
        distance = np.abs((starts[candidates] + ends[candidates]) / 2 - g.tss)
        preference = np.exp(-distance / TSS_DECAY)  # promoter-proximal bins are likelier, as in real data
        for b in np.sort(rng.choice(candidates, size=k, replace=False, p=preference / preference.sum())):
            weight = float(rng.uniform(WEIGHT_LOW, WEIGHT_HIGH) / k**WEIGHT_SPLIT)
            program = int(own) if rng.random() < P_OWN_PROGRAM else int(rng.integers(0, n_programs))
            program = program_of.setdefault((chroms[b], int(starts[b])), program)
            rows.append((g.gene_id, g.gene_name, chroms[b], int(starts[b]), int(ends[b]), weight, program))
    return pd.DataFrame(rows, columns=["gene_id", "gene_name", "chrom", "bin_start", "bin_end", "weight", "program"])


def program_activity(n_samples: int, n_programs: int, rng: np.random.Generator) -> np.ndarray:
    """samples x programs: every sample has half its programs active (K // 2, or K // 2 + 1 at random when K is
    odd), so samples differ in which elements are open rather than in how many (as cell types do), and each
    program is active in half the samples: each sample takes the programs active in the fewest samples so far
    (ties broken at random), then the samples are shuffled. Every program ends up active in at least
    MIN_PROGRAM_SAMPLES samples and inactive in as many (half the samples, rounded down, when they are few)."""
    least = min(MIN_PROGRAM_SAMPLES, n_samples // 2)
    for _ in range(1000):
        n_active = n_programs // 2 + (rng.random(n_samples) < (n_programs % 2) * 0.5)
        active = np.zeros((n_samples, n_programs), dtype=bool)
        count = np.zeros(n_programs)
        for i, k in enumerate(n_active):
            chosen = np.lexsort((rng.random(n_programs), count))[:k]
            active[i, chosen] = True
            count[chosen] += 1
        if ((count >= least) & (count <= n_samples - least)).all():
            return active[rng.permutation(n_samples)]
    raise InputError(f"--programs {n_programs}: cannot make every program active in {least} of {n_samples} samples and inactive in {least}")


def latent_openness(activity: np.ndarray, bin_program: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """samples x regulatory bins: open with P_OPEN_ACTIVE where the bin's program is active in the sample,
    P_OPEN_INACTIVE where not; every bin open in some samples and closed in others."""
    p_open = np.where(activity[:, bin_program], P_OPEN_ACTIVE, P_OPEN_INACTIVE)
    open_ = rng.random(p_open.shape) < p_open
    constant = np.flatnonzero(open_.all(axis=0) | ~open_.any(axis=0))
    flip = rng.integers(0, open_.shape[0], size=len(constant))
    open_[flip, constant] = ~open_[flip, constant]
    return open_


def simulate_expression(
    all_genes: pd.DataFrame, regulatory: pd.DataFrame, unique_bins: pd.DataFrame, openness: np.ndarray,
    tr: Transcriptome, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample transcript TPM (samples x transcripts) and the log expression that drove it (samples x genes)."""
    n = openness.shape[0]
    gene_index = {gid: i for i, gid in enumerate(all_genes["gene_id"])}
    # a gene's mean level over samples is ~N(BASELINE_MEAN, BASELINE_SD) whatever its number of regulatory
    # bins: its baseline (all bins closed) is that level minus P_OPEN (0.5) of its weights. This keeps
    # genes with 3 heavy bins from taking most of the reads.
    level = rng.normal(BASELINE_MEAN, BASELINE_SD, len(all_genes))
    total_weight = regulatory.groupby("gene_id")["weight"].sum().reindex(all_genes["gene_id"], fill_value=0.0).to_numpy()
    baseline = level - P_OPEN * total_weight
    log_expr = baseline[None, :] + rng.normal(0, NOISE_SD, (n, len(all_genes)))
    bin_index = {key: i for i, key in enumerate(zip(unique_bins["chrom"], unique_bins["bin_start"], strict=False))}
    for r in regulatory.itertuples(index=False):
        log_expr[:, gene_index[r.gene_id]] += r.weight * openness[:, bin_index[(r.chrom, r.bin_start)]]
    gene_abundance = np.exp(log_expr)

    table = tr.table
    decoy = table["decoy"].to_numpy()
    decoy_abundance = np.exp(rng.normal(3.0, 0.3, decoy.sum())[None, :] + rng.normal(0, NOISE_SD, (n, decoy.sum())))
    # split each gene's expression among its transcripts in fixed random proportions
    proportions = rng.gamma(1.0, 1.0, len(table))
    gene_of_tx = table["gene_id"].to_numpy()
    totals = pd.Series(proportions).groupby(gene_of_tx).transform("sum").to_numpy()
    proportions = proportions / totals
    tx_abundance = np.zeros((n, len(table)))
    idx = np.array([gene_index.get(g, -1) for g in gene_of_tx])
    known = idx >= 0
    tx_abundance[:, known] = gene_abundance[:, idx[known]] * proportions[known]
    tx_abundance[:, decoy] = decoy_abundance
    tpm = tx_abundance / tx_abundance.sum(axis=1, keepdims=True) * 1e6
    return tpm, log_expr


# ---------------------------------------------------------------- peaks


def _widths(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(np.round(rng.lognormal(np.log(500), 0.6, n)), PEAK_MIN, PEAK_MAX).astype(np.int64)


def place_sites(sites: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A fixed summit (a random base of the site's bin) and width for each site: in every sample where
    the site is open, its peak is there, give or take SITE_JITTER, as a real element is."""
    return sites.assign(
        summit=sites["bin_start"].to_numpy() + (rng.random(len(sites)) * (sites["bin_end"] - sites["bin_start"]).to_numpy()).astype(np.int64),
        width=_widths(rng, len(sites)),
    )


def _site_peaks(open_sites: pd.DataFrame, closed_bins: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One peak around the summit of each open site (open regulatory bins, open background sites), overlapping
    the site's bin and never reaching into a bin of closed_bins (closed regulatory bins; for background
    sites, every regulatory bin)."""
    frames = []
    for chrom, grp in open_sites.groupby("chrom", sort=True):
        bs, be = grp["bin_start"].to_numpy(), grp["bin_end"].to_numpy()
        closed = closed_bins[closed_bins["chrom"] == chrom]
        c_start, c_end = np.sort(closed["bin_start"].to_numpy()), np.sort(closed["bin_end"].to_numpy())
        # nearest closed regulatory bin on each side (bins do not overlap, so both sorts agree)
        left = np.searchsorted(c_end, bs, side="right") - 1
        lo = np.where(left >= 0, c_end[np.maximum(left, 0)] if len(c_end) else 0, 0)
        right = np.searchsorted(c_start, be, side="left")
        hi = np.where(right < len(c_start), c_start[np.minimum(right, len(c_start) - 1)] if len(c_start) else 0, np.iinfo(np.int64).max)
        n = len(grp)
        width = np.clip(np.round(grp["width"].to_numpy() * rng.lognormal(0, SITE_WIDTH_JITTER, n)), PEAK_MIN, PEAK_MAX).astype(np.int64)
        summit = np.clip(grp["summit"].to_numpy() + np.round(rng.normal(0, SITE_JITTER, n)).astype(np.int64), bs, be - 1)
        start = summit - (width * rng.uniform(0.4, 0.6, n)).astype(np.int64)  # the summit near the middle
        start = np.maximum(np.maximum(start, lo), 0)
        end = np.minimum(start + width, hi)
        short = end - start < PEAK_MIN  # clipped too much: shift to keep the minimum width inside [lo, hi)
        start[short] = np.maximum(lo[short], np.minimum(start[short], hi[short] - PEAK_MIN))
        end[short] = np.minimum(start[short] + PEAK_MIN, hi[short])
        frames.append(pd.DataFrame({"chrom": chrom, "start": start, "end": end, "strength": rng.uniform(8, 40, n)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["chrom", "start", "end", "strength"])


def background_sites(bins: pd.DataFrame, is_regulatory: np.ndarray, bin_program: np.ndarray, n_programs: int,
                     rng: np.random.Generator) -> pd.DataFrame:
    """Recurrent sites that carry no signal, on bins that are not regulatory: CONSTITUTIVE_PER_100KB open in
    almost every sample (program -1) and BYSTANDER_PER_100KB that belong to a program and open with it, as
    most variable peaks of real samples follow the cell state without regulating the genes studied.

    Each bystander joins the program with the fewest bins so far (regulatory bins, bin_program, included),
    so programs are about the same size and samples open about as many bins whichever programs they have.
    """
    free = np.flatnonzero(~is_regulatory)
    per_100kb = len(bins) * (bins["end"] - bins["start"]).mean() / 100_000
    n_constitutive, n_bystander = (int(round(rate * per_100kb)) for rate in (CONSTITUTIVE_PER_100KB, BYSTANDER_PER_100KB))
    chosen = rng.choice(free, size=min(len(free), n_constitutive + n_bystander), replace=False)
    size = np.bincount(bin_program, minlength=n_programs).astype(float) + rng.random(n_programs) * 0.5  # random tie-break
    program = np.full(len(chosen), -1)
    for i in range(n_constitutive, len(chosen)):
        program[i] = int(np.argmin(size))
        size[program[i]] += 1
    order = np.argsort(chosen)
    chosen, program = chosen[order], program[order]
    return pd.DataFrame({
        "chrom": bins["chrom"].to_numpy()[chosen], "bin_start": bins["start"].to_numpy()[chosen],
        "bin_end": bins["end"].to_numpy()[chosen], "program": program,
    })


def site_openness(sites: pd.DataFrame, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which background sites one sample has a peak on (active: that sample's programs)."""
    program = sites["program"].to_numpy()
    p_open = np.where(program < 0, P_CONSTITUTIVE, np.where(active[np.maximum(program, 0)], P_OPEN_ACTIVE, P_OPEN_INACTIVE))
    return rng.random(len(sites)) < p_open


def _background_peaks(regions: list[Region], is_regulatory: np.ndarray, bin_size: int, rng: np.random.Generator) -> pd.DataFrame:
    """BACKGROUND_PER_100KB peaks of one sample at random places except on a regulatory bin: they carry no signal."""
    frames = []
    offset = 0
    for region in regions:
        n_bins = region.length // bin_size
        reg = is_regulatory[offset : offset + n_bins]
        offset += n_bins
        n = int(rng.poisson(BACKGROUND_PER_100KB * region.length / 100_000))
        width = _widths(rng, 4 * n + 10)
        start = region.start + (rng.random(len(width)) * np.maximum(region.length - width, 1)).astype(np.int64)
        end = np.minimum(start + width, region.end)
        first = (start - region.start) // bin_size
        last = (end - 1 - region.start) // bin_size
        hits = np.concatenate([[0], np.cumsum(reg)])
        free = hits[last + 1] - hits[first] == 0
        keep = np.flatnonzero(free & (end - start >= PEAK_MIN))[:n]
        frames.append(pd.DataFrame({"chrom": region.chrom, "start": start[keep], "end": end[keep], "strength": rng.uniform(2, 10, len(keep))}))
    return pd.concat(frames, ignore_index=True)


def _outside_peaks(regions: list[Region], rng: np.random.Generator) -> pd.DataFrame:
    """A few peaks past the last region on its chromosome and a few on a chromosome with no region."""
    chrom = regions[0].chrom
    after = max(r.end for r in regions if r.chrom == chrom)
    used = {r.chrom for r in regions}
    other = next(c for c in [str(i) for i in range(1, 23)] + ["X", "Y"] if c not in used)
    frames = []
    for name, lo, hi in ((chrom, after + 1_000, after + 200_000), (other, 10_000, 1_000_000)):
        n = int(rng.integers(2, 5))
        width = _widths(rng, n)
        start = rng.integers(lo, hi, n)
        frames.append(pd.DataFrame({"chrom": name, "start": start, "end": start + width, "strength": rng.uniform(2, 20, n)}))
    return pd.concat(frames, ignore_index=True)


def _chrom_key(chrom: str) -> tuple[int, int, str]:
    return (0, int(chrom), "") if chrom.isdigit() else (1, 0, chrom)


def narrowpeak_bytes(peaks: pd.DataFrame, sample: str, rng: np.random.Generator, bed3: bool = False, track: bool = False) -> bytes:
    order = {c: i for i, c in enumerate(sorted(set(peaks["chrom"]), key=_chrom_key))}
    peaks = peaks.assign(_o=peaks["chrom"].map(order)).sort_values(["_o", "start", "end"]).reset_index(drop=True)
    chrom = peaks["chrom"].map(ucsc_chrom)  # ENCODE peak files name chromosomes UCSC-style
    if bed3:
        frame = pd.DataFrame({"chrom": chrom, "start": peaks["start"], "end": peaks["end"]})
    else:
        n = len(peaks)
        signal = peaks["strength"].to_numpy() * rng.uniform(0.8, 1.2, n)
        p_value = signal * rng.uniform(1.5, 2.5, n)
        q_value = np.maximum(p_value - rng.uniform(0.5, 2.0, n), 0.5)
        width = (peaks["end"] - peaks["start"]).to_numpy()
        frame = pd.DataFrame({
            "chrom": chrom, "start": peaks["start"], "end": peaks["end"], "name": [f"{sample}_peak_{i + 1}" for i in range(n)],
            "score": np.minimum(1000, np.round(p_value * 20)).astype(int), "strand": ".",
            "signal": np.round(signal, 5), "p": np.round(p_value, 5), "q": np.round(q_value, 5),
            "summit": (width * rng.uniform(0.3, 0.7, n)).astype(int),
        })
    text = frame.to_csv(sep="\t", header=False, index=False, lineterminator="\n")
    if track:
        text = f'track type=narrowPeak name="{sample}" description="{sample} ATAC-seq peaks (simulated)"\n' + text
    return text.encode()


# ---------------------------------------------------------------- reads


def simulate_fragments(tr: Transcriptome, tpm: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transcript, start and length of n fragments drawn proportionally to TPM x effective length."""
    length = tr.table["length"].to_numpy()
    effective = np.maximum(length - FRAGMENT_MEAN + 1, 1)
    weight = tpm * effective
    t = rng.choice(len(length), size=n, p=weight / weight.sum())
    frag = np.round(rng.normal(FRAGMENT_MEAN, FRAGMENT_SD, n)).astype(np.int64)
    frag = np.clip(frag, READ_LENGTH, length[t])
    start = (rng.random(n) * (length[t] - frag + 1)).astype(np.int64)
    return t, start, frag


def _with_errors(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Substitute a different base at a fraction ERROR_RATE of positions."""
    codes = codes.copy()
    flat = codes.reshape(-1)
    where = rng.integers(0, flat.size, size=rng.binomial(flat.size, ERROR_RATE))
    flat[where] = (flat[where] + rng.integers(1, 4, size=len(where), dtype=np.uint8)) % 4
    return codes


def fastq_bytes(sample: str, mate: int, codes: np.ndarray) -> bytes:
    """FASTQ records '@<sample>.<zero-padded number>/<mate>', all qualities 'I', built as one byte matrix."""
    n = codes.shape[0]
    width = len(str(n))
    numbers = np.arange(1, n + 1, dtype=np.int64)[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    parts = [
        f"@{sample}.".encode(), (numbers % 10 + ord("0")).astype(np.uint8), f"/{mate}\n".encode(),
        _BASES[codes], b"\n+\n", b"I" * READ_LENGTH + b"\n",
    ]
    columns = [np.broadcast_to(np.frombuffer(p, dtype=np.uint8), (n, len(p))) if isinstance(p, bytes) else p for p in parts]
    return np.concatenate(columns, axis=1).tobytes()


def simulate_reads(tr: Transcriptome, tpm: np.ndarray, n: int, paired: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """Read codes (n x READ_LENGTH): R1 forward from the fragment's 5' end, R2 the reverse complement of its 3' end."""
    t, start, frag = simulate_fragments(tr, tpm, n, rng)
    steps = np.arange(READ_LENGTH)
    first = tr.offsets[t] + start
    reads = [_with_errors(tr.codes[first[:, None] + steps], rng)]
    if paired:
        last = first + frag - 1
        reads.append(_with_errors(_COMPLEMENT[tr.codes[last[:, None] - steps]], rng))
    return reads


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outdir", type=Path, required=True, help="folder to write the dataset into (created)")
    parser.add_argument("--samples", type=int, default=16, help=f"number of samples, at least {MIN_SAMPLES} (default 16)")
    parser.add_argument("--programs", type=int, default=PROGRAMS,
                        help=f"latent regulatory programs that open groups of regulatory bins together (default {PROGRAMS})")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--fragments", type=int, default=30_000, help="RNA-seq fragments per sample (default 30000)")
    parser.add_argument("--region", default="chr1:1-1000000", help="region whose genes carry the signal (default chr1:1-1000000)")
    parser.add_argument("--bin_size", type=int, default=1000, help="bin size in bp (default 1000)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    began = time.perf_counter()
    if args.samples < MIN_SAMPLES:
        raise InputError(f"--samples {args.samples}: at least {MIN_SAMPLES} are needed (the last {N_SINGLE_END} are single-end)")
    if args.samples > 99:
        raise InputError(f"--samples {args.samples}: at most 99 (sample ids are S01..S99)")
    if args.programs < 1:
        raise InputError(f"--programs {args.programs}: must be at least 1")
    if args.fragments < 1:
        raise InputError(f"--fragments {args.fragments}: must be at least 1")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: must be >= 0")
    regions = parse_regions(args.region, read_chrom_sizes(REPO / "assets" / "GRCh38.chrom.sizes"))
    bins = BinLayout.of(regions, args.bin_size).bins()
    outdir: Path = args.outdir

    gtf = pyranges_gtf()
    genes, _ = read_gtf(gtf)
    in_region = genes_in_regions(genes, regions)
    if in_region.empty:
        raise InputError(f"--region {format_regions(regions)}: no gene of {gtf} overlaps it (its genes are on chromosome 1, 11,869-1,197,935)")
    with atomic_path(outdir / "genes.gtf.gz") as tmp:
        shutil.copyfile(gtf, tmp)

    tr = build_transcriptome(gtf, args.seed)
    _write_bytes(outdir / "transcriptome.fa.gz", _gz(fasta_bytes(tr)))
    log.info("transcriptome.fa.gz: %d transcripts (%d decoys not in the GTF), %d bp", len(tr.table), tr.table["decoy"].sum(), len(tr.codes))

    rng = _rng(args.seed, _SIGNAL)
    regulatory = choose_regulatory_bins(in_region, bins, args.programs, rng)
    unique_bins = regulatory[["chrom", "bin_start", "bin_end", "program"]].drop_duplicates().sort_values(["chrom", "bin_start"]).reset_index(drop=True)
    activity = program_activity(args.samples, args.programs, _rng(args.seed, _PROGRAM))
    openness = latent_openness(activity, unique_bins["program"].to_numpy(), rng)
    tpm, _ = simulate_expression(genes, regulatory, unique_bins, openness, tr, _rng(args.seed, _EXPRESSION))
    without = len(in_region) - regulatory["gene_id"].nunique()
    _write_bytes(outdir / "regulatory_bins.tsv", _tsv(regulatory))
    log.info("regulatory_bins.tsv: %d regulatory bins (%d distinct) for %d of the %d genes of %s",
             len(regulatory), len(unique_bins), regulatory["gene_id"].nunique(), len(in_region), format_regions(regions))
    if without:
        log.info("%d genes of the region have no regulatory bin", without)
    samples = [f"S{i + 1:02d}" for i in range(args.samples)]
    _write_bytes(outdir / "programs.tsv", _tsv(pd.DataFrame({
        "sample": np.repeat(samples, args.programs), "program": np.tile(np.arange(args.programs), args.samples),
        "active": activity.ravel().astype(int),
    })))
    log.info("programs.tsv: %d programs, active in %s of the %d samples; %s distinct regulatory bins in each",
             args.programs, "/".join(map(str, activity.sum(axis=0))), args.samples,
             "/".join(map(str, np.bincount(unique_bins["program"], minlength=args.programs))))

    regulatory_bins = unique_bins.rename(columns={"bin_start": "start", "bin_end": "end"}).assign(_r=1)
    is_regulatory = bins.merge(regulatory_bins, how="left", on=["chrom", "start", "end"])["_r"].notna().to_numpy()
    brng = _rng(args.seed, _BACKGROUND)
    sites = place_sites(background_sites(bins, is_regulatory, unique_bins["program"].to_numpy(), args.programs, brng), brng)
    reg_sites = place_sites(unique_bins, brng)
    log.info("background: %d constitutive and %d bystander sites, %g random peaks per 100 kb per sample",
             (sites["program"] < 0).sum(), (sites["program"] >= 0).sum(), BACKGROUND_PER_100KB)
    sheet, signal_sheet = [], []
    n_peaks = 0
    for s, sample in enumerate(samples):
        prng = _rng(args.seed, _PEAKS, s)
        at_sites = site_openness(sites, activity[s], prng)
        peaks = pd.concat([
            _site_peaks(reg_sites[openness[s]], unique_bins[~openness[s]], prng),
            _site_peaks(sites[at_sites], unique_bins, prng),  # never reaching into any regulatory bin
            _background_peaks(regions, is_regulatory, args.bin_size, prng),
            _outside_peaks(regions, prng),
        ], ignore_index=True)
        bed3, track = s == 1, s == 2
        data = narrowpeak_bytes(peaks, sample, prng, bed3=bed3, track=track)
        peak_file = f"peaks/{sample}.bed" if bed3 else f"peaks/{sample}.narrowPeak.gz"
        _write_bytes(outdir / peak_file, data if bed3 else _gz(data))
        signal_peak_file = peak_file
        if bed3:  # the same peaks with their signal, for --bin_value signal (drawn last: the BED3 data stay as they were)
            signal_peak_file = f"peaks/{sample}.narrowPeak.gz"
            _write_bytes(outdir / signal_peak_file, _gz(narrowpeak_bytes(peaks, sample, prng)))
        n_peaks += len(peaks)

        paired = s < args.samples - N_SINGLE_END
        reads = simulate_reads(tr, tpm[s], args.fragments, paired, _rng(args.seed, _READS, s))
        fastqs = []
        for mate, codes in enumerate(reads, start=1):
            fastq = f"fastq/{sample}_R{mate}.fastq.gz"
            _write_bytes(outdir / fastq, _gz(fastq_bytes(sample, mate, codes), FASTQ_GZIP_LEVEL))
            fastqs.append(fastq)
        sheet.append({"sample": sample, "fastq_1": fastqs[0], "fastq_2": fastqs[1] if paired else "", "peaks": peak_file})
        # a group per sample (the samplesheet's optional column): its first active program, as a lineage would be
        signal_sheet.append({**sheet[-1], "peaks": signal_peak_file, "group": f"program{int(np.argmax(activity[s]))}"})
    log.info("peaks/: %d files, %d peaks in all (%s plain BED3, %s with a track line)", len(samples), n_peaks, samples[1], samples[2])
    log.info("fastq/: %d samples x %d fragments (%d paired-end, %d single-end), reads of %d bp",
             len(samples), args.fragments, len(samples) - N_SINGLE_END, N_SINGLE_END, READ_LENGTH)

    _write_bytes(outdir / "samplesheet.csv", pd.DataFrame(sheet).to_csv(index=False, lineterminator="\n").encode())
    _write_bytes(outdir / "samplesheet_signal.csv", pd.DataFrame(signal_sheet).to_csv(index=False, lineterminator="\n").encode())
    tx_truth = pd.DataFrame({
        "sample": np.repeat(samples, len(tr.table)),
        "transcript_id": np.tile(tr.table["transcript_id"].to_numpy(), len(samples)),
        "gene_id": np.tile(tr.table["gene_id"].to_numpy(), len(samples)),
        "true_tpm": tpm.ravel(),
    })
    _write_bytes(outdir / "truth_transcripts.tsv", _tsv(tx_truth))
    gene_tpm = tx_truth[~np.tile(tr.table["decoy"].to_numpy(), len(samples))].groupby(["sample", "gene_id"], sort=False)["true_tpm"].sum()
    truth = genes[["gene_id", "gene_name"]].merge(gene_tpm.reset_index(), on="gene_id", how="left")
    truth = truth[["sample", "gene_id", "gene_name", "true_tpm"]].sort_values(["sample"], kind="stable").reset_index(drop=True)
    if truth["true_tpm"].isna().any():
        raise AssertionError("a gene of the GTF has no transcript")  # not with the pyranges GTF
    _write_bytes(outdir / "truth.tsv", _tsv(truth))
    log.info("samplesheet.csv: %d samples; truth.tsv: %d genes x %d samples; truth_transcripts.tsv: %d transcripts",
             len(sheet), len(genes), len(samples), len(tr.table))
    log.info("wrote %s in %.1f s", outdir, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
