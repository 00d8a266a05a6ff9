process BUILD_MATRIX {
    tag "${bins.size()} samples"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path bins, stageAs: 'bins/*'
    path gene_tpm
    path genes
    tuple val(meta), path(layout)
    path samplesheet, stageAs: 'input/samplesheet.valid.json'    // CHECK_INPUTS': each sample's group, when given

    output:
    path 'dataset.npz'  , emit: dataset
    path 'bins.tsv.gz'  , emit: bins
    path 'versions.yml' , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    build_matrix.py \\
        --bins bins/* \\
        --gene_tpm ${gene_tpm} \\
        --genes ${genes} \\
        --layout ${layout} \\
        --samplesheet input/samplesheet.valid.json \\
        --output dataset.npz \\
        --bins_table bins.tsv.gz \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        numpy: \$(python3 -c 'from importlib.metadata import version; print(version("numpy"))')
    END_VERSIONS
    """

    stub:
    """
    touch dataset.npz bins.tsv.gz versions.yml
    """
}
