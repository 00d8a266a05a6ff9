process REPORT {
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    path training, stageAs: 'training/*'
    path evaluation, stageAs: 'evaluation'     // or [] (--evaluate false)
    path expression_source, stageAs: 'expression_source.json'   // --expression: where the targets came from; or []
    path links, stageAs: 'links/*'             // LINKS' files of every model, or [] (--skip_links)
    path qc, stageAs: 'qc/*'                   // QC_SUMMARY's qc_samples.tsv and qc_genes.tsv
    path plan, stageAs: 'models.json'          // CHECK_PARAMS' models.json: the models of the run, and why

    output:
    path '*.png'                 , emit: figures
    path 'summary.json'          , emit: summary
    path 'atac2expr_report.html' , emit: html
    path 'versions.yml'          , emit: versions

    script:
    def args = task.ext.args ?: ''    // --multiqc_report: the link to MultiQC's report, unless --skip_multiqc
    def eval = evaluation ? '--evaluation evaluation' : ''
    def source = expression_source ? '--expression_source expression_source.json' : ''
    def linked = links ? '--links links' : ''
    """
    report.py \\
        --dataset ${dataset} \\
        --plan models.json \\
        --training training/* \\
        ${eval} \\
        ${source} \
        ${linked} \
        --qc qc \
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        matplotlib: \$(python3 -c 'from importlib.metadata import version; print(version("matplotlib"))')
    END_VERSIONS
    """

    stub:
    """
    touch loss_curve.png atac2expr_report.html versions.yml
    echo '{}' > summary.json
    """
}
