"""Sum kallisto transcript TPMs to genes and keep the genes of the regions.

Transcripts are matched to genes through the GTF (transcripts.tsv of gene_annotation.py; version suffixes
stripped on both sides). A gene is in the regions when its body overlaps one of them. Gene TPMs are not
renormalised after the restriction: they stay comparable with TPMs of the whole transcriptome. Genes of the
regions without any transcript in the transcriptome are dropped, listed with the reason in genes_dropped.tsv.

Outputs (TSV, floats in full precision): gene_tpm_matrix.tsv (genes x samples), gene_tpm.tsv (sample, gene_id,
gene_name, tpm), genes.tsv (the kept genes), genes_dropped.tsv, quant_summary.tsv (per sample: transcripts,
transcripts not in the GTF and their TPM).
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
from atac2expr.annotation import genes_in_regions, strip_version
from atac2expr.cli import InputError
from atac2expr.formats import GENES, QUANT_SUMMARY, TRANSCRIPTS, read_tsv
from atac2expr.regions import BinLayout
from atac2expr.tables import gene_tpm_tables, write_tsv

log = logging.getLogger("gene_tpm")


def read_abundance(path: Path) -> pd.DataFrame:
    """kallisto's abundance.tsv: target_id and tpm (the other columns are not read)."""
    try:
        frame = read_tsv(path, usecols=["target_id", "tpm"], dtype={"target_id": str, "tpm": np.float64})
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: not a kallisto abundance.tsv with target_id and tpm columns ({err})") from None
    return frame


class TranscriptGenes:
    """Which gene each of kallisto's targets belongs to, worked out once: every sample of a run is quantified
    against the same index, so its abundance.tsv lists the same targets in the same order."""

    def __init__(self, target_ids: np.ndarray, transcript_gene: pd.Series) -> None:
        self.target_ids = target_ids
        transcript_ids = strip_version(pd.Series(target_ids).str.split("|", n=1).str[0])
        codes, self.genes = pd.factorize(transcript_ids.map(transcript_gene))  # -1: a transcript not in the GTF
        self.codes = codes.astype(np.int64)
        self.matched = self.codes >= 0

    def gene_tpm(self, tpm: np.ndarray, sample: str) -> tuple[pd.Series, dict]:
        """Gene TPM (indexed by gene_id) and counts of what did not match the GTF."""
        unmatched = ~self.matched
        stats = {"sample": sample, "transcripts": len(tpm), "transcripts_not_in_gtf": int(unmatched.sum()),
                 "tpm_not_in_gtf": float(tpm[unmatched].sum()), "tpm_total": float(tpm.sum())}
        if stats["transcripts_not_in_gtf"]:
            log.warning("%s: %d of %d transcripts are not in the GTF (%.2f TPM); left out of gene sums",
                        sample, stats["transcripts_not_in_gtf"], len(tpm), stats["tpm_not_in_gtf"])
        sums = np.bincount(self.codes[self.matched], weights=tpm[self.matched], minlength=len(self.genes))
        return pd.Series(sums, index=self.genes), stats


def gene_tpm_per_sample(folders: list[Path], transcript_gene: pd.Series) -> tuple[dict[str, pd.Series], list[dict]]:
    """sample -> gene TPM (indexed by gene_id) of kallisto output folders named after their samples, and per-sample stats."""
    per_sample, stats = {}, []
    index: TranscriptGenes | None = None
    for folder in sorted(folders, key=lambda p: p.name):
        sample = folder.name
        if sample in per_sample:
            raise InputError(f"--quant: sample {sample} given twice")
        abundance = read_abundance(folder / "abundance.tsv")
        target_ids = abundance["target_id"].to_numpy()
        if index is None or not np.array_equal(index.target_ids, target_ids):
            index = TranscriptGenes(target_ids, transcript_gene)
        per_sample[sample], sample_stats = index.gene_tpm(abundance["tpm"].to_numpy(), sample)
        stats.append(sample_stats)
    return per_sample, stats


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quant", type=Path, nargs="+", required=True,
                        help="kallisto output folders, each named after its sample and holding abundance.tsv")
    parser.add_argument("--genes", type=Path, required=True, help="genes.tsv of gene_annotation.py")
    parser.add_argument("--transcripts", type=Path, required=True, help="transcripts.tsv of gene_annotation.py")
    parser.add_argument("--layout", type=Path, required=True, help="the bin layout (define_bins.py)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    layout = BinLayout.read(args.layout)
    genes = GENES.read(args.genes)
    transcripts = TRANSCRIPTS.read(args.transcripts)
    region_genes = genes_in_regions(genes, list(layout.regions))
    if region_genes.empty:
        raise InputError(f"--region {layout.describe()}: no genes of {args.genes} overlap it")
    transcript_gene = transcripts.set_index("transcript_id")["gene_id"]

    per_sample, stats = gene_tpm_per_sample(args.quant, transcript_gene)

    in_fasta = set(transcripts.loc[transcripts["in_transcriptome"], "gene_id"])
    absent = ~region_genes["gene_id"].isin(in_fasta)
    if absent.any():
        log.warning("%d of %d genes of the regions have no transcript in the transcriptome; dropped (genes_dropped.tsv)",
                    int(absent.sum()), len(region_genes))
    kept = region_genes[~absent].reset_index(drop=True)
    matrix, tidy = gene_tpm_tables(kept, {s: tpm.reindex(kept["gene_id"]).fillna(0.0).to_numpy() for s, tpm in per_sample.items()})
    log.info("%d samples x %d genes in %s", len(per_sample), len(kept), layout.describe())

    outputs = {
        "gene_tpm_matrix.tsv": matrix, "gene_tpm.tsv": tidy, "genes.tsv": kept,
        "genes_dropped.tsv": region_genes[absent].assign(reason="no transcript in the transcriptome"),
        "quant_summary.tsv": QUANT_SUMMARY.frame(pd.DataFrame(stats)),
    }
    for name, frame in outputs.items():
        write_tsv(frame, args.outdir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
