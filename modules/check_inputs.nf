process CHECK_INPUTS {
    tag "${samplesheet.name}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path samplesheet
    path gtf
    path transcriptome
    path chrom_sizes

    output:
    path 'samplesheet.valid.csv', emit: samplesheet
    path 'versions.yml'         , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    check_inputs.py \\
        --samplesheet ${samplesheet} \\
        --gtf ${gtf} \\
        --transcriptome ${transcriptome} \\
        --chrom_sizes ${chrom_sizes} \\
        --output samplesheet.valid.csv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        pandas: \$(python3 -c 'import pandas; print(pandas.__version__)')
    END_VERSIONS
    """

    stub:
    """
    cp ${samplesheet} samplesheet.valid.csv
    touch versions.yml
    """
}
