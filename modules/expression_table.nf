/*
 * Gene TPM from an expression table (--expression) or ENCODE's gene quantifications (--encode_expression
 * quantifications) instead of reads: the same gene_tpm_matrix.tsv, genes.tsv and genes_dropped.tsv as GENE_TPM.
 *   table_meta, table  the user's table, staged under a name the pipeline makes (or []), and table_meta.unit (tpm or
 *                    counts), table_meta.source (the user's path, for messages); ext.args passes both single-quoted (conf/modules.config)
 *   quantifications  ENCODE's files (downloaded under names the pipeline makes) and the TSV naming each sample's; or []
 */
process EXPRESSION_TABLE {
    tag "${table ? 'expression table' : 'ENCODE quantifications'}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(table_meta), path(table, stageAs: 'input/expression_table')
    path quantifications, stageAs: 'input/quantifications/*'
    path samplesheet, stageAs: 'input/samplesheet.valid.json'
    path genes, stageAs: 'annotation/genes.tsv'
    path gene_lengths, stageAs: 'annotation/gene_lengths.tsv'
    tuple val(meta), path(layout)

    output:
    path 'gene_tpm_matrix.tsv'   , emit: matrix
    path 'genes.tsv'             , emit: genes
    path 'gene_tpm.tsv'          , emit: tidy
    path 'genes_dropped.tsv'     , emit: dropped
    path 'expression_source.json', emit: source
    path 'versions.yml'          , emit: versions

    script:
    def args = task.ext.args ?: ''
    def input = table ? '--table input/expression_table' : '--quantifications input/quantifications/quantifications.tsv'
    def lengths = gene_lengths ? '--gene_lengths annotation/gene_lengths.tsv' : ''
    """
    expression_table.py \\
        ${input} \\
        --samplesheet input/samplesheet.valid.json \\
        --genes annotation/genes.tsv \\
        ${lengths} \\
        --layout ${layout} \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pandas: \$(python3 -c 'from importlib.metadata import version; print(version("pandas"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py gene_tpm_matrix=gene_tpm_matrix.tsv genes=genes.tsv gene_tpm=gene_tpm.tsv genes_dropped=genes_dropped.tsv
    echo '{}' > expression_source.json
    touch versions.yml
    """
}
