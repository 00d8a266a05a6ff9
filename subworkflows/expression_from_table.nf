/*
 * Expression from a table: the user's (--expression: TPM or counts, matched to the samples by name and to the
 * annotation's genes by id or name; counts become TPM with the annotation's exon lengths, else CPM) or ENCODE's gene
 * quantifications. Emits what EXPRESSION_FROM_READS emits, so the pipeline reads either the same way.
 */
include { EXPRESSION_TABLE } from '../modules/expression_table'

workflow EXPRESSION_FROM_TABLE {
    take:
    table           // channel: [meta (unit: tpm or counts, source: the user's path for messages), the table], or [meta, []]
    quantifications // channel: ENCODE's gene quantifications and the TSV naming each sample's, or []
    samplesheet     // channel: CHECK_INPUTS' samplesheet.valid.json
    genes           // channel: GENE_ANNOTATION's genes.tsv
    lengths         // channel: GENE_ANNOTATION's exon lengths (counts -> TPM), or []
    layout          // channel: [meta, the bin layout]

    main:
    EXPRESSION_TABLE(table, quantifications, samplesheet, genes, lengths, layout)

    emit:
    matrix       = EXPRESSION_TABLE.out.matrix
    genes        = EXPRESSION_TABLE.out.genes
    dropped      = EXPRESSION_TABLE.out.dropped
    source       = EXPRESSION_TABLE.out.source
    fastq_checks = Channel.value([])
    kallisto     = Channel.value([])
    logs         = Channel.empty()
    versions     = EXPRESSION_TABLE.out.versions
}
