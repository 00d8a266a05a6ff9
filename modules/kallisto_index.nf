process KALLISTO_INDEX {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/../envs/kallisto.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(transcriptome, stageAs: 'reference/transcriptome.fa')

    output:
    tuple val(meta), path('kallisto.idx'), emit: index
    path 'versions.yml'                  , emit: versions

    script:
    def args = task.ext.args ?: ''    // -k
    """
    kallisto index ${args} -i kallisto.idx reference/transcriptome.fa

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        kallisto: \$(kallisto version | sed 's/.*version //')
    END_VERSIONS
    """

    stub:
    """
    touch kallisto.idx versions.yml
    """
}
