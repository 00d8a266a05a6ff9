process MULTIQC {
    label 'process_single'

    conda "${moduleDir}/../envs/multiqc.yml"
    container "${params.container}"

    input:
    path multiqc_files, stageAs: '?/*'                         // custom content, kallisto's logs: whatever the run made
    path versions, stageAs: 'software_mqc_versions.yml'        // software_versions.yml: MultiQC's software-versions section
    path multiqc_config

    output:
    path 'multiqc_report.html', emit: report
    path 'multiqc_data'       , emit: data
    path 'versions.yml'       , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    multiqc \\
        --force \\
        --config ${multiqc_config} \\
        ${args} \\
        .

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        multiqc: \$(multiqc --version | sed 's/.*version //')
    END_VERSIONS
    """

    stub:
    """
    mkdir multiqc_data
    touch multiqc_report.html versions.yml
    """
}
