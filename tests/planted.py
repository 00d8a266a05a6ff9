"""Small synthetic Datasets with a planted signal, shared by the model tests (not a test module itself).

Each gene's log1p(TPM) = base + effect * (bin of its TSS is open) + small noise, so a model that reads the
bins near a TSS can beat the per-gene mean on held-out samples, and a per-gene mean cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from atac2expr import dataset, regions

# The test networks are tiny: one thread is several times faster than two threads on shared cores.
torch.set_num_threads(1)

DEFAULT_REGION = "chr1:1-120000,chr2:1-60000"


def make_planted(
    n_samples: int = 24, n_genes: int = 16, region: str = DEFAULT_REGION, bin_size: int = 1000,
    seed: int = 0, p_open: float = 0.4, effect: float = 2.0, noise: float = 0.05, constant_genes: int = 0,
    genes: pd.DataFrame | None = None,
) -> dataset.Dataset:
    rng = np.random.default_rng(seed)
    regs = regions.parse_regions(region)
    bins = regions.make_bins(regs, bin_size)
    n_bins = len(bins)
    X = (rng.random((n_samples, n_bins)) < p_open).astype(np.uint8)
    if genes is None:
        tss_bin = rng.choice(n_bins, size=n_genes, replace=False)
        strand = np.where(rng.random(n_genes) < 0.5, "+", "-")
        tss = bins["start"].to_numpy()[tss_bin] + bin_size // 2
        start = np.where(strand == "+", tss, tss - 2000)
        end = np.where(strand == "+", tss + 2000, tss + 1)
        genes = pd.DataFrame({
            "gene_id": [f"ENSG{i:011d}" for i in range(n_genes)], "gene_name": [f"G{i}" for i in range(n_genes)],
            "chrom": bins["chrom"].to_numpy()[tss_bin], "start": start, "end": end, "strand": strand, "tss": tss,
        })
    key = {(c, s): i for i, (c, s) in enumerate(zip(bins["chrom"], bins["start"]))}
    tss_bin = np.array([key[(c, t - t % bin_size)] for c, t in zip(genes["chrom"], genes["tss"])])
    n_genes = len(genes)
    base = rng.uniform(1.0, 3.0, n_genes)
    logy = base[None, :] + effect * X[:, tss_bin] + noise * rng.standard_normal((n_samples, n_genes))
    if constant_genes:
        logy[:, :constant_genes] = 0.0  # never expressed
    Y = np.expm1(np.clip(logy, 0, None)).astype(np.float32)
    samples = np.array([f"S{i:02d}" for i in range(n_samples)])
    return dataset.Dataset(X, Y, samples, bins, genes.reset_index(drop=True), regions.format_regions(regs), bin_size)


def write_planted(path: Path, **kwargs) -> dataset.Dataset:
    ds = make_planted(**kwargs)
    dataset.save_dataset(ds, path)
    return ds
