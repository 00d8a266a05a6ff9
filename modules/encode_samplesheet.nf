process ENCODE_SAMPLESHEET {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    val meta                                                        // e.g. [id: 'encode']
    path samplesheet_schema, stageAs: 'input/schema_input.json'    // the samplesheet's layout and sample-id rule

    output:
    tuple val(meta), path('samplesheet.csv'), emit: samplesheet
    tuple val(meta), path('provenance.tsv') , emit: provenance
    path 'downloads.tsv'                    , emit: downloads           // name, url, md5, size: every file once
    path 'samplesheet.local.csv'            , emit: local_samplesheet   // the samplesheet naming those files
    path 'quantifications.tsv'              , emit: quantifications     // sample, file, source: gene quantifications
    path 'versions.yml'                     , emit: versions

    script:
    // ext.args: --encode_url, --match_by, --rna_assay_titles, --classifications, --biosamples,
    // --max_biosamples, --peak_output_type, --expression, --genome, each value single-quoted (conf/modules.config)
    def args = task.ext.args ?: ''
    """
    encode_samplesheet.py \\
        --output samplesheet.csv \\
        --provenance provenance.tsv \\
        --downloads downloads.tsv \\
        --local_samplesheet samplesheet.local.csv \\
        --quantifications quantifications.tsv \\
        --samplesheet_schema input/schema_input.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
    END_VERSIONS
    """

    stub:
    """
    echo 'sample,fastq_1,fastq_2,peaks,fastq_1_md5,fastq_1_size,fastq_2_md5,fastq_2_size,peaks_md5,peaks_size,run_type,read_length,fragment_length,expression,expression_md5,expression_size' > samplesheet.csv
    printf 'sample\\tbiosample_term_name\\n' > provenance.tsv
    printf 'name\\turl\\tmd5\\tsize\\n' > downloads.tsv
    echo 'sample,fastq_1,fastq_2,peaks' > samplesheet.local.csv
    printf 'sample\\tfile\\tsource\\n' > quantifications.tsv
    touch versions.yml
    """
}
