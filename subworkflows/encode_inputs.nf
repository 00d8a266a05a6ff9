/*
 * ENCODE and Ensembl inputs: discover matched ATAC-seq / RNA-seq biosamples, download every file once (md5 and
 * size verified, cached across runs in --download_cache). ENCODE_SAMPLESHEET writes the files to download (each
 * distinct URL once, under a name the pipeline makes: file_<n><suffix>, never a name that came from ENCODE) and the
 * samplesheet that names them; CHECK_INPUTS reads it with the downloaded files staged beside it. With
 * --encode_expression quantifications the RNA-seq comes as ENCODE's gene quantifications (one TSV per replicate,
 * named in quantifications.tsv) instead of FASTQs, and no cDNA FASTA is needed.
 */
include { ENCODE_SAMPLESHEET } from '../modules/encode_samplesheet'
include { DOWNLOAD           } from '../modules/download'

workflow ENCODE_INPUTS {
    take:
    checked               // channel: CHECK_PARAMS passed
    samplesheet_schema    // channel: assets/schema_input.json

    main:
    ENCODE_SAMPLESHEET(checked.map { [id: 'encode'] }, samplesheet_schema)

    cache = params.download_cache ? file(params.download_cache).toString() : null
    files = ENCODE_SAMPLESHEET.out.downloads
        .splitCsv(header: true, sep: '\t')
        .map { row -> [[id: row.name, url: row.url], [url: row.url, md5: row.md5, size: row.size, cache_dir: cache]] }
    quantified = params.encode_expression == 'quantifications'
    annotated = params.gtf || params.gene_bed
    wanted = (annotated ? [] : [[[id: 'annotation.gtf.gz', url: 'gtf'], [ensembl: 'gtf', cache_dir: cache]]]) +
             (quantified || params.transcriptome ? [] : [[[id: 'transcriptome.fa.gz', url: 'cdna'], [ensembl: 'cdna', cache_dir: cache]]])
    references = checked.flatMap { valid -> wanted }
    DOWNLOAD(files.mix(references))

    sample_files = DOWNLOAD.out.file.filter { meta, file -> !(meta.url in ['gtf', 'cdna']) }.map { meta, file -> file }
        .collect(sort: { it.name }).ifEmpty([])
    annotation = params.gene_bed ? Channel.value([[format: 'gene_bed'], file(params.gene_bed, checkIfExists: true)])
        : params.gtf ? Channel.value([[format: 'gtf'], file(params.gtf, checkIfExists: true)])
        : DOWNLOAD.out.file.filter { meta, file -> meta.url == 'gtf' }.map { meta, file -> [[format: 'gtf'], file] }.first()
    transcriptome = quantified ? Channel.value([])
        : params.transcriptome ? Channel.value(file(params.transcriptome, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.url == 'cdna' }.map { meta, file -> file }.first()
    // the downloaded quantifications with the TSV that names each sample's (staged together)
    quantifications = quantified ? sample_files.combine(ENCODE_SAMPLESHEET.out.quantifications).map { it.flatten() } : Channel.value([])

    emit:
    samplesheet   = ENCODE_SAMPLESHEET.out.local_samplesheet
    sample_files  = sample_files
    annotation      = annotation
    transcriptome   = transcriptome
    expression      = Channel.value([])   // no table of the user's: ENCODE's quantifications, or reads
    quantifications = quantifications
    provenance    = ENCODE_SAMPLESHEET.out.provenance
    versions      = ENCODE_SAMPLESHEET.out.versions.mix(DOWNLOAD.out.versions)
}
