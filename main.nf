#!/usr/bin/env nextflow
/*
 * atac2expr: how much of a gene's expression does the open chromatin around it explain?
 *
 *   samplesheet (sample, fastq_1, fastq_2, peaks) + Ensembl GTF + cDNA FASTA
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

def requireParam(name) {
    if (!params[name]) {
        error "Missing required parameter --${name} (see README.md, 'Run on your data')"
    }
    return params[name]
}

workflow ATAC2EXPR {
    take:
    samplesheet     // path: samplesheet.csv
    gtf             // path: Ensembl GTF
    transcriptome   // path: cDNA FASTA

    main:
    versions = Channel.empty()

    CHECK_INPUTS(samplesheet, gtf, transcriptome, file(params.chrom_sizes, checkIfExists: true))
    versions = versions.mix(CHECK_INPUTS.out.versions)

    samples = CHECK_INPUTS.out.samplesheet
        .splitCsv(header: true)
        .map { row -> [[id: row.sample, single_end: row.single_end == 'true'], row] }
    reads = samples.map { meta, row -> [meta, row.fastq_2 ? [file(row.fastq_1), file(row.fastq_2)] : [file(row.fastq_1)]] }
    peaks = samples.map { meta, row -> [meta, file(row.peaks)] }

    // RNA-seq -> gene TPM of the genes in the region
    KALLISTO_INDEX(CHECK_INPUTS.out.samplesheet.map { [[id: 'transcriptome'], transcriptome] })
    KALLISTO_QUANT(reads, KALLISTO_INDEX.out.index.collect(), params.fragment_length, params.fragment_length_sd)
    GENE_TPM(KALLISTO_QUANT.out.results.map { meta, dir -> dir }.collect(sort: { it.name }), gtf)

    // ATAC-seq peaks -> open bins
    BINARIZE_PEAKS(peaks)

    // features x targets -> model -> report
    BUILD_MATRIX(BINARIZE_PEAKS.out.bins.map { meta, npz -> npz }.collect(sort: { it.name }), GENE_TPM.out.matrix, GENE_TPM.out.genes)
    models = Channel.fromList(params.model.tokenize(',')*.trim())
    TRAIN_MODEL(BUILD_MATRIX.out.dataset, models)
    REPORT(BUILD_MATRIX.out.dataset, TRAIN_MODEL.out.results.collect(sort: { it.name }), [])

    versions = versions.mix(KALLISTO_INDEX.out.versions, KALLISTO_QUANT.out.versions.first(), GENE_TPM.out.versions,
        BINARIZE_PEAKS.out.versions.first(), BUILD_MATRIX.out.versions, TRAIN_MODEL.out.versions.first(), REPORT.out.versions)
    versions
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true)

    emit:
    dataset = BUILD_MATRIX.out.dataset
    models  = TRAIN_MODEL.out.model
    summary = REPORT.out.summary
}

workflow {
    ATAC2EXPR(
        file(requireParam('input'), checkIfExists: true),
        file(requireParam('gtf'), checkIfExists: true),
        file(requireParam('transcriptome'), checkIfExists: true),
    )
}

workflow.onComplete {
    if (workflow.success) {
        log.info "atac2expr finished: results in ${params.outdir} (report/summary.json, report/*.png, model/)"
    }
}
