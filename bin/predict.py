#!/usr/bin/env python3
"""Predict gene expression of new samples with a model from train_model.py.

Input: the samples' bins from binarize_peaks.py, binned with the model's own layout and bin value (check_model.py
writes both); each file names its sample. Bins of another layout or bin value are refused. A model file is checked field by field before it is used.

Output (--output, TSV): sample, gene_id, gene_name, predicted (the model's units, log1p(TPM) by default),
predicted_tpm (inverse transform, clipped at 0).

With --links_outdir, each sample's links: for every gene of the model, the sample's open bins within
--links_max_distance of its TSS scored by the regulatory score (bin/atac2expr/link_scores.py: the sample's own activity
by contact, the model file's cross-sample evidence, the combiner fitted on CRISPRi-tested pairs), the --links_top
best-scored per gene (0: every one) whose evidence's FDR is at most --links_fdr, each with the model's weight (what
the bin contributed to the sample's prediction: the model's links rule applied to that sample alone,
bin/atac2expr/modelling/predictors.py). Written as links.tsv.gz (formats.SAMPLE_LINKS, a sample column first) and, per
sample, <sample>.interact, <sample>.bedpe and <sample>.bw of the scores (bin/atac2expr/links.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli, dataset, link_scores, links
from atac2expr.modelling import model_file, runtime
from atac2expr.modelling.predictors import CisPairs
from atac2expr.regions import read_chrom_sizes
from atac2expr.settings import LinkSettings
from atac2expr.tables import prediction_table, write_tsv

log = logging.getLogger("predict")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.pt from train_model.py")
    parser.add_argument("--bins", nargs="+", required=True, help="<sample>.bins.npz files from binarize_peaks.py")
    parser.add_argument("--output", required=True, help="predictions TSV")
    parser.add_argument("--device", required=True, help="cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch")
    parser.add_argument("--links_outdir", type=Path, help="write each sample's links here (needs --chrom_sizes and the link settings)")
    parser.add_argument("--chrom_sizes", type=Path, help="the assembly's chromosome sizes (the bigWig headers)")
    parser.add_argument("--link_combiner", type=Path, help="the links' score combiner (assets/link_combiner.json)")
    links_group = parser.add_argument_group("links (with --links_outdir)")
    for name, spec in LinkSettings.__dataclass_fields__.items():
        links_group.add_argument(f"--{name}", type={"int": int, "float": float}[str(spec.type)], help=spec.metadata.get("help", ""))
    parser.add_argument("--heldout_combiners", action="store_true",
                        help="benchmarks: score each bin with the combiner fitted without its chromosome's CRISPRi pairs")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.links_outdir:
        missing = [f"--{name}" for name in ("chrom_sizes", "link_combiner", *LinkSettings.__dataclass_fields__) if getattr(args, name) is None]
        if missing:
            raise cli.InputError(f"--links_outdir needs {', '.join(missing)}")
        link_settings = LinkSettings.from_args(args)
    runtime.set_threads(args.threads)
    device = runtime.resolve_device(args.device)
    predictor, train_samples = model_file.load(args.model)
    layout, bin_value = predictor.geometry.layout, predictor.geometry.bin_value
    log.info("%s: %s", args.model, model_file.describe(predictor, train_samples))

    names, rows, activity, kinds = [], [], [], []
    for path in sorted(args.bins):
        sample_bins = dataset.load_sample_bins(path, layout, bin_value)
        if sample_bins.sample in names:
            raise cli.InputError(f"{path}: sample {sample_bins.sample} given twice")
        names.append(sample_bins.sample)
        rows.append(sample_bins.values)
        if args.links_outdir:
            activity.append(sample_bins.activity)
            kinds.append(sample_bins.activity_kind)
        log.info("%s: %d of %d bins open (%s)", sample_bins.sample, np.count_nonzero(sample_bins.values), layout.n_bins, bin_value)
    X = np.stack(rows)
    predicted = predictor.predict(X, device)
    write_tsv(prediction_table(np.array(names), predictor.geometry.genes, predicted, predictor.settings.target_transform), args.output)
    log.info("wrote %s: %d samples x %d genes", args.output, len(names), predicted.shape[1])
    if args.links_outdir:
        write_sample_links(predictor, X, activity, kinds, np.array(names), link_settings, args, device)
    return 0


def write_sample_links(predictor, X: np.ndarray, activity: list[np.ndarray], kinds: list[str], names: np.ndarray,
                       settings: LinkSettings, args: argparse.Namespace, device) -> None:
    genes, bins = predictor.geometry.genes, predictor.geometry.bins
    combiner = link_scores.Combiner.read(args.link_combiner)
    contact = link_scores.ContactModel.of(settings)
    combiner.check_contact(contact)
    positions = link_scores.Positions(bins, genes)
    has_links = predictor.links_rule is not None
    parts = []
    for row, sample in enumerate(names):
        log.info("%s: activity from %s", sample, link_scores.activity_note(kinds[row]))
        pairs = link_scores.score_sample(activity[row], positions, contact, settings.links_max_distance, predictor.evidence, combiner,
                                         args.heldout_combiners)
        kept, rank = link_scores.select(pairs, settings.links_top, settings.links_fdr)
        chosen = CisPairs(pairs.gene[kept], pairs.bin[kept], pairs.distance[kept])
        weight = predictor.sample_link_weights(chosen, X[row : row + 1], device)[0] if has_links and len(kept) else np.zeros(len(kept))
        parts.append(links.Links(chosen.gene, chosen.bin, weight, rank, np.full(len(kept), row, dtype=np.int64),
                                 link_scores.columns_of(pairs, kept)))
        log.info("%s: %d candidate (gene, open bin) pairs within %d bp; %d links kept (top %s per gene, FDR <= %g)", sample, len(pairs),
                 settings.links_max_distance, len(kept), settings.links_top or "all", settings.links_fdr)
    if not has_links:
        log.warning("a %s model has no links rule: the links' weight column is 0", predictor.kind)
    found = links.Links(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("gene", "bin", "weight", "rank", "sample")),
                        {c: np.concatenate([p.scores[c] for p in parts]) for c in links.SCORE_COLUMNS})
    table = links.links_table(found, genes, bins, names)
    chrom_sizes = read_chrom_sizes(args.chrom_sizes)
    links.write_table(table, args.links_outdir / "links.tsv.gz")
    for sample in names:
        rows = table[table["sample"] == sample].drop(columns="sample")
        description = f"atac2expr: {sample}'s regulatory links scored (top {settings.links_top or 'all'} per gene), {predictor.kind} model"
        links.write_links(rows, args.links_outdir, str(sample), description, genes, chrom_sizes, with_table=False, value="score")
    log.info("wrote %s/links.tsv.gz and each sample's .interact, .bedpe, .bw (the score)", args.links_outdir)


if __name__ == "__main__":
    sys.exit(main())
