process GENE_ANNOTATION {
    tag "annotation"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path gtf, stageAs: 'reference/annotation.gtf'
    path transcriptome, stageAs: 'reference/transcriptome.fa'
    tuple val(meta), path(layout)

    output:
    path 'genes.tsv'      , emit: genes
    path 'transcripts.tsv', emit: transcripts
    path 'versions.yml'   , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    gene_annotation.py \\
        --gtf reference/annotation.gtf \\
        --transcriptome reference/transcriptome.fa \\
        --layout ${layout} \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        pandas: \$(python3 -c 'import pandas; print(pandas.__version__)')
        pysam: \$(python3 -c 'import pysam; print(pysam.__version__)')
    END_VERSIONS
    """

    stub:
    """
    printf 'gene_id\\tgene_name\\tgene_biotype\\tchrom\\tstart\\tend\\tstrand\\ttss\\n' > genes.tsv
    printf 'transcript_id\\tgene_id\\tin_transcriptome\\n' > transcripts.tsv
    touch versions.yml
    """
}
