process PREDICT {
    tag "${samples.size()} samples"
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path model
    val samples                                 // sample ids, in the order of peaks
    path peaks, stageAs: 'peaks/*/*'

    output:
    path 'predictions.tsv', emit: predictions
    path 'versions.yml'   , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    predict.py \\
        --model ${model} \\
        --peaks ${peaks} \\
        --samples ${samples.join(' ')} \\
        --output predictions.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'import torch; print(torch.__version__)')
    END_VERSIONS
    """
}
