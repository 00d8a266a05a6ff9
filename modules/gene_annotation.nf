process GENE_ANNOTATION {
    tag "annotation"
    label 'process_single'

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(annotation_meta), path(annotation, stageAs: 'reference/annotation')   // annotation_meta.format: gtf or gene_bed
    path transcriptome, stageAs: 'reference/transcriptome.fa'                       // reads quantified by kallisto; or []
    tuple val(meta), path(layout)
    val exon_lengths                                                                // counts become TPM: each gene's exon length too

    output:
    path 'genes.tsv'       , emit: genes
    path 'transcripts.tsv' , emit: transcripts
    path 'gene_lengths.tsv', emit: lengths, optional: true   // with exon_lengths
    path 'versions.yml'    , emit: versions

    script:
    def args = task.ext.args ?: ''
    def lengths = exon_lengths ? '--exon_lengths' : ''
    def format = annotation_meta.format == 'gene_bed' ? '--gene_bed' : '--gtf'
    def fasta = transcriptome ? '--transcriptome reference/transcriptome.fa' : ''
    """
    gene_annotation.py \\
        ${format} reference/annotation \\
        ${fasta} \\
        --layout ${layout} \\
        --outdir . \\
        ${lengths} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
        pandas: \$(python3 -c 'from importlib.metadata import version; print(version("pandas"))')
        pysam: \$(python3 -c 'from importlib.metadata import version; print(version("pysam"))')
    END_VERSIONS
    """

    stub:
    """
    stub_tables.py genes=genes.tsv transcripts=transcripts.tsv gene_lengths=gene_lengths.tsv
    touch versions.yml
    """
}
