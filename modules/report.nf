process REPORT {
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    path training, stageAs: 'training/*'
    path evaluation, stageAs: 'evaluation'

    output:
    path '*.png'        , emit: figures
    path 'summary.json' , emit: summary
    path 'versions.yml' , emit: versions

    script:
    def args = task.ext.args ?: ''
    def eval = evaluation ? '--evaluation evaluation' : ''
    """
    report.py \\
        --dataset ${dataset} \\
        --training training/* \\
        ${eval} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        matplotlib: \$(python3 -c 'import matplotlib; print(matplotlib.__version__)')
    END_VERSIONS
    """

    stub:
    """
    touch loss_curve.png versions.yml
    echo '{}' > summary.json
    """
}
