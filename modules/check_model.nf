process CHECK_MODEL {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(model, stageAs: 'input/model.pt')
    path chrom_sizes, stageAs: 'input/chrom.sizes'

    output:
    // the bin layout and bin value (binary or signal) of the model's training samples: new peaks are binned the same way
    tuple val(meta), path('regions.tsv'), path('bin_value.txt'), emit: layout
    path 'versions.yml'                                        , emit: versions

    script:
    def args = task.ext.args ?: ''    // --genome, --model_source (the user's path, for messages)
    """
    check_model.py \\
        --model input/model.pt \\
        --chrom_sizes input/chrom.sizes \\
        --layout regions.tsv \\
        --bin_value_file bin_value.txt \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'from importlib.metadata import version; print(version("torch"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py bin_layout=regions.tsv
    echo binary > bin_value.txt
    touch versions.yml
    """
}
