"""Gene TPM from an expression table instead of reads: --expression (TSV or CSV, genes x samples) or ENCODE's gene
quantifications (one file per sample), matched to the samplesheet's samples and to the annotation's genes.

Writes what gene_tpm.py writes from kallisto, so that BUILD_MATRIX reads either the same way: gene_tpm_matrix.tsv
(genes x samples), gene_tpm.tsv, genes.tsv (the kept genes of the regions), genes_dropped.tsv (genes left out and
why), and expression_source.json (the table, its unit, how it was made TPM, samples and columns left out, gene counts).
atac2expr/expression.py has the rules for values, samples, genes and units.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli
from atac2expr.annotation import genes_in_regions
from atac2expr.cli import InputError
from atac2expr.expression import (
    ExpressionTable,
    GeneMatch,
    gene_values,
    looks_like_counts,
    match_genes,
    read_expression_table,
    select_samples,
    table_of_quantifications,
    to_tpm,
)
from atac2expr.files import atomic_output
from atac2expr.formats import EXPRESSION_SOURCE_FIELDS, EXPRESSION_UNITS, GENE_LENGTHS, GENES, GENES_DROPPED
from atac2expr.regions import BinLayout
from atac2expr.tables import gene_tpm_tables, write_tsv

log = logging.getLogger("expression_table")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, help="the expression table (--expression)")
    parser.add_argument("--source", help="the table's name in messages (the user's path; default: --table)")
    parser.add_argument("--quantifications", type=Path, help="a TSV of sample, file, source: ENCODE gene quantifications per sample "
                                                              "(file relative to the TSV's folder)")
    parser.add_argument("--unit", choices=EXPRESSION_UNITS, required=True, help="what the table holds")
    parser.add_argument("--genes", type=Path, required=True, help="genes.tsv of gene_annotation.py")
    parser.add_argument("--gene_lengths", type=Path, help="gene_lengths.tsv of gene_annotation.py (needed with --unit counts)")
    parser.add_argument("--samplesheet", type=Path, required=True, help="samplesheet.valid.json of check_inputs.py")
    parser.add_argument("--layout", type=Path, required=True, help="the bin layout (define_bins.py)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def read_input(args: argparse.Namespace, samples: list[str]) -> ExpressionTable:
    if bool(args.table) == bool(args.quantifications):
        raise InputError("give --table or --quantifications")
    if args.table:
        return read_expression_table(args.table, args.unit, samples, args.source or str(args.table))
    sheet = pd.read_csv(args.quantifications, sep="\t", dtype=str, keep_default_na=False)
    folder = args.quantifications.parent
    table = table_of_quantifications({s: folder / f for s, f in zip(sheet["sample"], sheet["file"], strict=True)},
                                     dict(zip(sheet["sample"], sheet["source"], strict=True)))
    table.left_out = select_samples(table, samples)
    table.values = table.values[samples]
    return table


def exon_lengths(path: Path | None, unit: str) -> pd.Series | None:
    if unit != "counts":
        return None
    if path is None:
        raise InputError("--unit counts needs --gene_lengths")
    lengths = GENE_LENGTHS.read(path)
    return lengths.set_index("gene_id")["length"] if len(lengths) else None


def check_matched_sums(tpm: pd.DataFrame, values: pd.DataFrame, source: str, unit: str) -> None:
    """A sample none of whose expression is on a gene the annotation has (with a length, for counts) is refused."""
    sums = tpm.sum(axis=0)
    for sample in values.columns:
        if not np.isfinite(sums[sample]) or sums[sample] == 0:
            raise InputError(f"{source}, column '{sample}': none of its {unit} is on a gene of the annotation"
                             f"{' with exons (a length for TPM)' if unit == 'counts' else ''} (it sums to {values[sample].sum():.6g} "
                             f"over rows that match no gene); is the column the sample's, of this species and annotation?")


def dropped_table(table: ExpressionTable, match: GeneMatch, matched: np.ndarray, region_genes: pd.DataFrame, absent: np.ndarray) -> pd.DataFrame:
    """genes_dropped.tsv: each row of the table left out (with the reason), then each gene of the regions that no kept
    row is; a gene is listed once, under the reason of its row when a row of the table is that gene."""
    rows = ~matched & ~match.repeats
    rows_dropped = pd.DataFrame({"gene_id": np.where(match.gene_id[rows] != "", match.gene_id[rows], table.keys["gene_id"].to_numpy()[rows]),
                                 "gene_name": table.keys["gene_name"].to_numpy()[rows], "reason": match.reason[rows]})
    rows_dropped = rows_dropped.drop_duplicates(["gene_id", "gene_name", "reason"])
    already = set(match.gene_id[rows]) - {""}
    missing = region_genes[absent & ~region_genes["gene_id"].isin(already).to_numpy()]
    return pd.concat([missing.astype(str).assign(reason=f"not in {table.source}"), rows_dropped], ignore_index=True)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    layout = BinLayout.read(args.layout)
    genes = GENES.read(args.genes)
    samples = sorted(row["sample"] for row in json.loads(args.samplesheet.read_text()))
    table = read_input(args, samples)
    values = table.values[samples]
    if args.unit == "tpm" and looks_like_counts(values):
        log.warning("%s: every value is a whole number and the columns sum to %.3g on average (TPM sums to at most 1e6): these look "
                    "like read counts; if so, give --expression_unit counts", table.source, float(values.sum(axis=0).mean()))

    match = match_genes(table.keys, genes, values, table.lines)
    matched = match.gene_id != ""
    if not matched.any():
        example = ", ".join(table.keys.iloc[:3, 0].astype(str))
        raise InputError(f"{table.source}: none of its {len(table.keys)} genes (e.g. {example}) matches a gene of the annotation by id "
                         f"or name (the annotation has e.g. {', '.join(genes['gene_id'].head(3))}); are they of the same species and naming?")
    if match.several:
        log.warning("%s: %d gene(s) have several rows (e.g. %s): the rows of a gene are summed (%d genes), a row repeating an earlier "
                    "row of its gene exactly is taken once (%d rows)", table.source, match.several,
                    "; ".join(match.examples), match.summed, int(match.repeats.sum()))
    lengths = exon_lengths(args.gene_lengths, args.unit)
    per_gene = gene_values(values, match, matched)
    gene_lengths = None
    if lengths is not None:
        gene_lengths = per_gene.index.map(lengths).to_numpy(dtype=np.float64)
        no_length = pd.Index(match.gene_id).isin(per_gene.index[~np.isfinite(gene_lengths)])
        match.reason[no_length & matched] = "no exons in the annotation (no length for TPM)"
        matched &= ~no_length
        per_gene, gene_lengths = per_gene[np.isfinite(gene_lengths)], gene_lengths[np.isfinite(gene_lengths)]
    library = values[~match.repeats].sum(axis=0)
    tpm, normalisation = to_tpm(per_gene, args.unit, gene_lengths, library)
    check_matched_sums(tpm, values, table.source, args.unit)
    n_rows, n_kept = len(matched), int((matched & ~match.repeats).sum())
    log.info("%s: %d rows, %d of them %d genes of the annotation, %d left out (genes_dropped.tsv); %s", table.source, n_rows,
             n_kept, len(tpm), int((~matched).sum()), normalisation)

    region_genes = genes_in_regions(genes, list(layout.regions))
    absent = ~region_genes["gene_id"].isin(tpm.index).to_numpy()
    kept = region_genes[~absent].reset_index(drop=True)
    if kept.empty:
        raise InputError(f"--region {layout.describe()}: none of its {len(region_genes)} genes is in {table.source}")
    if absent.any():
        log.warning("%d of %d genes of the regions are not in %s; dropped (genes_dropped.tsv)", int(absent.sum()), len(region_genes), table.source)
    matrix, tidy = gene_tpm_tables(kept, {s: tpm.loc[kept["gene_id"], s].to_numpy() for s in samples})
    dropped = dropped_table(table, match, matched, region_genes, absent)
    summary = dict(zip(EXPRESSION_SOURCE_FIELDS, (
        table.source, args.unit, normalisation, samples, table.left_out, n_rows, len(tpm), int((~matched).sum()),
        len(kept), match.summed, int(match.repeats.sum())), strict=True))
    log.info("%d samples x %d genes in %s", len(samples), len(kept), layout.describe())

    for name, frame in {"gene_tpm_matrix.tsv": matrix, "gene_tpm.tsv": tidy, "genes.tsv": kept,
                        "genes_dropped.tsv": GENES_DROPPED.frame(dropped.reindex(columns=GENES_DROPPED.columns).fillna(""))}.items():
        write_tsv(frame, args.outdir / name)
    with atomic_output(args.outdir / "expression_source.json") as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
