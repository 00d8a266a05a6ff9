process CHECK_PARAMS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    val meta                    // [id: entry name]
    path schema                 // nextflow_schema.json
    path chrom_sizes

    output:
    path 'params.valid.json', emit: params
    path 'warnings.txt'     , emit: warnings    // one a line (links above the documented size): shown on the console
    path 'versions.yml'     , emit: versions

    script:
    // every parameter, as JSON: written from a quoted heredoc, which the shell does not expand, and on one
    // line (JSON escapes newlines), so no value can end it early
    def params_json = groovy.json.JsonOutput.toJson(task.ext.params ?: [:])
    def args = task.ext.args ?: ''
    """
    cat <<'END_PARAMS' > params.json
    ${params_json}
    END_PARAMS

    check_params.py \\
        --params params.json \\
        --schema ${schema} \\
        --chrom_sizes ${chrom_sizes} \\
        --entry ${meta.id} \\
        --output params.valid.json \\
        --warnings warnings.txt \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        jsonschema: \$(python3 -c 'from importlib.metadata import version; print(version("jsonschema"))')
    END_VERSIONS
    """

    stub:
    // the same check as the script: a stub run with bad parameters stops as a real run does
    def params_json = groovy.json.JsonOutput.toJson(task.ext.params ?: [:])
    """
    cat <<'END_PARAMS' > params.json
    ${params_json}
    END_PARAMS
    check_params.py --params params.json --schema ${schema} --chrom_sizes ${chrom_sizes} --entry ${meta.id} --output params.valid.json \\
        --warnings warnings.txt
    touch versions.yml
    """
}
