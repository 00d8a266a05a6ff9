"""A sample's own chromatin, made comparable between samples, assays and peak callers; the promoter baseline.

Peaks come from different assays (ATAC-seq, DNase-seq) and callers (MACS2's variable-width peaks with fold
enrichment, ENCODE's fixed 150 bp uniform peaks with their own signal scale), so the raw signalValue of one sample
means nothing next to another's. What the models that read a sample's own chromatin use instead:

- Activity ranks. Each bin's activity (the strongest overlapping peak's signalValue, dataset.py) becomes its rank
  among the same sample's bins with a peak, divided by their number: in (0, 1], 1 the sample's strongest, 0 where no
  peak. Ranks do not depend on the signal's scale or units, nor on how many peaks were called (a deeper call adds
  weak peaks at the bottom, it does not move the strong ones). Ties share their mean rank, so a sample whose peaks
  carry no signal (activity 1 per open bin) reads as every peak being of middling strength (about 0.5).
- Bins by overlap. A peak counts in every bin it overlaps (the pipeline's binning). With 1 kb bins a 150 bp uniform
  peak opens one bin (two when it crosses an edge) and a MACS2 peak of 300-2,000 bp one to three: the bins of the two
  kinds of peaks differ little. benchmarks/bench_real_cv.py --heldout_peaks summit150 measures it on the real data
  (each held-out sample's peaks re-cut to 150 bp around their summits, as K562's uniform DNase peaks are).
- Promoter activity. A gene's promoter activity in a sample is the largest activity rank among the bins within
  PROMOTER_BP of its TSS (0 when no peak is there).

The promoter baseline (`promoter` in the evaluation) maps promoter activity to expression by one rule fitted across
genes on the training samples: promoters with a peak are cut into PROMOTER_LEVELS classes at the quantiles of the
training samples' promoter ranks, and each class predicts the mean expression of the training (sample, gene) pairs
in it; no peak is a class of its own. It knows nothing of a gene's own level, only of its promoter in the sample:
what one number read from a new sample's peaks says, the baseline a model of a new cell type has to beat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .gene_activity import bins_overlapping

PROMOTER_BP = 1000  # bp either side of the TSS
PROMOTER_LEVELS = 20  # quantile classes of the promoter ranks with a peak (plus one for no peak)
_PAD = 2.0  # above every rank: the padding of a saved rule's edges


def activity_ranks(activity: np.ndarray) -> np.ndarray:
    """Each sample's (row's) activity as ranks among its own nonzero bins, divided by their number (module docstring);
    float32, 0 where the activity is 0."""
    activity = np.atleast_2d(np.asarray(activity))
    out = np.zeros(activity.shape, dtype=np.float32)
    for row, values in enumerate(activity):
        nonzero = np.flatnonzero(values > 0)
        if len(nonzero):
            ranks = pd.Series(values[nonzero].astype(np.float64)).rank(method="average").to_numpy()
            out[row, nonzero] = ranks / len(nonzero)
    return out


class PromoterBins:
    """Which bins are each gene's promoter: (gene row, bin row) pairs of the bins within PROMOTER_BP of the TSS."""

    def __init__(self, bins: pd.DataFrame, genes: pd.DataFrame) -> None:
        tss = genes["tss"].to_numpy(np.int64)
        self.gene, self.bin = bins_overlapping(bins, genes["chrom"].to_numpy(str), tss - PROMOTER_BP, tss + PROMOTER_BP + 1)
        self.n_genes = len(genes)

    def activity(self, ranks: np.ndarray) -> np.ndarray:
        """(samples, genes): the largest activity rank of each gene's promoter bins (0 where it has none)."""
        ranks = np.atleast_2d(ranks)
        out = np.zeros((len(ranks), self.n_genes))
        for row, values in enumerate(ranks):
            np.maximum.at(out[row], self.gene, values[self.bin].astype(np.float64))
        return out


class PromoterRule:
    """Expression from promoter activity, one rule for all genes: the mean expression of each class of promoter rank
    over the training (sample, gene) pairs (module docstring)."""

    def fit(self, promoter: np.ndarray, Y: np.ndarray) -> "PromoterRule":
        x, y = np.asarray(promoter, dtype=np.float64).ravel(), np.asarray(Y, dtype=np.float64).ravel()
        with_peak = x[x > 0]
        self.edges = (np.unique(np.quantile(with_peak, np.linspace(0, 1, PROMOTER_LEVELS + 1)[1:-1])) if len(with_peak)
                      else np.zeros(0))
        classes = self.classes(x)
        counts = np.bincount(classes, minlength=len(self.edges) + 2)
        sums = np.bincount(classes, weights=y, minlength=len(self.edges) + 2)
        overall = float(y.mean()) if len(y) else 0.0
        self.levels = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
        return self

    def classes(self, promoter: np.ndarray) -> np.ndarray:
        """0: no peak at the promoter; 1..: the quantile class of the rank."""
        promoter = np.asarray(promoter, dtype=np.float64)
        return np.where(promoter > 0, 1 + np.searchsorted(self.edges, promoter, side="right"), 0)

    def predict(self, promoter: np.ndarray) -> np.ndarray:
        return self.levels[self.classes(promoter)]

    def state(self) -> dict[str, np.ndarray]:
        edges = np.full(PROMOTER_LEVELS - 1, _PAD)
        edges[: len(self.edges)] = self.edges  # fixed shape: repeated quantiles leave fewer edges, padded past any rank
        levels = np.full(PROMOTER_LEVELS + 1, np.nan)
        levels[: len(self.levels)] = self.levels
        return {"edges": edges, "levels": np.nan_to_num(levels, nan=float(self.levels[-1]) if len(self.levels) else 0.0)}

    @staticmethod
    def state_shapes() -> dict[str, tuple[int, ...]]:
        return {"edges": (PROMOTER_LEVELS - 1,), "levels": (PROMOTER_LEVELS + 1,)}

    def load_state(self, state: dict[str, np.ndarray]) -> "PromoterRule":
        edges = np.asarray(state["edges"], dtype=np.float64)
        self.edges = edges[edges <= 1.0]
        self.levels = np.asarray(state["levels"], dtype=np.float64)[: len(self.edges) + 2]
        return self
