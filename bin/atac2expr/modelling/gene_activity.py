"""Gene activity scores, the baselines ATAC-seq users know: ArchR's gene score and Signac's GeneActivity.

A score is a weighted sum of a sample's open bins, score[s, g] = sum_b W[g, b] * X[s, b], with a sparse
genes x bins weight matrix W (`GeneBinWeights`) built from the geometry alone. A score becomes an
expression prediction through a per-gene ordinary least-squares line fitted on the training samples
(`PerGeneLinear`); `GeneActivityScores` puts the three steps together.

Coordinates are those of the dataset: bins and genes 0-based half-open, chromosome names already normalised
(Ensembl style) on both sides. Upstream and downstream are strand-aware: a gene's TSS is its `start` on the
plus strand and its `end - 1` on the minus strand (any strand other than '-' counts as plus, as in ArchR's
extendGR).

ArchR (addGeneScoreMatrix defaults, R/MatrixGeneScores.R, "Calculating Gene Scores in ArchR"):
- Tiles: ArchR counts Tn5 insertions in 500 bp tiles; here the tiles are the dataset's bins, each 0 or 1,
  with their real coordinates (a chromosome's last bin may be shorter).
- Gene body: the gene extended by `gene_upstream` (5 kb) upstream of its TSS and `gene_downstream` (0)
  downstream of its end: [S, E).
- Window: bins overlapping [S - reverse, E + forward), where reverse/forward are the maximum extension
  upstream / downstream (100 kb each) on the gene's strand. With `use_gene_boundaries` (default) ArchR sorts
  the genes of a chromosome by (S, E) and cuts the window at the neighbours in that order: it starts one
  tile after the last base of the previous gene's extended body and stops one tile before the first base of
  the next gene's extended body, but always reaches at least the minimum extension (1 kb) beyond the own
  body. "Previous" and "next" are the neighbours in sort order (ArchR's code), not the nearest TSS the
  ArchR documentation describes, so a window may reach into a long gene that contains its neighbour.
  The margin of one tile is one bin here (`tile_size=None`: the bins' most common width): with 1 kb bins the
  bin holding the neighbour's boundary base is excluded and the bin next to it included, as ArchR does with
  its 500 bp tiles; `tile_size=500` keeps ArchR's 500 bp margin instead.
- Weight of an overlapping bin: gene_model(x) * gene_weight, with x the distance in bases between the bin
  and the extended body (0 when they overlap or touch; signed, negative upstream, as ArchR passes it) and
  gene_model(x) = exp(-|x| / 5000) + exp(-1) (ArchR's default "exp(-abs(x)/5000) + exp(-1)").
- Gene length scaling: m = 1 / width of the extended body, gene_weight = 1 + m * (gene_scale_factor - 1) /
  (max(m) - min(m)), max and min over the genes given (ArchR: over all genes of the genome; here: the
  dataset's genes). When every gene has the same width (or there is one gene) ArchR divides by zero; here
  the weight is 1. A per-gene factor does not change a per-gene linear fit's predictions: it only scales
  the raw scores.
- Not applied, and why: `ceiling` (4) caps Tn5 insertion counts per tile; our bins are 0/1, so it never
  binds. `scaleTo` (10,000) divides each cell's scores by their sum over all genes of the genome, a
  sequencing-depth correction; 0/1 peak calls carry no depth and a dataset's genes may be a region's few
  tens of genes, so it is off by default (`GeneActivityScores(scale_to=10000)` applies it over the dataset's
  genes). `excludeChr` (chrY, chrM) and the blacklist drop genes and tiles; every gene of the dataset needs
  a prediction and peak calls are usually blacklist-filtered already, so neither is applied.

Signac (GeneActivity defaults, R/utilities.R): the gene body extended `upstream` (2 kb) upstream of the TSS
and `downstream` (0) downstream of its end; the score counts the open bins overlapping that interval
(Signac counts fragments). Signac quantifies the longest protein-coding transcript of each gene and drops
genes of 500 kb or more; here every gene of the dataset is scored over its GTF gene body.

Joins: each gene's interval is matched against the bins with numpy searchsorted on the bins sorted by
(chromosome, start) (`method="numpy"`, the default) or with pyranges' join (`method="pyranges"`); both give
the same pairs. At genome scale (3.1 M bins, 20,000 genes, 3.2 M ArchR pairs) the numpy join takes about
0.1 s and 0.1 GiB, pyranges 0.1.7 about 2 s and 1.4 GiB (benchmarks/bench_gene_activity.py prints both);
pyranges 0.1.7 also returns wrong overlaps for intervals that start below 0 (they are clipped at 0 first).

Genes whose chromosome has no bins, or whose window holds no bin, get no weights: their score is 0 in
every sample and the linear fit predicts their training mean.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..cli import InputError
from ..formats import BINS

log = logging.getLogger(__name__)

KINDS = ("archr", "signac")
JOIN_METHODS = ("numpy", "pyranges")

_POS_SPAN = np.int64(1) << np.int64(40)  # > any chromosome position: chrom code * span + position is a sort key


def archr_gene_model(x: np.ndarray) -> np.ndarray:
    """ArchR's default gene model exp(-|x| / 5000) + exp(-1); x: signed distance (bp) to the extended gene body."""
    return np.exp(-np.abs(x) / 5000.0) + np.exp(-1.0)


# ---------------------------------------------------------------- the weight matrix

@dataclass(frozen=True)
class GeneBinWeights:
    """A sparse genes x bins matrix: weight[k] at (gene[k], bin[k]), sorted by gene then bin, no duplicates."""

    gene: np.ndarray  # int64
    bin: np.ndarray  # int64
    weight: np.ndarray  # float64
    n_genes: int
    n_bins: int

    def __post_init__(self) -> None:
        if not (len(self.gene) == len(self.bin) == len(self.weight)):
            raise ValueError("gene, bin and weight must have the same length")

    @property
    def nnz(self) -> int:
        return len(self.weight)

    def dense(self) -> np.ndarray:
        """genes x bins float64 (for small data and tests)."""
        out = np.zeros((self.n_genes, self.n_bins))
        out[self.gene, self.bin] = self.weight
        return out

    def genes_with_weights(self) -> np.ndarray:
        """Boolean mask over genes: True where the gene has at least one weighted bin."""
        mask = np.zeros(self.n_genes, dtype=bool)
        mask[self.gene] = True
        return mask


def _make_weights(gene: np.ndarray, bin_: np.ndarray, weight: np.ndarray, n_genes: int, n_bins: int) -> GeneBinWeights:
    keep = weight != 0
    if not keep.all():
        gene, bin_, weight = gene[keep], bin_[keep], weight[keep]
    gene, bin_ = gene.astype(np.int64, copy=False), bin_.astype(np.int64, copy=False)
    weight = weight.astype(np.float64, copy=False)
    # the numpy join yields pairs sorted by gene and, when the bins table is sorted, by bin: skip the sort then
    ordered = (gene[1:] > gene[:-1]) | ((gene[1:] == gene[:-1]) & (bin_[1:] > bin_[:-1]))
    if not ordered.all():
        order = np.lexsort((bin_, gene))
        gene, bin_, weight = gene[order], bin_[order], weight[order]
    return GeneBinWeights(gene, bin_, weight, int(n_genes), int(n_bins))


# ---------------------------------------------------------------- geometry

@dataclass(frozen=True)
class _SortedBins:
    """The bins sorted by (chromosome, start); `order` maps a sorted position back to the bin's row."""

    chroms: pd.Index  # chromosome of each code
    code: np.ndarray  # chromosome code, sorted order
    start: np.ndarray
    end: np.ndarray
    order: np.ndarray
    n_bins: int

    @classmethod
    def of(cls, bins: pd.DataFrame) -> "_SortedBins":
        for column in BINS.columns:
            if column not in bins.columns:
                raise InputError(f"bins table has no '{column}' column")
        codes, chroms = pd.factorize(pd.Series(bins["chrom"]).astype(str), sort=False)
        code = codes.astype(np.int64)
        start = bins["start"].to_numpy(np.int64)
        end = bins["end"].to_numpy(np.int64)
        if len(start) and (start.min() < 0 or (end <= start).any()):
            raise InputError("bins must have 0 <= start < end")
        # codes number chromosomes in order of appearance, so a layout-ordered table is already sorted
        if ((code[1:] > code[:-1]) | ((code[1:] == code[:-1]) & (start[1:] > start[:-1]))).all():
            order = np.arange(len(start), dtype=np.int64)
        else:
            order = np.lexsort((start, code))
            code, start, end = code[order], start[order], end[order]
        # the searchsorted join needs the bins of a chromosome disjoint (then their ends are sorted too)
        same = code[1:] == code[:-1]
        if (same & (start[1:] < end[:-1])).any():
            raise InputError("bins overlap: each chromosome's bins must be disjoint")
        return cls(pd.Index(chroms), code, start, end, order.astype(np.int64), len(start))

    def codes_of(self, chrom: np.ndarray) -> np.ndarray:
        """Chromosome code of each name; -1 for a chromosome without bins."""
        return self.chroms.get_indexer(np.asarray(chrom).astype(str)).astype(np.int64)


@dataclass(frozen=True)
class _Genes:
    chrom: np.ndarray  # str
    start: np.ndarray
    end: np.ndarray
    minus: np.ndarray  # bool

    @classmethod
    def of(cls, genes: pd.DataFrame) -> "_Genes":
        for column in ("chrom", "start", "end", "strand"):
            if column not in genes.columns:
                raise InputError(f"genes table has no '{column}' column")
        start = genes["start"].to_numpy(np.int64)
        end = genes["end"].to_numpy(np.int64)
        if (end <= start).any():
            bad = int(np.flatnonzero(end <= start)[0])
            raise InputError(f"gene {genes.iloc[bad].get('gene_id', bad)}: end {end[bad]} <= start {start[bad]}")
        minus = genes["strand"].astype(str).to_numpy() == "-"
        return cls(genes["chrom"].astype(str).to_numpy(), start, end, minus)

    def __len__(self) -> int:
        return len(self.start)

    def extend(self, upstream: int, downstream: int) -> tuple[np.ndarray, np.ndarray]:
        """[start, end) of each gene extended strand-aware (ArchR's extendGR, Signac's Extend)."""
        s = self.start - np.where(self.minus, downstream, upstream)
        e = self.end + np.where(self.minus, upstream, downstream)
        return s, e


def _expand_ranges(first: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [first[i], stop[i]): (i repeated per element, the elements), vectorised."""
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    query = np.repeat(np.arange(len(first), dtype=np.int64), counts)
    offsets = np.cumsum(counts) - counts
    positions = np.arange(total, dtype=np.int64) - np.repeat(offsets, counts) + np.repeat(first, counts)
    return query, positions


def _overlaps_numpy(sb: _SortedBins, code: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query index, sorted-bin position) of every bin overlapping [start, end) on chromosome `code`."""
    if sb.n_bins == 0 or len(code) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = np.maximum(start, 0)  # a key below the chromosome's range would reach into the previous chromosome
    valid = (code >= 0) & (end > start)
    key_start = sb.code * _POS_SPAN + sb.start
    key_end = sb.code * _POS_SPAN + sb.end
    # overlap: bin start < query end and bin end > query start; within a chromosome both keys are sorted
    first = np.searchsorted(key_end, code * _POS_SPAN + start, side="right")
    stop = np.searchsorted(key_start, code * _POS_SPAN + end, side="left")
    stop = np.where(valid, stop, first)
    return _expand_ranges(first, stop)


def _overlaps_pyranges(sb: _SortedBins, code: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same pairs as _overlaps_numpy through pyranges' join (half-open, as here)."""
    import pyranges as pr

    start = np.maximum(start, 0)  # pyranges 0.1.7 (ncls) returns wrong overlaps for intervals starting below 0
    valid = (code >= 0) & (end > start)
    if sb.n_bins == 0 or not valid.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    chrom_names = sb.chroms.to_numpy().astype(str)
    queries = pr.PyRanges(pd.DataFrame({
        "Chromosome": chrom_names[code[valid]], "Start": start[valid], "End": end[valid],
        "q": np.flatnonzero(valid).astype(np.int64)}))
    bins = pr.PyRanges(pd.DataFrame({
        "Chromosome": chrom_names[sb.code], "Start": sb.start, "End": sb.end, "b": np.arange(sb.n_bins, dtype=np.int64)}))
    with warnings.catch_warnings():
        # pyranges 0.1.7 calls DataFrame.join(rsuffix=...), which pandas 3 deprecates
        warnings.filterwarnings("ignore", message="The 'lsuffix' and 'rsuffix' keywords")
        joined = queries.join(bins)
    if len(joined) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return joined.df["q"].to_numpy(np.int64), joined.df["b"].to_numpy(np.int64)


def _overlaps(sb: _SortedBins, code: np.ndarray, start: np.ndarray, end: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    if method == "numpy":
        return _overlaps_numpy(sb, code, start, end)
    if method == "pyranges":
        return _overlaps_pyranges(sb, code, start, end)
    raise InputError(f"join method '{method}': choose one of {', '.join(JOIN_METHODS)}")


def bins_overlapping(bins: pd.DataFrame, chrom: np.ndarray, start: np.ndarray, end: np.ndarray,
                     method: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """(query, bin row) of every bin overlapping the query interval [start, end) on chrom, sorted by query then
    position: the join of the gene activity weights, for other windows (the candidate links of every model)."""
    sb = _SortedBins.of(bins)
    query, pos = _overlaps(sb, sb.codes_of(np.asarray(chrom)), np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64), method)
    return query, sb.order[pos]


def _bin_width(sb: _SortedBins) -> int:
    """The bins' most common width (a chromosome's last bin may be shorter)."""
    if sb.n_bins == 0:
        return 0
    widths, counts = np.unique(sb.end - sb.start, return_counts=True)
    return int(widths[np.argmax(counts)])


def _min_max(pair: Sequence[int], name: str) -> tuple[int, int]:
    values = [int(v) for v in np.atleast_1d(pair)]
    if not values or min(values) < 0:
        raise InputError(f"{name} {pair}: expected non-negative (minimum, maximum) bp")
    return min(values), max(values)


# ---------------------------------------------------------------- ArchR

def archr_gene_weights(widths: np.ndarray, gene_scale_factor: float) -> np.ndarray:
    """ArchR's gene length scaling: m = 1 / width, 1 + m * (gene_scale_factor - 1) / (max(m) - min(m)); 1 where
    all widths are equal (ArchR divides by zero there)."""
    m = 1.0 / np.asarray(widths, dtype=np.float64)
    if len(m) == 0 or m.max() == m.min():
        return np.ones(len(m))
    return 1.0 + m * (gene_scale_factor - 1.0) / (m.max() - m.min())


def archr_windows(
    genes: _Genes, ext_start: np.ndarray, ext_end: np.ndarray, *, extend_upstream: tuple[int, int],
    extend_downstream: tuple[int, int], use_gene_boundaries: bool, tile_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of each gene's window (0-based half-open), ArchR's rules (module docstring)."""
    up_min, up_max = extend_upstream
    down_min, down_max = extend_downstream
    minus = genes.minus
    # leftwards is upstream on the plus strand and downstream on the minus strand
    rev_max = np.where(minus, down_max, up_max)
    rev_min = np.where(minus, down_min, up_min)
    fwd_max = np.where(minus, up_max, down_max)
    fwd_min = np.where(minus, up_min, down_min)
    if not use_gene_boundaries:
        return ext_start - rev_max, ext_end + fwd_max

    n = len(genes)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    chrom_code = pd.factorize(pd.Series(genes.chrom))[0].astype(np.int64)
    order = np.lexsort((ext_end, ext_start, chrom_code))  # ArchR: sort(ignore.strand = TRUE) per chromosome
    c, s, e = chrom_code[order], ext_start[order], ext_end[order]
    has_prev = np.r_[False, c[1:] == c[:-1]]
    has_next = np.r_[c[1:] == c[:-1], False]
    prev_end = np.r_[0, e[:-1]]
    next_start = np.r_[s[1:], 0]
    # ArchR, 1-based closed: start = max(prev pmax + tile, pmin - reverse) (1 for the first gene), then at most
    # pmin - reverse_min; end = min(next pmin - tile, pmax + forward), then at least pmax + forward_min.
    # In half-open coordinates pmin = S + 1 and pmax = E.
    lower = np.where(has_prev, prev_end + tile_size - 1, 0)
    win_start = np.minimum(np.maximum(lower, s - rev_max[order]), s - rev_min[order])
    upper = np.where(has_next, next_start - tile_size + 1, e + fwd_max[order])
    win_end = np.maximum(np.minimum(upper, e + fwd_max[order]), e + fwd_min[order])
    out_start = np.empty(n, dtype=np.int64)
    out_end = np.empty(n, dtype=np.int64)
    out_start[order] = win_start
    out_end[order] = win_end
    return out_start, out_end


def archr_weights(
    bins: pd.DataFrame, genes: pd.DataFrame, *,
    gene_model: Callable[[np.ndarray], np.ndarray] = archr_gene_model,
    extend_upstream: Sequence[int] = (1000, 100_000),
    extend_downstream: Sequence[int] = (1000, 100_000),
    gene_upstream: int = 5000,
    gene_downstream: int = 0,
    use_gene_boundaries: bool = True,
    tile_size: int | None = None,
    gene_scale_factor: float = 5.0,
    method: str = "numpy",
) -> GeneBinWeights:
    """ArchR's gene score weights (addGeneScoreMatrix defaults; rules in the module docstring).

    tile_size: the margin kept from a neighbouring gene's body (ArchR: one 500 bp tile); None = the bins' most
    common width, because the bins are this dataset's tiles. ArchR's `ceiling` (4 insertions per tile) has no
    parameter: bins are 0/1, so it never binds.
    """
    sb = _SortedBins.of(bins)
    g = _Genes.of(genes)
    up = _min_max(extend_upstream, "extend_upstream")
    down = _min_max(extend_downstream, "extend_downstream")
    if gene_upstream < 0 or gene_downstream < 0:
        raise InputError(f"gene_upstream {gene_upstream}, gene_downstream {gene_downstream}: must be >= 0")
    tile = _bin_width(sb) if tile_size is None else int(tile_size)
    if tile < 0:
        raise InputError(f"tile_size {tile_size}: must be >= 0")

    ext_start, ext_end = g.extend(gene_upstream, gene_downstream)
    gene_weight = archr_gene_weights(ext_end - ext_start, gene_scale_factor)
    win_start, win_end = archr_windows(g, ext_start, ext_end, extend_upstream=up, extend_downstream=down,
                                       use_gene_boundaries=use_gene_boundaries, tile_size=tile)
    gi, pos = _overlaps(sb, sb.codes_of(g.chrom), win_start, win_end, method)
    b_start, b_end = sb.start[pos], sb.end[pos]
    s, e = ext_start[gi], ext_end[gi]
    distance = np.maximum(0, np.maximum(s - b_end, b_start - e))  # bases strictly between bin and body
    # signed as ArchR passes it: positive downstream of the body on the gene's strand
    downstream = np.where(g.minus[gi], b_end <= s, b_start >= e)
    x = np.where(downstream, distance, -distance).astype(np.float64)
    weight = np.asarray(gene_model(x), dtype=np.float64) * gene_weight[gi]
    out = _make_weights(gi, sb.order[pos], weight, len(g), sb.n_bins)
    _log_weights("ArchR", out)
    return out


# ---------------------------------------------------------------- Signac

def signac_weights(bins: pd.DataFrame, genes: pd.DataFrame, upstream: int = 2000, downstream: int = 0, *,
                   method: str = "numpy") -> GeneBinWeights:
    """Signac's GeneActivity interval: the gene body extended `upstream` bp upstream of the TSS and `downstream`
    bp past its end (strand-aware); weight 1 for every bin overlapping it (the score counts open bins)."""
    if upstream < 0 or downstream < 0:
        raise InputError(f"upstream {upstream}, downstream {downstream}: must be >= 0")
    sb = _SortedBins.of(bins)
    g = _Genes.of(genes)
    start, end = g.extend(upstream, downstream)
    gi, pos = _overlaps(sb, sb.codes_of(g.chrom), start, end, method)
    out = _make_weights(gi, sb.order[pos], np.ones(len(gi)), len(g), sb.n_bins)
    _log_weights("Signac", out)
    return out


def _log_weights(name: str, weights: GeneBinWeights) -> None:
    log.info("%s gene activity weights: %d genes x %d bins, %d nonzero, %d genes without bins",
             name, weights.n_genes, weights.n_bins, weights.nnz, int((~weights.genes_with_weights()).sum()))


# ---------------------------------------------------------------- scores

def activity_scores(X: np.ndarray, weights: GeneBinWeights, rows: np.ndarray | None = None,
                    max_chunk_bytes: int = 256 << 20) -> np.ndarray:
    """samples x genes float64: X[rows] @ W.T, W the sparse weights (rows=None: every sample).

    The nonzeros are processed in chunks (sorted by gene): the chunk's columns of X are gathered, weighted, and
    summed per gene with np.add.reduceat, so memory stays near samples x chunk x 9 bytes (`max_chunk_bytes` for
    the float64 products) besides X, a copy of X[rows] when rows are given, and the output.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != weights.n_bins:
        raise InputError(f"{X.shape[-1] if X.ndim else 0} bins given to gene activity weights of {weights.n_bins} bins")
    if rows is not None:
        X = X[np.asarray(rows, dtype=np.int64)]  # one copy of the rows: gathering them chunk by chunk is slower
    n = X.shape[0]
    out = np.zeros((n, weights.n_genes))
    if n == 0 or weights.nnz == 0:
        return out
    chunk = min(weights.nnz, max(1, int(max_chunk_bytes) // (8 * n)))
    # one product buffer for every chunk: a fresh array per chunk would fault its pages in again each time
    buffer = np.empty((n, chunk))
    for first in range(0, weights.nnz, chunk):
        gene = weights.gene[first : first + chunk]
        cols = weights.bin[first : first + chunk]
        values = np.take(X, cols, axis=1)
        contrib = np.multiply(values, weights.weight[first : first + chunk], out=buffer[:, : len(cols)])
        starts = np.flatnonzero(np.r_[True, gene[1:] != gene[:-1]])
        # a gene split between two chunks gets its two partial sums added; indices within a chunk are unique
        out[:, gene[starts]] += np.add.reduceat(contrib, starts, axis=1)
    return out


def scale_scores(scores: np.ndarray, scale_to: float) -> np.ndarray:
    """ArchR's scaleTo: each sample's scores divided by their sum over genes, times scale_to (0 where the sum is 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    total = scores.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, scale_to * scores / total, 0.0)


# ---------------------------------------------------------------- per-gene linear fit

class PerGeneLinear:
    """predicted[:, g] = intercept[g] + slope[g] * score[:, g]: ordinary least squares per gene, vectorised.

    Plain OLS, as users of these scores fit it: with 10-50 training samples a gene whose score barely varies
    can get an extreme slope, and a held-out sample with a score outside the training range then gets an
    extreme prediction. A gene whose score does not vary over the training samples (range at most
    `rel_tol` times its largest magnitude, or exactly 0) gets slope 0 and its training mean.
    """

    def __init__(self, rel_tol: float = 1e-9) -> None:
        self.rel_tol = rel_tol
        self.intercept_: np.ndarray | None = None
        self.slope_: np.ndarray | None = None
        self.constant_: np.ndarray | None = None

    def fit(self, scores: np.ndarray, Y: np.ndarray, rows: np.ndarray | None = None) -> "PerGeneLinear":
        """Fit on scores[rows], Y[rows] (samples x genes; rows=None: all rows). Other rows are never read."""
        scores = np.asarray(scores, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if scores.shape != Y.shape or scores.ndim != 2:
            raise InputError(f"scores {scores.shape} and targets {Y.shape} must both be samples x genes")
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
            scores, Y = scores[rows], Y[rows]
        if len(Y) == 0:
            raise InputError("the per-gene linear fit needs at least one training sample")
        x_mean = scores.mean(axis=0)
        y_mean = Y.mean(axis=0)
        xc = scores - x_mean
        sxx = (xc * xc).sum(axis=0)
        sxy = (xc * (Y - y_mean)).sum(axis=0)
        spread = np.ptp(scores, axis=0)
        constant = (spread <= self.rel_tol * np.abs(scores).max(axis=0)) | (sxx == 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(constant, 0.0, sxy / np.where(constant, 1.0, sxx))
        self.slope_ = slope
        self.intercept_ = y_mean - slope * x_mean
        self.constant_ = constant
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        if self.slope_ is None:
            raise RuntimeError("PerGeneLinear.predict before fit")
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != len(self.slope_):
            raise InputError(f"scores {scores.shape} do not match a fit of {len(self.slope_)} genes")
        return self.intercept_ + self.slope_ * scores


# ---------------------------------------------------------------- the baseline models

class GeneActivityScores:
    """A gene activity score (kind 'archr' or 'signac') plus a per-gene linear fit: samples x bins -> samples x genes.

    The weights depend on the geometry only and are built once, on first use. `weight_params` go to
    archr_weights / signac_weights (e.g. gene_upstream=2000, method="pyranges"). scale_to: ArchR's scaleTo
    applied to the scores over the dataset's genes (None, the default: raw weighted sums; module docstring).
    The fit is in the units of the Y it is given (log1p(TPM) by default in this project).
    """

    def __init__(self, kind: str, bins: pd.DataFrame, genes: pd.DataFrame, *, scale_to: float | None = None,
                 **weight_params: Any) -> None:
        if kind not in KINDS:
            raise InputError(f"gene activity kind '{kind}': choose one of {', '.join(KINDS)}")
        if scale_to is not None and scale_to <= 0:
            raise InputError(f"scale_to {scale_to}: must be positive")
        self.kind = kind
        self.bins, self.genes = bins, genes
        self.scale_to = scale_to
        self.weight_params = dict(weight_params)
        self._weights: GeneBinWeights | None = None
        self.linear = PerGeneLinear()

    @property
    def weights(self) -> GeneBinWeights:
        if self._weights is None:
            build = archr_weights if self.kind == "archr" else signac_weights
            self._weights = build(self.bins, self.genes, **self.weight_params)
            missing = int((~self._weights.genes_with_weights()).sum())
            if missing:
                log.warning("%d of %d genes have no bin in their %s gene activity window; their prediction is their training mean",
                            missing, self._weights.n_genes, self.kind)
        return self._weights

    @property
    def params(self) -> dict[str, Any]:
        return {"kind": self.kind, "scale_to": self.scale_to,
                **{k: (v.__name__ if callable(v) else v) for k, v in self.weight_params.items()}}

    def scores(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        scores = activity_scores(X, self.weights, rows)
        return scores if self.scale_to is None else scale_scores(scores, self.scale_to)

    def fit(self, X: np.ndarray, Y: np.ndarray, rows: np.ndarray | None = None) -> "GeneActivityScores":
        """Fit on the samples `rows` of X (samples x bins) and Y (samples x genes, target units); None: all."""
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != len(self.genes) or Y.shape[0] != np.asarray(X).shape[0]:
            raise InputError(f"targets {Y.shape} do not match {np.asarray(X).shape[0]} samples x {len(self.genes)} genes")
        rows_y = np.arange(len(Y)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.linear.fit(self.scores(X, rows), Y[rows_y])
        return self

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """samples x genes predictions (target units) for the samples `rows` of X (None: all)."""
        return self.linear.predict(self.scores(X, rows))

    def coefficients(self, gene: np.ndarray, bin_: np.ndarray) -> np.ndarray:
        """slope[gene] * W[gene, bin] for each (gene, bin) pair: what opening the bin adds to the gene's prediction
        (0 for a bin outside the gene's window). Needs a fit without scale_to, whose scores are linear in X."""
        if self.linear.slope_ is None:
            raise RuntimeError("GeneActivityScores.coefficients before fit")
        if self.scale_to is not None:
            raise InputError("with scale_to the scores are not linear in the bins: no coefficients")
        w = self.weights
        keys = w.gene * np.int64(w.n_bins) + w.bin  # sorted: the weights are sorted by gene then bin
        wanted = np.asarray(gene, dtype=np.int64) * np.int64(w.n_bins) + np.asarray(bin_, dtype=np.int64)
        found = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        inside = (keys[found] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
        return np.where(inside, self.linear.slope_[gene] * (w.weight[found] if len(keys) else 0.0), 0.0)
