"""Predict gene expression of new samples with a model from train_model.py.

Input: the samples' bins from binarize_peaks.py, binned with the model's own layout and bin value (check_model.py
writes both); each file names its sample. Bins of another layout or bin value are refused. A model file is checked field by field before it is used.

Output (--output, TSV): sample, gene_id, gene_name, predicted (the model's units, log1p(TPM) by default),
predicted_tpm (inverse transform, clipped at 0).

With --new_samples, what each new sample is next to the model's training samples (modelling/new_sample.py): its
nearest training sample and their similarity beside the training samples' own range, its peaks and the share of them
on the model's chromosomes (from --peak_summaries, BINARIZE_PEAKS' <sample>.peaks.json), the kind of its activity and
how it was normalised, and how far the model's ranking of genes agrees with the sample's own promoters. With
--promoter_baseline, the promoter baseline's predictions (the sample's promoter activity mapped to expression by the
rule fitted across genes on the training samples) beside the model's, per sample and gene.

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
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli, dataset, files, link_scores, links
from atac2expr.formats import PROMOTER_BASELINE
from atac2expr.modelling import model_file, new_sample, predictors, promoter, runtime
from atac2expr.modelling.predictors import CisPairs
from atac2expr.regions import read_chrom_sizes
from atac2expr.settings import LinkSettings, check_links, estimate_links
from atac2expr.tables import prediction_table, write_tsv

log = logging.getLogger("predict")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.pt from train_model.py")
    parser.add_argument("--model_source", help="the model's name in messages (the user's path; default: --model)")
    parser.add_argument("--bins", nargs="+", required=True, help="<sample>.bins.npz files from binarize_peaks.py")
    parser.add_argument("--output", required=True, help="predictions TSV")
    parser.add_argument("--device", required=True, help="cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch")
    parser.add_argument("--new_samples", type=Path, help="write the new-sample report here (TSV: nearest training sample, similarity, ...)")
    parser.add_argument("--promoter_baseline", type=Path, help="write the promoter baseline beside the predictions here (TSV)")
    parser.add_argument("--peak_summaries", type=Path, nargs="*", default=[],
                        help="<sample>.peaks.json of binarize_peaks.py: each sample's peaks, for the share on the model's chromosomes")
    parser.add_argument("--links_outdir", type=Path, help="write each sample's links here (needs --chrom_sizes, --link_combiner and the "
                                                          "link settings)")
    parser.add_argument("--chrom_sizes", type=Path, help="the assembly's chromosome sizes (the bigWig headers)")
    parser.add_argument("--link_combiner", type=Path, help="the links' score combiner (assets/link_combiner.json)")
    LinkSettings.add_arguments(parser, required=False, title="links (with --links_outdir)")
    parser.add_argument("--heldout_combiners", action="store_true",
                        help="benchmarks (--links_heldout_chromosomes): score each bin with the combiner fitted without its "
                             "chromosome's CRISPRi pairs")
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
    source = args.model_source or args.model
    predictor, train_samples, reference = model_file.load_with_reference(args.model, source=source)
    layout, bin_value = predictor.geometry.layout, predictor.geometry.bin_value
    log.info("%s: %s", source, model_file.describe(predictor, train_samples))
    log.info("the model expects peaks of samples like its training samples (activity %s), normalised so: %s",
             "/".join(sorted(set(reference.activity_kinds))), new_sample.NORMALISATION)

    names, rows, activity, kinds = [], [], [], []
    for path in sorted(args.bins):
        sample_bins = dataset.load_sample_bins(path, layout, bin_value)
        if sample_bins.sample in names:
            raise cli.InputError(f"{path}: sample {sample_bins.sample} given twice")
        names.append(sample_bins.sample)
        rows.append(sample_bins.values)
        activity.append(sample_bins.activity)
        kinds.append(sample_bins.activity_kind)
        log.info("%s: %d of %d bins open (%s); activity: %s, as ranks among its %d bins with a peak", sample_bins.sample,
                 np.count_nonzero(sample_bins.values), layout.n_bins, bin_value,
                 "the peaks' signalValue" if sample_bins.activity_kind == "signal" else "open/closed (no signalValue)",
                 np.count_nonzero(sample_bins.activity))
    X, activity = np.stack(rows), np.stack(activity)
    new_sample.check_activity_kinds(reference, names, kinds)
    predicted = predictor.predict(X, device, **predictors.predict_inputs(predictor, activity))
    genes = predictor.geometry.genes
    write_tsv(prediction_table(np.array(names), genes, predicted, predictor.settings.target_transform), args.output)
    log.info("wrote %s: %d samples x %d genes", args.output, len(names), predicted.shape[1])
    if args.new_samples or args.promoter_baseline:
        table, baseline = new_sample.report(reference, train_samples, names, X, activity, kinds, predicted,
                                            promoter.PromoterBins(predictor.geometry.bins, genes), read_peak_summaries(args.peak_summaries))
        if args.new_samples:
            write_tsv(table, args.new_samples)
        if args.promoter_baseline:
            n_genes = len(genes)
            write_tsv(PROMOTER_BASELINE.frame({
                "sample": np.repeat(np.array(names), n_genes), "gene_id": np.tile(genes["gene_id"].to_numpy(str), len(names)),
                "gene_name": np.tile(genes["gene_name"].to_numpy(str), len(names)), "predicted": predicted.reshape(-1),
                "promoter_baseline": baseline["baseline"].reshape(-1), "promoter_activity_rank": baseline["promoter"].reshape(-1),
                "training_mean": np.tile(reference.train_mean, len(names))}), args.promoter_baseline)
    if args.links_outdir:
        write_sample_links(predictor, X, activity, kinds, np.array(names), link_settings, args, device)
    return 0


def read_peak_summaries(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """sample -> (peaks in its file, peaks on the regions' chromosomes) from binarize_peaks.py's <sample>.peaks.json."""
    counts = {}
    for path in paths:
        try:
            summary = json.loads(files.read_text(path))
            counts[str(summary["sample"])] = (int(summary["peaks"]), int(summary["peaks_on_regions"]))
        except (ValueError, TypeError, KeyError) as err:
            raise cli.InputError(f"{path}: not a peak summary written by binarize_peaks.py ({err})") from None
    return counts


def write_sample_links(predictor, X: np.ndarray, activity: np.ndarray, kinds: list[str], names: np.ndarray, settings: LinkSettings,
                       args: argparse.Namespace, device) -> None:
    genes, bins = predictor.geometry.genes, predictor.geometry.bins
    estimate = estimate_links(predictor.geometry.layout, genes["chrom"].to_numpy(str), genes["tss"].to_numpy(), settings.links_max_distance,
                              settings.links_top, [predictor.kind], copies=len(names))  # every sample's links in this one task
    log.info("links of %d samples: %s", len(names), estimate.describe())
    check_links(estimate, None, "")
    combiner = link_scores.Combiner.read(args.link_combiner)
    contact = link_scores.ContactModel.of(settings)
    combiner.check_contact(contact)
    positions = link_scores.Positions(bins, genes)
    has_links = predictor.links_rule is not None
    if not has_links:
        log.warning("a %s model has no links rule: the links' weight column is 0", predictor.kind)
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
