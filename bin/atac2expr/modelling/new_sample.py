"""What a new sample is next to the training samples: the reference every model file carries, and the new-sample
report of -entry PREDICT.

A model is trained on some samples and asked about others: another lab's cell line, a new tissue, an assay of
another kind. Its predictions are as good as the new sample is like its training samples, so beside them
PREDICT says, per sample (new_samples.tsv):
  nearest_training_sample, similarity   the training sample whose open bins it shares most (cosine similarity of
                      the open bins, as tss_similarity's kernel: 1 the same bins, 0 none in common), and the similarity
  training_similarity_range   the lowest and highest similarity of a training sample to its nearest other training
                      sample: a new sample below the lowest is farther from every training sample than any training
                      sample is from the rest
  peaks, peaks_in_model_bins, share_of_peaks_in_model_bins   its peaks, and those on the chromosomes of the model's
                      bins (the rest cannot inform it)
  open_bins           its bins with a peak
  activity_kind       signal (the peaks' signalValue) or binary (the file has none: every peak reads as middling)
  activity_normalisation  what was done to make its activity comparable (promoter.py: ranks among its own peaks)
  promoter_baseline_spearman   across genes, the Spearman correlation of the model's predictions with the promoter
                      baseline's (below): how much the model's ranking of genes agrees with the sample's own promoters
and promoter_baseline.tsv: the promoter baseline's predictions (the sample's promoter activity mapped to expression
by the rule fitted across genes on the training samples, promoter.py) beside the model's, and each gene's training
mean, per sample and gene.

The reference (in every model file, modelling/model_file.py): the training samples' open bins (packed), the
promoter rule fitted on them, each gene's training mean, and what the model expects of a new sample's peaks
(REFERENCE_META: the bin size and the activity normalisation, the training samples' activity kinds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..dataset import pack_bits, unpack_bits
from ..formats import ACTIVITY_KINDS, NEW_SAMPLES
from . import kernels
from .promoter import PROMOTER_BP, PromoterBins, PromoterRule, activity_ranks

log = logging.getLogger(__name__)

NORMALISATION = (f"peaks binned by overlap; each bin's activity (the strongest overlapping peak's signalValue) as its rank among "
                 f"the sample's bins with a peak, divided by their number; promoter: the largest rank within {PROMOTER_BP} bp of the TSS")


def open_similarity(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(a, b) cosine similarity of the open bins of A's and B's samples."""
    return kernels.cosine(kernels.open_gram(A, B), (np.asarray(A) > 0).sum(axis=1), (np.asarray(B) > 0).sum(axis=1))


@dataclass
class Reference:
    """The training samples as a new sample is compared with them (module docstring)."""

    train_open: np.ndarray  # (n_train, bins) uint8
    promoter_rule: PromoterRule
    train_mean: np.ndarray  # (genes,) target units
    activity_kinds: list[str]

    @classmethod
    def of(cls, X: np.ndarray, Y: np.ndarray, activity: np.ndarray, activity_kinds, promoter_bins: PromoterBins) -> "Reference":
        """Y in the target's units."""
        promoter = np.concatenate([promoter_bins.activity(activity_ranks(row)) for row in activity])
        return cls((np.asarray(X) > 0).astype(np.uint8), PromoterRule().fit(promoter, Y), np.asarray(Y, dtype=np.float64).mean(0),
                   [str(k) for k in activity_kinds])

    def meta(self, bin_size: int) -> dict:
        return {"bin_size": int(bin_size), "activity_normalisation": NORMALISATION, "activity_kinds": list(self.activity_kinds)}

    def state(self) -> dict[str, np.ndarray]:
        return {"open_bits": pack_bits(self.train_open), "train_mean": self.train_mean,
                **{f"promoter_{k}": v for k, v in self.promoter_rule.state().items()}}

    @staticmethod
    def state_shapes(n_train: int, n_bins: int, n_genes: int) -> dict[str, tuple[int, ...]]:
        return {"open_bits": (n_train, -(-n_bins // 8)), "train_mean": (n_genes,),
                **{f"promoter_{k}": v for k, v in PromoterRule.state_shapes().items()}}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], n_bins: int, activity_kinds: list[str]) -> "Reference":
        rule = PromoterRule().load_state({k.removeprefix("promoter_"): v for k, v in state.items() if k.startswith("promoter_")})
        return cls(unpack_bits(state["open_bits"], n_bins), rule, np.asarray(state["train_mean"], dtype=np.float64), activity_kinds)

    def training_similarity_range(self) -> tuple[float, float]:
        """The lowest and highest similarity of a training sample to its nearest other training sample."""
        if len(self.train_open) < 2:
            return float("nan"), float("nan")
        K = open_similarity(self.train_open, self.train_open)
        np.fill_diagonal(K, -np.inf)
        nearest = K.max(axis=1)
        return float(nearest.min()), float(nearest.max())


def check_activity_kinds(reference: Reference, names: list[str], kinds: list[str]) -> None:
    """Say when new samples' peaks carry no signal while the training samples' did (or the reverse): their activity
    ranks then tie, and what reads activity reads every peak as middling."""
    trained = set(reference.activity_kinds)
    for name, kind in zip(names, kinds, strict=True):
        if kind not in ACTIVITY_KINDS:
            raise ValueError(f"activity kind {kind!r}")
        if kind not in trained:
            log.warning("%s: its peaks have %s activity, the model's training samples had %s; its activity ranks %s", name, kind,
                        " and ".join(sorted(trained)), "all tie (every peak reads as middling)" if kind == "binary" else
                        "are read as they are, but the training samples' were not")


def report(reference: Reference, train_samples: list[str], names: list[str], X: np.ndarray, activity: np.ndarray, kinds: list[str],
           predicted: np.ndarray, promoter_bins: PromoterBins, peak_counts: dict[str, tuple[int, int]] | None = None
           ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """(the new-sample table, formats.NEW_SAMPLES; the promoter baseline's predictions and promoter ranks, samples x genes).
    peak_counts: sample -> (peaks in its file, those on the model's chromosomes) when known."""
    open_ = (np.asarray(X) > 0).astype(np.uint8)
    K = open_similarity(open_, reference.train_open)
    low, high = reference.training_similarity_range()
    promoter = np.concatenate([promoter_bins.activity(activity_ranks(row)) for row in activity])
    baseline = reference.promoter_rule.predict(promoter)
    rows = []
    for i, name in enumerate(names):
        nearest = int(np.argmax(K[i]))
        peaks, on_model = (peak_counts or {}).get(name, (np.nan, np.nan))
        # Spearman: Pearson of the ranks (pandas' spearman needs scipy)
        spearman = (pd.Series(predicted[i]).rank().corr(pd.Series(baseline[i]).rank())
                    if np.ptp(baseline[i]) > 0 and np.ptp(predicted[i]) > 0 else np.nan)
        rows.append({"sample": name, "nearest_training_sample": train_samples[nearest], "similarity": float(K[i, nearest]),
                     "training_similarity_low": low, "training_similarity_high": high, "peaks": peaks, "peaks_in_model_bins": on_model,
                     "share_of_peaks_in_model_bins": on_model / peaks if peaks and peaks == peaks else np.nan,
                     "open_bins": int(open_[i].sum()), "activity_kind": kinds[i], "activity_normalisation": NORMALISATION,
                     "promoter_baseline_spearman": float(spearman)})
        below = " (below every training sample's similarity to its nearest other: a sample unlike any the model was trained on)" \
            if K[i, nearest] < low else ""
        log.info("%s: nearest training sample %s, similarity %.3f (training samples to their nearest other: %.3f-%.3f)%s", name,
                 train_samples[nearest], K[i, nearest], low, high, below)
    return pd.DataFrame(rows, columns=NEW_SAMPLES.columns), {"baseline": baseline, "promoter": promoter}
