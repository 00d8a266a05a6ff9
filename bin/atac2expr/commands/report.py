"""Figures, summary and the report page of a run.

Writes the original study's target-vs-predicted figure of each trained network, their loss curves, summary.json and
atac2expr_report.html: one self-contained page (bin/atac2expr/html_report.py) with the held-out evaluation, the
links (first the regulatory score, validated on CRISPRi-tested pairs, with its benchmark figure and each training
sample's scored links; then the links of the best-predicted genes of the best model with links: their browser-track
figures and bins), the QC per sample and per gene (and a link to MultiQC's report when the run made one) and the
training on all samples.
"""

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
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from atac2expr import cli, html_report, qc  # noqa: E402
from atac2expr import evaluation as evaluation_lib  # noqa: E402
from atac2expr.annotation import TSS_ONLY_NOTE, tss_only  # noqa: E402
from atac2expr.cli import InputError  # noqa: E402
from atac2expr.dataset import Dataset, load_dataset  # noqa: E402
from atac2expr.files import atomic_output, atomic_path  # noqa: E402
from atac2expr.formats import BEST_GENES, METRICS, QC_GENES, QC_SAMPLES, TRAINING_LOSS, read_tsv  # noqa: E402
from atac2expr.links import read_links  # noqa: E402

log = logging.getLogger("report")


def read_training(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    try:
        summary = json.loads((folder / "training.json").read_text())
        loss = TRAINING_LOSS.read(folder / "loss.tsv")
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


REPORT_PAGE = "atac2expr_report.html"
METRICS_SHOWN = {"model": "model", "mse": "MSE", "r2": "R\u00b2 vs per-gene mean", "r2_gene_median": "median per-gene R\u00b2",
                 "fraction_genes_better_than_mean": "genes better than the mean", "r2_gene_median_variable": "median per-gene R\u00b2, variable genes",
                 "fraction_genes_better_than_mean_variable": "variable genes better than the mean", "pearson_gene_median": "median per-gene Pearson"}


def evaluation_section(evaluation: Path, units: str) -> tuple[str, pd.DataFrame]:
    every = METRICS.read(evaluation / "metrics.tsv")
    metrics = evaluation_lib.of_folds(every, "random")
    best = str(metrics.sort_values("r2", ascending=False)["model"].iloc[0]) if len(metrics) else ""
    parts = [f"<p>Every model fitted on the training folds and scored on samples it never saw (cross-validation over samples, "
             f"the same folds for every model), in {html_report.escape(units)}. R\u00b2 is the skill over each gene's training mean: "
             f"0 is the mean, negative is worse. Best: <b>{html_report.escape(best)}</b>.</p>"]
    by_group = evaluation_lib.of_folds(every, "group")
    for scheme, table in (("random", metrics), ("group", by_group)):
        if not len(table):
            continue
        top = str(table.sort_values("r2", ascending=False)["model"].iloc[0])
        if len(by_group):
            parts.append(f"<h3>{html_report.escape(evaluation_lib.FOLD_SCHEME_TITLES[scheme].capitalize())}</h3>")
        if scheme == "group":
            parts.append("<p>Each group of the samplesheet held out in turn: the skill a new sample from a group the training samples "
                         "do not cover would get. The random folds keep relatives on both sides.</p>")
        shown = table[[c for c in METRICS_SHOWN if c in table]].rename(columns=METRICS_SHOWN)
        parts += [html_report.table(shown, {**{c: "{:.3f}" for c in shown.columns}, "genes better than the mean": "{:.0%}",
                                            "variable genes better than the mean": "{:.0%}"}, highlight=top, key="model"),
                  "<p>Which models beat the per-gene mean (R\u00b2 and median per-gene R\u00b2 above 0), ridge on all bins (higher R\u00b2, "
                  "median per-gene R\u00b2 and share of genes better than the mean) and the promoter baseline (higher R\u00b2 and median "
                  "per-gene R\u00b2), on these held-out samples:</p>",
                  html_report.table(evaluation_lib.verdicts(table.set_index("model")), {"fit s per fold": "{:.2f}"})]
    if (evaluation / "gene_correlations.png").exists():
        parts.append(html_report.figure(evaluation / "gene_correlations.png", "Per-gene skill of every model on held-out samples.",
                                        "per-gene skill"))
    # the headline: deviations from each gene's training mean, what R\u00b2 measures; the pooled scatter is secondary (the
    # spread between genes makes a model worse than the mean look good there)
    for prefix, what in (("deviations_", "held-out observed and predicted minus each gene's training mean (what R\u00b2 measures)"),
                         ("scatter_", "held-out predicted vs observed, pooled over genes (secondary: the spread between genes dominates it)")):
        shown_figures = [evaluation / f"{prefix}{m}.png" for m in metrics["model"] if (evaluation / f"{prefix}{m}.png").exists()]
        if shown_figures:
            parts.append('<div class="grid">' + "".join(html_report.figure(p, f"{p.stem.removeprefix(prefix)}: {what}", p.stem)
                                                        for p in shown_figures) + "</div>")
    if (evaluation / "learning_curves.png").exists():
        parts.append(html_report.figure(evaluation / "learning_curves.png", "MLP: training and inner-validation loss per fold.",
                                        "learning curves"))
    return "".join(parts), metrics


BENCHMARK_FIGURE = "links_score_benchmark.png"
DISTANCE_BINS = ("AP", "AP < 10 kb", "AP 10-100 kb", "AP > 100 kb")


def plot_score_benchmark(provenance: dict, path: Path) -> None:
    """The score's held-out AP on the CRISPRi pairs beside the baselines on the same pairs, overall and per distance."""
    series = {**{name.removesuffix(" (baseline)"): m for name, m in provenance["baselines_same_pairs"].items()},
              "score (held-out chromosomes)": provenance["heldout_chromosome_metrics"]}
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        ax.bar(np.arange(len(DISTANCE_BINS)) + i * width, [values.get(k, np.nan) for k in DISTANCE_BINS], width, label=name)
    ax.set_xticks(np.arange(len(DISTANCE_BINS)) + 0.4 - width / 2, ["all pairs", "< 10 kb", "10-100 kb", "> 100 kb"])
    ax.set_ylabel("average precision")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"CRISPRi-tested pairs in K562 ({provenance.get('pairs_evaluated', '?')} pairs)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def score_section(folder: Path, outdir: Path) -> str:
    """The regulatory score: what it is, its benchmark on CRISPRi pairs (the combiner's provenance) and each training
    sample's scored links (sample_links.py's scores.json and links.tsv.gz)."""
    path = folder / "scores.json"
    if not path.exists():
        return ""
    scores = json.loads(path.read_text())
    provenance = scores["combiner"]["provenance"]
    settings = scores["settings"]
    figure = outdir / BENCHMARK_FIGURE
    plot_score_benchmark(provenance, figure)
    heldout = provenance["heldout_chromosome_metrics"]
    parts = [f"<p>The <b>score</b> column of every links table is the project's regulatory score: the probability that a bin regulates a "
             f"gene in a sample, from the sample's own activity by contact (ABC: peak signal x max(distance, "
             f"{settings['abc_min_distance']:,} bp)<sup>-{settings['abc_gamma']}</sup>, normalised over the open bins within "
             f"{settings['abc_max_distance']:,} bp) and the training samples' cross-sample evidence (does the bin's accessibility follow "
             f"the gene's expression across them), combined by a logistic regression fitted on CRISPRi-tested element-gene pairs. On "
             f"those pairs, each chromosome scored by the combiner fitted without it: AP {heldout['AP']:.3f} and precision "
             f"{heldout['precision at 70% recall']:.3f} at 70% recall, against distance to the TSS and an ABC-style score on the same "
             f"pairs (figure). Each training sample's {settings['links_top'] or 'every'} best-scored bins per gene are in "
             f"<code>sample_links/links.tsv.gz</code> (a bigWig per sample: <code>sample_links/&lt;sample&gt;.bw</code>); -entry PREDICT "
             f"scores a new sample the same way and writes its links as UCSC interact and BEDPE files too.</p>",
             html_report.figure(figure, "Average precision on CRISPRi-tested pairs in K562 (higher is better), overall and by distance "
                                        "from the element to the TSS: the score with each chromosome held out of the combiner's fit, "
                                        "beside the baselines on the same pairs (the combiner's record, assets/link_combiner.json; "
                                        "make bench-crispr checks it through the pipeline).", "score benchmark")]
    evidence = scores["evidence"]
    parts.append(f"<p>Cross-sample evidence: {evidence['pairs_tested']:,} (gene, bin) pairs within {evidence['reach_bp']:,} bp tested "
                 f"across {evidence['training_samples']} training samples; {evidence['significant']['0.05']:,} at FDR &le; 0.05 (null: "
                 f"expression labels permuted across the samples {evidence['permutations']} times, pooled within strata of pairs as "
                 f"discrete as each other).</p>")
    per_sample = pd.DataFrame([{"sample": s, **v} for s, v in scores["samples"].items()])
    if len(per_sample):
        parts.append(html_report.table(per_sample.rename(columns={"activity": "activity", "open_bins": "open bins", "candidate_pairs":
                                                                  "candidate pairs", "genes_with_links": "genes with links"}),
                                       {c: "{:,}" for c in ("open bins", "candidate pairs", "links", "genes with links")}))
    return "".join(parts)


def links_section(folder: Path, metrics: pd.DataFrame | None) -> str:
    summaries = {p.name.removesuffix(".links.json"): json.loads(p.read_text()) for p in sorted(folder.glob("*.links.json"))}
    if not summaries:
        return "<p>No model of this run has links.</p>"
    ranked = list(summaries)
    if metrics is not None and len(metrics):
        r2 = metrics.set_index("model")["r2"]
        ranked.sort(key=lambda m: -float(r2.get(m, -np.inf)))
    best = ranked[0]
    rows = pd.DataFrame([{"model": m, "links": s["n_links"], "genes with links": s["n_genes_with_links"],
                          "median |distance| (bp)": s.get("distance_quantiles_bp", {}).get("0.5", np.nan),
                          "within 2 kb of the TSS": s.get("share_within_bp", {}).get("2000", np.nan), "rule": s["rule"]}
                         for m, s in ((m, summaries[m]) for m in ranked)])
    top, reach = summaries[best]["links_top"], summaries[best]["links_max_distance"]
    parts = [f"<p>For every gene, the {top or 'every'} bins within {reach:,} bp of its TSS that move its prediction most, by each "
             f"model's own rule, each with the score of the training samples together (their mean activity). "
             f"Files: <code>links/&lt;model&gt;.links.tsv.gz</code> (the table), <code>.interact</code> (UCSC, IGV), <code>.bedpe</code> "
             f"(IGV, WashU) and <code>.bw</code> (|weight| summed over genes), per-gene bigWigs in <code>links/&lt;model&gt;/tracks/</code>.</p>",
             html_report.table(rows, {"within 2 kb of the TSS": "{:.0%}", "median |distance| (bp)": "{:,.0f}"}, highlight=best, key="model"),
             f"<h3>Best-predicted genes of {html_report.escape(best)}</h3>"]
    genes_file = folder / best / "best_genes.tsv"
    chosen = BEST_GENES.read(genes_file) if genes_file.exists() else None
    if chosen is None or not len(chosen):
        return "".join(parts) + "<p>No gene of this model has links.</p>"
    table = read_links(folder / f"{best}.links.tsv.gz")
    for _, gene in chosen.iterrows():
        caption = (f"{gene['gene_name']} ({gene['gene_id']}), {gene['r2_source']} R\u00b2 {gene['r2']:.2f}: genes, links (red: opening "
                   f"the bin raises the prediction, blue: lowers it), each sample's open bins (ordered by observed expression) and "
                   f"its observed and predicted expression.")
        parts.append(html_report.figure(folder / gene["figure"], caption, f"browser track of {gene['gene_name']}"))
        rows = table[table["gene_id"] == gene["gene_id"]][["rank", "chrom", "start", "end", "distance", "weight", "score", "abc",
                                                           "correlation", "fdr"]]
        parts.append(html_report.table(rows, {"weight": "{:.4g}", "score": "{:.3f}", "abc": "{:.3g}", "correlation": "{:.2f}",
                                              "fdr": "{:.2g}"}))
    return "".join(parts)


def qc_section(folder: Path, multiqc_report: str | None) -> str:
    samples, genes = QC_SAMPLES.read(folder / "qc_samples.tsv"), QC_GENES.read(folder / "qc_genes.tsv")
    samples = samples[["sample", *[c for c in QC_SAMPLES.columns[1:] if samples[c].notna().any()]]]
    titles = {"sample": "Sample", "pseudoaligned": "Pseudoaligned", "pseudoaligned_percent": "% pseudoaligned",
              **{c: header["title"] for c, header in qc.SAMPLE_HEADERS.items()}}
    samples = samples.rename(columns=titles)
    link = (f'<p>Full QC: <a href="{html_report.escape(multiqc_report)}">MultiQC report</a> (kallisto, reads, peaks, open bins, '
            f"genes, held-out metrics, software versions).</p>" if multiqc_report else "")
    return (link + "<h3>Per sample</h3>" + html_report.table(samples, {"% bins open": "{:.2f}", "% pseudoaligned": "{:.1f}",
                                                                       **{c: "{:,.0f}" for c in ("Reads checked", "Reads < k", "Pseudoaligned")}})
            + "<h3>Genes of the regions</h3>" + html_report.table(genes))


def report_page(dataset: Dataset, summary: dict, args: argparse.Namespace) -> html_report.Page:
    models = ", ".join(summary["models"]) or "none"
    why = summary.get("model_plan", {}).get("why", {})
    chosen = "; ".join(f"{purpose}: {reason}" for purpose, reason in why.items())
    page = html_report.Page("atac2expr report", f"{summary['samples']} samples, {dataset.layout.describe()}, {summary['genes']:,} genes; "
                                                f"trained models: {models}" + (f" (models chosen by {chosen})" if chosen else ""))
    units = next((m["target_transform"] for m in summary["models"].values()), "log1p(TPM)")
    metrics = None
    scored = score_section(args.links, args.outdir) if args.links else ""
    if scored:  # first: the links' score, validated on experimental truth
        page.add("score", "Which bins regulate each gene: the regulatory score", scored)
    if args.evaluation:
        body, metrics = evaluation_section(args.evaluation, units)
        page.add("evaluation", "Held-out evaluation", body)
    if args.links:
        page.add("links", "Which bins drive the best-predicted genes", links_section(args.links, metrics))
    if args.qc:
        page.add("qc", "QC", qc_section(args.qc, args.multiqc_report))
    training = "".join(html_report.figure(p, caption, p.stem) for p, caption in
                       [(args.outdir / "loss_curve.png", "Training loss of the MLP on all samples (dotted: the per-gene mean).")]
                       + [(args.outdir / f"expression_fit_{m}.png", f"{m}: observed and predicted expression of four samples (in-sample).")
                          for m in summary["models"]] if p.exists())
    page.add("training", "Training on all samples", training or "<p>No model was trained.</p>")
    return page


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--training", type=Path, nargs="+", required=True, help="train_model.py output folders")
    parser.add_argument("--evaluation", type=Path, help="evaluate.py output folder (metrics.tsv)")
    parser.add_argument("--expression_source", type=Path, help="expression_source.json of expression_table.py (--expression)")
    parser.add_argument("--links", type=Path, help="links.py outputs of every model (<model>.links.json, ...)")
    parser.add_argument("--qc", type=Path, help="qc_summary.py outputs (qc_samples.tsv, qc_genes.tsv)")
    parser.add_argument("--multiqc_report", help="where MultiQC's report is, relative to --outdir (a link on the page)")
    parser.add_argument("--plan", type=Path, help="CHECK_PARAMS' models.json: the models the run trained, evaluated and linked, and why")
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
    if args.plan:
        try:
            summary["model_plan"] = json.loads(args.plan.read_text())
        except (OSError, ValueError) as err:
            raise InputError(f"{args.plan}: not the run's models.json ({err})") from None
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
        metrics = METRICS.read(args.evaluation / "metrics.tsv")
        summary["heldout_metrics"] = evaluation_lib.of_folds(metrics, "random").set_index("model").to_dict(orient="index")
        by_group = evaluation_lib.of_folds(metrics, "group")
        if len(by_group):
            summary["heldout_metrics_leave_group_out"] = by_group.set_index("model").to_dict(orient="index")
    with atomic_output(args.outdir / "summary.json") as handle:
        json.dump(summary, handle, indent=2)
    page = report_page(dataset, summary, args)
    with atomic_output(args.outdir / REPORT_PAGE) as handle:
        handle.write(page.render())
    log.info("report for %d samples, %d bins, %d genes: %s", summary["samples"], summary["bins"], summary["genes"],
             ", ".join(f"{m} training MSE {v['final_training_loss']:.4f} (per-gene mean {v['mean_baseline_training_loss']:.4f})"
                       for m, v in summary["models"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
