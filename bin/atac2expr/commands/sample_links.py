"""Each training sample's regulatory links: for every gene, the sample's open bins within --links_max_distance of its
TSS scored by the regulatory score (bin/atac2expr/link_scores.py: the sample's own activity by contact, the training
samples' cross-sample evidence, the combiner fitted on CRISPRi-tested pairs), the --links_top best-scored per gene
(0: every one) whose evidence's FDR is at most --links_fdr.

The score does not depend on a model: the evidence is the one every model file of these samples keeps (the same
computation from the dataset), so -entry PREDICT with any of the run's models scores a new sample's bins the same way.

Outputs in --outdir:
  links.tsv.gz                 formats.SAMPLE_SCORES: sample, gene_id, gene_name, chrom, start, end, tss, distance, score, abc,
                               correlation, fdr, rank (1 = the sample's best-scored bin for the gene)
  <sample>.bw                  each sample's links as a bigWig: per bin, its scores summed over the genes it links to
                               (a genome's interact and BEDPE files of every training sample would be hundreds of MB;
                               -entry PREDICT writes them for the samples it is given)
  scores.json                  the settings, the combiner's version and provenance, the evidence's summary (pairs tested, kept,
                               significant at FDR 0.01 / 0.05 / 0.1, the null), and per sample its activity kind and counts
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli, dataset, files, link_scores, links
from atac2expr.regions import read_chrom_sizes
from atac2expr.settings import LinkSettings

log = logging.getLogger("sample_links")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--chrom_sizes", type=Path, required=True, help="the assembly's chromosome sizes (the bigWig headers)")
    parser.add_argument("--link_combiner", type=Path, required=True, help="the links' score combiner (assets/link_combiner.json)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True, help="seeds the permutations of the evidence's null (as in TRAIN_MODEL)")
    parser.add_argument("--heldout_combiners", action="store_true",
                        help="benchmarks: score each bin with the combiner fitted without its chromosome's CRISPRi pairs")
    LinkSettings.add_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    settings = LinkSettings.from_args(args)
    combiner = link_scores.Combiner.read(args.link_combiner)
    contact = link_scores.ContactModel.of(settings)
    combiner.check_contact(contact)
    chrom_sizes = read_chrom_sizes(args.chrom_sizes)
    ds = dataset.load_dataset(args.dataset)
    evidence = link_scores.compute_evidence(ds.activity, ds.Y, ds.bins, ds.genes, settings.links_max_distance, args.seed)
    positions = link_scores.Positions(ds.bins, ds.genes)
    names = ds.samples.astype(str)
    args.outdir.mkdir(parents=True, exist_ok=True)
    per_sample: dict[str, dict] = {}

    def tables():
        """Each sample's table in turn (its bigWig written beside it): one sample's links in memory at a time."""
        for row, sample in enumerate(names):
            kind = str(ds.activity_kind[row])
            log.info("%s: activity from %s", sample, link_scores.activity_note(kind))
            pairs = link_scores.score_sample(ds.activity[row], positions, contact, settings.links_max_distance, evidence, combiner,
                                             args.heldout_combiners)
            kept, rank = link_scores.select(pairs, settings.links_top, settings.links_fdr)
            found = links.Links(pairs.gene[kept], pairs.bin[kept], np.zeros(len(kept)), rank, np.full(len(kept), row, dtype=np.int64),
                                link_scores.columns_of(pairs, kept))
            table = links.links_table(found, ds.genes, ds.bins, names, with_weight=False)
            links.write_bigwig(links.bin_track(table, signed=False, value="score"), chrom_sizes, args.outdir / f"{sample}.bw")
            per_sample[sample] = {"activity": kind, "open_bins": int(np.count_nonzero(ds.activity[row])), "candidate_pairs": len(pairs),
                                  "links": int(len(kept)), "genes_with_links": int(table["gene_id"].nunique())}
            log.info("%s: %d candidate (gene, open bin) pairs; %d links kept (top %s per gene, FDR <= %g)", sample, len(pairs), len(kept),
                     settings.links_top or "all", settings.links_fdr)
            yield table

    links.write_table(tables(), args.outdir / "links.tsv.gz")
    report = {"settings": settings.as_dict(), "heldout_chromosomes": args.heldout_combiners,
              "combiner": {"version": combiner.version, "features": list(combiner.features), "provenance": combiner.provenance},
              "evidence": evidence.summary(), "samples": per_sample}
    with files.atomic_output(args.outdir / "scores.json") as handle:
        json.dump(report, handle, indent=2, default=float)
        handle.write("\n")
    log.info("wrote %s/{links.tsv.gz,scores.json} and each sample's .bw (%d links)", args.outdir,
             sum(v["links"] for v in per_sample.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
