process CHECK_PARAMS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    val meta                                            // [id: the entry, route: the main entry's expression, reads or table]
    path schema, stageAs: 'input/nextflow_schema.json'
    path chrom_sizes, stageAs: 'input/chrom.sizes'      // --chrom_sizes, or []
    path bundled_sizes, stageAs: 'input/bundled/*'      // every assets/*.chrom.sizes (--genome chooses one), or [] with --chrom_sizes

    output:
    path 'params.valid.json', emit: params
    path 'models.json'      , emit: plan            // the models the run trains, evaluates and links, and why
    path 'genome.json'      , emit: genome          // the assembly, and the bundled chromosome sizes --genome chose
    path 'warnings.txt'     , emit: warnings        // one a line (links above the documented size): shown on the console
    path 'versions.yml'     , emit: versions

    script:
    // every parameter, as JSON: written from a quoted heredoc, which the shell does not expand, and on one
    // line (JSON escapes newlines), so no value can end it early
    def params_json = groovy.json.JsonOutput.toJson(task.ext.params ?: [:])
    def sizes = chrom_sizes ? '--chrom_sizes input/chrom.sizes' : '--bundled_sizes input/bundled'
    """
    cat <<'END_PARAMS' > params.json
    ${params_json}
    END_PARAMS

    check_params.py \\
        --params params.json \\
        --schema input/nextflow_schema.json \\
        ${sizes} \\
        --entry ${meta.id} \\
        --expression_route ${meta.route} \\
        --output params.valid.json \\
        --plan models.json \\
        --genome_output genome.json \\
        --warnings warnings.txt

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        jsonschema: \$(python3 -c 'from importlib.metadata import version; print(version("jsonschema"))')
    END_VERSIONS
    """

    stub:
    // the same check as the script: a stub run with bad parameters stops as a real run does
    def params_json = groovy.json.JsonOutput.toJson(task.ext.params ?: [:])
    def sizes = chrom_sizes ? '--chrom_sizes input/chrom.sizes' : '--bundled_sizes input/bundled'
    """
    cat <<'END_PARAMS' > params.json
    ${params_json}
    END_PARAMS
    check_params.py --params params.json --schema input/nextflow_schema.json ${sizes} --entry ${meta.id} \\
        --expression_route ${meta.route} --output params.valid.json --plan models.json --genome_output genome.json \\
        --warnings warnings.txt
    touch versions.yml
    """
}
