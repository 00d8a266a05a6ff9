"""The blend: a new sample's own chromatin and its similarity to the training samples, weighed by how new it is.

A sample from a cell type the training samples do not cover has no close relative among them: what tss_similarity
leans on (which training samples it resembles) says little, and each gene's training mean can be far off. What is
left is the sample's own chromatin around each gene. The blend predicts gene g in a new sample s as

    mean_g + sum_k (a_k + b_k * similarity_s) * part_k(g, s)

where similarity_s is the new sample's cosine similarity to its nearest training sample (open bins, as
tss_similarity's kernel) and the parts are deviations from the gene's training mean:
  rule        the tss_window rule on activity ranks (promoter.py): weights shared by all genes by distance to the TSS,
              fitted on each gene's standardised deviations, times the gene's training sd (the within-gene part)
  similarity  per-gene kernel ridge, on the cosine similarity of whole samples, of what the rule leaves (penalty
              SIMILARITY_PENALTY; tss_similarity's similarity part)
  promoter change   the between-gene promoter rule (promoter.PromoterRule: promoter activity -> expression,
              fitted across genes) at the new sample's promoter minus its mean over the training samples
  promoter level    the same rule's level minus the gene's training mean, times sd_g^2 / (sd_g^2 + v), v the rule's
              residual variance across genes: a gene that varies between the training samples takes more of what
              its promoter says than one that never moves
The eight weights (a_k, b_k) are fitted by weighted least squares, pooled over genes, each gene weighing
1 / (its training variance + the median gene's): the held-out R² pools squared errors (the few highly variable genes
dominate it) while the median per-gene R² counts every gene alike, and this weighs a gene by its variance up to the
median gene's and alike beyond. They are fitted on predictions made inside the training samples for samples left
out of them, two ways:
  - each training sample left out alone (a new sample with close relatives among the training samples), and
  - each group left out whole (the samplesheet's `group` column: a new lineage, tissue, donor or lab). Without
    groups (or with one), the training samples are clustered by the same similarity (average linkage, round(sqrt(n))
    clusters, at least 2) and each cluster is left out in turn: samples whose chromatin is alike stand in for a group.
The left-out samples' similarity to the rest spans both situations, so the weights say how much of each part to
trust at each similarity; a new sample's similarity is clamped to the range seen there. The gene's training mean
is itself a candidate (kernels.choose_with_mean_gate over the left-out sets, each set's error that of weights fitted
on the other sets): where the parts do not predict left-out samples, the blend is the mean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..dataset import pack_bits, unpack_bits
from . import kernels
from .promoter import PromoterBins, PromoterRule, activity_ranks
from .tss_window import class_sums, fit_theta

log = logging.getLogger(__name__)

PARTS = ("rule", "similarity", "promoter_change", "promoter_level")
SIMILARITY_PENALTY = 0.1  # the middle of tss_similarity's grid; the blend's weight scales the part
_WEIGHT_RIDGE = 1e-6  # times the trace: numerical safety of the weights' normal equations only


@dataclass
class SampleChromatin:
    """What the blend reads of samples: promoter activity ranks (n, G), activity-rank sums per distance class
    (n, G, C) and the open bins (n, bins; uint8)."""

    promoter: np.ndarray
    classes: np.ndarray
    open: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray, activity: np.ndarray, index: np.ndarray, distance_classes: np.ndarray,
           promoter_bins: PromoterBins) -> "SampleChromatin":
        n = len(X)
        promoter = np.zeros((n, promoter_bins.n_genes))
        sums = np.zeros((n, index.shape[0], int(distance_classes.max()) + 1 if len(distance_classes) else 0))
        for row in range(n):  # one sample's ranks at a time: a genome of ranks for every sample is gigabytes
            ranks = activity_ranks(activity[row])
            promoter[row] = promoter_bins.activity(ranks)[0]
            sums[row] = class_sums(ranks, index, distance_classes)[0]
        return cls(promoter, sums, (np.asarray(X) > 0).astype(np.uint8))

    def rows(self, rows: np.ndarray) -> "SampleChromatin":
        return SampleChromatin(self.promoter[rows], self.classes[rows], self.open[rows])


def cosine_similarity(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(a, b) cosine similarity of the samples' open bins (tss_similarity's kernel)."""
    return kernels.cosine(kernels.open_gram(A, B), (np.asarray(A) > 0).sum(axis=1), (np.asarray(B) > 0).sum(axis=1))


def _scaled(Kc: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.trace(Kc) / len(Kc)) if len(Kc) else 0.0
    return (Kc / scale, scale) if scale > 0 else (Kc, 1.0)


class Parts:
    """The four parts fitted on a set of reference (training) samples, for any new samples."""

    def __init__(self, Y: np.ndarray, chromatin: SampleChromatin, K: np.ndarray) -> None:
        """Y (m, G) targets, chromatin of the same m samples, K (m, m) their similarity."""
        self.y_mean = Y.mean(0)
        self.theta, _, self.y_sd, self.a_mean = fit_theta(chromatin.classes, Y)
        rule = self.y_sd * ((chromatin.classes - self.a_mean) @ self.theta)
        self.K_train = K
        Kc, self.scale = _scaled(kernels.centre_train(K))
        ridge = kernels.EigenRidge(Kc, Y - self.y_mean - rule)
        self.r_mean, self.dual = ridge.r_mean, ridge.dual(SIMILARITY_PENALTY)
        self.promoter_rule = PromoterRule().fit(chromatin.promoter, Y)
        self._promoter_derived(chromatin.promoter, Y)

    def _promoter_derived(self, promoter: np.ndarray, Y: np.ndarray) -> None:
        level = self.promoter_rule.predict(promoter)
        self.level_mean = level.mean(0)
        residual_variance = float(((Y - level) ** 2).mean())
        self.level_share = self.y_sd**2 / (self.y_sd**2 + residual_variance) if residual_variance > 0 else np.ones_like(self.y_sd)

    def predict(self, promoter: np.ndarray, classes: np.ndarray, K_new: np.ndarray) -> np.ndarray:
        """(s, G, parts): each part's deviation from the gene's training mean for new samples (K_new: (s, m))."""
        rule = self.y_sd * ((classes - self.a_mean) @ self.theta)
        similarity = self.r_mean + kernels.apply_dual(kernels.centre_cross(K_new, self.K_train) / self.scale, self.dual)
        level = self.promoter_rule.predict(promoter)
        return np.stack([rule, similarity, level - self.level_mean, self.level_share * (level - self.y_mean)], axis=-1)


def similarity_clusters(K: np.ndarray, k: int) -> np.ndarray:
    """Cluster label (0..k-1) of each sample: average-linkage agglomeration on 1 - K until k clusters remain."""
    n = len(K)
    clusters = [[i] for i in range(n)]
    distance = 1.0 - np.asarray(K, dtype=np.float64)
    while len(clusters) > max(1, k):
        best, pair = np.inf, (0, 1)
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                d = distance[np.ix_(clusters[i], clusters[j])].mean()
                if d < best:
                    best, pair = d, (i, j)
        i, j = pair
        clusters[i] = clusters[i] + clusters[j]
        del clusters[j]
    labels = np.empty(n, dtype=np.int64)
    for label, members in enumerate(sorted(clusters, key=min)):
        labels[members] = label
    return labels


def left_out_sets(groups: np.ndarray | None, K: np.ndarray) -> tuple[list[np.ndarray], str]:
    """The sets of training samples left out in turn (module docstring) and how the groups were made."""
    n = len(K)
    sets = [np.array([i]) for i in range(n)]
    if groups is not None and len(set(groups)) >= 2:
        labels, how = np.unique(np.asarray(groups).astype(str), return_inverse=True)[1], "the samples' groups"
    else:
        k = max(2, int(round(np.sqrt(n))))
        labels, how = similarity_clusters(K, k), f"{k} clusters of similar samples (no groups given)"
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if 1 < len(members) <= n - 2:  # alone: already left out; the rest must keep at least 2 samples
            sets.append(members)
    return sets, how


class Blend:
    """The fitted blend: the parts on all training samples, the weights, and the similarity range they were fitted on."""

    def __init__(self, index: np.ndarray, distance_classes: np.ndarray, promoter_bins: PromoterBins) -> None:
        self.index, self.distance_classes, self.promoter_bins = index, distance_classes, promoter_bins

    def chromatin(self, X: np.ndarray, activity: np.ndarray) -> SampleChromatin:
        return SampleChromatin.of(X, activity, self.index, self.distance_classes, self.promoter_bins)

    def fit(self, X: np.ndarray, Y: np.ndarray, activity: np.ndarray, groups: np.ndarray | None = None) -> dict:
        Y = np.asarray(Y, dtype=np.float64)
        n = len(Y)
        chromatin = self.chromatin(X, activity)
        K = cosine_similarity(chromatin.open, chromatin.open)
        self.parts = Parts(Y, chromatin, K)
        self.train_open = chromatin.open
        self.weights, self.similarity_range, self.use_mean = np.zeros((2, len(PARTS))), np.array([0.0, 1.0]), True
        self.typical_similarity = 0.0
        if n < 4:
            return {"weights": None, "why": f"{n} training samples: too few to leave any out"}
        sets, how = left_out_sets(groups, K)
        designs, targets, similarity, owner = [], [], [], []
        for number, left in enumerate(sets):
            kept = np.setdiff1d(np.arange(n), left)
            parts = Parts(Y[kept], chromatin.rows(kept), K[np.ix_(kept, kept)])
            K_left = K[np.ix_(left, kept)]
            designs.append(parts.predict(chromatin.promoter[left], chromatin.classes[left], K_left))
            targets.append(Y[left] - parts.y_mean)
            similarity.append(K_left.max(axis=1))
            owner.append(np.full(len(left), number))
        parts_left = np.concatenate(designs)  # (left-out samples, G, parts)
        target = np.concatenate(targets)
        nearest = np.concatenate(similarity)
        owner = np.concatenate(owner)
        variance = Y.var(axis=0)
        gene_weight = 1.0 / (variance + max(float(np.median(variance)), 1e-12))
        self.similarity_range = np.array([nearest.min(), nearest.max()])
        self.weights = fit_weights(parts_left, target, nearest, gene_weight)
        # the gate: each left-out set predicted with weights fitted on the other sets, against the mean
        blend_error = np.zeros(len(sets))
        for number in range(len(sets)):
            own, other = owner == number, owner != number
            weights = fit_weights(parts_left[other], target[other], nearest[other], gene_weight)
            blend_error[number] = ((target[own] - combine(parts_left[own], weights, nearest[own])) ** 2 * gene_weight).sum()
        errors = {kernels.MEAN: np.bincount(owner, weights=(target**2 * gene_weight).sum(axis=1), minlength=len(sets)),
                  "blend": blend_error}
        self.use_mean = kernels.choose_with_mean_gate(errors) == kernels.MEAN
        self.typical_similarity = float(np.median(nearest[: n]))  # each training sample left out alone
        return {"left_out": how, "n_left_out_sets": len(sets), "similarity_range": [round(float(v), 4) for v in self.similarity_range],
                "weights": {part: [round(float(a), 4), round(float(b), 4)] for part, a, b in zip(PARTS, *self.weights, strict=True)},
                "mean_kept": bool(self.use_mean),
                "gene_weight": "1 / (training variance + the median gene's)",
                "left_out_error": {str(k): float(v.sum()) for k, v in errors.items()}}

    def nearest_similarity(self, open_: np.ndarray) -> np.ndarray:
        return cosine_similarity(open_, self.train_open).max(axis=1)

    def predict(self, X: np.ndarray, activity: np.ndarray) -> np.ndarray:
        if self.use_mean:
            return np.tile(self.parts.y_mean, (len(X), 1))
        chromatin = self.chromatin(X, activity)
        K_new = cosine_similarity(chromatin.open, self.train_open)
        parts = self.parts.predict(chromatin.promoter, chromatin.classes, K_new)
        nearest = np.clip(K_new.max(axis=1), *self.similarity_range)
        return self.parts.y_mean + combine(parts, self.weights, nearest)

    def rule_weight(self, similarity: float) -> float:
        """The rule part's weight at a similarity (0 when the mean is kept)."""
        if self.use_mean:
            return 0.0
        s = float(np.clip(similarity, *self.similarity_range))
        return float(self.weights[0, 0] + self.weights[1, 0] * s)

    def slot_weights(self, similarity: float | None = None) -> np.ndarray:
        """(genes, W) each window slot's weight in the rule part, per unit of activity rank, at `similarity` (default:
        the median similarity of a training sample to the others)."""
        weight = self.rule_weight(self.typical_similarity if similarity is None else similarity)
        return weight * self.parts.y_sd[:, None] * self.parts.theta[self.distance_classes][None, :]

    # ------------------------------------------------------------ the saved state

    def state(self) -> dict[str, np.ndarray]:
        p = self.parts
        return {"y_mean": p.y_mean, "y_sd": p.y_sd, "theta": p.theta, "a_mean": p.a_mean, "scale": np.array(p.scale),
                "r_mean": p.r_mean, "dual": p.dual, "open_bits": pack_bits(self.train_open),
                **{f"promoter_{k}": v for k, v in p.promoter_rule.state().items()}, "level_mean": p.level_mean,
                "level_share": p.level_share, "weights": self.weights, "similarity_range": self.similarity_range,
                "use_mean": np.array(float(self.use_mean)), "typical_similarity": np.array(self.typical_similarity)}

    def state_shapes(self, n_train: int, n_bins: int) -> dict[str, tuple[int, ...]]:
        genes, n_classes = len(self.index), int(self.distance_classes.max()) + 1
        return {"y_mean": (genes,), "y_sd": (genes,), "theta": (n_classes,), "a_mean": (genes, n_classes), "scale": (),
                "r_mean": (genes,), "dual": (genes, n_train), "open_bits": (n_train, -(-n_bins // 8)),
                **{f"promoter_{k}": v for k, v in PromoterRule.state_shapes().items()}, "level_mean": (genes,),
                "level_share": (genes,), "weights": (2, len(PARTS)), "similarity_range": (2,), "use_mean": (),
                "typical_similarity": ()}

    def load_state(self, state: dict[str, np.ndarray], n_train: int, n_bins: int) -> None:
        p = Parts.__new__(Parts)
        p.y_mean, p.y_sd, p.theta, p.a_mean = (np.asarray(state[k], dtype=np.float64) for k in ("y_mean", "y_sd", "theta", "a_mean"))
        p.scale, p.r_mean, p.dual = float(state["scale"]), np.asarray(state["r_mean"]), np.asarray(state["dual"])
        p.promoter_rule = PromoterRule().load_state({k.removeprefix("promoter_"): v for k, v in state.items() if k.startswith("promoter_")})
        p.level_mean, p.level_share = np.asarray(state["level_mean"]), np.asarray(state["level_share"])
        self.train_open = unpack_bits(state["open_bits"], n_bins)
        p.K_train = cosine_similarity(self.train_open, self.train_open)
        self.parts = p
        self.weights, self.similarity_range = np.asarray(state["weights"], dtype=np.float64), np.asarray(state["similarity_range"])
        self.use_mean, self.typical_similarity = bool(float(state["use_mean"])), float(state["typical_similarity"])


def combine(parts: np.ndarray, weights: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """(s, G): sum_k (a_k + b_k * similarity_s) * parts[s, g, k]."""
    per_sample = weights[0][None, :] + np.asarray(similarity)[:, None] * weights[1][None, :]  # (s, parts)
    return np.einsum("sgk,sk->sg", parts, per_sample)


def fit_weights(parts: np.ndarray, target: np.ndarray, similarity: np.ndarray, gene_weight: np.ndarray) -> np.ndarray:
    """(2, parts) weighted least-squares weights of the parts and of the parts times the similarity, pooled over samples
    and genes (gene_weight: each gene's weight)."""
    scale = np.sqrt(np.asarray(gene_weight, dtype=np.float64))[None, :, None]
    design = np.concatenate([parts, parts * np.asarray(similarity)[:, None, None]], axis=-1) * scale
    design = design.reshape(-1, 2 * parts.shape[-1])
    gram = design.T @ design
    gram += _WEIGHT_RIDGE * max(float(np.trace(gram)), 1e-12) / len(gram) * np.eye(len(gram))
    return np.linalg.solve(gram, design.T @ (np.asarray(target) * scale[..., 0]).reshape(-1)).reshape(2, -1)
