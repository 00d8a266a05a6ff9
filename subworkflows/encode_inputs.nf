/*
 * ENCODE and Ensembl inputs: discover matched ATAC-seq / RNA-seq biosamples, download every file once (md5 and
 * size verified, cached across runs in --download_cache). ENCODE_SAMPLESHEET writes the files to download (each
 * distinct URL once, under a name the pipeline makes: file_<n><suffix>, never a name that came from ENCODE) and the
 * samplesheet that names them; CHECK_INPUTS reads it with the downloaded files staged beside it.
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
    references = Channel.empty()
    if (!params.gtf || !params.transcriptome) {
        references = checked.flatMap { valid ->
            [[[id: 'annotation.gtf.gz', url: 'gtf'], [ensembl: 'gtf', cache_dir: cache]],
             [[id: 'transcriptome.fa.gz', url: 'cdna'], [ensembl: 'cdna', cache_dir: cache]]]
        }
    }
    DOWNLOAD(files.mix(references))

    sample_files = DOWNLOAD.out.file.filter { meta, file -> !(meta.url in ['gtf', 'cdna']) }.map { meta, file -> file }
        .collect(sort: { it.name }).ifEmpty([])
    gtf = params.gtf ? Channel.value(file(params.gtf, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.url == 'gtf' }.map { meta, file -> file }.first()
    transcriptome = params.transcriptome ? Channel.value(file(params.transcriptome, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.url == 'cdna' }.map { meta, file -> file }.first()

    emit:
    samplesheet   = ENCODE_SAMPLESHEET.out.local_samplesheet
    sample_files  = sample_files
    gtf           = gtf
    transcriptome = transcriptome
    provenance    = ENCODE_SAMPLESHEET.out.provenance
    versions      = ENCODE_SAMPLESHEET.out.versions.mix(DOWNLOAD.out.versions)
}
