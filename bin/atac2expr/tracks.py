"""Browser-track figures of a gene's links, as ArchR's plotBrowserTrack and Signac's CoveragePlot draw them.

From top to bottom, over a window around the gene's TSS: the genes (body as a line, TSS as an arrow in the
direction of transcription, the gene of the figure in colour), the links as arcs from the TSS to each linked
bin (height and width by |weight|; red: opening the bin raises the prediction, blue: lowers it), then one row
per sample with its open bins (the bin values: grey levels when they are signal, not 0/1), samples ordered by
observed expression; beside each sample row its observed and predicted expression.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from .files import atomic_path
from .links import NEGATIVE, POSITIVE

FOCUS = "#1B7837"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def track_window(gene: pd.Series, links: pd.DataFrame, bins: pd.DataFrame, min_half_width: int = 10_000,
                 margin: int = 2_000) -> tuple[int, int]:
    """[start, end) around the gene's TSS reaching every link and at least min_half_width bp on each side, within the
    bins of its chromosome."""
    reach = min_half_width
    if len(links):
        reach = max(reach, int(np.abs(links["start"] - gene["tss"]).max()) + margin, int(np.abs(links["end"] - gene["tss"]).max()) + margin)
    mine = bins["chrom"].to_numpy(str) == str(gene["chrom"])
    low, high = (int(bins["start"].to_numpy()[mine].min()), int(bins["end"].to_numpy()[mine].max())) if mine.any() else (0, 1 << 40)
    return max(low, int(gene["tss"]) - reach), min(high, int(gene["tss"]) + reach)


def gene_lanes(genes: pd.DataFrame, start: int, end: int) -> list[int]:
    """A lane for each gene (sorted by start) so that neither bodies nor labels overlap: a label takes about 1.1% of the
    window's width per character at the figure's size."""
    char = 0.011 * (end - start)
    lanes: list[float] = []
    chosen = []
    for _, g in genes.iterrows():
        left = max(float(g["start"]), start)
        lane = next((i for i, stop in enumerate(lanes) if stop < left), len(lanes))
        if lane == len(lanes):
            lanes.append(0.0)
        lanes[lane] = max(float(g["end"]), left + char * (len(str(g["gene_name"])) + 2))
        chosen.append(lane)
    return chosen


def literal(text: object) -> str:
    """Text drawn as written: a '$' is not the start of a formula (a gene named 'a$\\frac$b' would stop matplotlib), and
    control characters (a tab, a line break) are spaces."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(text)).replace("$", r"\$")


def plot_browser_track(gene: pd.Series, genes: pd.DataFrame, bins: pd.DataFrame, X: np.ndarray, samples: np.ndarray,
                       links: pd.DataFrame, observed: np.ndarray, predicted: np.ndarray, units: str, title: str,
                       prediction_label: str, path: str | Path) -> None:
    """One gene's figure. links: its rows of a links table; X: samples x bins (the dataset's); observed and predicted:
    one value per sample in `units`; prediction_label says which predictions they are (held out or in-sample)."""
    plt = _plt()
    from matplotlib.patches import Arc, FancyArrow

    start, end = track_window(gene, links, bins)
    in_window = np.flatnonzero((bins["chrom"].to_numpy(str) == str(gene["chrom"])) & (bins["end"].to_numpy() > start)
                               & (bins["start"].to_numpy() < end))
    near = genes[(genes["chrom"].astype(str) == str(gene["chrom"])) & (genes["end"] > start) & (genes["start"] < end)].sort_values("start")
    lane_of = gene_lanes(near, start, end)
    n_lanes = max(lane_of, default=0) + 1
    order = np.argsort(-np.asarray(observed, dtype=np.float64), kind="stable")
    n = len(samples)
    panels = [0.35 + 0.28 * n_lanes, 1.5, max(1.2, 0.24 * n)]  # inches: genes, links, samples
    height = sum(panels) + 1.0
    fig = plt.figure(figsize=(11, height))
    grid = fig.add_gridspec(3, 2, height_ratios=panels, width_ratios=[5, 1.3], hspace=0.08, wspace=0.04)
    ax_genes, ax_arcs, ax_bins = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[2, 0])
    ax_expr = fig.add_subplot(grid[2, 1], sharey=ax_bins)
    for ax in (ax_genes, ax_arcs, ax_bins):
        ax.set_xlim(start, end)

    # genes of the window, each on its lane: body as a line, TSS as an arrow in the direction of transcription
    for (_, g), lane in zip(near.iterrows(), lane_of, strict=True):
        focus = g["gene_id"] == gene["gene_id"]
        colour, width = (FOCUS, 2.5) if focus else ("0.45", 1.2)
        ax_genes.plot([max(g["start"], start), min(g["end"], end)], [-lane, -lane], color=colour, lw=width, solid_capstyle="butt")
        if start <= g["tss"] < end:
            direction = -1 if g["strand"] == "-" else 1
            ax_genes.add_patch(FancyArrow(g["tss"], -lane, direction * 0.02 * (end - start), 0, width=0.04, head_width=0.3,
                                          head_length=0.01 * (end - start), color=colour, length_includes_head=False))
        ax_genes.text(max(g["start"], start), -lane + 0.22, literal(g["gene_name"]), fontsize=8, color=colour,
                      fontweight="bold" if focus else "normal", va="bottom", clip_on=True)
    ax_genes.set_ylim(-n_lanes + 0.5, 0.9)
    ax_genes.set_yticks([])
    ax_genes.set_ylabel("genes", rotation=0, ha="right", va="center", fontsize=8)
    ax_genes.tick_params(labelbottom=False)
    ax_genes.set_title(literal(title), fontsize=10, loc="left")

    # links: arcs from the TSS to each bin's centre, height and width by |weight|
    peak = float(links["weight"].abs().max()) if len(links) else 1.0
    for _, link in links.iterrows():
        centre = (link["start"] + link["end"]) / 2
        strength = abs(link["weight"]) / (peak or 1.0)
        colour = POSITIVE if link["weight"] > 0 else NEGATIVE
        span = abs(centre - gene["tss"]) or 0.5 * (link["end"] - link["start"])
        ax_arcs.add_patch(Arc(((centre + gene["tss"]) / 2, 0), span, 2 * (0.15 + 0.85 * strength), theta1=0, theta2=180,
                              color=colour, lw=0.8 + 2.5 * strength))
        ax_arcs.plot([centre], [0], marker="|", color=colour, ms=6)
    ax_arcs.axvline(gene["tss"], color=FOCUS, lw=0.8, ls=":")
    ax_arcs.set_ylim(0, 1.1)
    ax_arcs.set_yticks([])
    ax_arcs.set_ylabel("links", rotation=0, ha="right", va="center", fontsize=8)
    ax_arcs.tick_params(labelbottom=False)
    for side in ("top", "right", "left"):
        ax_arcs.spines[side].set_visible(False)

    # each sample's bins, ordered by observed expression (highest on top); grey levels follow the bins' values
    values = np.asarray(X, dtype=np.float64)[np.ix_(order, in_window)]
    left = bins["start"].to_numpy()[in_window]
    right = bins["end"].to_numpy()[in_window]
    top_value = float(values.max()) if values.size and values.max() > 0 else 1.0
    rows, columns = np.nonzero(values > 0)
    # one collection for every open bin: a patch each costs milliseconds, and a window holds thousands
    ax_bins.add_collection(_rects(left[columns], rows - 0.4, right[columns] - left[columns], 0.8,
                                  [str(1 - 0.85 * v / top_value) for v in values[rows, columns]]))
    for _, link in links.iterrows():
        ax_bins.axvspan(link["start"], link["end"], color=POSITIVE if link["weight"] > 0 else NEGATIVE, alpha=0.15, lw=0)
    ax_bins.set_ylim(n - 0.5, -0.5)
    ax_bins.set_yticks(range(n), [str(s) for s in np.asarray(samples)[order]], fontsize=7)
    ax_bins.set_xlabel(f"chromosome {gene['chrom']} (kb)")
    ax_bins.xaxis.set_major_formatter(_kb_formatter(1000.0))

    # observed and predicted expression beside each sample row
    ax_expr.scatter(np.asarray(observed)[order], range(n), s=18, color="black", label="observed", zorder=3)
    ax_expr.scatter(np.asarray(predicted)[order], range(n), s=22, marker="x", color=FOCUS, label=prediction_label, zorder=3)
    ax_expr.set_xlabel(units, fontsize=8)
    ax_expr.tick_params(labelleft=False, labelsize=7)
    ax_expr.grid(axis="x", color="0.9")
    ax_expr.legend(fontsize=7, loc="lower right", frameon=False)
    fig.subplots_adjust(left=0.1, right=0.98, top=1 - 0.4 / height, bottom=0.55 / height)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def _rects(x: np.ndarray, y: np.ndarray, width: np.ndarray, height: float, colours: list[str]):
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    return PatchCollection([Rectangle((float(a), float(b)), float(w), height) for a, b, w in zip(x, y, width, strict=True)],
                           facecolors=colours, edgecolors="none", linewidths=0)


def _kb_formatter(kb: float):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value / kb:,.0f}")
