process EVALUATE {
    tag "${models}"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    val models

    output:
    path 'evaluation'                 , emit: results
    path 'evaluation/metrics.tsv'     , emit: metrics
    path 'versions.yml'               , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    evaluate.py \\
        --dataset ${dataset} \\
        --models ${models} \\
        --outdir evaluation \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'import torch; print(torch.__version__)')
        numpy: \$(python3 -c 'import numpy; print(numpy.__version__)')
    END_VERSIONS
    """
}
