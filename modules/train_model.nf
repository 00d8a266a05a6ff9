process TRAIN_MODEL {
    tag "${model}"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    val model       // mlp or tss_window (checked by CHECK_PARAMS)
    path chrom_sizes, stageAs: 'input/chrom.sizes'   // their checksum is recorded in the model file

    output:
    path "${model}"                 , emit: results
    path "${model}/model.pt"        , emit: model
    path "${model}/predictions.tsv" , emit: predictions
    path "${model}/loss.tsv"        , emit: loss
    path "${model}/training.json"   , emit: summary
    path 'versions.yml'             , emit: versions

    script:
    def args = task.ext.args ?: ''    // the model settings and --genome (conf/modules.config)
    def memory = task.memory ? task.memory.toBytes() : 0
    """
    # numpy's BLAS and torch use the task's CPUs and no more: a BLAS thread per core of a shared node, spinning
    # on the many small solves of the kernel models, slows them down many times over
    export OMP_NUM_THREADS=${task.cpus} OPENBLAS_NUM_THREADS=${task.cpus} MKL_NUM_THREADS=${task.cpus}
    train_model.py \\
        --dataset ${dataset} \\
        --model ${model} \\
        --outdir ${model} \\
        --threads ${task.cpus} \\
        --max_memory ${memory} \\
        --chrom_sizes input/chrom.sizes \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'from importlib.metadata import version; print(version("torch"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py predictions_observed=${model}/predictions.tsv training_loss=${model}/loss.tsv
    touch ${model}/model.pt versions.yml
    echo '{"model": "${model}", "final_train_loss": 0, "mean_baseline_loss": 0, "target_transform": "log1p(TPM)"}' > ${model}/training.json
    """
}
