#!/usr/bin/env nextflow
/*
 * atac2expr: how much of a gene's expression does the open chromatin around it explain?
 *
 *   samplesheet (sample, fastq_1, fastq_2, peaks) + Ensembl GTF + cDNA FASTA
 *     (or --encode: ENCODE_INPUTS finds and downloads matched ENCODE biosamples and Ensembl references)
 *     -> CHECK_INPUTS (before any heavy work)
 *     -> RNA-seq:  KALLISTO_INDEX -> KALLISTO_QUANT (per sample) -> GENE_TPM (genes of the region)
 *     -> ATAC-seq: BINARIZE_PEAKS (per sample: 1 kb bins of the region, 1 = open)
 *     -> BUILD_MATRIX (samples x bins, samples x genes) -> TRAIN_MODEL -> REPORT
 */
nextflow.enable.dsl = 2

include { CHECK_INPUTS   } from './modules/check_inputs'
include { KALLISTO_INDEX } from './modules/kallisto_index'
include { KALLISTO_QUANT } from './modules/kallisto_quant'
include { GENE_TPM       } from './modules/gene_tpm'
include { BINARIZE_PEAKS } from './modules/binarize_peaks'
include { BUILD_MATRIX   } from './modules/build_matrix'
include { TRAIN_MODEL    } from './modules/train_model'
include { REPORT         } from './modules/report'
include { EVALUATE       } from './modules/evaluate'
include { PREDICT as PREDICT_EXPRESSION } from './modules/predict'
include { ENCODE_INPUTS  } from './subworkflows/encode_inputs'
include { ENCODE_SAMPLESHEET as ENCODE_SAMPLESHEET_ONLY } from './modules/encode_samplesheet'

def requireParam(name) {
    if (!params[name]) {
        error "Missing required parameter --${name} (see README.md, 'Run on your data')"
    }
    return params[name]
}

workflow ATAC2EXPR {
    take:
    samplesheet     // channel: samplesheet.csv
    gtf             // channel: Ensembl GTF
    transcriptome   // channel: cDNA FASTA

    main:
    versions = Channel.empty()

    CHECK_INPUTS(samplesheet, gtf, transcriptome, file(params.chrom_sizes, checkIfExists: true))
    versions = versions.mix(CHECK_INPUTS.out.versions)

    samples = CHECK_INPUTS.out.samplesheet
        .splitCsv(header: true)
        .map { row -> [[id: row.sample, single_end: row.single_end == 'true'], row] }
    // lanes joined with ';' go to one kallisto run, interleaved R1 L1, R2 L1, R1 L2, R2 L2, ...
    reads = samples.map { meta, row ->
        def r1 = row.fastq_1.tokenize(';').collect { file(it) }
        def r2 = row.fastq_2 ? row.fastq_2.tokenize(';').collect { file(it) } : []
        [meta, r2 ? [r1, r2].transpose().flatten() : r1]
    }
    peaks = samples.map { meta, row -> [meta, file(row.peaks)] }

    // RNA-seq -> gene TPM of the genes in the region (nothing heavy starts before CHECK_INPUTS passed)
    KALLISTO_INDEX(CHECK_INPUTS.out.samplesheet.combine(transcriptome).map { sheet, fasta -> [[id: 'transcriptome'], fasta] })
    KALLISTO_QUANT(reads, KALLISTO_INDEX.out.index.collect(), params.fragment_length, params.fragment_length_sd)
    GENE_TPM(KALLISTO_QUANT.out.results.map { meta, dir -> dir }.collect(sort: { it.name }), gtf)

    // ATAC-seq peaks -> open bins
    BINARIZE_PEAKS(peaks)

    // features x targets -> model -> report
    BUILD_MATRIX(BINARIZE_PEAKS.out.bins.map { meta, npz -> npz }.collect(sort: { it.name }), GENE_TPM.out.matrix, GENE_TPM.out.genes)
    models = Channel.fromList(params.model.tokenize(',')*.trim())
    TRAIN_MODEL(BUILD_MATRIX.out.dataset, models)

    // held-out numbers: cross-validation over samples, baselines on the same folds
    evaluation = Channel.value([])
    if (params.evaluate) {
        EVALUATE(BUILD_MATRIX.out.dataset, params.eval_models)
        evaluation = EVALUATE.out.results
        versions = versions.mix(EVALUATE.out.versions)
    }
    REPORT(BUILD_MATRIX.out.dataset, TRAIN_MODEL.out.results.collect(sort: { it.name }), evaluation)

    versions = versions.mix(KALLISTO_INDEX.out.versions, KALLISTO_QUANT.out.versions.first(), GENE_TPM.out.versions,
        BINARIZE_PEAKS.out.versions.first(), BUILD_MATRIX.out.versions, TRAIN_MODEL.out.versions.first(), REPORT.out.versions)
    versions
        .map { it.text }
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true)  // text order: the same every run

    emit:
    dataset = BUILD_MATRIX.out.dataset
    models  = TRAIN_MODEL.out.model
    summary = REPORT.out.summary
}

workflow {
    if (params.encode && params.encode_samplesheet_only) {
        // review what ENCODE has before a big download: results/encode/{samplesheet.csv,provenance.tsv}
        ENCODE_SAMPLESHEET_ONLY([id: 'encode'])
    } else if (params.encode) {
        ENCODE_INPUTS()
        ATAC2EXPR(ENCODE_INPUTS.out.samplesheet, ENCODE_INPUTS.out.gtf, ENCODE_INPUTS.out.transcriptome)
    } else {
        ATAC2EXPR(
            Channel.value(file(requireParam('input'), checkIfExists: true)),
            Channel.value(file(requireParam('gtf'), checkIfExists: true)),
            Channel.value(file(requireParam('transcriptome'), checkIfExists: true)),
        )
    }
}

/*
 * Predict expression of new samples from their peaks with a trained model:
 *   nextflow run main.nf -entry PREDICT --model_file results/model/mlp/model.pt --input new_samples.csv
 * where new_samples.csv has the columns sample,peaks (other columns are ignored).
 */
workflow PREDICT {
    model = file(requireParam('model_file'), checkIfExists: true)
    sheet = file(requireParam('input'), checkIfExists: true)
    samples = Channel.fromPath(sheet)
        .splitCsv(header: true)
        .map { row ->
            if (!row.sample || !row.peaks) {
                error "${sheet}: columns 'sample' and 'peaks' are needed (row ${row})"
            }
            def peaks = file(row.peaks.startsWith('/') ? row.peaks : "${sheet.parent}/${row.peaks}", checkIfExists: true)
            [row.sample, peaks]
        }
        .toSortedList { a, b -> a[0] <=> b[0] }
    PREDICT_EXPRESSION(model, samples.map { it*.getAt(0) }, samples.map { it*.getAt(1) })
}

workflow.onComplete {
    if (workflow.success) {
        log.info "atac2expr finished: results in ${params.outdir} (report/summary.json, report/*.png, model/)"
    }
}
