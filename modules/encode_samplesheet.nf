process ENCODE_SAMPLESHEET {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    val meta    // e.g. [id: 'encode']

    output:
    tuple val(meta), path('samplesheet.csv'), emit: samplesheet
    tuple val(meta), path('provenance.tsv') , emit: provenance
    path 'versions.yml'                     , emit: versions

    script:
    // ext.args: --encode_url, --match_by, --rna_assay_titles, --classifications, --biosamples,
    // --max_biosamples, --peak_output_type, each value single-quoted (conf/modules.config)
    def args = task.ext.args ?: ''
    """
    encode_samplesheet.py \\
        --output samplesheet.csv \\
        --provenance provenance.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
    END_VERSIONS
    """

    stub:
    """
    echo 'sample,fastq_1,fastq_2,peaks,fastq_1_md5,fastq_1_size,fastq_2_md5,fastq_2_size,peaks_md5,peaks_size,run_type,read_length,fragment_length' > samplesheet.csv
    printf 'sample\\tbiosample_term_name\\n' > provenance.tsv
    touch versions.yml
    """
}
