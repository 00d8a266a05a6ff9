"""Train a model on ALL samples of a dataset (the original study's fit) and save it.

Inputs: dataset.npz from build_matrix.py (X samples x bins, 0/1 or signal; Y samples x genes TPM).
Outputs in --outdir (each written atomically):
  model.pt          the fitted state + metadata (settings, bin layout, genes, the assembly: --genome and a checksum of
                    --chrom_sizes, which -entry PREDICT checks), the reference a new sample is compared with (the
                    training samples' open bins, the promoter rule, each gene's training mean: -entry PREDICT's
                    new-sample report) and the training samples' cross-sample evidence of the links' score
                    (atac2expr/link_scores.py: the correlation of each bin's activity with each gene's expression within
                    --links_max_distance, its FDR, each gene's expression statistics), whatever the model; load with
                    torch.load(weights_only=True)
  loss.tsv          epoch, train_loss (MSE in the target's units, per epoch; the MLP's training; one row, the
                    in-sample MSE, for the closed-form models)
  predictions.tsv   in-sample predictions: sample, gene_id, gene_name, observed, predicted (target units),
                    observed_tpm, predicted_tpm (inverse transform, clipped at 0)
  training.json     settings, sizes, final and baseline losses, the evidence's summary, device, seed, software versions

How well the model predicts samples it has not seen is evaluate.py's job (cross-validation); the losses
here are in-sample.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli, dataset, files, genomes, link_scores, targets
from atac2expr.formats import TRAINING_LOSS
from atac2expr.modelling import model_file, new_sample, predictors, promoter, runtime
from atac2expr.regions import read_chrom_sizes
from atac2expr.settings import ModelSettings
from atac2expr.tables import prediction_table, write_tsv

log = logging.getLogger("train_model")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="dataset.npz written by build_matrix.py")
    parser.add_argument("--outdir", required=True, help="output folder (created)")
    parser.add_argument("--model", required=True, choices=predictors.SAVEABLE,
                        help="the model to train (bin/atac2expr/model_registry.json says what each is)")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads of torch (the task's CPUs)")
    parser.add_argument("--genome", required=True, help="the assembly of the training data (recorded in the model file)")
    parser.add_argument("--chrom_sizes", type=Path, required=True, help="its chromosome sizes (their checksum is recorded in the model file)")
    parser.add_argument("--max_memory", type=int, required=True, help="the task's memory in bytes: an MLP that needs more is refused (0: no limit)")
    parser.add_argument("--links_max_distance", type=int, required=True, help="bp from the TSS: the cross-sample evidence's reach")
    ModelSettings.add_arguments(parser)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    settings = ModelSettings.from_args(args)
    if args.links_max_distance < 0:
        raise cli.InputError(f"--links_max_distance {args.links_max_distance}: must be >= 0")
    runtime.set_threads(args.threads)
    device = runtime.resolve_device(settings.device)
    genome = genomes.resolve(args.genome).name
    ds = dataset.load_dataset(args.dataset)
    assembly = model_file.assembly_record(genome, read_chrom_sizes(args.chrom_sizes), ds.layout)
    n_samples, n_bins, n_genes = len(ds.samples), ds.layout.n_bins, len(ds.genes)
    if n_samples == 0 or n_genes == 0 or n_bins == 0:
        raise cli.InputError(f"{args.dataset}: nothing to train on ({n_samples} samples, {n_bins} bins, {n_genes} genes)")
    log.info("%s: %d samples, %s (%s), %d genes; model %s on %s with %d threads", args.dataset, n_samples, ds.layout.describe(),
             ds.bin_value, n_genes, args.model, device, args.threads)
    Y = targets.transform_targets(ds.Y, settings.target_transform)
    constant = targets.gene_variance_report(Y, ds.genes["gene_id"].to_numpy(str))
    if n_samples < 2:
        log.warning("only %d sample: the model can only memorise it", n_samples)

    predictor = predictors.make(args.model, settings, predictors.Geometry.of(ds), memory_limit=args.max_memory or None)
    activity = ds.activity
    report = predictor.fit(ds.X, Y, device=device, **predictors.inputs_for(predictor, activity=activity, groups=ds.groups))
    predicted = predictor.predict(ds.X, device, **predictors.predict_inputs(predictor, activity))
    reference = new_sample.Reference.of(ds.X, Y, activity, ds.activity_kind, promoter.PromoterBins(ds.bins, ds.genes))
    baseline = targets.mean_baseline_mse(Y)
    in_sample_mse = float(np.mean((predicted.astype(np.float64) - Y) ** 2))
    losses = report.curves.train_loss if report.curves is not None else [in_sample_mse]  # closed form: one step
    final_loss = losses[-1]
    log.info("final training MSE %.5f (in-sample MSE after training %.5f); per-gene mean baseline %.5f (%s)",
             final_loss, in_sample_mse, baseline, settings.units)

    evidence = link_scores.compute_evidence(ds.activity, ds.Y, ds.bins, ds.genes, args.links_max_distance, settings.seed)
    outdir = args.outdir
    model_file.save(f"{outdir}/model.pt", predictor, list(ds.samples.astype(str)), reference, evidence, assembly)
    write_tsv(TRAINING_LOSS.frame({"epoch": np.arange(1, len(losses) + 1), "train_loss": losses}), f"{outdir}/loss.tsv")
    write_tsv(prediction_table(ds.samples, ds.genes, predicted, settings.target_transform, observed=Y, observed_tpm=ds.Y),
              f"{outdir}/predictions.tsv")
    summary = {
        "model": args.model,
        "settings": settings.as_dict(),
        "dataset": str(args.dataset),
        "region": ds.layout.describe(),
        "assembly": {k: v for k, v in assembly.items() if k != "chrom_sizes"},
        "bin_size": int(ds.bin_size),
        "bin_value": ds.bin_value,
        "n_samples": n_samples,
        "n_bins": n_bins,
        "n_genes": n_genes,
        "samples": list(ds.samples.astype(str)),
        "groups": None if ds.groups is None else list(ds.groups),
        "target_transform": settings.units,
        "loss": f"mean squared error in {settings.units} units, in-sample (all samples are training samples)",
        "epochs_run": len(losses),
        "fit": report.info,
        "final_train_loss": final_loss,
        "in_sample_mse": in_sample_mse,
        "mean_baseline_loss": baseline,
        "mean_baseline": "MSE of predicting each gene's mean over the same samples, same units",
        "links_evidence": evidence.summary(),
        "n_constant_genes": len(constant),
        "constant_genes": constant,
        "device": str(device),
        "threads": args.threads,
        "versions": runtime.software_versions(),
    }
    with files.atomic_output(f"{outdir}/training.json") as handle:
        json.dump(summary, handle, indent=2, default=float)
        handle.write("\n")
    log.info("wrote %s/{model.pt,loss.tsv,predictions.tsv,training.json}", outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
