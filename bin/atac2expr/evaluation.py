"""Held-out metrics, figures and the report page of the cross-validated evaluation (numpy and matplotlib only;
the folds and the loop over them are modelling/cross_validation.py).

Definitions (also written into evaluation.md):
- Folds. Samples are shuffled with the seed and dealt round-robin into k folds (sizes differ by at most one);
  with fewer samples than k every sample is its own fold (leave-one-out). Every model sees the same folds.
  With groups (the samplesheet's `group` column, at least 2), the models are also scored with each group held
  out in turn (leave-group-out, the rows of folds "group"): the skill a sample from a group the training samples
  do not cover would get (another lineage, tissue, donor or lab); the random folds keep relatives on both sides.
  Inside a fold's training samples, a seeded random `val_fraction` (at least one sample, none when fewer
  than 3 training samples) is the inner validation split: the networks stop early on it and ridge picks its
  alpha on it. The held-out fold is never seen during training or selection.
- Models. mean: each gene's mean over the fold's training samples. ridge: ridge regression on the same
  bins, closed form (kernel form, X centred by the training means, intercept unpenalised), alpha chosen from
  a list by inner-validation MSE and then refitted on all the fold's training samples. archr and signac:
  a gene activity score per gene (ArchR's distance-weighted gene score; Signac's open bins in the gene
  body + 2 kb upstream), turned into expression by a per-gene least-squares line fitted on all the fold's
  training samples. mlp: trained on the inner-training samples with early stopping on the inner validation
  samples (the best epoch's weights are kept). tss_window, local_ridge and tss_similarity: fitted on all the
  fold's training samples, their few settings chosen by leave-one-out over them (modelling/ says how).
  promoter: the sample's own promoter activity (the rank of the strongest peak within 1 kb of the TSS among the
  sample's peaks) mapped to expression by one rule fitted across genes on the training samples: a baseline that
  knows nothing of each gene's own level. blend: the gene's training mean plus the TSS-window rule, the similarity
  part and the promoter rule, weighed by the held-out sample's similarity to the training samples, the weights fitted
  inside the fold's training samples by leaving each sample, and each group, out (modelling/blend.py).
- Metrics, on held-out predictions only, pooled over folds (every sample is held out exactly once), in the
  target's units (log1p(TPM) by default):
  mse            mean over (sample, gene) of squared error
  r2             1 - SSE(model) / SSE(per-gene training mean), pooled over samples and genes: the skill over
                 the mean baseline (0 for the mean model itself; negative = worse than the mean)
  r2_gene_*      per gene, 1 - SSE(model) / SSE(per-gene training mean) over its held-out samples: the skill
                 distribution over genes (median; fraction_genes_better_than_mean = share of genes with r2 > 0)
  r2_total       1 - SSE(model) / sum over genes of the held-out observations' squared deviations from their
                 own mean (the usual pooled coefficient of determination)
  pearson_gene_*, spearman_gene_*   per gene, correlation across held-out samples of predicted and observed;
                 median and mean over the genes where it is defined
  pearson_sample_*                  per sample, correlation across genes
  *_variable     the same among the variable genes: observed variance of log1p(TPM) across the samples above
                 VARIABLE_GENE_VARIANCE (0.25, an sd of 0.5: about half of the genes of real cell types); most
                 genes barely vary, and for them any tiny prediction is "better than the mean" half the time
  fit_seconds_per_fold              the model's mean time to fit and predict one fold
  Genes with no variance across the samples are excluded from correlations (counted and listed in
  constant_genes.tsv); a gene whose predictions do not vary has an undefined correlation (counted as
  n_genes_undefined, never silently dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .tables import of_folds

log = logging.getLogger(__name__)

VARIABLE_GENE_VARIANCE = 0.25  # of log1p(TPM) across the samples: the genes called variable

# ---------------------------------------------------------------- metrics

def column_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of a with the same column of b (NaN where either is constant)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    num = (a * b).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / den
    tiny = den <= 1e-12 * np.maximum(1.0, np.abs(num))
    return np.where(tiny | (den == 0), np.nan, np.clip(r, -1, 1))


def column_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks within each column, ties averaged (as Spearman needs)."""
    return pd.DataFrame(np.asarray(a, dtype=np.float64)).rank(axis=0, method="average").to_numpy()


def column_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return column_pearson(column_ranks(a), column_ranks(b))


@dataclass
class ModelMetrics:
    summary: dict[str, float]
    per_gene: pd.DataFrame


def variable_genes(tpm: np.ndarray) -> np.ndarray:
    """The genes whose log1p(TPM) varies across the samples by more than VARIABLE_GENE_VARIANCE (whatever the
    models' target transform)."""
    return np.log1p(np.asarray(tpm, dtype=np.float64)).var(axis=0) > VARIABLE_GENE_VARIANCE


def compute_metrics(observed: np.ndarray, predicted: np.ndarray, train_mean: np.ndarray, genes: pd.DataFrame, constant: np.ndarray,
                    variable: np.ndarray | None = None) -> ModelMetrics:
    """Held-out metrics of one model. observed/predicted/train_mean: samples x genes (train_mean: the
    per-gene mean of the training samples of each sample's fold), target units; constant: genes excluded
    from correlations; variable: the genes of the *_variable metrics (variable_genes)."""
    obs = np.asarray(observed, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    err = (pred - obs) ** 2
    sse = err.sum()
    err_mean = (np.asarray(train_mean, dtype=np.float64) - obs) ** 2
    sse_mean = err_mean.sum()
    sst = ((obs - obs.mean(axis=0)) ** 2).sum()
    keep = ~constant
    pearson = np.full(obs.shape[1], np.nan)
    spearman = np.full(obs.shape[1], np.nan)
    if len(obs) >= 2 and keep.any():
        pearson[keep] = column_pearson(pred[:, keep], obs[:, keep])
        spearman[keep] = column_spearman(pred[:, keep], obs[:, keep])
    if keep.sum() >= 2:
        per_sample = column_pearson(pred[:, keep].T, obs[:, keep].T)
    else:
        per_sample = np.full(len(obs), np.nan)
    status = np.where(constant, "no_variance", np.where(np.isnan(pearson), "constant_prediction", "ok"))
    gene_sse_mean = err_mean.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2_gene = np.where(constant | (gene_sse_mean == 0), np.nan, 1 - err.sum(axis=0) / gene_sse_mean)
    per_gene = pd.DataFrame({
        "gene_id": genes["gene_id"].to_numpy(str), "gene_name": genes["gene_name"].to_numpy(str),
        "pearson": pearson, "spearman": spearman, "r2": r2_gene, "mse": err.mean(axis=0),
        "observed_variance": obs.var(axis=0), "status": status,
    })

    def stat(values: np.ndarray, fn) -> float:
        values = values[~np.isnan(values)]
        return float(fn(values)) if len(values) else float("nan")

    variable = np.zeros(obs.shape[1], dtype=bool) if variable is None else np.asarray(variable, dtype=bool)
    sse_mean_variable = err_mean[:, variable].sum()
    summary = {
        "mse": float(err.mean()),
        "r2": float(1 - sse / sse_mean) if sse_mean > 0 else float("nan"),
        "r2_total": float(1 - sse / sst) if sst > 0 else float("nan"),
        "pearson_gene_median": stat(pearson, np.median),
        "pearson_gene_mean": stat(pearson, np.mean),
        "spearman_gene_median": stat(spearman, np.median),
        "spearman_gene_mean": stat(spearman, np.mean),
        "r2_gene_median": stat(r2_gene, np.median),
        "fraction_genes_better_than_mean": stat(r2_gene, lambda v: np.mean(v > 0)),
        "pearson_sample_median": stat(per_sample, np.median),
        "pearson_sample_mean": stat(per_sample, np.mean),
        "n_genes": int(obs.shape[1]),
        "n_genes_no_variance": int(constant.sum()),
        "n_genes_undefined": int((status == "constant_prediction").sum()),
        "n_samples": int(obs.shape[0]),
        "n_genes_variable": int(variable.sum()),
        "r2_variable": float(1 - err[:, variable].sum() / sse_mean_variable) if sse_mean_variable > 0 else float("nan"),
        "r2_gene_median_variable": stat(r2_gene[variable], np.median),
        "fraction_genes_better_than_mean_variable": stat(r2_gene[variable], lambda v: np.mean(v > 0)),
    }
    return ModelMetrics(summary, per_gene)


# ---------------------------------------------------------------- figures

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _sample_points(obs: np.ndarray, pred: np.ndarray, max_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most max_points (observed, predicted) pairs, the same random ones of both: a figure of millions of points
    shows no more."""
    if len(obs) <= max_points:
        return obs, pred
    pick = np.random.default_rng(seed).choice(len(obs), max_points, replace=False)
    return obs[pick], pred[pick]


def plot_scatter(observed: np.ndarray, predicted: np.ndarray, model: str, units: str, path, max_points: int = 50_000, seed: int = 0) -> None:
    plt = _plt()
    obs, pred = np.asarray(observed).reshape(-1), np.asarray(predicted).reshape(-1)
    obs, pred = _sample_points(obs, pred, max_points, seed)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(obs, pred, s=4, alpha=0.3, linewidths=0)
    if len(obs):
        lo, hi = float(min(obs.min(), pred.min())), float(max(obs.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
    ax.set_xlabel(f"observed {units}")
    ax.set_ylabel(f"predicted {units} (held out)")
    ax.set_title(f"{model}: pooled over genes (secondary: the spread between genes dominates)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_deviations(observed: np.ndarray, predicted: np.ndarray, train_mean: np.ndarray, model: str, summary: dict[str, float], units: str,
                    path, max_points: int = 50_000, seed: int = 0) -> None:
    """What R² measures: each held-out observation's and prediction's difference from the gene's training mean. A
    model better than the mean puts the points along the diagonal; the pooled scatter of observed against predicted
    looks convincing even for a model worse than the mean, because the spread between genes dominates it."""
    plt = _plt()
    obs = (np.asarray(observed, dtype=np.float64) - train_mean).reshape(-1)
    pred = (np.asarray(predicted, dtype=np.float64) - train_mean).reshape(-1)
    obs, pred = _sample_points(obs, pred, max_points, seed)
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.scatter(obs, pred, s=4, alpha=0.3, linewidths=0)
    if len(obs):
        lim = float(np.nanmax(np.abs(np.concatenate([obs, pred])))) or 1.0
        ax.plot([-lim, lim], [-lim, lim], color="grey", lw=1, ls="--")
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel(f"observed - gene's training mean ({units})")
    ax.set_ylabel(f"predicted - gene's training mean ({units})")
    ax.set_title(f"{model}: R² {summary['r2']:.3f}, median per-gene R² {summary['r2_gene_median']:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gene_correlations(per_gene: pd.DataFrame, models: list[str], path) -> None:
    """Per-gene skill of every model: Pearson and Spearman across held-out samples, and R2 over the per-gene mean."""
    plt = _plt()
    panels = (("pearson", "per-gene Pearson r"), ("spearman", "per-gene Spearman r"), ("r2", "per-gene R2 vs training mean\n(clipped at -1)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3 + 2 * len(models), 4), squeeze=False)
    for ax, (metric, label) in zip(axes[0], panels, strict=True):
        data = [per_gene.loc[(per_gene["model"] == m) & per_gene[metric].notna(), metric].to_numpy() for m in models]
        data = [np.maximum(d, -1.0) if metric == "r2" else d for d in data]
        ax.boxplot([d if len(d) else [np.nan] for d in data], showfliers=True)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30)
        ax.axhline(0, color="grey", lw=0.8, ls="--")
        ax.set_ylabel(f"{label}, held-out samples")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_learning_curves(curves: pd.DataFrame, path) -> None:
    plt = _plt()
    models = list(dict.fromkeys(curves["model"])) if len(curves) else []
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(5 * max(1, len(models)), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models, strict=False):
        part = curves[curves["model"] == model]
        for fold, rows in part.groupby("fold"):
            line, = ax.plot(rows["epoch"], rows["train_loss"], lw=1, label=f"fold {fold} train")
            if rows["val_loss"].notna().any():
                ax.plot(rows["epoch"], rows["val_loss"], lw=1, ls="--", color=line.get_color(), label=f"fold {fold} validation")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE")
        ax.set_title(f"{model}: training (solid) / inner validation (dashed)")
    if not models:
        axes[0][0].text(0.5, 0.5, "no trained networks", ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- report

def markdown_table(frame: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


FOLD_SCHEME_TITLES = {"random": "random folds", "group": "leave-group-out (each group held out in turn)"}


def verdicts(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per model: does it beat the per-gene mean (R² > 0 and median per-gene R² > 0), ridge on all bins (higher
    R², median per-gene R² and share of genes better than the mean) and, when evaluated, the promoter baseline (higher
    R² and median per-gene R²), on these held-out samples."""
    rows = []
    ridge = metrics.loc["ridge"] if "ridge" in metrics.index else None
    promoter = metrics.loc["promoter"] if "promoter" in metrics.index else None
    keys = ("r2", "r2_gene_median", "fraction_genes_better_than_mean")
    for model, m in metrics.iterrows():
        beats_mean = "-" if model == "mean" else ("yes" if m["r2"] > 0 and m["r2_gene_median"] > 0 else "no")
        if ridge is None or model in ("ridge", "mean"):
            beats_ridge = "-"
        else:
            wins = [k for k in keys if m[k] > ridge[k]]
            beats_ridge = "yes" if len(wins) == len(keys) else f"no ({', '.join(k for k in keys if k not in wins)} not higher)"
        row = {"model": model, "beats the per-gene mean": beats_mean, "beats ridge on all bins": beats_ridge}
        if promoter is not None:
            row["beats the promoter baseline"] = ("-" if model in ("promoter", "mean") else
                                                  "yes" if m["r2"] > promoter["r2"] and m["r2_gene_median"] > promoter["r2_gene_median"] else "no")
        rows.append({**row, "fit s per fold": m.get("fit_seconds_per_fold", float("nan"))})
    return pd.DataFrame(rows)


@dataclass
class Report:
    title: str
    params: dict
    metrics: pd.DataFrame
    figures: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        shown = ["model", "mse", "r2", "r2_gene_median", "fraction_genes_better_than_mean", "r2_gene_median_variable",
                 "fraction_genes_better_than_mean_variable", "r2_total", "pearson_gene_median", "spearman_gene_median",
                 "pearson_sample_median", "n_genes_undefined", "fit_seconds_per_fold"]
        shown = [c for c in shown if c in self.metrics.columns]
        out = [f"# {self.title}", ""]
        out += [f"- {note}" for note in self.notes] + [""]
        schemes = list(dict.fromkeys(self.metrics["folds"])) if "folds" in self.metrics.columns else ["random"]
        for scheme in schemes:
            table = of_folds(self.metrics, scheme)
            where = f", {FOLD_SCHEME_TITLES.get(scheme, scheme)}" if len(schemes) > 1 else ""
            out += [f"## Which models beat the per-gene mean and ridge{where}", "", markdown_table(verdicts(table.set_index("model"))), ""]
            out += [f"## Held-out metrics{where}", "", markdown_table(table[shown]), ""]
        predictions = "[heldout_predictions.tsv](heldout_predictions.tsv)" + (
            ", leave-group-out: [heldout_predictions_group.tsv](heldout_predictions_group.tsv)" if "group" in schemes else "")
        out += ["Full table: [metrics.tsv](metrics.tsv); per gene: [per_gene_metrics.tsv](per_gene_metrics.tsv); "
                f"predictions: {predictions}; folds: [folds.tsv](folds.tsv).", ""]
        out += ["## Figures", ""]
        for caption, name in self.figures.items():
            out += [f"### {caption}", "", f"![{caption}]({name})", ""]
        out += ["## Definitions", "", "```", (__doc__ or "").strip(), "```", "", "## Parameters", "", "```"]
        out += [f"{k}: {v}" for k, v in self.params.items()] + ["```", ""]
        return "\n".join(out)
