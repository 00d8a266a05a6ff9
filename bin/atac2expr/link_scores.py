"""Regulatory scores of (gene, bin) pairs: which open bins regulate a gene, in one sample.

Three parts; docs/models.md has the definitions' sources and the evidence on CRISPRi-tested pairs.

1. Activity by contact (ABC; Fulco et al. 2019, Nasser et al. 2021), from one sample's peaks alone (n = 1).
   A bin's activity is the strongest overlapping peak's signalValue, or 1 for every open bin of a peak file without
   one (binary activity). Contact is a power law of the distance d from the gene's TSS to the bin's centre,
   max(d, min_distance) ** -gamma (ContactModel). ABC(g, b) = a_b c_gb / sum of a_b' c_gb' over every open bin b'
   whose centre lies within max_distance of the TSS: the gene's candidate elements, its own promoter among them.
   Only bins of the layout count (a region run normalises over the bins it has).
2. Cross-sample evidence, learnt from the training samples and kept in every model file (Evidence): for each gene
   and bin within the links' reach whose activity varies, the Pearson correlation across the training samples of the
   bin's log1p(activity) with the gene's log1p(TPM), a p-value from a label-permutation null pooled within strata of
   pairs as discrete as each other (compute_evidence) and the Benjamini-Hochberg FDR over every pair tested; per gene,
   the mean, spread and breadth of its expression.
3. The score: ENCODE-rE2G-like features of (1) and (2) for the pair, combined by a logistic regression fitted on
   CRISPRi-tested element-gene pairs (Combiner, assets/link_combiner.json; benchmarks/fit_link_combiner.py).
   score = the fitted probability that the bin regulates the gene; 0 for a closed bin.

Only open bins (activity > 0) within the reach of a gene's TSS are its candidates; everything is vectorised over
(gene, bin) pairs in chunks of genes, so a genome of 3 M bins and 20-60k genes stays within a few hundred MB.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .cli import InputError
from .formats import ASSETS

log = logging.getLogger(__name__)

_SPAN = np.int64(1) << np.int64(40)  # > any chromosome position: chromosome code * span + position is a sort key
_CHUNK_PAIRS = 2_000_000  # (gene, bin) pairs handled at a time
PROMOTER = 1_000  # bp either side of the TSS: the gene's promoter bins
NEARBY = 5_000  # bp either side of a bin: its neighbourhood (ENCODE-rE2G's "peaks within 5 kb")
MIN_LOG_DISTANCE = 500  # bp: distances below count as this in the log-distance feature (a bin's half width)
ABC_FLOOR = 1e-6  # added to ABC before its log
EXPRESSED_TPM = 1.0  # a gene is expressed in a sample at this TPM or more (its breadth of expression)
PERMUTATIONS = 20  # label permutations of the cross-sample null
MIN_STORED_CORRELATION = 0.3  # |r| below this is not kept in the model file (never significant at these sample sizes)
NULL_RESOLUTION = 1 << 16  # bins of |r| in [0, 1] of the pooled null's histogram
COMBINER = ASSETS / "link_combiner.json"  # the pipeline stages it into the tasks that score links (--link_combiner)


# ---------------------------------------------------------------- contact

@dataclass(frozen=True)
class ContactModel:
    """The power-law contact of ABC without a contact map: max(d, min_distance) ** -gamma, normalised over the open
    bins within max_distance of the TSS."""

    gamma: float
    min_distance: int
    max_distance: int

    def __post_init__(self) -> None:
        if not np.isfinite(self.gamma) or self.gamma < 0:
            raise InputError(f"--abc_gamma {self.gamma}: must be a finite number >= 0")
        if self.min_distance < 1:
            raise InputError(f"--abc_min_distance {self.min_distance}: must be at least 1 bp")
        if self.max_distance < 0:
            raise InputError(f"--abc_max_distance {self.max_distance}: must be >= 0")

    def contact(self, distance: np.ndarray) -> np.ndarray:
        return np.maximum(np.abs(np.asarray(distance, dtype=np.float64)), float(self.min_distance)) ** -float(self.gamma)

    def as_dict(self) -> dict[str, Any]:
        return {"gamma": float(self.gamma), "min_distance": int(self.min_distance), "max_distance": int(self.max_distance)}

    @classmethod
    def of(cls, settings: Any) -> "ContactModel":
        """The contact of settings.LinkSettings (--abc_gamma, --abc_min_distance, --abc_max_distance)."""
        return cls(settings.abc_gamma, settings.abc_min_distance, settings.abc_max_distance)


# ---------------------------------------------------------------- where bins and TSSs lie

class Positions:
    """Sort keys (chromosome code * span + position) of every bin's centre and every gene's TSS; genes on a
    chromosome without bins have no candidates."""

    def __init__(self, bins: pd.DataFrame, genes: pd.DataFrame) -> None:
        codes, chroms = pd.factorize(pd.Series(bins["chrom"]).astype(str), sort=False)
        self.chroms = list(chroms)
        self.n_bins = len(bins)
        start, end = bins["start"].to_numpy(np.int64), bins["end"].to_numpy(np.int64)
        self.bin_key = codes.astype(np.int64) * _SPAN + (start + end) // 2
        widths = end - start
        self.bin_size = int(np.bincount(widths).argmax()) if len(widths) else 1
        gene_code = pd.Index(chroms).get_indexer(genes["chrom"].astype(str).to_numpy()).astype(np.int64)
        self.gene_placed = gene_code >= 0
        self.gene_key = np.where(self.gene_placed, gene_code * _SPAN + genes["tss"].to_numpy(np.int64), -4 * _SPAN)
        self.bin_chrom = np.asarray(self.chroms, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)
        self.tss_sorted = np.sort(self.gene_key[self.gene_placed])


def _windows(sorted_key: np.ndarray, centre: np.ndarray, reach: int, rows: np.ndarray | None = None,
             max_pairs: int = _CHUNK_PAIRS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(query rows, positions in sorted_key) of every key within reach of each query's centre key, in chunks of
    whole queries of about max_pairs pairs; sorted by query, then key."""
    rows = np.arange(len(centre)) if rows is None else np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return
    lo = np.searchsorted(sorted_key, centre[rows] - reach, "left")
    hi = np.searchsorted(sorted_key, centre[rows] + reach, "right")
    counts = hi - lo
    total = np.cumsum(counts)
    first = 0
    while first < len(rows):
        done = total[first - 1] if first else 0
        last = min(len(rows), max(first + 1, int(np.searchsorted(total, done + max_pairs, "right"))))
        n = counts[first:last]
        query = np.repeat(np.arange(first, last), n)
        within = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        yield rows[query], np.repeat(lo[first:last], n) + within
        first = last


def mid_quantiles(values: np.ndarray) -> np.ndarray:
    """Each value's mid-distribution quantile among `values`, in (0, 1): (the values below it + half of those equal to
    it) / all of them. Ties share it, so binary activity (every open bin 1) gives 0.5 everywhere."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return values
    unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    return (below + counts / 2.0)[inverse] / len(values)


# ---------------------------------------------------------------- cross-sample evidence

@dataclass
class Evidence:
    """What the training samples say about each (gene, bin) pair and each gene; kept in the model file.

    Pairs (sorted by gene, then bin) are those within `reach` of the TSS whose |correlation| is at least
    MIN_STORED_CORRELATION: gene_start[g]:gene_start[g + 1] are gene g's rows of bin, correlation and fdr. Pairs not
    kept have correlation 0 (or a bin that does not vary) and an FDR of 1 in the outputs."""

    reach: int
    n_samples: int
    permutations: int
    seed: int
    tested: int  # pairs tested (a varying bin and a varying gene)
    gene_start: np.ndarray  # int64, genes + 1
    bin: np.ndarray  # int64
    correlation: np.ndarray  # float32
    fdr: np.ndarray  # float32
    expression_mean: np.ndarray  # float32, per gene: mean log1p(TPM) over the training samples
    expression_sd: np.ndarray  # float32, per gene: its sd
    expression_breadth: np.ndarray  # float32, per gene: share of training samples with TPM >= EXPRESSED_TPM
    null_quantiles: dict[str, float] = field(default_factory=dict)  # |r| of the pooled null at a few quantiles
    p_value: np.ndarray | None = None  # the kept pairs' permutation p-values (computed in training, not kept in the file)

    ARRAYS = ("gene_start", "bin", "correlation", "fdr", "expression_mean", "expression_sd", "expression_breadth")
    SCALARS = ("reach", "n_samples", "permutations", "seed", "tested")

    @property
    def n_genes(self) -> int:
        return len(self.gene_start) - 1

    @cached_property
    def gene_max_correlation(self) -> np.ndarray:
        """Per gene, the largest |correlation| among its kept pairs (0 when none)."""
        out = np.zeros(self.n_genes)
        np.maximum.at(out, np.repeat(np.arange(self.n_genes), np.diff(self.gene_start)), np.abs(self.correlation.astype(np.float64)))
        return out

    def significant(self, fdr: float) -> int:
        return int((self.fdr <= fdr).sum())

    def lookup(self, gene: np.ndarray, bin_: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """(correlation, fdr) of each (gene, bin) pair: 0 and 1 for a pair not kept."""
        gene = np.asarray(gene, dtype=np.int64)
        bin_ = np.asarray(bin_, dtype=np.int64)
        stored_gene = np.repeat(np.arange(self.n_genes, dtype=np.int64), np.diff(self.gene_start))
        keys = stored_gene * (n_bins + 1) + self.bin
        wanted = gene * (n_bins + 1) + bin_
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        hit = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
        correlation = np.where(hit, self.correlation[at] if len(keys) else 0.0, 0.0)
        fdr = np.where(hit, self.fdr[at] if len(keys) else 1.0, 1.0)
        return correlation.astype(np.float64), fdr.astype(np.float64)

    def state(self) -> dict[str, np.ndarray]:
        """Named arrays for the model file (the scalars as 0-d int64 arrays)."""
        out = {name: np.asarray(getattr(self, name)) for name in self.ARRAYS}
        out.update({name: np.asarray(getattr(self, name), dtype=np.int64) for name in self.SCALARS})
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], n_genes: int, n_bins: int, where: str) -> "Evidence":
        """The evidence of a model file, every array checked (one line naming the field when wrong)."""
        missing = [name for name in (*cls.ARRAYS, *cls.SCALARS) if name not in state]
        if missing:
            raise InputError(f"{where}: model file field 'evidence' lacks {', '.join(missing)}")
        scalars = {name: int(np.asarray(state[name]).reshape(-1)[0]) if np.asarray(state[name]).size == 1 else -1 for name in cls.SCALARS}
        if min(scalars.values()) < 0:
            raise InputError(f"{where}: model file field 'evidence' has a negative or malformed count")
        arrays = {name: np.asarray(state[name]) for name in cls.ARRAYS}
        start = arrays["gene_start"].astype(np.int64)
        n_pairs = len(arrays["bin"])
        problems = []
        if start.shape != (n_genes + 1,) or (len(start) and (start[0] != 0 or start[-1] != n_pairs or (np.diff(start) < 0).any())):
            problems.append(f"gene_start does not index {n_pairs} pairs of {n_genes} genes")
        for name in ("correlation", "fdr"):
            if arrays[name].shape != (n_pairs,):
                problems.append(f"{name} has {arrays[name].size} values for {n_pairs} pairs")
        for name in ("expression_mean", "expression_sd", "expression_breadth"):
            if arrays[name].shape != (n_genes,):
                problems.append(f"{name} has {arrays[name].size} values for {n_genes} genes")
        if not problems:
            if n_pairs and (arrays["bin"].min() < 0 or arrays["bin"].max() >= n_bins):
                problems.append(f"bin rows outside the model's {n_bins:,} bins")
            for name in ("correlation", "fdr", "expression_mean", "expression_sd", "expression_breadth"):
                values = arrays[name].astype(np.float64)
                if not np.isfinite(values).all():
                    problems.append(f"{name} holds NaN or infinite values")
            if n_pairs and (np.abs(arrays["correlation"]).max() > 1 + 1e-6 or arrays["fdr"].min() < 0 or arrays["fdr"].max() > 1):
                problems.append("a correlation outside [-1, 1] or an FDR outside [0, 1]")
        if problems:
            raise InputError(f"{where}: model file field 'evidence': {'; '.join(problems)}")
        return cls(**scalars, gene_start=start, bin=arrays["bin"].astype(np.int64),
                   correlation=arrays["correlation"].astype(np.float32), fdr=arrays["fdr"].astype(np.float32),
                   expression_mean=arrays["expression_mean"].astype(np.float32), expression_sd=arrays["expression_sd"].astype(np.float32),
                   expression_breadth=arrays["expression_breadth"].astype(np.float32))

    def summary(self) -> dict[str, Any]:
        return {"training_samples": self.n_samples, "reach_bp": self.reach, "pairs_tested": self.tested,
                "pairs_kept": int(len(self.bin)), "min_kept_abs_correlation": MIN_STORED_CORRELATION,
                "permutations": self.permutations, "seed": self.seed,
                "significant": {str(q): self.significant(q) for q in (0.01, 0.05, 0.1)},
                "null_abs_correlation_quantiles": self.null_quantiles}


def _standardised(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(columns centred and scaled to unit norm, in the values' float type; which columns vary): a correlation is then a
    dot product. Sums are taken in float64."""
    values = np.asarray(values)
    centred = values - values.mean(axis=0, dtype=np.float64).astype(values.dtype)
    norm = np.sqrt(np.einsum("sb,sb->b", centred, centred, dtype=np.float64))
    varies = norm > 1e-6 * np.maximum(1.0, np.abs(values).max(axis=0, initial=0.0))
    return np.divide(centred, norm.astype(values.dtype), out=np.zeros_like(centred), where=varies), varies


STRATUM_EDGES = (1, 2, 3, 4, 5, 8)  # samples off a column's most common value: the null's strata (module docstring of compute_evidence)


def off_mode(values: np.ndarray) -> np.ndarray:
    """Per column: how many samples hold another value than the column's most common one (0: constant; 1: one
    sample stands out, as a bin open in one sample or a gene expressed in one)."""
    ordered = np.sort(np.asarray(values), axis=0)
    run = np.ones(ordered.shape[1:], dtype=np.int64)
    longest = run.copy()
    for row in range(1, len(ordered)):
        run = np.where(ordered[row] == ordered[row - 1], run + 1, 1)
        np.maximum(longest, run, out=longest)
    return len(ordered) - longest


def _stratum(off: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(STRATUM_EDGES), off, "right") - 1


def compute_evidence(activity: np.ndarray, tpm: np.ndarray, bins: pd.DataFrame, genes: pd.DataFrame, reach: int,
                     seed: int, permutations: int = PERMUTATIONS, min_stored: float = MIN_STORED_CORRELATION) -> Evidence:
    """The evidence of training samples: activity (samples x bins, signalValue or 1 where open, 0 closed) and tpm
    (samples x genes).

    Null: the samples' expression labels permuted (the same permutation for every gene, so genes keep their
    correlations with each other), `permutations` times with a seeded generator. With a dozen samples a correlation's
    null depends on how discrete the two columns are: a bin open in one sample and a gene expressed in one reach
    r = 1 whenever the permutation puts them together (1 in n). So the null is pooled within strata of pairs alike in
    that: the number of samples off the bin's most common value and off the gene's (STRATUM_EDGES: 1, 2, 3, 4, 5-7,
    8 or more each). A pair's p-value is (1 + its stratum's null values >= its |r|) / (1 + its stratum's null values);
    its FDR is the Benjamini-Hochberg adjustment over all pairs tested."""
    n_samples = len(activity)
    positions = Positions(bins, genes)
    tpm = np.maximum(np.asarray(tpm, dtype=np.float64), 0.0)
    log_tpm = np.log1p(tpm)
    y, gene_varies = _standardised(log_tpm)
    gene_stratum = _stratum(off_mode(log_tpm)) if n_samples else np.zeros(len(genes), dtype=np.int64)
    # bins whose activity varies across the training samples, standardised column by column
    open_anywhere = np.flatnonzero((np.asarray(activity) > 0).any(axis=0)) if n_samples else np.zeros(0, dtype=np.int64)
    # float32: a genome's bins open in some sample, times the samples
    log_activity = np.log1p(np.asarray(activity)[:, open_anywhere].astype(np.float32))
    a, bin_varies = _standardised(log_activity)
    bin_stratum = _stratum(off_mode(log_activity[:, bin_varies]))
    del log_activity
    tested_bins = open_anywhere[bin_varies]
    a = a[:, bin_varies]
    order = np.argsort(positions.bin_key[tested_bins], kind="stable")
    tested_bins, a, bin_stratum = tested_bins[order], a[:, order], bin_stratum[order]
    keys = positions.bin_key[tested_bins]
    n_strata = len(STRATUM_EDGES)
    cells = n_strata * n_strata * (NULL_RESOLUTION + 1)
    rng = np.random.default_rng(seed)
    shuffled = [y[rng.permutation(n_samples)] for _ in range(permutations)] if n_samples > 1 else []
    observed = np.zeros(cells, dtype=np.int64)
    null = np.zeros(cells, dtype=np.int64)
    kept_gene, kept_bin, kept_r, kept_cell = [], [], [], []
    genes_tested = np.flatnonzero(gene_varies & positions.gene_placed)
    for gene, at in _windows(keys, positions.gene_key, reach, genes_tested, max_pairs=_CHUNK_PAIRS // 4):
        columns = a[:, at]
        stratum = (gene_stratum[gene] * n_strata + bin_stratum[at]) * (NULL_RESOLUTION + 1)
        r = np.einsum("sp,sp->p", columns, y[:, gene])
        cell = stratum + _resolution_bin(r)
        observed += np.bincount(cell, minlength=cells)
        for y_null in shuffled:
            null += np.bincount(stratum + _resolution_bin(np.einsum("sp,sp->p", columns, y_null[:, gene])), minlength=cells)
        keep = np.abs(r) >= min_stored
        kept_gene.append(gene[keep])
        kept_bin.append(tested_bins[at[keep]])
        kept_r.append(np.clip(r[keep], -1.0, 1.0))
        kept_cell.append(cell[keep])
    gene = np.concatenate(kept_gene) if kept_gene else np.zeros(0, dtype=np.int64)
    bin_ = np.concatenate(kept_bin) if kept_bin else np.zeros(0, dtype=np.int64)
    r = np.concatenate(kept_r) if kept_r else np.zeros(0)
    cell = np.concatenate(kept_cell) if kept_cell else np.zeros(0, dtype=np.int64)
    order = np.lexsort((bin_, gene))
    gene, bin_, r, cell = gene[order], bin_[order], r[order], cell[order]
    p_of_cell, fdr_of_cell = _p_and_fdr(observed.reshape(-1, NULL_RESOLUTION + 1), null.reshape(-1, NULL_RESOLUTION + 1))
    quantiles = {}
    pooled = null.reshape(-1, NULL_RESOLUTION + 1).sum(axis=0)
    if pooled.sum():
        cumulative = np.cumsum(pooled) / pooled.sum()
        quantiles = {str(q): float(np.searchsorted(cumulative, q) / NULL_RESOLUTION) for q in (0.5, 0.9, 0.99, 0.999, 0.9999)}
    genes_zero = np.zeros(len(genes), np.float32)
    evidence = Evidence(
        reach=int(reach), n_samples=n_samples, permutations=len(shuffled), seed=int(seed), tested=int(observed.sum()),
        gene_start=np.searchsorted(gene, np.arange(len(genes) + 1)).astype(np.int64), bin=bin_.astype(np.int64),
        correlation=r.astype(np.float32), fdr=fdr_of_cell[cell].astype(np.float32),
        expression_mean=log_tpm.mean(axis=0).astype(np.float32) if n_samples else genes_zero,
        expression_sd=log_tpm.std(axis=0).astype(np.float32) if n_samples else genes_zero,
        expression_breadth=(tpm >= EXPRESSED_TPM).mean(axis=0).astype(np.float32) if n_samples else genes_zero,
        null_quantiles=quantiles, p_value=p_of_cell[cell].astype(np.float64))
    log.info("cross-sample evidence of %d training samples: %d (gene, bin) pairs within %d bp tested, %d with |r| >= %.2f kept; "
             "%d at FDR <= 0.05 (null: %d label permutations)", n_samples, evidence.tested, reach, len(bin_), min_stored,
             evidence.significant(0.05), len(shuffled))
    return evidence


def _resolution_bin(r: np.ndarray) -> np.ndarray:
    """The histogram bin of |r|: floor(|r| * NULL_RESOLUTION), 1.0 in the last."""
    return np.minimum((np.abs(np.asarray(r, dtype=np.float64)) * NULL_RESOLUTION).astype(np.int64), NULL_RESOLUTION)


def _p_and_fdr(observed: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p-value, BH FDR) of a pair in each (stratum, |r| bin) cell (strata x bins of observed and null counts), flat.
    Its p-value counts its stratum's null values in its bin and above (a little conservative within a bin of width
    1 / NULL_RESOLUTION); its rank counts the observed pairs of every stratum whose p-value is no larger."""
    null_tail = np.cumsum(null[:, ::-1], axis=1)[:, ::-1]
    p = (1.0 + null_tail) / (1.0 + null.sum(axis=1, keepdims=True))
    flat_p, flat_n = p.reshape(-1), observed.reshape(-1)
    tested = int(flat_n.sum())
    out = np.ones(flat_p.shape)
    present = np.flatnonzero(flat_n > 0)
    if not len(present):
        return flat_p, out
    order = present[np.argsort(flat_p[present], kind="stable")]
    p_sorted = flat_p[order]
    # pairs with a p-value no larger: every cell up to the last one with the same p
    rank = np.cumsum(flat_n[order])
    last_same = np.searchsorted(p_sorted, p_sorted, "right") - 1
    raw = tested * p_sorted / rank[last_same]
    q = np.minimum.accumulate(raw[::-1])[::-1]
    out[order] = np.clip(q, 0.0, 1.0)
    return flat_p, out


# ---------------------------------------------------------------- features of one sample

# The combiner's features of a (gene, bin) pair, fixed beforehand (ENCODE-rE2G's DNase features, with a power-law contact,
# and the cross-sample evidence), as the combiner reads them:
#   abc                 log(ABC + 1e-6)
#   distance            log(max(|TSS - bin centre|, 500 bp))
#   activity            the bin's activity as a mid-quantile among the sample's open bins (scale-free; 0.5 when binary)
#   promoter_activity   the same of the strongest open bin within 1 kb (+ half a bin) of the TSS; 0 when none is open
#   open_between        log1p(open bins whose centre lies between the TSS and the bin's)
#   tss_between         log1p(other genes' TSSs between the TSS and the bin's centre)
#   nearby_activity     log1p(sum of the activity quantiles of the other open bins within 5 kb)
#   nearby_open         log1p(number of those bins)
#   abc_denominator     log(ABC's denominator / the sample's median open-bin activity): how active the gene's
#                       neighbourhood is, scale-free
#   correlation         the cross-sample correlation of the pair (0 when not kept)
#   expression_sd, expression_breadth, expression_mean   the gene's, over the training samples
#   gene_max_correlation  the largest |correlation| among the gene's pairs: how well its own neighbourhood's
#                       accessibility follows its expression (its predictability)
FEATURES = ("abc", "distance", "activity", "promoter_activity", "open_between", "tss_between", "nearby_activity", "nearby_open",
            "abc_denominator", "correlation", "expression_sd", "expression_breadth", "expression_mean", "gene_max_correlation")


@dataclass
class PairScores:
    """One sample's candidate pairs (sorted by gene, then bin): open bins within reach of each gene's TSS."""

    gene: np.ndarray
    bin: np.ndarray
    distance: np.ndarray  # |TSS - bin centre|, bp
    abc: np.ndarray
    correlation: np.ndarray
    fdr: np.ndarray
    features: np.ndarray | None  # pairs x FEATURES (transformed as the combiner reads them; float32), unless not kept
    score: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.gene)


def sample_features(activity: np.ndarray, positions: Positions, contact: ContactModel, reach: int, evidence: Evidence | None,
                    combiner: "Combiner | None" = None, heldout_chromosomes: bool = False, keep_features: bool = True) -> PairScores:
    """The candidate pairs of one sample, their features (FEATURES; the evidence's are 0 without evidence; float32) and,
    with a combiner, their score. The pairs are handled in chunks of genes, so only the kept columns of every pair are
    ever in memory at once (keep_features=False keeps no features)."""
    activity = np.asarray(activity, dtype=np.float64)
    n_genes = len(positions.gene_key)
    active = np.flatnonzero(activity > 0)
    order = np.argsort(positions.bin_key[active], kind="stable")
    active = active[order]
    key = positions.bin_key[active]
    value = activity[active]
    quantile = mid_quantiles(value)
    typical = float(np.median(value)) if len(value) else 1.0
    placed = np.flatnonzero(positions.gene_placed)
    gene_key = positions.gene_key

    denominator = np.zeros(n_genes)
    for gene, at in _windows(key, gene_key, contact.max_distance, placed):
        denominator += np.bincount(gene, weights=value[at] * contact.contact(key[at] - gene_key[gene]), minlength=n_genes)
    promoter = np.zeros(n_genes)
    for gene, at in _windows(key, gene_key, PROMOTER + positions.bin_size // 2, placed):
        np.maximum.at(promoter, gene, quantile[at])
    cumulative = np.r_[0.0, np.cumsum(quantile)]
    near_lo = np.searchsorted(key, key - NEARBY, "left")
    near_hi = np.searchsorted(key, key + NEARBY, "right")
    nearby_activity = cumulative[near_hi] - cumulative[near_lo] - quantile
    nearby_open = (near_hi - near_lo - 1).astype(np.float64)
    log_denominator = np.log(np.maximum(denominator, 1e-300) / typical)
    if evidence is not None:
        gene_stats = np.column_stack([evidence.expression_sd, evidence.expression_breadth, evidence.expression_mean,
                                      evidence.gene_max_correlation]).astype(np.float64)
        if reach > evidence.reach:
            log.warning("links within %d bp, the model's cross-sample evidence within %d bp: farther pairs have none (correlation 0)",
                        reach, evidence.reach)
    else:
        gene_stats = np.zeros((n_genes, 4))

    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("gene", "bin", "distance", "abc", "correlation", "fdr", "score", "features")}
    for gene, at in _windows(key, gene_key, reach, placed, max_pairs=_CHUNK_PAIRS // 4):
        distance = np.abs(key[at] - gene_key[gene])
        with np.errstate(divide="ignore", invalid="ignore"):
            abc = np.where(denominator[gene] > 0, value[at] * contact.contact(distance) / denominator[gene], 0.0)
        low, high = np.minimum(key[at], gene_key[gene]), np.maximum(key[at], gene_key[gene])
        open_between = np.maximum(np.searchsorted(key, high, "left") - np.searchsorted(key, low, "right"), 0)
        tss_between = np.maximum(np.searchsorted(positions.tss_sorted, high, "left") - np.searchsorted(positions.tss_sorted, low, "right"), 0)
        bin_ = active[at]
        correlation, fdr = (evidence.lookup(gene, bin_, positions.n_bins) if evidence is not None
                            else (np.zeros(len(gene)), np.ones(len(gene))))
        features = np.column_stack([
            np.log(abc + ABC_FLOOR), np.log(np.maximum(distance, MIN_LOG_DISTANCE)), quantile[at], promoter[gene],
            np.log1p(open_between), np.log1p(tss_between), np.log1p(nearby_activity[at]), np.log1p(nearby_open[at]),
            log_denominator[gene], correlation, gene_stats[gene],
        ])
        chunk = {"gene": gene, "bin": bin_, "distance": distance, "abc": abc, "correlation": correlation, "fdr": fdr}
        if combiner is not None:
            chunk["score"] = combiner.score(features, positions.bin_chrom[bin_] if heldout_chromosomes else None)
        if keep_features:
            chunk["features"] = features.astype(np.float32)
        for name, values in chunk.items():
            columns[name].append(values)
    empty = {"gene": np.zeros(0, dtype=np.int64), "bin": np.zeros(0, dtype=np.int64), "features": np.zeros((0, len(FEATURES)), np.float32)}
    joined = {name: np.concatenate(parts) if parts else empty.get(name, np.zeros(0)) for name, parts in columns.items()}
    return PairScores(joined["gene"], joined["bin"], joined["distance"], joined["abc"], joined["correlation"], joined["fdr"],
                      joined["features"] if keep_features else None, joined["score"] if combiner is not None else None)


# ---------------------------------------------------------------- the combiner

@dataclass(frozen=True)
class LogisticModel:
    """p = 1 / (1 + exp(-(intercept + coefficients . (x - mean) / sd)))."""

    mean: np.ndarray
    sd: np.ndarray
    coefficients: np.ndarray
    intercept: float

    def logit(self, X: np.ndarray) -> np.ndarray:
        weights = self.coefficients / self.sd  # one product over the raw features
        return (self.intercept - float(self.mean @ weights)) + np.asarray(X, dtype=np.float64) @ weights

    def probability(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(X)))

    def as_dict(self) -> dict[str, Any]:
        return {"mean": [float(v) for v in self.mean], "sd": [float(v) for v in self.sd],
                "coefficients": [float(v) for v in self.coefficients], "intercept": float(self.intercept)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], n: int, where: str) -> "LogisticModel":
        try:
            model = cls(np.asarray(data["mean"], dtype=np.float64), np.asarray(data["sd"], dtype=np.float64),
                        np.asarray(data["coefficients"], dtype=np.float64), float(data["intercept"]))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: not a logistic model ({err})") from None
        if any(len(v) != n for v in (model.mean, model.sd, model.coefficients)) or (model.sd <= 0).any() or not all(
                np.isfinite(v).all() for v in (model.mean, model.sd, model.coefficients, np.array([model.intercept]))):
            raise InputError(f"{where}: a logistic model needs {n} finite means, positive sds and coefficients")
        return model


def fit_logistic(X: np.ndarray, y: np.ndarray, penalty: float, iterations: int = 100) -> LogisticModel:
    """L2-penalised logistic regression on standardised features (the intercept unpenalised), by Newton's method."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd <= 0] = 1.0
    Z = np.column_stack([np.ones(len(X)), (X - mean) / sd])
    w = np.zeros(Z.shape[1])
    ridge = np.r_[0.0, np.full(Z.shape[1] - 1, float(penalty))]
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(Z @ w)))
        gradient = Z.T @ (p - y) + ridge * w
        hessian = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(ridge)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return LogisticModel(mean, sd, w[1:], float(w[0]))


@dataclass(frozen=True)
class Combiner:
    """The score's combiner (assets/link_combiner.json): the features it reads, the model fitted on every training
    pair, and one model per held-out chromosome (each fitted without that chromosome's pairs) for benchmarks."""

    version: str
    features: tuple[str, ...]
    model: LogisticModel
    heldout: dict[str, LogisticModel]
    contact: dict[str, Any]
    provenance: dict[str, Any]

    @classmethod
    def read(cls, path: str | Path) -> "Combiner":
        try:
            data = json.loads(Path(path).read_text())
            features = tuple(data["features"])
            if features != FEATURES:
                raise InputError(f"{path}: the combiner reads features {', '.join(features)}; this atac2expr computes {', '.join(FEATURES)}")
            model = LogisticModel.from_dict(data["model"], len(features), f"{path} model")
            heldout = {str(chrom): LogisticModel.from_dict(m, len(features), f"{path} heldout {chrom}")
                       for chrom, m in data.get("heldout_chromosomes", {}).items()}
            return cls(str(data["version"]), features, model, heldout, dict(data.get("contact", {})), dict(data.get("provenance", {})))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: not a link score combiner ({err})") from None

    def score(self, features: np.ndarray, chrom: np.ndarray | None = None) -> np.ndarray:
        """The probability of regulation of each pair; with `chrom` (the pairs' chromosomes), a pair on a chromosome
        the combiner held out is scored by the model fitted without it (benchmarks on the combiner's own pairs)."""
        out = self.model.probability(features) if len(features) else np.zeros(0)
        if chrom is not None and len(features):
            chrom = np.asarray(chrom).astype(str)
            for name, model in self.heldout.items():
                on = chrom == name
                if on.any():
                    out[on] = model.probability(features[on])
        return out

    def check_contact(self, contact: ContactModel) -> None:
        if self.contact and {k: self.contact.get(k) for k in ("gamma", "min_distance", "max_distance")} != contact.as_dict():
            log.warning("the score's combiner was fitted with ABC contact %s; this run uses %s: the score's ABC features differ "
                        "from those it was fitted on", self.contact, contact.as_dict())


def score_sample(activity: np.ndarray, positions: Positions, contact: ContactModel, reach: int, evidence: Evidence | None,
                 combiner: Combiner, heldout_chromosomes: bool = False) -> PairScores:
    """One sample's candidate pairs with their score (features not kept)."""
    return sample_features(activity, positions, contact, reach, evidence, combiner, heldout_chromosomes, keep_features=False)


def select(pairs: PairScores, top: int, max_fdr: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows kept, their rank): each gene's `top` best-scored pairs (0: every one) whose FDR is at most max_fdr; ties
    go to the bin nearer the TSS."""
    from .links import top_links

    allowed = np.flatnonzero(pairs.fdr <= max_fdr)
    kept, rank = top_links(pairs.gene[allowed], pairs.score[allowed], pairs.distance[allowed], top)
    return allowed[kept], rank


def columns_of(pairs: PairScores, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The score columns of a links table (formats.LINKS) for the pairs at `rows`."""
    return {"score": pairs.score[rows], "abc": pairs.abc[rows], "correlation": pairs.correlation[rows], "fdr": pairs.fdr[rows]}


def lookup(pairs: PairScores, gene: np.ndarray, bin_: np.ndarray, n_bins: int) -> dict[str, np.ndarray]:
    """The score columns of arbitrary (gene, bin) pairs: those of `pairs` where found; elsewhere (a bin closed in the
    sample, or out of reach) score, abc and correlation 0 and FDR 1."""
    keys = pairs.gene.astype(np.int64) * (n_bins + 1) + pairs.bin
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    wanted = np.asarray(gene, dtype=np.int64) * (n_bins + 1) + np.asarray(bin_, dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    hit = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    row = order[at] if len(keys) else at
    out = {}
    for name, empty in (("score", 0.0), ("abc", 0.0), ("correlation", 0.0), ("fdr", 1.0)):
        values = getattr(pairs, name)
        out[name] = np.where(hit, values[row] if len(keys) else empty, empty).astype(np.float64)
    return out


def activity_note(kind: str) -> str:
    """What the log says of a sample's activity."""
    return ("the peaks' signalValue" if kind == "signal" else
            "open/closed: the peaks have no signalValue, so every open bin counts alike (binary activity; ABC is contact "
            "over the open bins, and the score's activity features are flat)")
