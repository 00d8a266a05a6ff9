process DEFINE_BINS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(chrom_sizes)

    output:
    tuple val(meta), path('regions.tsv'), emit: layout
    path 'versions.yml'                 , emit: versions

    script:
    def args = task.ext.args ?: ''        // --bin_size
    def region = task.ext.region ?: "''"  // --region, single-quoted
    // the region list goes through a file: thousands of regions exceed the 128 kB one argument of a command may
    // hold, and printf is a shell builtin, which no such limit applies to
    """
    printf '%s\\n' ${region} > region.txt
    define_bins.py \\
        --region_file region.txt \\
        --chrom_sizes ${chrom_sizes} \\
        --output regions.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
    END_VERSIONS
    """

    stub:
    // the same bins as the script: later steps read them
    def args = task.ext.args ?: ''
    def region = task.ext.region ?: "''"
    """
    printf '%s\\n' ${region} > region.txt
    define_bins.py --region_file region.txt --chrom_sizes ${chrom_sizes} --output regions.tsv ${args}
    touch versions.yml
    """
}
