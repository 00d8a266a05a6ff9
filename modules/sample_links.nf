process SAMPLE_LINKS {
    tag "${dataset.baseName}"
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    path chrom_sizes
    path combiner, stageAs: 'input/link_combiner.json'             // assets/link_combiner.json: the links' score

    output:
    path 'links.tsv.gz' , emit: table       // each training sample's scored links (formats.SAMPLE_SCORES)
    path '*.bw'         , emit: tracks      // per sample: its scores summed per bin
    path 'scores.json'  , emit: summary
    path 'versions.yml' , emit: versions

    script:
    def args = task.ext.args ?: ''    // the link settings, --seed (conf/modules.config)
    """
    sample_links.py \\
        --dataset ${dataset} \\
        --chrom_sizes ${chrom_sizes} \\
        --link_combiner input/link_combiner.json \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        numpy: \$(python3 -c 'from importlib.metadata import version; print(version("numpy"))')
        pyBigWig: \$(python3 -c 'from importlib.metadata import version; print(version("pyBigWig"))')
    END_VERSIONS
    """

    stub:
    """
    touch links.tsv.gz stub.bw versions.yml
    echo '{}' > scores.json
    """
}
