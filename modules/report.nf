process REPORT {
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    path training, stageAs: 'training/*'
    path evaluation, stageAs: 'evaluation'
    path expression_source, stageAs: 'expression_source.json'   // --expression: where the targets came from; or []

    output:
    path '*.png'        , emit: figures
    path 'summary.json' , emit: summary
    path 'versions.yml' , emit: versions

    script:
    def args = task.ext.args ?: ''
    def eval = evaluation ? '--evaluation evaluation' : ''
    def source = expression_source ? '--expression_source expression_source.json' : ''
    """
    report.py \\
        --dataset ${dataset} \\
        --training training/* \\
        ${eval} \\
        ${source} \\
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
