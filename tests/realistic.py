"""A second planted dataset that behaves like real cell types, for the model tests (not a test module itself).

The planted data of tests/make_test_data.py rewards any additive model: every gene is driven by a few bins, and
ridge on all bins wins by construction. Real data (sorted blood cell types, bulk ATAC-seq and RNA-seq) is not
like that, and this generator plants what it is like instead:
- few samples (14 by default) of cell types related by a lineage tree: each cell type runs the programs of its
  lineage and of itself, so cell types share open chromatin as they share ancestry (the sample similarity that
  ridge on all bins exploits);
- most genes explain nothing: about a third are silent (no reads, though their promoter is open in some cell
  types, as 27-48% of silent genes are in real data), a third are housekeeping genes (promoter open everywhere,
  expression steady up to noise), and a third are regulated;
- a regulated gene follows one program: its promoter opens where the program runs (the main signal, as in real
  data, where over 90% of expressed genes have a peak at their TSS) and one or two distal enhancers within 50 kb
  add a smaller effect;
- every expressed gene also moves a little with two programs of its cell type through no chromatin of its own
  (trans effects): only the similarity between cell types predicts that part;
- the rest of the open chromatin carries no signal: program-specific bystander peaks, constitutive peaks and
  random peaks per sample;
- expression is read out as counts of a library of 20-80 million reads, then CPM: low-expressed genes are noisy;
- each open bin has an activity (a peak's signalValue): log-normal on a scale of its sample's own (peak callers'
  scales differ), higher at the promoter of a gene the more it is expressed; each sample's group is its lineage.
Everything is seeded: the same arguments give the same dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from planted import SIZES

from atac2expr import dataset, regions

# a lineage tree of cell types: name -> the programs it runs (its lineage's, its own; progenitors share a stem program)
CELL_TYPES = {
    "HSC": ("stem",), "MPP": ("stem", "myeloid", "lymphoid"), "CLP": ("stem", "lymphoid"), "GMP": ("stem", "myeloid"),
    "B": ("lymphoid", "b_cell"), "CD4": ("lymphoid", "t_cell", "cd4"), "CD8": ("lymphoid", "t_cell", "cd8"),
    "NK": ("lymphoid", "nk"), "Mono": ("myeloid", "mono"), "pDC": ("myeloid", "lymphoid", "dc"),
    "Ery": ("erythroid",), "MEP": ("stem", "erythroid"), "Mega": ("erythroid", "mega"), "Neu": ("myeloid", "neu"),
}
PROGRAMS = tuple(sorted({p for programs in CELL_TYPES.values() for p in programs}))
# each cell type's lineage: the dataset's groups (leave-group-out folds hold out a whole lineage)
LINEAGES = {"HSC": "progenitor", "MPP": "progenitor", "CLP": "progenitor", "GMP": "progenitor", "MEP": "progenitor",
            "B": "lymphoid", "CD4": "lymphoid", "CD8": "lymphoid", "NK": "lymphoid",
            "Mono": "myeloid", "pDC": "myeloid", "Neu": "myeloid", "Ery": "erythroid", "Mega": "erythroid"}


@dataclass
class Truth:
    """What the generator planted: each gene's class and program, and the bins that drive it."""

    gene_class: np.ndarray  # silent / housekeeping / regulated
    program: np.ndarray  # the program of a regulated gene ('' otherwise)
    drivers: pd.DataFrame  # gene index, bin index, role (promoter / enhancer), effect


def make_realistic(n_genes: int = 300, region: str = "chr1:1-6000000", bin_size: int = 1000, seed: int = 0,
                   shares: tuple[float, float, float] = (0.3, 0.25, 0.45), promoter_effect: float = 4.0,
                   enhancer_effect: float = 0.8, trans_effect: float = 0.5, noise: float = 0.35) -> tuple[dataset.Dataset, Truth]:
    """(dataset, truth). shares: silent, housekeeping and regulated genes; effects (trans_effect: the sd of a gene's
    response to each of its two trans programs) and noise in log units."""
    rng = np.random.default_rng(seed)
    layout = regions.BinLayout.of(regions.parse_regions(region, SIZES), bin_size)
    bins = layout.bins()
    n_bins, samples = len(bins), list(CELL_TYPES)
    n = len(samples)
    active = np.array([[p in CELL_TYPES[s] for p in PROGRAMS] for s in samples])  # samples x programs

    # genes: TSSs spread along the region, 20 kb apart on average, each in its own bin
    tss_bin = np.sort(rng.choice(np.arange(60, n_bins - 60), size=n_genes, replace=False))
    strand = np.where(rng.random(n_genes) < 0.5, "+", "-")
    tss = bins["start"].to_numpy()[tss_bin] + rng.integers(0, bin_size, n_genes)
    length = rng.integers(2_000, 60_000, n_genes)
    start = np.where(strand == "+", tss, np.maximum(tss - length, 0))
    end = np.where(strand == "+", tss + length, tss + 1)
    genes = pd.DataFrame({
        "gene_id": [f"ENSG9{i:010d}" for i in range(n_genes)], "gene_name": [f"R{i}" for i in range(n_genes)],
        "gene_biotype": "protein_coding", "chrom": bins["chrom"].to_numpy()[tss_bin], "start": start, "end": end,
        "strand": strand, "tss": tss,
    })
    kind = rng.choice(np.array(["silent", "housekeeping", "regulated"]), size=n_genes, p=np.asarray(shares) / sum(shares))
    program = np.where(kind == "regulated", rng.choice(np.array(PROGRAMS), size=n_genes), "")

    # accessibility with no signal: constitutive (~2% of bins), program bystanders (~3% per program), random (~1%)
    X = (rng.random((n, n_bins)) < 0.01).astype(np.uint8)
    X[:, rng.random(n_bins) < 0.02] = 1
    for p in range(len(PROGRAMS)):
        sites = rng.random(n_bins) < 0.03
        X[np.ix_(active[:, p], sites)] |= (rng.random((int(active[:, p].sum()), int(sites.sum()))) < 0.85).astype(np.uint8)

    def opens_with(p_index: int, p_on: float, p_off: float) -> np.ndarray:
        return np.where(active[:, p_index], rng.random(n) < p_on, rng.random(n) < p_off).astype(np.uint8)

    logy = np.zeros((n, n_genes))
    driver_rows = []
    tss_bins = set(tss_bin.tolist())
    for g in range(n_genes):
        b = tss_bin[g]
        if kind[g] == "silent":
            X[:, b] = rng.random(n) < rng.uniform(0.1, 0.5)  # an open promoter does not make a silent gene expressed
            logy[:, g] = -8.0
        elif kind[g] == "housekeeping":
            X[:, b] = 1
            logy[:, g] = rng.uniform(2.0, 6.0) + 0.1 * rng.standard_normal(n)
        else:
            p_index = PROGRAMS.index(program[g])
            promoter = opens_with(p_index, 0.95, 0.08)
            X[:, b] = promoter
            logy[:, g] = rng.uniform(-5.0, -2.0) + promoter_effect * promoter
            driver_rows.append((g, b, "promoter", promoter_effect))
            for _ in range(rng.integers(1, 3)):
                e = int(np.clip(b + rng.integers(-50, 51), 0, n_bins - 1))
                if e in tss_bins:  # an enhancer is not another gene's promoter
                    continue
                enhancer = opens_with(p_index, 0.9, 0.05)
                X[:, e] = enhancer
                logy[:, g] += enhancer_effect * enhancer
                driver_rows.append((g, e, "enhancer", enhancer_effect))
            logy[:, g] += noise * rng.standard_normal(n)
    expressed = kind != "silent"
    trans = np.zeros((len(PROGRAMS), n_genes))
    for g in np.flatnonzero(expressed):
        trans[rng.choice(len(PROGRAMS), size=2, replace=False), g] = trans_effect * rng.standard_normal(2)
    logy[:, expressed] += (active @ trans)[:, expressed]
    # read out as counts: CPM of a library of 20-80 M reads (silent genes get the odd stray read)
    library = rng.uniform(20e6, 80e6, n)
    share = np.exp(logy) / np.exp(logy).sum(axis=1, keepdims=True) * 0.3  # these genes hold 30% of the reads
    counts = rng.poisson(share * library[:, None])
    Y = counts / library[:, None] * 1e6
    # activity: each sample's own scale, log-normal spread, promoters of expressed genes stronger the more expressed
    activity = X * np.exp(rng.normal(0.0, 0.6, (n, n_bins)) + rng.uniform(0.0, 2.0, (n, 1)))
    activity[:, tss_bin] *= np.exp(0.25 * np.clip(np.log1p(Y), 0, None))
    ds = dataset.Dataset(X.astype(np.uint8), Y, np.array(samples), layout, genes, "binary", np.full(n, "signal"),
                         activity.astype(np.float32), groups=np.array([LINEAGES[s] for s in samples]))
    truth = Truth(kind, program, pd.DataFrame(driver_rows, columns=["gene", "bin", "role", "effect"]))
    return ds, truth
