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
    // --max_biosamples, --peak_output_type (values with spaces quoted)
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
    printf 'sample\\tbiosample_term_name\\tbiosample_classification\\tbiosample_term_id\\tmatch_by\\trna_donor\\tatac_donors\\tatac_experiment\\tpeaks_file\\tpeaks_output_type\\trna_experiment\\trna_assay_title\\tbiological_replicate\\tfastq_1_files\\tfastq_2_files\\trun_type\\tread_length\\n' > provenance.tsv
    touch versions.yml
    """
}
