process KALLISTO_QUANT {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/../envs/kallisto.yml"
    container "${params.container}"

    input:
    tuple val(meta), path(reads_1, stageAs: 'reads/R1_*.fastq.gz'), path(reads_2, stageAs: 'reads/R2_*.fastq.gz'), path(fastq_check)
    tuple val(meta_index), path(index)

    output:
    tuple val(meta), path("quant/${meta.id}")             , emit: results
    tuple val(meta), path("quant/${meta.id}.kallisto.log"), emit: log
    path 'versions.yml'                             , emit: versions

    script:
    // ext.args: kallisto options; ext.single_end_args: --fragment-length/--sd of single-end samples
    def args = task.ext.args ?: ''
    def single = meta.single_end ? "--single ${task.ext.single_end_args ?: ''}" : ''
    // kallisto takes the lanes of a paired sample as R1 L1, R2 L1, R1 L2, R2 L2, ...
    def lanes_1 = [reads_1].flatten()
    def lanes_2 = [reads_2].flatten()
    def reads = meta.single_end ? lanes_1.join(' ') : [lanes_1, lanes_2].transpose().flatten().join(' ')
    def out = "quant/${meta.id}"    // a folder of its own: a sample id never meets the staged inputs' names
    """
    mkdir -p quant
    kallisto quant \\
        --index ${index} \\
        --output-dir ${out} \\
        --threads ${task.cpus} \\
        ${single} \\
        ${args} \\
        ${reads} \\
        2> ${out}.kallisto.log || {
        cat ${out}.kallisto.log >&2
        # kallisto ends with a blank line, and says "zero reads pseudoaligned" only as a warning: name that, else its last words
        echo "ERROR: kallisto quant failed for sample ${meta.id}: \$(grep -i -m1 -e error -e 'zero reads pseudoaligned' ${out}.kallisto.log || grep -v '^[[:space:]]*\$' ${out}.kallisto.log | tail -n 1)" >&2
        exit 1
    }
    cat ${out}.kallisto.log >&2
    # kallisto 0.48 stops early and exits 0 on some malformed input: every counted read must have been processed
    check_quant.py \\
        --sample ${meta.id} \\
        --run_info ${out}/run_info.json \\
        --fastq_check ${fastq_check}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        kallisto: \$(kallisto version | sed 's/.*version //')
    END_VERSIONS
    """

    stub:
    """
    mkdir -p quant/${meta.id}
    printf 'target_id\\tlength\\teff_length\\test_counts\\ttpm\\n' > quant/${meta.id}/abundance.tsv
    echo '{"n_processed": 0}' > quant/${meta.id}/run_info.json
    touch quant/${meta.id}.kallisto.log versions.yml
    """
}
