process CHECK_INPUTS {
    tag "samplesheet"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path samplesheet, stageAs: 'input/samplesheet.csv'
    path files, stageAs: 'input/files/*'                            // files the samplesheet names by their names here (--encode); or []
    path samplesheet_schema, stageAs: 'input/schema_input.json'    // assets/schema_input.json: layouts, columns, the sample-id rule
    val options                                                     // layout (reads or peaks) and min_samples

    output:
    path 'samplesheet.valid.json', emit: samplesheet
    path 'versions.yml'         , emit: versions

    script:
    // the samplesheet is read where it lies, so that its relative paths resolve against its own folder (or against
    // the staged files); the files it names are not opened here (they need not be visible inside a container): the
    // workflow checks that they exist and the per-sample tasks check their content
    def args = task.ext.args ?: ''
    def base = files ? '--base input/files' : ''
    """
    check_inputs.py \\
        --samplesheet "\$(readlink -f input/samplesheet.csv)" \\
        --samplesheet_schema input/schema_input.json \\
        --output samplesheet.valid.json \\
        --layout ${options.layout} \\
        --min_samples ${options.min_samples} \\
        ${base} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        pandas: \$(python3 -c 'from importlib.metadata import version; print(version("pandas"))')
    END_VERSIONS
    """

    stub:
    // the same check as the script: the workflow reads the checked samplesheet
    def args = task.ext.args ?: ''
    def base = files ? '--base input/files' : ''
    """
    check_inputs.py --samplesheet "\$(readlink -f input/samplesheet.csv)" --samplesheet_schema input/schema_input.json \\
        --output samplesheet.valid.json --layout ${options.layout} --min_samples ${options.min_samples} ${base} ${args}
    touch versions.yml
    """
}
