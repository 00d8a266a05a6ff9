#!/usr/bin/env python3
"""The genes and transcripts of the references, checked against each other and against the regions.

Reads the GTF's gene and transcript lines and the cDNA FASTA's transcript ids, streaming (neither file is held
in memory), and writes:
  genes.tsv         every gene: gene_id, gene_name, gene_biotype, chrom, start, end, strand, tss (0-based)
  transcripts.tsv   transcript_id, gene_id, in_transcriptome (true when the FASTA holds the transcript)
Refused: a transcriptome that repeats a transcript id, regions without any gene, or whose genes have no
transcript in the transcriptome (gene TPM would be empty).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli
from atac2expr.annotation import genes_in_regions, read_gtf
from atac2expr.formats import TRANSCRIPTS
from atac2expr.regions import BinLayout
from atac2expr.sequences import fasta_ids
from atac2expr.tables import write_tsv

log = logging.getLogger("gene_annotation")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtf", type=Path, required=True, help="Ensembl or GENCODE GTF, gz or plain")
    parser.add_argument("--transcriptome", type=Path, required=True, help="cDNA FASTA, gz or plain")
    parser.add_argument("--layout", type=Path, required=True, help="the bin layout (define_bins.py)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    layout = BinLayout.read(args.layout)
    genes, transcripts = read_gtf(args.gtf)
    ids = fasta_ids(args.transcriptome)
    transcripts["in_transcriptome"] = transcripts["transcript_id"].isin(ids)
    n_fasta_only = len(ids) - int(transcripts["in_transcriptome"].sum())
    log.info("%s: %d genes, %d transcripts; %s: %d transcripts (%d of the GTF's, %d not in the GTF)", args.gtf, len(genes),
             len(transcripts), args.transcriptome, len(ids), int(transcripts["in_transcriptome"].sum()), n_fasta_only)

    in_region = genes_in_regions(genes, list(layout.regions))
    if in_region.empty:
        on = ", ".join(sorted(genes["chrom"].unique())[:10])
        raise cli.InputError(f"--region {layout.describe()}: no gene of {args.gtf} overlaps it (the GTF has genes on {on})")
    region_tx = transcripts[transcripts["gene_id"].isin(in_region["gene_id"])]
    if not region_tx["in_transcriptome"].any():
        example = region_tx["transcript_id"].iloc[0] if len(region_tx) else in_region["gene_id"].iloc[0]
        raise cli.InputError(f"--region {layout.describe()}: none of the {len(in_region)} genes of the region has a transcript in "
                             f"--transcriptome {args.transcriptome} (e.g. {example}); are the GTF and the FASTA of the same release?")
    log.info("region %s: %d genes, %d with a transcript in the transcriptome", layout.describe(), len(in_region),
             region_tx.loc[region_tx["in_transcriptome"], "gene_id"].nunique())
    write_tsv(genes, args.outdir / "genes.tsv")
    write_tsv(TRANSCRIPTS.frame(transcripts), args.outdir / "transcripts.tsv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
