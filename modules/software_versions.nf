process SOFTWARE_VERSIONS {
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path versions, stageAs: 'versions/versions.yml'    // every process's versions.yml, concatenated

    output:
    path 'software_versions.yml', emit: yml

    script:
    def args = task.ext.args ?: ''    // --pipeline_version, --nextflow_version
    """
    software_versions.py \\
        --versions versions/* \\
        --output software_versions.yml \\
        ${args}
    """

    stub:
    """
    touch software_versions.yml
    """
}
