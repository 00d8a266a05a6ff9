#!/usr/bin/env python3
"""Figures and summary of a run: the original study's target-vs-predicted figure, loss curves, summary.json."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from atac2expr import cli  # noqa: E402
from atac2expr.annotation import TSS_ONLY_NOTE, tss_only  # noqa: E402
from atac2expr.cli import InputError  # noqa: E402
from atac2expr.dataset import load_dataset  # noqa: E402
from atac2expr.files import atomic_output, atomic_path  # noqa: E402
from atac2expr.formats import read_tsv  # noqa: E402

log = logging.getLogger("report")


def read_training(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    try:
        summary = json.loads((folder / "training.json").read_text())
        loss = read_tsv(folder / "loss.tsv")
        predictions = read_tsv(folder / "predictions.tsv", dtype={"sample": str, "gene_id": str})
    except (OSError, ValueError) as err:
        raise InputError(f"{folder}: incomplete training output ({err})") from None
    return summary, loss, predictions


def plot_expression_fit(predictions: pd.DataFrame, gene_order: list[str], model: str, units: str, path: Path, n_samples: int = 4) -> None:
    """The original study's figure: target and predicted expression over the genes, a few samples."""
    samples = sorted(predictions["sample"].unique())[:n_samples]
    fig, axes = plt.subplots(len(samples), 1, figsize=(10, 2.4 * len(samples)), sharex=True, squeeze=False)
    position = {g: i for i, g in enumerate(gene_order)}
    for ax, sample in zip(axes[:, 0], samples, strict=True):
        rows = predictions[predictions["sample"] == sample].assign(pos=lambda d: d["gene_id"].map(position)).sort_values("pos")
        ax.plot(rows["pos"], rows["observed"], "o-", ms=3, lw=1, label="target")
        ax.plot(rows["pos"], rows["predicted"], "s--", ms=3, lw=1, label="predicted")
        ax.set_ylabel(units)
        ax.set_title(f"{sample} ({model}, in-sample fit)", fontsize=9)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("gene (genomic order in the region)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_losses(losses: dict[str, pd.DataFrame], baselines: dict[str, float], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, loss in losses.items():
        line, = ax.plot(loss["epoch"], loss["train_loss"], label=f"{model} training loss")
        ax.axhline(baselines[model], color=line.get_color(), ls=":", label=f"per-gene mean ({model} targets)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--training", type=Path, nargs="+", required=True, help="train_model.py output folders")
    parser.add_argument("--evaluation", type=Path, help="evaluate.py output folder (metrics.tsv)")
    parser.add_argument("--expression_source", type=Path, help="expression_source.json of expression_table.py (--expression)")
    parser.add_argument("--outdir", type=Path, default=Path("."))
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    dataset = load_dataset(args.dataset)
    summary: dict = {
        "region": dataset.region, "bin_size": dataset.bin_size, "bin_value": dataset.bin_value, "samples": len(dataset.samples),
        "bins": int(dataset.X.shape[1]), "genes": int(dataset.Y.shape[1]), "models": {},
    }
    if args.expression_source:
        source = json.loads(args.expression_source.read_text())
        summary["expression"] = source
        log.info("expression from %s (%s): %s", source["source"], source["unit"], source["normalisation"])
    else:
        summary["expression"] = {"source": "RNA-seq reads", "normalisation": "kallisto TPM summed per gene"}
    if tss_only(dataset.genes):
        summary["annotation"] = TSS_ONLY_NOTE
    losses, baselines = {}, {}
    for folder in sorted(args.training):
        training, loss, predictions = read_training(folder)
        model = training.get("model", folder.name)
        losses[model], baselines[model] = loss, training["mean_baseline_loss"]
        summary["models"][model] = {
            "final_training_loss": training["final_train_loss"],
            "mean_baseline_training_loss": training["mean_baseline_loss"],
            "target_transform": training["target_transform"],
            "epochs": len(loss),
        }
        plot_expression_fit(predictions, list(dataset.genes["gene_id"]), model, training["target_transform"],
                            args.outdir / f"expression_fit_{model}.png")
    plot_losses(losses, baselines, args.outdir / "loss_curve.png")
    if args.evaluation:
        metrics = read_tsv(args.evaluation / "metrics.tsv")
        summary["heldout_metrics"] = metrics.set_index(metrics.columns[0]).to_dict(orient="index")
    with atomic_output(args.outdir / "summary.json") as handle:
        json.dump(summary, handle, indent=2)
    log.info("report for %d samples, %d bins, %d genes: %s", summary["samples"], summary["bins"], summary["genes"],
             ", ".join(f"{m} training MSE {v['final_training_loss']:.4f} (per-gene mean {v['mean_baseline_training_loss']:.4f})"
                       for m, v in summary["models"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
