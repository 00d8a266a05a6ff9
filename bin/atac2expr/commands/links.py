"""Gene-to-bin links of one model: which bins drive each gene's predicted expression, as tables and browser tracks.

A model trained by train_model.py (on all samples) is read from its --saved_model; another (ridge, archr, signac,
tss_window, local_ridge, tss_similarity) is fitted here on all samples of the dataset, ridge choosing its alpha
on the inner validation split as evaluate.py does; the MLP's links need its model file. How each model weighs a
bin is its `links_rule` (bin/atac2expr/modelling/predictors.py, docs/modelling.md); only bins within
--links_max_distance of a gene's TSS count, and each gene keeps its --links_top strongest by |weight| (0: every bin of
non-zero weight, and every open bin with a score). Each link also gets the regulatory score of the training samples
together (bin/atac2expr/link_scores.py on their mean activity, with the model file's cross-sample evidence, or the
dataset's for a model fitted here); --links_fdr keeps only links whose evidence's FDR is at most that. Each training
sample's own scores are link_scores.py's (sample_links/).

Outputs in --outdir (bin/atac2expr/links.py describes the formats):
  <model>.links.tsv.gz, <model>.interact, <model>.bedpe, <model>.bw   the links; the bigWig sums |weight| over genes
  <model>.links.json                                                   the rule, counts and distances to the TSS
  <model>/best_genes.tsv     the --links_genes best-predicted genes that have links (held-out R2 of evaluate.py when
                             the model was evaluated, else the in-sample fit's), with their figure and track
  <model>/tracks/<gene_id>.bw, <model>/figures/<gene_id>.png   their signed links and browser-track figures
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

from atac2expr import cli, dataset, files, link_scores, links, targets, tracks
from atac2expr.formats import BEST_GENES, PER_GENE_METRICS
from atac2expr.modelling import cross_validation, model_file, predictors, runtime
from atac2expr.regions import read_chrom_sizes
from atac2expr.settings import EvaluationSettings, LinkSettings, ModelSettings, check_links, estimate_links
from atac2expr.tables import of_folds, write_tsv

log = logging.getLogger("links")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--model", required=True, choices=[k for k, c in predictors.PREDICTORS.items() if c.links_rule],
                        help="the model whose links are written")
    parser.add_argument("--saved_model", type=Path, help="a trained model's model.pt of train_model.py (other models are fitted here)")
    parser.add_argument("--evaluation", type=Path, help="evaluate.py's folder: held-out R2 and predictions choose and draw the best genes")
    parser.add_argument("--chrom_sizes", type=Path, required=True, help="the assembly's chromosome sizes (the bigWig headers)")
    parser.add_argument("--link_combiner", type=Path, required=True, help="the links' score combiner (assets/link_combiner.json)")
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--links_genes", type=int, required=True, help="best-predicted genes that get a figure and a bigWig each")
    parser.add_argument("--heldout_combiners", action="store_true",
                        help="benchmarks: score each bin with the combiner fitted without its chromosome's CRISPRi pairs")
    LinkSettings.add_arguments(parser)
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch (the task's CPUs)")
    ModelSettings.add_arguments(parser)
    EvaluationSettings.add_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def fitted_predictor(args: argparse.Namespace, ds: dataset.Dataset, Y: np.ndarray, settings: ModelSettings,
                     evaluation: EvaluationSettings, device) -> predictors.Predictor:
    """The model of --saved_model (checked against the dataset), or the model fitted here on every sample."""
    if args.saved_model is not None:
        predictor, _ = model_file.load(args.saved_model)
        if predictor.kind != args.model:
            raise cli.InputError(f"--saved_model {args.saved_model}: a {predictor.kind} model, not {args.model}")
        if predictor.geometry.layout != ds.layout or list(predictor.geometry.genes["gene_id"]) != list(ds.genes["gene_id"]):
            raise cli.InputError(f"--saved_model {args.saved_model}: trained on other bins or genes than {args.dataset}")
        return predictor
    if args.model == "mlp":  # its training is TRAIN_MODEL's, with early stopping and memory checks
        raise cli.InputError("--model mlp: the MLP's links need its --saved_model")
    predictor = predictors.make(args.model, settings, predictors.Geometry.of(ds), evaluation)
    if predictor.reads:  # it chooses its settings inside all the samples, with their activity and groups
        report = predictor.fit(ds.X, Y, device=device, **predictors.inputs_for(predictor, activity=ds.activity, groups=ds.groups))
    else:
        inner, validation = cross_validation.inner_split(np.arange(len(ds.samples)), evaluation.val_fraction, settings.seed)
        report = predictor.fit(ds.X[inner], Y[inner], ds.X[validation] if len(validation) else None,
                               Y[validation] if len(validation) else None, device)
    if report.info:
        log.info("%s fitted on all %d samples: %s", args.model, len(ds.samples), {k: v for k, v in report.info.items() if not isinstance(v, dict)})
    return predictor


def best_genes(args: argparse.Namespace, table: pd.DataFrame, ds: dataset.Dataset, Y: np.ndarray, in_sample: np.ndarray) -> pd.DataFrame:
    """gene_id, gene_name, r2, r2_source of the --links_genes best-predicted genes with links: held out when evaluate.py
    scored the model, else in-sample."""
    linked = set(table["gene_id"])
    per_gene = args.evaluation / "per_gene_metrics.tsv" if args.evaluation else None
    scores = None
    if per_gene is not None and per_gene.exists():
        metrics = of_folds(PER_GENE_METRICS.read(per_gene), "random")
        metrics = metrics[metrics["model"] == args.model]
        if len(metrics):
            scores = metrics[["gene_id", "gene_name", "r2"]].assign(r2_source="held-out")
    if scores is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1 - ((in_sample - Y) ** 2).sum(axis=0) / ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        scores = ds.genes[["gene_id", "gene_name"]].assign(r2=r2, r2_source="in-sample")
    scores = scores[scores["gene_id"].isin(linked) & np.isfinite(scores["r2"].astype(float))]
    return scores.sort_values(["r2", "gene_id"], ascending=[False, True]).head(args.links_genes).reset_index(drop=True)


def heldout_of(evaluation: Path | None, model: str, gene_ids: set[str]) -> pd.DataFrame | None:
    """sample, gene_id, predicted (held out) of the chosen genes, read in chunks: the table holds every model x sample x gene."""
    path = evaluation / "heldout_predictions.tsv" if evaluation else None
    if path is None or not path.exists():
        return None
    parts = [chunk[(chunk["model"] == model) & chunk["gene_id"].isin(gene_ids)]
             for chunk in pd.read_csv(path, sep="\t", usecols=["model", "sample", "gene_id", "predicted"], dtype={"sample": str, "gene_id": str},
                                      chunksize=1_000_000)]
    found = pd.concat(parts, ignore_index=True)
    return found if len(found) else None


def scored_model_links(predictor: predictors.Predictor, ds: dataset.Dataset, pooled: np.ndarray, settings: LinkSettings,
                       evidence: link_scores.Evidence, combiner: link_scores.Combiner, heldout: bool, device) -> links.Links:
    """The model's links (each gene's top by |weight|, or every one) with the score of the training samples together
    (pooled: their mean activity); with --links_top 0 also every open bin's score of zero weight; only links whose FDR
    is at most --links_fdr."""
    filtered = settings.links_fdr < 1
    found = predictor.links(ds.X, settings.links_max_distance, 0 if filtered else settings.links_top, device=device)
    pairs = link_scores.score_sample(pooled, link_scores.Positions(ds.bins, ds.genes), link_scores.ContactModel.of(settings),
                                     settings.links_max_distance, evidence, combiner, heldout)
    scores = link_scores.lookup(pairs, found.gene, found.bin, ds.layout.n_bins)
    gene, bin_, weight = found.gene, found.bin, found.weight
    if settings.links_top == 0:  # every open bin's score too
        key = lambda g, b: np.asarray(g, dtype=np.int64) * (ds.layout.n_bins + 1) + b  # noqa: E731
        extra = np.flatnonzero(~np.isin(key(pairs.gene, pairs.bin), key(found.gene, found.bin)))
        gene, bin_ = np.r_[gene, pairs.gene[extra]].astype(np.int64), np.r_[bin_, pairs.bin[extra]].astype(np.int64)
        weight = np.r_[weight, np.zeros(len(extra))]
        scores = {c: np.r_[scores[c], link_scores.columns_of(pairs, extra)[c]] for c in links.SCORE_COLUMNS}
    allowed = np.flatnonzero(scores["fdr"] <= settings.links_fdr)
    centre = (ds.bins["start"].to_numpy(np.int64)[bin_] + ds.bins["end"].to_numpy(np.int64)[bin_]) // 2
    distance = np.abs(centre - ds.genes["tss"].to_numpy(np.int64)[gene])
    # each gene's links by |weight|, then score (the zero-weight bins of --links_top 0), then nearness
    order = allowed[np.lexsort((distance[allowed], -scores["score"][allowed], -np.abs(weight[allowed]), gene[allowed]))]
    g = gene[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, dtype=np.int64)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    keep = rank <= settings.links_top if settings.links_top else np.ones(len(order), dtype=bool)
    order, rank = order[keep], rank[keep]
    return links.Links(gene[order], bin_[order], weight[order], rank.astype(np.int64), None, {c: scores[c][order] for c in links.SCORE_COLUMNS})


def summary(table: pd.DataFrame, rule: str, n_genes: int, args: argparse.Namespace, evidence: link_scores.Evidence) -> dict:
    distance = table["distance"].abs()
    return {
        "model": args.model, "rule": rule, "links_top": args.links_top, "links_max_distance": args.links_max_distance,
        "links_fdr": args.links_fdr, "score": "the regulatory score of the training samples together (their mean activity): "
                                             "bin/atac2expr/link_scores.py", "evidence": evidence.summary(),
        "n_links": len(table), "n_genes": n_genes, "n_genes_with_links": int(table["gene_id"].nunique()),
        "n_positive": int((table["weight"] > 0).sum()), "n_negative": int((table["weight"] < 0).sum()),
        "distance_quantiles_bp": {str(q): float(distance.quantile(q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)} if len(table) else {},
        "share_within_bp": {str(d): float((distance <= d).mean()) for d in (1000, 2000, 10_000, 50_000)} if len(table) else {},
    }


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.links_genes < 0:
        raise cli.InputError(f"--links_genes {args.links_genes}: must be at least 0")
    settings, evaluation, link_settings = ModelSettings.from_args(args), EvaluationSettings.from_args(args), LinkSettings.from_args(args)
    runtime.set_threads(args.threads)
    device = runtime.resolve_device(settings.device)
    chrom_sizes = read_chrom_sizes(args.chrom_sizes)
    ds = dataset.load_dataset(args.dataset)
    estimate = estimate_links(ds.layout, ds.genes["chrom"].to_numpy(str), ds.genes["tss"].to_numpy(), args.links_max_distance,
                              args.links_top, [args.model])
    log.info("%s: %s", args.model, estimate.describe())
    check_links(estimate, None, "")  # CHECK_PARAMS refused what no task could hold; a task killed for memory is retried with more
    Y = targets.transform_targets(ds.Y, settings.target_transform)
    predictor = fitted_predictor(args, ds, Y, settings, evaluation, device)
    evidence = predictor.evidence
    if evidence is None:  # a model fitted here: the evidence a model file of these samples keeps
        evidence = link_scores.compute_evidence(ds.activity, ds.Y, ds.bins, ds.genes, args.links_max_distance, settings.seed)
    kinds = pd.Series(ds.activity_kind).value_counts().to_dict()
    log.info("the training samples' activity: %s", ", ".join(f"{n} {link_scores.activity_note(k)}" for k, n in kinds.items()))
    combiner = link_scores.Combiner.read(args.link_combiner)
    combiner.check_contact(link_scores.ContactModel.of(link_settings))
    pooled = dataset.mean_activity(args.dataset)
    found = scored_model_links(predictor, ds, pooled, link_settings, evidence, combiner, args.heldout_combiners, device)
    table = links.links_table(found, ds.genes, ds.bins)
    log.info("%s: %d links for %d of %d genes (up to %s per gene, bins within %d bp of the TSS, FDR <= %g); rule: %s", args.model,
             len(table), table["gene_id"].nunique(), len(ds.genes), args.links_top or "all", args.links_max_distance, args.links_fdr,
             predictor.links_rule)
    if table["gene_id"].nunique() < len(ds.genes):
        log.info("%d genes have no link: no bin within %d bp of their TSS, or every such bin weighs 0 in this model (or fails --links_fdr)",
                 len(ds.genes) - table["gene_id"].nunique(), args.links_max_distance)

    outdir = args.outdir
    description = f"atac2expr {args.model} links: top {args.links_top} bins per gene within {args.links_max_distance:,} bp of its TSS"
    links.write_links(table, outdir, args.model, description, ds.genes, chrom_sizes)
    with files.atomic_output(outdir / f"{args.model}.links.json") as handle:
        json.dump(summary(table, predictor.links_rule, len(ds.genes), args, evidence), handle, indent=2)
        handle.write("\n")

    in_sample = predictor.predict(ds.X, device, **predictors.predict_inputs(predictor, ds.activity if predictor.reads else None))
    chosen = best_genes(args, table, ds, Y, in_sample)
    heldout = heldout_of(args.evaluation, args.model, set(chosen["gene_id"]))
    model_dir = outdir / args.model
    track_paths = links.write_gene_tracks(table, list(chosen["gene_id"]), model_dir / "tracks", chrom_sizes)
    figures = []
    column = {g: i for i, g in enumerate(ds.genes["gene_id"])}
    for (_, gene_row), track in zip(chosen.iterrows(), track_paths, strict=True):
        g = column[gene_row["gene_id"]]
        if heldout is not None and gene_row["r2_source"] == "held-out":
            rows = heldout[heldout["gene_id"] == gene_row["gene_id"]].set_index("sample")["predicted"]
            predicted, label = rows.reindex(ds.samples.astype(str)).to_numpy(np.float64), "predicted (held out)"
        else:
            predicted, label = in_sample[:, g], "predicted (in-sample)"
        figure = model_dir / "figures" / f"{track.stem}.png"
        figure.parent.mkdir(parents=True, exist_ok=True)
        title = f"{gene_row['gene_name']} ({gene_row['gene_id']}): {args.model} links, {gene_row['r2_source']} R\u00b2 {gene_row['r2']:.2f}"
        tracks.plot_browser_track(ds.genes.iloc[g], ds.genes, ds.bins, ds.X, ds.samples, table[table["gene_id"] == gene_row["gene_id"]],
                                  Y[:, g], predicted, settings.units, title, label, figure)
        figures.append(figure)
    chosen = chosen.assign(model=args.model, n_links=chosen["gene_id"].map(table["gene_id"].value_counts()).astype(int),
                           figure=[str(p.relative_to(outdir)) for p in figures], track=[str(p.relative_to(outdir)) for p in track_paths])
    model_dir.mkdir(parents=True, exist_ok=True)
    write_tsv(BEST_GENES.frame(chosen), model_dir / "best_genes.tsv")
    log.info("wrote %s/%s.{links.tsv.gz,interact,bedpe,bw,links.json} and %d best genes' figures and tracks", outdir, args.model, len(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
