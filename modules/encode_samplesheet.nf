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
    stub_tables.py --samplesheet_schema input/schema_input.json encode_samplesheet=samplesheet.csv encode_provenance=provenance.tsv \\
        downloads=downloads.tsv samplesheet_reads=samplesheet.local.csv quantifications=quantifications.tsv
    touch versions.yml
    """
}
