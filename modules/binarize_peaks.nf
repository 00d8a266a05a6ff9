process BINARIZE_PEAKS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(peaks)

    output:
    tuple val(meta), path("${meta.id}.bins.npz"), emit: bins
    path 'versions.yml'                         , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    binarize_peaks.py \\
        --peaks ${peaks} \\
        --sample ${meta.id} \\
        --output ${meta.id}.bins.npz \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        numpy: \$(python3 -c 'import numpy; print(numpy.__version__)')
    END_VERSIONS
    """

    stub:
    """
    touch ${meta.id}.bins.npz versions.yml
    """
}
