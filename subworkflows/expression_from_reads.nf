/*
 * Expression from RNA-seq reads: each sample's reads checked (in parallel), then quantified by kallisto against the
 * annotation's transcripts, summed to genes (GENE_TPM). Nothing heavy starts before the references and every sample's
 * peaks passed their checks. Emits what EXPRESSION_FROM_TABLE emits, so the pipeline reads either the same way.
 */
include { CHECK_FASTQ    } from '../modules/check_fastq'
include { KALLISTO_INDEX } from '../modules/kallisto_index'
include { KALLISTO_QUANT } from '../modules/kallisto_quant'
include { GENE_TPM       } from '../modules/gene_tpm'
include { sampleFile     } from './input_files'

workflow EXPRESSION_FROM_READS {
    take:
    samples         // channel: [meta, checked samplesheet row]
    transcriptome   // channel: cDNA FASTA
    genes           // channel: GENE_ANNOTATION's genes.tsv
    transcripts     // channel: GENE_ANNOTATION's transcripts.tsv
    inputs_checked  // channel: a value once the references and every sample's peaks passed their checks
    layout          // channel: [meta, the bin layout]

    main:
    reads = samples.map { meta, row ->
        [meta, row.fastq_1.collect { sampleFile(row, 'fastq_1', it) }, row.fastq_2.collect { sampleFile(row, 'fastq_2', it) }]
    }
    CHECK_FASTQ(reads)
    KALLISTO_INDEX(inputs_checked.combine(transcriptome).map { ok, fasta -> [[id: 'transcriptome'], fasta] })
    KALLISTO_QUANT(reads.join(CHECK_FASTQ.out.check), KALLISTO_INDEX.out.index.first())
    GENE_TPM(KALLISTO_QUANT.out.results.map { meta, dir -> dir }.collect(sort: { it.name }), genes, transcripts, layout)

    emit:
    matrix      = GENE_TPM.out.matrix                                                   // genes x samples, TPM
    genes       = GENE_TPM.out.genes                                                    // the genes kept
    dropped     = GENE_TPM.out.dropped                                                  // the genes left out, and why
    source      = Channel.value([])                                                     // expression_source.json of a table
    fastq_checks = CHECK_FASTQ.out.check.map { meta, check -> check }.collect()         // for the QC tables
    kallisto    = KALLISTO_QUANT.out.results.map { meta, dir -> dir }.collect()         // for the QC tables
    logs        = KALLISTO_QUANT.out.log.map { meta, log -> log }                       // for MultiQC
    versions    = CHECK_FASTQ.out.versions.mix(KALLISTO_INDEX.out.versions, KALLISTO_QUANT.out.versions, GENE_TPM.out.versions)
}
