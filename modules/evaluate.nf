process EVALUATE {
    tag "${models}"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    val models      // comma-separated model names (CHECK_PARAMS' plan); ext.args passes them (conf/modules.config)

    output:
    path 'evaluation'                 , emit: results
    path 'evaluation/metrics.tsv'     , emit: metrics
    path 'versions.yml'               , emit: versions

    script:
    def args = task.ext.args ?: ''    // --models, the model and evaluation settings (conf/modules.config)
    def memory = task.memory ? task.memory.toBytes() : 0
    """
    # numpy's BLAS and torch use the task's CPUs and no more: a BLAS thread per core of a shared node, spinning
    # on the many small solves of the kernel models, slows them down many times over
    export OMP_NUM_THREADS=${task.cpus} OPENBLAS_NUM_THREADS=${task.cpus} MKL_NUM_THREADS=${task.cpus}
    evaluate.py \\
        --dataset ${dataset} \\
        --outdir evaluation \\
        --threads ${task.cpus} \\
        --max_memory ${memory} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'from importlib.metadata import version; print(version("torch"))')
        numpy: \$(python3 -c 'from importlib.metadata import version; print(version("numpy"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py metrics=evaluation/metrics.tsv
    touch versions.yml
    """
}
