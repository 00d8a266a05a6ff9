process KALLISTO_QUANT {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/../envs/kallisto.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(reads)
    tuple val(meta_index), path(index)
    val fragment_length
    val fragment_length_sd

    output:
    tuple val(meta), path("${meta.id}")                 , emit: results
    tuple val(meta), path("${meta.id}.kallisto.log")    , emit: log
    path 'versions.yml'                                 , emit: versions

    script:
    def args = task.ext.args ?: ''
    def single = meta.single_end ? "--single --fragment-length ${fragment_length} --sd ${fragment_length_sd}" : ''
    """
    kallisto quant \\
        --index ${index} \\
        --output-dir ${meta.id} \\
        --threads ${task.cpus} \\
        ${single} \\
        ${args} \\
        ${reads} \
        2> ${meta.id}.kallisto.log || {
        cat ${meta.id}.kallisto.log >&2
        echo "ERROR: kallisto quant failed for sample ${meta.id} (${reads}): \$(grep -i -m1 error ${meta.id}.kallisto.log || tail -n 1 ${meta.id}.kallisto.log)" >&2
        exit 1
    }
    cat ${meta.id}.kallisto.log >&2

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        kallisto: \$(kallisto version | sed 's/.*version //')
    END_VERSIONS
    """

    stub:
    """
    mkdir ${meta.id}
    touch ${meta.id}/abundance.tsv ${meta.id}.kallisto.log versions.yml
    """
}
