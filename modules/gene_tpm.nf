process GENE_TPM {
    tag "${quant.size()} samples"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path quant, stageAs: 'quant/*'
    path genes, stageAs: 'annotation/genes.tsv'
    path transcripts, stageAs: 'annotation/transcripts.tsv'
    tuple val(meta), path(layout)

    output:
    path 'gene_tpm_matrix.tsv', emit: matrix
    path 'genes.tsv'          , emit: genes
    path 'gene_tpm.tsv'       , emit: tidy
    path 'genes_dropped.tsv'  , emit: dropped
    path 'quant_summary.tsv'  , emit: summary
    path 'versions.yml'       , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    gene_tpm.py \\
        --quant quant/* \\
        --genes ${genes} \\
        --transcripts ${transcripts} \\
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
    stub_tables.py gene_tpm_matrix=gene_tpm_matrix.tsv genes=genes.tsv gene_tpm=gene_tpm.tsv genes_dropped=genes_dropped.tsv \\
        quant_summary=quant_summary.tsv
    touch versions.yml
    """
}
