process PREDICT_EXPRESSION {
    tag "${bins.size()} samples"
    label 'process_single'
    label 'process_gpu'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path model, stageAs: 'input/model.pt'
    path bins, stageAs: 'bins/*'        // <sample>.bins.npz of BINARIZE_PEAKS: the sample ids are inside

    output:
    path 'predictions.tsv', emit: predictions
    path 'versions.yml'   , emit: versions

    script:
    def args = task.ext.args ?: ''    // --device
    """
    # numpy's BLAS and torch use the task's CPUs and no more: a BLAS thread per core of a shared node, spinning
    # on the many small solves of the kernel models, slows them down many times over
    export OMP_NUM_THREADS=${task.cpus} OPENBLAS_NUM_THREADS=${task.cpus} MKL_NUM_THREADS=${task.cpus}
    predict.py \\
        --model input/model.pt \\
        --bins bins/* \\
        --threads ${task.cpus} \\
        --output predictions.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'import torch; print(torch.__version__)')
    END_VERSIONS
    """

    stub:
    """
    printf 'sample\\tgene_id\\tgene_name\\tpredicted\\tpredicted_tpm\\n' > predictions.tsv
    touch versions.yml
    """
}
