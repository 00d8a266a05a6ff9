/*
 * The inputs of a run on the user's files: the samplesheet, the annotation (--gtf or --gene_bed), the cDNA FASTA
 * (expression from reads) or the table of expression (--expression). Emits what ENCODE_INPUTS emits, so the pipeline
 * reads either the same way. A file parameter naming a missing file stops the run here, naming it.
 */
include { inputFile } from './input_files'

workflow LOCAL_INPUTS {
    take:
    route   // 'reads' or 'table': where the expression comes from

    main:
    annotation = params.gene_bed ? inputFile('gene_bed').map { [[format: 'gene_bed'], it] } : inputFile('gtf').map { [[format: 'gtf'], it] }

    emit:
    samplesheet     = inputFile('input')
    sample_files    = Channel.value([])     // the samplesheet names its files by their paths
    annotation      = annotation
    transcriptome   = route == 'reads' ? inputFile('transcriptome') : Channel.value([])
    expression      = params.expression ? inputFile('expression') : Channel.value([])
    quantifications = Channel.value([])
    versions        = Channel.empty()
}
