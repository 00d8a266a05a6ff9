"""What a run's inputs looked like, per sample and per gene: the QC tables and MultiQC's custom content.

Per sample (formats.QC_SAMPLES): reads counted by CHECK_FASTQ (pairs for paired-end libraries) and those shorter
than k, reads kallisto pseudoaligned (run_info.json), peaks and those on the regions' chromosomes (BINARIZE_PEAKS),
open bins (the dataset). Columns of steps that did not run (no FASTQs) are empty.
Per gene (formats.QC_GENES): the genes of the regions kept, and dropped, by reason.

MultiQC reads the custom content files (`*_mqc.yaml`, MultiQC's own format: an id, a section, a plot type and the
data); kallisto's logs go through MultiQC's kallisto module and the versions through its software-versions section.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .cli import InputError
from .files import atomic_output
from .formats import PEAK_SUMMARY, QC_GENES, QC_SAMPLES

log = logging.getLogger(__name__)

KEPT, DROPPED = "kept", "dropped"
R2_FLOOR = -1.0  # the R2 box plot clips at -1, as the evaluation's figure does: a worse gene says the same below it


def _json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not {what} ({err})") from None


def sample_table(samples: list[str], open_bins: np.ndarray, n_bins: int, peak_summaries: list[Path], fastq_checks: list[Path],
                 kallisto_runs: list[Path]) -> pd.DataFrame:
    """formats.QC_SAMPLES rows, one per sample of the dataset. kallisto_runs: run_info.json files, each in a folder
    named by its sample (quant/<sample>/run_info.json)."""
    frame = pd.DataFrame(np.nan, index=pd.Index(samples, name="sample"), columns=QC_SAMPLES.columns[1:])
    for path in peak_summaries:
        summary = _json(path, "a peaks summary of binarize_peaks.py")
        missing = [k for k in PEAK_SUMMARY if k not in summary]
        if missing:
            raise InputError(f"{path}: a peaks summary without {', '.join(missing)}")
        frame.loc[str(summary["sample"]), ["peaks", "peaks_on_regions"]] = summary["peaks"], summary["peaks_on_regions"]
    for path in fastq_checks:
        check = _json(path, "a FASTQ check of check_fastq.py")
        frame.loc[str(check["sample"]), ["reads", "reads_shorter_than_k"]] = check["total_reads"], check["reads_shorter_than_k"]
    for path in kallisto_runs:
        run = _json(path, "kallisto's run_info.json")
        frame.loc[Path(path).parent.name, "pseudoaligned"] = run["n_pseudoaligned"]
    frame = frame.reindex(samples)  # samples of the inputs outside the dataset are not reported
    frame["bins_open"] = np.asarray(open_bins, dtype=np.int64)
    frame["bins_open_percent"] = 100.0 * frame["bins_open"] / max(n_bins, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["pseudoaligned_percent"] = 100.0 * frame["pseudoaligned"] / frame["reads"]
    ints = [c for c in QC_SAMPLES.of_type("int") if frame[c].notna().all()]
    frame[ints] = frame[ints].astype(np.int64)
    return QC_SAMPLES.frame(frame.reset_index())


def gene_table(n_kept: int, n_constant: int, dropped: pd.DataFrame | None) -> pd.DataFrame:
    """formats.QC_GENES: kept genes (those without variance apart) and the dropped ones by reason."""
    rows = [(KEPT, "in the regions, expression varies across samples", n_kept - n_constant),
            (KEPT, "in the regions, no variance across samples (trained on, left out of correlations)", n_constant)]
    if dropped is not None and len(dropped):
        if "reason" not in dropped:
            raise InputError("the dropped genes' table has no 'reason' column")
        rows += [(DROPPED, str(reason), int(count)) for reason, count in dropped["reason"].value_counts(sort=False).items()]
    return QC_GENES.frame(pd.DataFrame(rows, columns=QC_GENES.columns))


# ---------------------------------------------------------------- MultiQC custom content

def _clean(value: Any) -> Any:
    """A value as YAML can hold it: NaN left out by the caller, numpy scalars as Python numbers."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def _rows(frame: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]): {c: _clean(row[c]) for c in frame.columns if c != key and pd.notna(row[c])} for _, row in frame.iterrows()}


def write_custom_content(path: Path, content: dict[str, Any]) -> None:
    with atomic_output(path) as handle:
        yaml.safe_dump(content, handle, sort_keys=False, default_flow_style=False, allow_unicode=True)


SAMPLE_HEADERS = {
    "reads": {"title": "Reads checked", "description": "Reads (pairs for paired-end) in the FASTQs, counted by CHECK_FASTQ", "format": "{:,.0f}"},
    "reads_shorter_than_k": {"title": "Reads < k", "description": "Reads shorter than kallisto's k-mer length", "format": "{:,.0f}"},
    "peaks": {"title": "Peaks", "description": "ATAC-seq peaks in the sample's file", "format": "{:,.0f}"},
    "peaks_on_regions": {"title": "Peaks on regions' chromosomes", "description": "Peaks on a chromosome of the regions", "format": "{:,.0f}"},
    "bins_open": {"title": "Open bins", "description": "Bins a peak overlaps", "format": "{:,.0f}"},
    "bins_open_percent": {"title": "% bins open", "description": "Share of the bins a peak overlaps", "suffix": "%", "min": 0, "max": 100,
                          "format": "{:,.2f}"},
}


def custom_content(samples: pd.DataFrame, genes: pd.DataFrame, n_bins: int, metrics: pd.DataFrame | None,
                   per_gene: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """file name -> MultiQC custom content (YAML) of the QC tables and, when given, the held-out evaluation."""
    columns = [c for c in SAMPLE_HEADERS if samples[c].notna().any()]
    table = samples[["sample", *columns]]
    content: dict[str, dict[str, Any]] = {
        "atac2expr_general_stats_mqc.yaml": {
            "id": "atac2expr_general_stats", "plot_type": "generalstats",
            "pconfig": [{c: {**SAMPLE_HEADERS[c], "namespace": "atac2expr"}} for c in columns if c in ("reads", "peaks", "bins_open_percent")],
            "data": _rows(table[["sample", *[c for c in columns if c in ("reads", "peaks", "bins_open_percent")]]], "sample"),
        },
        "atac2expr_samples_mqc.yaml": {
            "id": "atac2expr_samples", "section_name": "Reads, peaks and open bins",
            "description": "Per sample: reads counted by CHECK_FASTQ (pairs for paired-end), ATAC-seq peaks and the bins they open.",
            "plot_type": "table", "pconfig": {"id": "atac2expr_samples_table", "title": "atac2expr: reads, peaks and open bins"},
            "headers": {c: SAMPLE_HEADERS[c] for c in columns}, "data": _rows(table, "sample"),
        },
        "atac2expr_open_bins_mqc.yaml": {
            "id": "atac2expr_open_bins", "section_name": "Open bins per sample",
            "description": f"Bins of the regions a peak overlaps (1) or not (0), of {n_bins:,} bins.",
            "plot_type": "bargraph", "pconfig": {"id": "atac2expr_open_bins_plot", "title": "atac2expr: open bins", "ylab": "bins"},
            "categories": {"open": {"name": "open", "color": "#1B7837"}, "closed": {"name": "closed", "color": "#BBBBBB"}},
            "data": {str(r["sample"]): {"open": int(r["bins_open"]), "closed": int(n_bins - r["bins_open"])} for _, r in samples.iterrows()},
        },
        "atac2expr_genes_mqc.yaml": {
            "id": "atac2expr_genes", "section_name": "Genes kept and dropped",
            "description": "The genes of the regions: kept for the models, or dropped, with the reason.",
            "plot_type": "table", "pconfig": {"id": "atac2expr_genes_table", "title": "atac2expr: genes", "col1_header": "reason",
                                              "sort_rows": False},
            "headers": {"status": {"title": "Status"}, "genes": {"title": "Genes", "format": "{:,.0f}"}},
            "data": {str(r["reason"]): {"status": str(r["status"]), "genes": int(r["genes"])} for _, r in genes.iterrows()},
        },
    }
    if metrics is not None and len(metrics):
        shown = {"mse": "MSE", "r2": "R\u00b2 vs per-gene mean", "r2_gene_median": "median per-gene R\u00b2",
                 "fraction_genes_better_than_mean": "genes better than the mean", "pearson_gene_median": "median per-gene Pearson"}
        content["atac2expr_heldout_metrics_mqc.yaml"] = {
            "id": "atac2expr_heldout_metrics", "section_name": "Held-out evaluation",
            "description": "Every model scored on samples it was not trained on (cross-validation over samples, the same folds for all).",
            "plot_type": "table", "pconfig": {"id": "atac2expr_heldout_metrics_table", "title": "atac2expr: held-out metrics",
                                              "col1_header": "model", "sort_rows": False},
            "headers": {k: {"title": v, "format": "{:,.0%}" if k.startswith("fraction") else "{:,.3f}"} for k, v in shown.items() if k in metrics},
            "data": _rows(metrics[["model", *[k for k in shown if k in metrics]]], "model"),
        }
    if per_gene is not None and len(per_gene):
        scored = per_gene[per_gene["r2"].notna()]
        content["atac2expr_r2_distribution_mqc.yaml"] = {
            "id": "atac2expr_r2_distribution", "section_name": "Per-gene R\u00b2 on held-out samples",
            "description": f"Each gene's skill over its training mean, per model (clipped at {R2_FLOOR:g}; above 0: better than the mean).",
            "plot_type": "box", "pconfig": {"id": "atac2expr_r2_distribution_plot", "title": "atac2expr: per-gene R\u00b2", "xlab": "R\u00b2",
                                            "sort_samples": False},
            "data": {str(m): [float(max(v, R2_FLOOR)) for v in rows["r2"]] for m, rows in scored.groupby("model", sort=False)},
        }
    return content
