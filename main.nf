#!/usr/bin/env nextflow
/*
 * atac2expr: how much of a gene's expression does the open chromatin around it explain, and which regions drive it?
 * Predicts gene expression (RNA-seq TPM) of samples from their ATAC-seq peaks, evaluates the models held out beside
 * baselines, and says which bins drive each gene. README.md and docs/usage.md say how to run it.
 *
 * Entry points:
 *   (default)       train and evaluate on samples with peaks and RNA-seq (workflows/atac2expr.nf)
 *   -entry PREDICT  predict new samples from their peaks with a trained model (workflows/predict.nf)
 * Each starts with START_RUN (--help, CHECK_PARAMS, the results folder's earlier outputs moved aside) and ends with
 * OUTDIR_GUARD, which checks the results folder once every process of the run is known and before any task starts.
 */
nextflow.enable.dsl = 2

include { START_RUN                    } from './subworkflows/start_run'
include { OUTDIR_GUARD                 } from './subworkflows/outdir_guard'
include { ATAC2EXPR; expressionRoute   } from './workflows/atac2expr'
include { ATAC2EXPR_PREDICT            } from './workflows/predict'

workflow {
    route = expressionRoute()
    START_RUN('main', route)
    ATAC2EXPR(START_RUN.out.checked, START_RUN.out.plan, START_RUN.out.chrom_sizes, route, START_RUN.out.versions)
    OUTDIR_GUARD('main')
}

/*
 *   nextflow run main.nf -entry PREDICT --model_file results/model/tss_similarity/model.pt --input new_samples.csv
 * where new_samples.csv has the columns sample,peaks (the same sample id rules as the main samplesheet).
 */
workflow PREDICT {
    START_RUN('PREDICT', 'reads')
    ATAC2EXPR_PREDICT(START_RUN.out.checked, START_RUN.out.chrom_sizes, START_RUN.out.versions)
    OUTDIR_GUARD('PREDICT')
}

workflow.onComplete {
    if (workflow.success) {
        log.info "atac2expr finished: results in ${params.outdir}"
    }
}
