/*
 * ENCODE and Ensembl inputs: discover matched ATAC-seq / RNA-seq biosamples, download every file
 * once (md5 and size verified, cached across runs in --download_cache) and write the same local
 * samplesheet (sample,fastq_1,fastq_2,peaks; lanes joined with ';') that --input takes.
 */
include { ENCODE_SAMPLESHEET } from '../modules/encode_samplesheet'
include { DOWNLOAD           } from '../modules/download'

// Ensembl's layout for a release; bin/atac2expr/download.py:ensembl_urls builds the same URLs.
def ensemblUrls(String kind) {
    def base = params.ensembl_url.toString().replaceAll('/+$', '')
    def release = params.ensembl_release
    def folder = kind == 'gtf' ? "${base}/release-${release}/gtf/homo_sapiens" : "${base}/release-${release}/fasta/homo_sapiens/cdna"
    def name = kind == 'gtf' ? "Homo_sapiens.GRCh38.${release}.gtf.gz" : 'Homo_sapiens.GRCh38.cdna.all.fa.gz'
    return ["${folder}/${name}", "${folder}/CHECKSUMS"]
}

workflow ENCODE_INPUTS {
    main:
    ENCODE_SAMPLESHEET([id: 'encode'])

    rows = ENCODE_SAMPLESHEET.out.samplesheet.map { meta, csv -> csv }.splitCsv(header: true)
    // one entry per (sample, column, lane) that needs a file, and one download per distinct URL
    needs = rows.flatMap { row ->
        ['fastq_1', 'fastq_2', 'peaks'].collectMany { column ->
            def urls = row[column] ? row[column].tokenize(';') : []
            def md5s = row["${column}_md5"] ? row["${column}_md5"].tokenize(';') : []
            def sizes = row["${column}_size"] ? row["${column}_size"].tokenize(';') : []
            (0..<urls.size()).collect { i -> [urls[i], row.sample, column, i, md5s[i] ?: '', sizes[i] ?: ''] }
        }
    }
    files = needs
        .map { url, sample, column, lane, md5, size -> [[id: url.tokenize('/')[-1], url: url], url, md5, size] }
        .unique { it[1] }
    references = Channel.empty()
    if (!params.gtf || !params.transcriptome) {
        references = Channel.of('gtf', 'cdna').map { kind ->
            def (url, checksums) = ensemblUrls(kind)
            [[id: kind, url: url, checksums_url: checksums], url, '', '']
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
            "${sample},${pick('fastq_1')},${pick('fastq_2')},${pick('peaks')}"
        }
        .collectFile(name: 'samplesheet.csv', seed: 'sample,fastq_1,fastq_2,peaks', newLine: true, sort: true, cache: true)

    gtf = params.gtf ? Channel.value(file(params.gtf, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.id == 'gtf' }.map { meta, file -> file }.first()
    transcriptome = params.transcriptome ? Channel.value(file(params.transcriptome, checkIfExists: true))
        : DOWNLOAD.out.file.filter { meta, file -> meta.id == 'cdna' }.map { meta, file -> file }.first()

    emit:
    samplesheet   = samplesheet
    gtf           = gtf
    transcriptome = transcriptome
    provenance    = ENCODE_SAMPLESHEET.out.provenance
    versions      = ENCODE_SAMPLESHEET.out.versions.mix(DOWNLOAD.out.versions.first())
}
