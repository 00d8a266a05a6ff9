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
        pandas: \$(python3 -c 'import pandas; print(pandas.__version__)')
    END_VERSIONS
    """

    stub:
    """
    printf 'gene_id\\tgene_name\\n' > gene_tpm_matrix.tsv
    printf 'gene_id\\tgene_name\\tgene_biotype\\tchrom\\tstart\\tend\\tstrand\\ttss\\n' > genes.tsv
    printf 'sample\\tgene_id\\tgene_name\\ttpm\\n' > gene_tpm.tsv
    printf 'gene_id\\treason\\n' > genes_dropped.tsv
    printf 'sample\\ttranscripts\\n' > quant_summary.tsv
    touch versions.yml
    """
}
