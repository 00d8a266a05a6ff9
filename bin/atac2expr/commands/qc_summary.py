"""QC of a run, per sample and per gene, for the report page and for MultiQC.

Reads what the steps wrote: the dataset (samples, open bins, genes kept), each sample's peaks summary
(binarize_peaks.py), and where they exist the FASTQ checks (check_fastq.py), kallisto's run_info.json files, the
dropped genes (gene_tpm.py) and the held-out evaluation (evaluate.py). Steps that did not run (no FASTQs when
expression comes as a table, --evaluate false) leave their columns and sections out.

Outputs in --outdir:
  qc_samples.tsv   formats.QC_SAMPLES: reads, reads shorter than k, pseudoaligned, peaks, open bins per sample
  qc_genes.tsv     formats.QC_GENES: genes kept and dropped, by reason
  *_mqc.yaml       MultiQC custom content: general statistics, the two tables, open bins, held-out metrics and the
                   per-gene R2 distribution
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from atac2expr import cli, dataset, qc, targets
from atac2expr.formats import METRICS, PER_GENE_METRICS
from atac2expr.settings import TRANSFORMS
from atac2expr.tables import of_folds, write_tsv

log = logging.getLogger("qc_summary")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--peaks", type=Path, nargs="+", required=True, help="<sample>.peaks.json files of binarize_peaks.py")
    parser.add_argument("--fastq_checks", type=Path, nargs="*", default=[], help="<sample>.fastq_check.json files of check_fastq.py")
    parser.add_argument("--kallisto", type=Path, nargs="*", default=[], help="kallisto's output folders, named by sample")
    parser.add_argument("--genes_dropped", type=Path, help="genes_dropped.tsv (with a reason column)")
    parser.add_argument("--evaluation", type=Path, help="evaluate.py's folder (metrics.tsv, per_gene_metrics.tsv)")
    parser.add_argument("--target_transform", required=True, choices=TRANSFORMS, help="the models' targets (which genes have no variance)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def _table(path: Path) -> pd.DataFrame:
    """genes_dropped.tsv, its columns unchecked: only its reasons are counted (expression_table.py leaves the positions of genes not in
    the annotation empty, which formats.GENES_DROPPED's integer columns would refuse)."""
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], dtype={"gene_id": str, "gene_name": str, "model": str})
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise cli.InputError(f"{path}: not a TSV table ({' '.join(str(err).split())[:200]})") from None


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    ds = dataset.load_dataset(args.dataset)
    runs = [folder / "run_info.json" for folder in args.kallisto]
    samples = qc.sample_table(list(ds.samples.astype(str)), (ds.X != 0).sum(axis=1), ds.layout.n_bins, args.peaks, args.fastq_checks, runs)
    constant = int(targets.constant_columns(targets.transform_targets(ds.Y, args.target_transform)).sum())
    dropped = _table(args.genes_dropped) if args.genes_dropped else None
    genes = qc.gene_table(len(ds.genes), constant, dropped)
    metrics = per_gene = None
    if args.evaluation:
        # the random folds' (with groups, metrics.tsv also holds the leave-group-out folds')
        metrics = of_folds(METRICS.read(args.evaluation / "metrics.tsv"), "random")
        per_gene = of_folds(PER_GENE_METRICS.read(args.evaluation / "per_gene_metrics.tsv"), "random")

    write_tsv(samples, args.outdir / "qc_samples.tsv")
    write_tsv(genes, args.outdir / "qc_genes.tsv")
    content = qc.custom_content(samples, genes, ds.layout.n_bins, metrics, per_gene)
    for name, section in content.items():
        qc.write_custom_content(args.outdir / name, section)
    log.info("%d samples (%s), %d genes kept, %d dropped; %d MultiQC sections", len(samples),
             ", ".join(c for c in ("reads", "pseudoaligned", "peaks") if samples[c].notna().any()) or "peaks not given",
             int(genes.loc[genes["status"] == qc.KEPT, "genes"].sum()), int(genes.loc[genes["status"] == qc.DROPPED, "genes"].sum()),
             len(content))
    return 0


if __name__ == "__main__":
    sys.exit(main())
