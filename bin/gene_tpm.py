#!/usr/bin/env python3
"""Sum kallisto transcript TPMs to Ensembl genes and keep the genes of the region.

Transcripts are matched to genes through the GTF (transcript_id -> gene_id, version suffixes
stripped on both sides). A gene is "in the region" when its body overlaps the region.
Gene TPMs are not renormalised after the restriction: they stay comparable with TPMs of the
whole transcriptome.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from atac2expr import cli
from atac2expr.annotation import genes_in_regions, read_gtf, strip_version
from atac2expr.cli import InputError
from atac2expr.files import atomic_output
from atac2expr.regions import parse_regions

log = logging.getLogger("gene_tpm")


def read_abundance(path: Path) -> pd.DataFrame:
    """kallisto's abundance.tsv: target_id, length, eff_length, est_counts, tpm."""
    try:
        frame = pd.read_csv(path, sep="\t", dtype={"target_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: cannot read kallisto abundance table ({err})") from None
    if not {"target_id", "tpm"} <= set(frame.columns):
        raise InputError(f"{path}: not a kallisto abundance.tsv (columns target_id and tpm expected)")
    return frame


def transcript_to_gene_tpm(abundance: pd.DataFrame, transcripts: pd.DataFrame, sample: str) -> tuple[pd.Series, dict]:
    """Gene TPM (indexed by gene_id) and counts of what did not match the GTF."""
    tx = pd.DataFrame({"transcript_id": strip_version(abundance["target_id"].str.split("|").str[0]), "tpm": abundance["tpm"].to_numpy()})
    merged = tx.merge(transcripts, on="transcript_id", how="left")
    unmatched = merged["gene_id"].isna()
    stats = {
        "sample": sample, "transcripts": len(tx), "transcripts_not_in_gtf": int(unmatched.sum()),
        "tpm_not_in_gtf": float(merged.loc[unmatched, "tpm"].sum()),
    }
    if stats["transcripts_not_in_gtf"]:
        log.warning("%s: %d of %d transcripts are not in the GTF (%.2f TPM); left out of gene sums",
                    sample, stats["transcripts_not_in_gtf"], len(tx), stats["tpm_not_in_gtf"])
    return merged[~unmatched].groupby("gene_id")["tpm"].sum(), stats


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quant", type=Path, nargs="+", required=True,
                        help="kallisto output folders, each named after its sample and holding abundance.tsv")
    parser.add_argument("--gtf", type=Path, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--outdir", type=Path, default=Path("."))
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    regions = parse_regions(args.region)
    genes, transcripts = read_gtf(args.gtf)
    region_genes = genes_in_regions(genes, regions)
    if region_genes.empty:
        raise InputError(f"--region {args.region}: no genes of {args.gtf} overlap it")

    per_sample, stats = {}, []
    for folder in sorted(args.quant, key=lambda p: p.name):
        abundance_file = folder / "abundance.tsv" if folder.is_dir() else folder
        sample = folder.name if folder.is_dir() else folder.parent.name
        if sample in per_sample:
            raise InputError(f"--quant: sample {sample} given twice")
        gene_tpm, sample_stats = transcript_to_gene_tpm(read_abundance(abundance_file), transcripts, sample)
        per_sample[sample] = gene_tpm
        stats.append(sample_stats)

    quantified = set().union(*(s.index for s in per_sample.values()))
    absent = ~region_genes["gene_id"].isin(quantified)
    if absent.any():
        log.warning("%d of %d genes in the region have no transcript in the transcriptome; dropped (listed in genes_dropped.tsv)",
                    int(absent.sum()), len(region_genes))
    kept = region_genes[~absent].reset_index(drop=True)
    matrix = pd.DataFrame({s: tpm.reindex(kept["gene_id"]).fillna(0.0).to_numpy() for s, tpm in per_sample.items()})
    matrix.insert(0, "gene_name", kept["gene_name"].to_numpy())
    matrix.insert(0, "gene_id", kept["gene_id"].to_numpy())
    tidy = matrix.melt(id_vars=["gene_id", "gene_name"], var_name="sample", value_name="tpm")[["sample", "gene_id", "gene_name", "tpm"]]
    log.info("%d samples x %d genes in region %s", len(per_sample), len(kept), args.region)

    outputs = {
        "gene_tpm_matrix.tsv": matrix, "gene_tpm.tsv": tidy, "genes.tsv": kept,
        "genes_dropped.tsv": region_genes[absent].assign(reason="no transcript in the transcriptome"),
        "quant_summary.tsv": pd.DataFrame(stats),
    }
    for name, frame in outputs.items():
        with atomic_output(args.outdir / name) as handle:
            frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
