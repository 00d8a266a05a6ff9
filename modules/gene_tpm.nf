process GENE_TPM {
    tag "${quant.size()} samples"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path quant, stageAs: 'quant/*'
    path gtf

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
        --quant ${quant} \\
        --gtf ${gtf} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pandas: \$(python3 -c 'import pandas; print(pandas.__version__)')
    END_VERSIONS
    """
}
