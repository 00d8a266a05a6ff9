process BINARIZE_PEAKS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(peaks, stageAs: 'input/peaks')
    tuple val(meta_layout), path(layout)        // meta_layout.bin_value: binary or signal (--bin_value, or the model's)
    path chrom_sizes
    path samplesheet_schema, stageAs: 'input/schema_input.json'    // the sample-id rule

    output:
    tuple val(meta), path("${meta.id}.bins.npz")  , emit: bins
    tuple val(meta), path("${meta.id}.peaks.json"), emit: summary     // peaks and open bins, for the QC report
    path 'versions.yml'                           , emit: versions

    script:
    // the peaks are staged under a name the pipeline makes; the content says whether they are gzipped
    def args = task.ext.args ?: ''    // --bin_value
    """
    binarize_peaks.py \\
        --peaks input/peaks \\
        --sample ${meta.id} \\
        --layout ${layout} \\
        --chrom_sizes ${chrom_sizes} \\
        --samplesheet_schema input/schema_input.json \\
        --output ${meta.id}.bins.npz \\
        --summary ${meta.id}.peaks.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        numpy: \$(python3 -c 'from importlib.metadata import version; print(version("numpy"))')
        pandas: \$(python3 -c 'from importlib.metadata import version; print(version("pandas"))')
    END_VERSIONS
    """

    stub:
    """
    echo '{}' > ${meta.id}.peaks.json
    touch ${meta.id}.bins.npz versions.yml
    """
}
