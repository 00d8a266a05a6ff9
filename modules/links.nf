process LINKS {
    tag "${model}"
    label 'process_single'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    tuple val(model), path(model_file, stageAs: 'input/model.pt')   // a trained model's file; [] for a model fitted here
    path dataset
    path evaluation, stageAs: 'evaluation'                          // EVALUATE's folder, or [] (--evaluate false)
    path chrom_sizes
    path combiner, stageAs: 'input/link_combiner.json'             // assets/link_combiner.json: the links' score

    output:
    path "${model}.*"   , emit: links       // <model>.links.tsv.gz, .interact, .bedpe, .bw, .links.json
    path "${model}"     , emit: genes       // best_genes.tsv, tracks/<gene_id>.bw, figures/<gene_id>.png
    path 'versions.yml' , emit: versions

    script:
    def args = task.ext.args ?: ''    // --links_*, the model and evaluation settings (conf/modules.config)
    def saved = model_file ? '--saved_model input/model.pt' : ''
    def heldout = evaluation ? '--evaluation evaluation' : ''
    """
    links.py \\
        --dataset ${dataset} \\
        --model ${model} \\
        ${saved} \\
        ${heldout} \\
        --chrom_sizes ${chrom_sizes} \\
        --link_combiner input/link_combiner.json \\
        --outdir . \\
        --threads ${task.cpus} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        numpy: \$(python3 -c 'from importlib.metadata import version; print(version("numpy"))')
        pyBigWig: \$(python3 -c 'from importlib.metadata import version; print(version("pyBigWig"))')
    END_VERSIONS
    """

    stub:
    """
    mkdir -p ${model}
    stub_tables.py best_genes=${model}/best_genes.tsv
    touch ${model}.links.tsv.gz ${model}.interact ${model}.bedpe ${model}.bw versions.yml
    echo '{}' > ${model}.links.json
    """
}
