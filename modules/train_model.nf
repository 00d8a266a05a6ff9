process TRAIN_MODEL {
    tag "${model}"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/../envs/torch.yml"
    container "${params.container}"

    input:
    path dataset
    val model

    output:
    path "${model}"                 , emit: results
    path "${model}/model.pt"        , emit: model
    path "${model}/predictions.tsv" , emit: predictions
    path "${model}/loss.tsv"        , emit: loss
    path "${model}/training.json"   , emit: summary
    path 'versions.yml'             , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    train_model.py \\
        --dataset ${dataset} \\
        --model ${model} \\
        --outdir ${model} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        torch: \$(python3 -c 'import torch; print(torch.__version__)')
    END_VERSIONS
    """
}
