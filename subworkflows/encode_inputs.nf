/*
 * ENCODE and Ensembl inputs: discover matched ATAC-seq / RNA-seq biosamples, download every file once (md5 and
 * size verified, cached across runs in --download_cache) and write the same local samplesheet
 * (sample,fastq_1,fastq_2,peaks; lanes joined with ';') that --input takes. Downloads are saved under names the
 * pipeline makes (file_<n><suffix>), never under a name that came from ENCODE.
 */
include { ENCODE_SAMPLESHEET } from '../modules/encode_samplesheet'
include { DOWNLOAD           } from '../modules/download'

// a CSV field: quoted, a quote inside doubled (RFC 4180)
def csvField(value) {
    return '"' + value.toString().replace('"', '""') + '"'
}

workflow ENCODE_INPUTS {
    take:
    checked     // channel: CHECK_PARAMS passed

    main:
    ENCODE_SAMPLESHEET(checked.map { [id: 'encode'] })

    cache = params.download_cache ? file(params.download_cache).toString() : null
    rows = ENCODE_SAMPLESHEET.out.samplesheet.map { meta, csv -> csv }.splitCsv(header: true, quote: '"')
    // one entry per (sample, column, lane) that needs a file, and one download per distinct URL
    needs = rows.flatMap { row ->
        ['fastq_1', 'fastq_2', 'peaks'].collectMany { column ->
            def urls = row[column] ? row[column].tokenize(';') : []
            def md5s = row["${column}_md5"] ? row["${column}_md5"].tokenize(';') : []
            def sizes = row["${column}_size"] ? row["${column}_size"].tokenize(';') : []
            (0..<urls.size()).collect { i -> [urls[i], row.sample, column, i, md5s[i] ?: '', sizes[i] ?: ''] }
        }
    }
    suffixes = [fastq_1: '.fastq.gz', fastq_2: '.fastq.gz', peaks: '.bed.gz']
    files = needs
        .unique { it[0] }
        .toSortedList { a, b -> a[0] <=> b[0] }
        .flatMap { list -> list.withIndex().collect { item, n ->
            def (url, sample, column, lane, md5, size) = item
            [[id: "file_${n + 1}${suffixes[column]}".toString(), url: url], [url: url, md5: md5, size: size, cache_dir: cache]]
        } }
    references = Channel.empty()
    if (!params.gtf || !params.transcriptome) {
        references = checked.flatMap { valid ->
            [[[id: 'annotation.gtf.gz', url: 'gtf'], [ensembl: 'gtf', cache_dir: cache]],
             [[id: 'transcriptome.fa.gz', url: 'cdna'], [ensembl: 'cdna', cache_dir: cache]]]
        }
    }
    DOWNLOAD(files.mix(references))

    downloaded = DOWNLOAD.out.file.map { meta, file -> [meta.url, file] }
    samplesheet = needs
        .map { url, sample, column, lane, md5, size -> [url, sample, column, lane] }
        .combine(downloaded, by: 0)
        .map { url, sample, column, lane, file -> [sample, [column, lane, file]] }
        .groupTuple()
        .map { sample, items ->
            def pick = { column -> items.findAll { it[0] == column }.sort { it[1] }.collect { it[2].toString() }.join(';') }
            [sample, pick('fastq_1'), pick('fastq_2'), pick('peaks')].collect { csvField(it) }.join(',')
        }
        .collectFile(name: 'samplesheet.csv', seed: 'sample,fastq_1,fastq_2,peaks', newLine: true, sort: true, cache: true)

    gtf = params.gtf ? Channel.value(file(params.gtf, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.url == 'gtf' }.map { meta, file -> file }.first()
    transcriptome = params.transcriptome ? Channel.value(file(params.transcriptome, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.url == 'cdna' }.map { meta, file -> file }.first()

    emit:
    samplesheet   = samplesheet
    gtf           = gtf
    transcriptome = transcriptome
    provenance    = ENCODE_SAMPLESHEET.out.provenance
    versions      = ENCODE_SAMPLESHEET.out.versions.mix(DOWNLOAD.out.versions)
}
