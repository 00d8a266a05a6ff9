process CHECK_FASTQ {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(reads_1, stageAs: 'reads/R1_*.fastq.gz'), path(reads_2, stageAs: 'reads/R2_*.fastq.gz')

    output:
    tuple val(meta), path("${meta.id}.fastq_check.json"), emit: check
    path 'versions.yml'                                 , emit: versions

    script:
    // staged under names the pipeline makes: the users' file names never reach the command line
    def args = task.ext.args ?: ''    // --min_read_length
    def mates = reads_2 ? "--fastq_2 ${reads_2}" : ''
    """
    check_fastq.py \\
        --sample ${meta.id} \\
        --fastq_1 ${reads_1} \\
        ${mates} \\
        --output ${meta.id}.fastq_check.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        isal: \$(python3 -c 'from importlib.metadata import version; print(version("isal"))')
    END_VERSIONS
    """

    stub:
    """
    echo '{"sample": "${meta.id}", "paired": ${!meta.single_end}, "total_reads": 0}' > ${meta.id}.fastq_check.json
    touch versions.yml
    """
}
