"""The QC tables and MultiQC's custom content (bin/qc_summary.py, atac2expr.qc), and the report page (bin/report.py,
atac2expr.html_report): what they hold when every step ran and when some did not, and that the page needs nothing
beside itself. The browser checks of both reports run on the shared end-to-end run (tests/test_pipeline.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import planted
import pytest
import yaml

from atac2expr import html_report, qc
from atac2expr.cli import InputError
from atac2expr.commands import qc_summary, report
from atac2expr.formats import METRICS, PER_GENE_METRICS, QC_GENES, QC_SAMPLES, Table
from atac2expr.tables import write_tsv


def write_json(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def write_table(table: Table, path, **columns):
    """evaluate.py's table `table` holding `columns`, random folds and zeros in the columns not given."""
    rows = len(next(iter(columns.values())))
    write_tsv(table.frame({name: columns.get(name, ["random"] * rows if name == "folds" else [0] * rows) for name in table.columns}), path)


@pytest.fixture
def inputs(tmp_path):
    ds = planted.write_planted(tmp_path / "dataset.npz", n_samples=6, n_genes=5, constant_genes=1)
    samples = list(ds.samples.astype(str))
    peaks = [write_json(tmp_path / "peaks" / f"{s}.peaks.json", {"sample": s, "peaks": 100 + i, "peaks_on_regions": 90 + i,
                                                                  "bins": ds.layout.n_bins, "bins_open": 10})
             for i, s in enumerate(samples)]
    checks = [write_json(tmp_path / "fastq" / f"{s}.fastq_check.json", {"sample": s, "total_reads": 1000 * (i + 1), "reads_shorter_than_k": i})
              for i, s in enumerate(samples)]
    runs = [write_json(tmp_path / "kallisto" / s / "run_info.json", {"n_processed": 1000 * (i + 1), "n_pseudoaligned": 900 * (i + 1)})
            for i, s in enumerate(samples)]
    dropped = tmp_path / "genes_dropped.tsv"
    pd.DataFrame({"gene_id": ["G9", "G10", "G11"], "reason": ["no transcript in the transcriptome"] * 2 + ["a name of several genes"]}).to_csv(
        dropped, sep="\t", index=False)
    return ds, peaks, checks, runs, dropped


def test_sample_table_every_step(inputs):
    ds, peaks, checks, runs, _ = inputs
    table = qc.sample_table(list(ds.samples.astype(str)), (ds.X != 0).sum(axis=1), ds.layout.n_bins, peaks, checks, runs)
    assert list(table.columns) == QC_SAMPLES.columns and len(table) == len(ds.samples)
    assert list(table["reads"]) == [1000.0 * (i + 1) for i in range(len(ds.samples))]
    assert np.allclose(table["pseudoaligned_percent"], 90.0)
    assert list(table["peaks"]) == [100 + i for i in range(len(ds.samples))]
    assert list(table["bins_open"]) == list(ds.X.sum(axis=1))  # the dataset's, not the summaries'
    assert np.allclose(table["bins_open_percent"], 100 * ds.X.mean(axis=1))


def test_sample_table_without_reads(inputs):
    """Expression given as a table: no FASTQ checks, no kallisto; those columns are empty, the rest is there."""
    ds, peaks, _, _, _ = inputs
    table = qc.sample_table(list(ds.samples.astype(str)), ds.X.sum(axis=1), ds.layout.n_bins, peaks, [], [])
    assert table["reads"].isna().all() and table["pseudoaligned_percent"].isna().all() and table["peaks"].notna().all()
    content = qc.custom_content(table, qc.gene_table(5, 0, None), ds.layout.n_bins, None, None)
    assert set(content) == {"atac2expr_general_stats_mqc.yaml", "atac2expr_samples_mqc.yaml", "atac2expr_open_bins_mqc.yaml",
                            "atac2expr_genes_mqc.yaml"}
    assert "reads" not in content["atac2expr_samples_mqc.yaml"]["headers"]


def test_a_bad_summary_is_named(inputs, tmp_path):
    ds, peaks, _, _, _ = inputs
    broken = write_json(tmp_path / "broken.peaks.json", {"sample": "S00"})
    with pytest.raises(InputError, match="broken.peaks.json: a peaks summary without peaks, peaks_on_regions, bins, bins_open"):
        qc.sample_table(list(ds.samples.astype(str)), ds.X.sum(axis=1), ds.layout.n_bins, [*peaks, broken], [], [])


def test_gene_table_counts_kept_and_dropped_by_reason():
    dropped = pd.DataFrame({"reason": ["no transcript", "no transcript", "ambiguous name"]})
    table = qc.gene_table(10, 2, dropped)
    assert list(table.columns) == QC_GENES.columns
    assert table.set_index("reason")["genes"].to_dict() == {
        "in the regions, expression varies across samples": 8,
        "in the regions, no variance across samples (trained on, left out of correlations)": 2, "no transcript": 2, "ambiguous name": 1}


def test_qc_summary_script_writes_tables_and_multiqc_content(inputs, tmp_path):
    ds, peaks, checks, runs, dropped = inputs
    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    write_table(METRICS, evaluation / "metrics.tsv", model=["mean", "ridge"], mse=[1.0, 0.5], r2=[0.0, 0.5], r2_gene_median=[0.0, 0.4],
                fraction_genes_better_than_mean=[0.0, 0.8], pearson_gene_median=[-0.2, 0.7])
    write_table(PER_GENE_METRICS, evaluation / "per_gene_metrics.tsv", model=["mean"] * 2 + ["ridge"] * 2, gene_id=["A", "B"] * 2,
                gene_name=["NA", "B"] * 2, r2=[0.0, np.nan, 0.6, -5.0], status=["ok"] * 4)
    out = tmp_path / "qc"
    assert qc_summary.main(["--dataset", str(tmp_path / "dataset.npz"), "--peaks", *map(str, peaks), "--fastq_checks", *map(str, checks),
                            "--kallisto", *[str(r.parent) for r in runs], "--genes_dropped", str(dropped), "--evaluation", str(evaluation),
                            "--target_transform", "log1p", "--outdir", str(out)]) == 0
    samples = QC_SAMPLES.read(out / "qc_samples.tsv")
    assert (samples["pseudoaligned_percent"] == 90).all()
    genes = QC_GENES.read(out / "qc_genes.tsv").set_index("reason")["genes"]
    assert genes["no transcript in the transcriptome"] == 2 and genes["a name of several genes"] == 1
    assert genes["in the regions, no variance across samples (trained on, left out of correlations)"] == 1  # constant_genes=1
    content = {p.name: yaml.safe_load(p.read_text()) for p in out.glob("*_mqc.yaml")}
    assert len(content) == 6 and all(c["id"] for c in content.values())
    box = content["atac2expr_r2_distribution_mqc.yaml"]
    assert box["plot_type"] == "box" and box["data"] == {"mean": [0.0], "ridge": [0.6, -1.0]}  # NaN left out, clipped at -1
    assert content["atac2expr_heldout_metrics_mqc.yaml"]["data"]["ridge"]["r2"] == 0.5
    stats = content["atac2expr_general_stats_mqc.yaml"]
    assert stats["plot_type"] == "generalstats" and set(stats["data"][str(ds.samples[0])]) == {"reads", "peaks", "bins_open_percent"}


# ---------------------------------------------------------------- the report page

def test_tables_escape_what_the_data_holds():
    frame = pd.DataFrame({"gene": ["<script>alert(1)</script>", "A&B"], "r2": [0.5, np.nan], "n": [3, 4]})
    text = html_report.table(frame, highlight="A&B", key="gene")
    assert "<script>" not in text and "&lt;script&gt;" in text and "A&amp;B" in text
    assert '<tr class="best">' in text and "<td class=\"\">0.5</td>" in text and "<td class=\"\"></td>" in text


def test_report_page_embeds_everything(inputs, tmp_path):
    """report.py with training, evaluation, links and QC: one HTML file, every figure a data: URI, no script, no
    address outside the page but MultiQC's report beside it."""
    from planted import ASSEMBLY, settings_args

    from atac2expr.commands import train_model

    ds, peaks, _, _, _ = inputs  # no reads: their columns stay out of the page
    assert train_model.main(["--dataset", str(tmp_path / "dataset.npz"), "--outdir", str(tmp_path / "training" / "tss_window"),
                             "--model", "tss_window", "--threads", "1", "--max_memory", "0", *ASSEMBLY, "--links_max_distance", "250000",
                             *settings_args()]) == 0
    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    write_table(METRICS, evaluation / "metrics.tsv", model=["mean", "tss_window"], mse=[1.0, 0.5], r2=[0.0, 0.5], r2_gene_median=[0.0, 0.4],
                fraction_genes_better_than_mean=[0.0, 0.75], pearson_gene_median=[-0.1, 0.6])
    qc_folder = tmp_path / "qc"
    qc_folder.mkdir()
    samples = qc.sample_table(list(ds.samples.astype(str)), ds.X.sum(axis=1), ds.layout.n_bins, peaks, [], [])
    samples.to_csv(qc_folder / "qc_samples.tsv", sep="\t", index=False)
    qc.gene_table(5, 1, None).to_csv(qc_folder / "qc_genes.tsv", sep="\t", index=False)
    out = tmp_path / "report"
    out.mkdir()
    assert report.main(["--dataset", str(tmp_path / "dataset.npz"), "--training", str(tmp_path / "training" / "tss_window"),
                        "--evaluation", str(evaluation), "--qc", str(qc_folder), "--multiqc_report", "../multiqc/multiqc_report.html",
                        "--outdir", str(out)]) == 0
    text = (out / report.REPORT_PAGE).read_text()
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text
    sources = re.findall(r'src="([^"]*)"', text)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)  # loss curve, expression fit
    assert re.findall(r'href="([^"#][^"]*)"', text) == ["../multiqc/multiqc_report.html"]
    assert "Held-out evaluation" in text and "tss_window" in text and "QC" in text and "Which bins" not in text  # no links given
    assert "Peaks on regions" in text and "seudoaligned" not in text


def test_report_page_leads_with_the_regulatory_score_and_its_benchmark(inputs, tmp_path):
    """With the training samples' scored links (sample_links.py), the page opens with the score: what it is, its
    benchmark figure on the CRISPRi pairs (the combiner's record) and each sample's counts."""
    from planted import ASSEMBLY, CHROM_SIZES, link_args, settings_args

    from atac2expr.commands import sample_links, train_model

    assert train_model.main(["--dataset", str(tmp_path / "dataset.npz"), "--outdir", str(tmp_path / "training" / "tss_window"),
                             "--model", "tss_window", "--threads", "1", "--max_memory", "0", *ASSEMBLY, "--links_max_distance", "250000",
                             *settings_args()]) == 0
    folder = tmp_path / "links"
    assert sample_links.main(["--dataset", str(tmp_path / "dataset.npz"), "--chrom_sizes", str(CHROM_SIZES), "--outdir", str(folder),
                              "--seed", "1", *link_args()]) == 0
    out = tmp_path / "report"
    out.mkdir()
    assert report.main(["--dataset", str(tmp_path / "dataset.npz"), "--training", str(tmp_path / "training" / "tss_window"),
                        "--links", str(folder), "--outdir", str(out)]) == 0
    text = (out / report.REPORT_PAGE).read_text()
    sections = re.findall(r'<section id="([^"]+)"><h2>([^<]+)</h2>', text)
    assert sections[0] == ("score", "Which bins regulate each gene: the regulatory score")
    assert (out / report.BENCHMARK_FIGURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "AP 0.6" in text
    assert "sample_links/links.tsv.gz" in text and "No model of this run has links" in text
