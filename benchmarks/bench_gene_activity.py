#!/usr/bin/env python3
"""Benchmark (not a test): gene activity weights (ArchR, Signac) and scores at genome scale, numpy vs pyranges joins.

Default size: 1 kb bins over the GRCh38 chromosomes 1-22, X, Y of assets/GRCh38.chrom.sizes (3.1 M bins, each
chromosome's last bin shorter), 20,000 genes placed like real genes (chromosome by length, random start, length
log-normal with median 24 kb (mean about 40 kb), both strands), 50 samples with about 5% of bins open.

Each stage runs in a forked child (the inputs inherited, nothing left behind for the next stage) and prints its
wall time (the fastest of --repeat runs), the child's peak resident memory (VmHWM, Linux: the inputs included; it
starts at the RSS inherited at the fork) and the rise of that peak over the child's starting RSS: the stage's own
memory.

  benchmarks/bench_gene_activity.py                    # full size
  benchmarks/bench_gene_activity.py --quick            # a tenth of each chromosome, 2,000 genes, 10 samples
  benchmarks/bench_gene_activity.py --genes 5000 --samples 20 --no-pyranges
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atac2expr import regions
from atac2expr.modelling import gene_activity as ga

REPO = Path(__file__).resolve().parents[1]

GRCH38 = REPO / "assets" / "GRCh38.chrom.sizes"
MAIN_CHROMS = [str(c) for c in range(1, 23)] + ["X", "Y"]


def chromosome_sizes(scale: float) -> pd.DataFrame:
    sizes = pd.read_csv(GRCH38, sep="\t", header=None, usecols=[0, 1], names=["chrom", "length"], dtype={"chrom": str})
    sizes["chrom"] = regions.normalize_chroms(sizes["chrom"])
    sizes = sizes[sizes["chrom"].isin(MAIN_CHROMS)].reset_index(drop=True)
    sizes["length"] = np.maximum(1, np.round(sizes["length"].to_numpy() * scale)).astype(np.int64)
    return sizes


def genome_bins(sizes: pd.DataFrame, bin_size: int) -> pd.DataFrame:
    """Bins of every chromosome from 0 to its end; the last one ends at the chromosome's end."""
    counts = -(-sizes["length"].to_numpy() // bin_size)
    chrom = np.repeat(sizes["chrom"].to_numpy(), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    start = (np.arange(counts.sum(), dtype=np.int64) - first) * bin_size
    end = np.minimum(start + bin_size, np.repeat(sizes["length"].to_numpy(), counts))
    return pd.DataFrame({"chrom": chrom, "start": start, "end": end})


def synthetic_genes(sizes: pd.DataFrame, n_genes: int, rng: np.random.Generator) -> pd.DataFrame:
    lengths = sizes["length"].to_numpy()
    pick = rng.choice(len(sizes), n_genes, p=lengths / lengths.sum())
    chrom_len = lengths[pick]
    glen = np.clip(np.round(rng.lognormal(np.log(24_000), 1.0, n_genes)), 200, None).astype(np.int64)
    glen = np.minimum(glen, np.maximum(chrom_len - 1, 1))
    start = (rng.random(n_genes) * (chrom_len - glen)).astype(np.int64)
    strand = rng.choice(np.array(["+", "-"]), n_genes)
    end = start + glen
    return pd.DataFrame({
        "gene_id": [f"G{i:05d}" for i in range(n_genes)], "gene_name": [f"G{i:05d}" for i in range(n_genes)],
        "chrom": sizes["chrom"].to_numpy()[pick], "start": start, "end": end, "strand": strand,
        "tss": np.where(strand == "-", end - 1, start),
    })


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _stage(fn: Callable[[], Any], repeat: int, keep: bool, conn) -> None:
    """In a forked child: its VmHWM starts at its RSS (the inherited inputs), so the rise is the stage's own need."""
    rss_start = _status_kib("VmRSS")
    best = float("inf")
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    conn.send((best, rss_start, _status_kib("VmHWM"), result if keep else None))
    conn.close()


def measure(rows: list[dict[str, Any]], name: str, fn: Callable[[], Any], repeat: int = 1, keep: bool = True) -> Any:
    """Run fn (`repeat` times) in a forked child; record the fastest run, the child's peak RSS and its rise."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_stage, args=(fn, repeat, keep, child))
    process.start()
    child.close()
    seconds, rss_start, peak, result = parent.recv()
    process.join()
    rows.append({"stage": name, "seconds": seconds, "peak_gib": peak / 2**20, "rise_gib": (peak - rss_start) / 2**20})
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each chromosome's length")
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--bin_size", type=int, default=1000)
    parser.add_argument("--open_fraction", type=float, default=0.05)
    parser.add_argument("--no-pyranges", dest="pyranges", action="store_false", help="skip the pyranges joins")
    parser.add_argument("--quick", action="store_true", help="--scale 0.1 --genes 2000 --samples 10")
    parser.add_argument("--repeat", type=int, default=1, help="time each stage this many times and keep the fastest (a busy machine)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.genes, args.samples = 0.1, 2000, 10

    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(args.seed)
    sizes = chromosome_sizes(args.scale)

    def make_inputs():
        bins = genome_bins(sizes, args.bin_size)
        genes = synthetic_genes(sizes, args.genes, rng)
        X = np.empty((args.samples, len(bins)), dtype=np.uint8)
        for i in range(args.samples):  # row by row: no samples x bins float temporary
            X[i] = rng.random(len(bins), dtype=np.float32) < args.open_fraction
        return bins, genes, X

    t = time.perf_counter()
    bins, genes, X = make_inputs()
    rows.append({"stage": "synthetic bins, genes, X (in the parent)", "seconds": time.perf_counter() - t,
                 "peak_gib": _status_kib("VmHWM") / 2**20, "rise_gib": float("nan")})

    # the join alone, on the Signac intervals and on the ArchR windows
    sb = ga._SortedBins.of(bins)
    g = ga._Genes.of(genes)
    code = sb.codes_of(g.chrom)
    s_start, s_end = g.extend(2000, 0)
    ext_start, ext_end = g.extend(5000, 0)
    w_start, w_end = ga.archr_windows(g, ext_start, ext_end, extend_upstream=(1000, 100_000), extend_downstream=(1000, 100_000),
                                      use_gene_boundaries=True, tile_size=args.bin_size)
    methods = ["numpy", "pyranges"] if args.pyranges else ["numpy"]
    pairs = {}
    for method in methods:
        pairs[("signac", method)] = measure(rows, f"join only, Signac intervals ({method})",
                                            lambda m=method: len(ga._overlaps(sb, code, s_start, s_end, m)[0]), args.repeat)
        pairs[("archr", method)] = measure(rows, f"join only, ArchR windows ({method})",
                                           lambda m=method: len(ga._overlaps(sb, code, w_start, w_end, m)[0]), args.repeat)

    weights = {}
    for method in methods:
        weights[("archr", method)] = measure(rows, f"ArchR weights ({method} join)",
                                             lambda m=method: ga.archr_weights(bins, genes, method=m), args.repeat)
        weights[("signac", method)] = measure(rows, f"Signac weights ({method} join)",
                                              lambda m=method: ga.signac_weights(bins, genes, method=m), args.repeat)
    if args.pyranges:
        for kind in ("archr", "signac"):
            a, b = weights[(kind, "numpy")], weights[(kind, "pyranges")]
            same = np.array_equal(a.gene, b.gene) and np.array_equal(a.bin, b.bin) and np.array_equal(a.weight, b.weight)
            if not same:
                print(f"WARNING: {kind} weights differ between the numpy and pyranges joins")

    scores = {}
    for kind in ("archr", "signac"):
        scores[kind] = measure(rows, f"{kind} scores ({args.samples} samples)",
                               lambda k=kind: ga.activity_scores(X, weights[(k, "numpy")]), args.repeat)

    n_train = max(1, int(round(0.8 * args.samples)))
    train, test = np.arange(n_train), np.arange(n_train, args.samples)
    Y = np.log1p(rng.gamma(1.0, 10.0, (args.samples, args.genes)))
    fit = measure(rows, f"per-gene linear fit ({n_train} samples)", lambda: ga.PerGeneLinear().fit(scores["archr"][train], Y[train]))
    measure(rows, "per-gene linear predict", lambda: fit.predict(scores["archr"][test]), keep=False)
    # one cross-validation fold as the evaluation runs it: weights, scores of the rows, fit, predict
    for kind in ("archr", "signac"):
        measure(rows, f"{kind} model: fit {len(train)} + predict {len(test)} samples",
                lambda k=kind: ga.GeneActivityScores(k, bins, genes).fit(X, Y, rows=train).predict(X, rows=test), args.repeat, keep=False)

    print(f"Gene activity benchmark: {len(bins):,} bins of {args.bin_size} bp over {len(sizes)} chromosomes "
          f"(GRCh38 x {args.scale:g}), {args.genes:,} genes, {args.samples} samples, {X.mean():.3f} of bins open, "
          f"numpy {np.__version__}, pandas {pd.__version__}")
    print(f"  {'stage':<48s} {'time (s)':>9s} {'peak RSS (GiB)':>15s} {'stage rise (GiB)':>17s}")
    for row in rows:
        print(f"  {row['stage']:<48s} {row['seconds']:9.2f} {row['peak_gib']:15.2f} {row['rise_gib']:17.2f}")
    for kind in ("archr", "signac"):
        w = weights[(kind, "numpy")]
        print(f"  {kind}: {w.nnz:,} nonzero weights ({w.nnz / max(w.n_genes, 1):.0f} per gene), "
              f"{int((~w.genes_with_weights()).sum())} genes without bins, {(w.gene.nbytes + w.bin.nbytes + w.weight.nbytes) / 2**20:.0f} MiB")
    for (kind, method), count in pairs.items():
        print(f"  join pairs {kind} ({method}): {count:,}")
    print(f"  X: {X.nbytes / 2**20:,.0f} MiB uint8; scores: {scores['archr'].nbytes / 2**20:.1f} MiB float64 each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
