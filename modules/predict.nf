process PREDICT_EXPRESSION {
    tag "${bins instanceof List ? bins.size() : 1} samples"
    label 'process_single'
    label 'process_gpu'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path model, stageAs: 'input/model.pt'
    path bins, stageAs: 'bins/*'        // <sample>.bins.npz of BINARIZE_PEAKS: the sample ids are inside
    path summaries, stageAs: 'summaries/*'    // <sample>.peaks.json of BINARIZE_PEAKS: each sample's peaks
    path chrom_sizes                    // the bigWig headers of the links
    val with_links                      // write which bins drove each prediction (not --skip_links)
    path combiner, stageAs: 'input/link_combiner.json'    // assets/link_combiner.json: the links' score

    output:
    path 'predictions.tsv', emit: predictions
    path 'new_samples.tsv', emit: new_samples      // each sample next to the training samples (modelling/new_sample.py)
    path 'promoter_baseline.tsv', emit: promoter_baseline
    path 'links'          , emit: links, optional: true    // links.tsv.gz, <sample>.{interact,bedpe,bw} (with_links)
    path 'versions.yml'   , emit: versions

    script:
    def args = task.ext.args ?: ''    // --device; with_links: the link settings
    def linked = with_links ? "--links_outdir links --chrom_sizes ${chrom_sizes} --link_combiner input/link_combiner.json" : ''
    """
    # numpy's BLAS and torch use the task's CPUs and no more: a BLAS thread per core of a shared node, spinning
    # on the many small solves of the kernel models, slows them down many times over
    export OMP_NUM_THREADS=${task.cpus} OPENBLAS_NUM_THREADS=${task.cpus} MKL_NUM_THREADS=${task.cpus}
    predict.py \\
        --model input/model.pt \\
        --bins bins/* \\
        --threads ${task.cpus} \\
        --output predictions.tsv \\
        --new_samples new_samples.tsv \\
        --promoter_baseline promoter_baseline.tsv \\
        --peak_summaries summaries/* \\
        ${linked} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'from importlib.metadata import version; print(version("torch"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py predictions=predictions.tsv new_samples=new_samples.tsv promoter_baseline=promoter_baseline.tsv
    touch versions.yml
    """
}
