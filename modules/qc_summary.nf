process QC_SUMMARY {
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    path dataset
    path peaks, stageAs: 'peaks/*'                                   // <sample>.peaks.json of BINARIZE_PEAKS
    path fastq_checks, stageAs: 'fastq/*'                            // <sample>.fastq_check.json, or [] without FASTQs
    path kallisto, stageAs: 'kallisto/*'                             // kallisto's folders (named by sample), or []
    path genes_dropped, stageAs: 'expression/genes_dropped.tsv'      // or []
    path evaluation, stageAs: 'evaluation'                           // or [] (--evaluate false)

    output:
    path 'qc_samples.tsv' , emit: samples
    path 'qc_genes.tsv'   , emit: genes
    path '*_mqc.yaml'     , emit: mqc
    path 'versions.yml'   , emit: versions

    script:
    def args = task.ext.args ?: ''    // --target_transform
    def fastq = fastq_checks ? '--fastq_checks fastq/*' : ''
    def quant = kallisto ? '--kallisto kallisto/*' : ''
    def dropped = genes_dropped ? '--genes_dropped expression/genes_dropped.tsv' : ''
    def heldout = evaluation ? '--evaluation evaluation' : ''
    """
    qc_summary.py \\
        --dataset ${dataset} \\
        --peaks peaks/* \\
        ${fastq} \\
        ${quant} \\
        ${dropped} \\
        ${heldout} \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        pandas: \$(python3 -c 'from importlib.metadata import version; print(version("pandas"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py qc_samples=qc_samples.tsv qc_genes=qc_genes.tsv
    echo 'id: stub' > atac2expr_stub_mqc.yaml
    touch versions.yml
    """
}
