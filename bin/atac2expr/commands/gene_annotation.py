"""The genes and transcripts of the references, checked against each other and against the regions.

Reads the annotation, a GTF (gene and transcript lines, streaming) or a BED6/BED12 (--gene_bed: annotation.read_gene_bed
says how a gene's TSS and body are chosen), and the cDNA FASTA's transcript ids when reads are quantified, and writes
the same tables from either annotation:
  genes.tsv         every gene: gene_id, gene_name, gene_biotype, chrom, start, end, strand, tss (0-based)
  transcripts.tsv   transcript_id, gene_id, in_transcriptome (true when the FASTA holds the transcript)
  gene_lengths.tsv  with --exon_lengths: gene_id, length (union of its exons); no rows when the annotation has no exons
Refused: a transcriptome that repeats a transcript id, regions without any gene, or whose genes have no
transcript in the transcriptome (gene TPM would be empty).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from atac2expr import cli
from atac2expr.annotation import genes_in_regions, read_gene_bed, read_gtf, read_gtf_exon_lengths
from atac2expr.formats import GENE_LENGTHS, TRANSCRIPTS
from atac2expr.regions import BinLayout
from atac2expr.sequences import fasta_ids
from atac2expr.tables import write_tsv

log = logging.getLogger("gene_annotation")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    annotation = parser.add_mutually_exclusive_group(required=True)
    annotation.add_argument("--gtf", type=Path, help="Ensembl or GENCODE GTF, gz or plain")
    annotation.add_argument("--gene_bed", type=Path, help="BED6 or BED12 gene annotation, gz or plain")
    parser.add_argument("--transcriptome", type=Path, help="cDNA FASTA, gz or plain (reads quantified by kallisto)")
    parser.add_argument("--annotation_source", help="the annotation's name in messages (the user's path; default: --gtf or --gene_bed)")
    parser.add_argument("--transcriptome_source", help="the transcriptome's name in messages (the user's path)")
    parser.add_argument("--exon_lengths", action="store_true", help="also write gene_lengths.tsv (read counts -> TPM)")
    parser.add_argument("--layout", type=Path, required=True, help="the bin layout (define_bins.py)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    layout = BinLayout.read(args.layout)
    source = cli.show_as(args.gtf or args.gene_bed, args.annotation_source)
    if args.transcriptome:
        cli.show_as(args.transcriptome, args.transcriptome_source)
    lengths = None
    if args.gtf:
        genes, transcripts = read_gtf(args.gtf)
        if args.exon_lengths:
            lengths = read_gtf_exon_lengths(args.gtf)
    else:
        bed = read_gene_bed(args.gene_bed)
        genes, transcripts, lengths = bed.genes, bed.transcripts, bed.lengths
        if bed.tss_only:
            log.info("%s holds TSSs only: each gene's body is its TSS (1 bp); the gene-activity baselines (archr, signac) "
                     "score the bins around it (docs/usage.md, 'Expression tables, BED annotations, other assemblies')", source)

    in_region = genes_in_regions(genes, list(layout.regions))
    if in_region.empty:
        on = ", ".join(sorted(genes["chrom"].unique())[:10])
        raise cli.InputError(f"--region {layout.describe()}: no gene of {source} overlaps it (the annotation has genes on {on})")
    if args.transcriptome:
        ids = fasta_ids(args.transcriptome)
        transcripts["in_transcriptome"] = transcripts["transcript_id"].isin(ids)
        n_fasta_only = len(ids) - int(transcripts["in_transcriptome"].sum())
        log.info("%s: %d genes, %d transcripts; %s: %d transcripts (%d of the annotation's, %d not in it)", source, len(genes),
                 len(transcripts), args.transcriptome, len(ids), int(transcripts["in_transcriptome"].sum()), n_fasta_only)
        region_tx = transcripts[transcripts["gene_id"].isin(in_region["gene_id"])]
        if not region_tx["in_transcriptome"].any():
            example = region_tx["transcript_id"].iloc[0] if len(region_tx) else in_region["gene_id"].iloc[0]
            raise cli.InputError(f"--region {layout.describe()}: none of the {len(in_region)} genes of the region has a transcript in "
                                 f"--transcriptome {args.transcriptome} (e.g. {example}); are the annotation and the FASTA of the same "
                                 f"release (and does the annotation name transcripts)?")
        log.info("region %s: %d genes, %d with a transcript in the transcriptome", layout.describe(), len(in_region),
                 region_tx.loc[region_tx["in_transcriptome"], "gene_id"].nunique())
    else:
        transcripts["in_transcriptome"] = False
        log.info("%s: %d genes, %d transcripts; region %s: %d genes", source, len(genes), len(transcripts), layout.describe(), len(in_region))
    write_tsv(genes, args.outdir / "genes.tsv")
    write_tsv(TRANSCRIPTS.frame(transcripts), args.outdir / "transcripts.tsv")
    if args.exon_lengths:
        if lengths is None:
            log.info("%s has no exons: read counts become CPM, not TPM", source)
            lengths = pd.Series(dtype=np.int64)
        write_tsv(GENE_LENGTHS.frame({"gene_id": lengths.index.astype(str), "length": lengths.to_numpy(np.int64)}), args.outdir / "gene_lengths.tsv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
