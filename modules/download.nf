/*
 * One file per task: streamed, retried with backoff, resumed with Range, md5/size (or Ensembl BSD sum)
 * verified before it gets its name. ENCODE lanes joined with ';' in the samplesheet are split into
 * one task each by the caller.
 *   meta.file_name     output name (default: the URL's last path segment); a plain name only
 *   meta.checksums_url an Ensembl CHECKSUMS file (BSD sum) instead of md5/size
 * params.download_cache: a folder shared across runs (verified files are hard-linked from it, never
 * downloaded again); null = no cache. With docker it must be mounted into the container.
 */
process DOWNLOAD {
    tag "${meta.id}:${meta.file_name ?: url.toString().tokenize('?')[0].tokenize('/')[-1]}"
    label 'process_single'
    maxForks params.max_downloads

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(meta), val(url), val(md5), val(size)

    output:
    tuple val(meta), path("${file_name}"), emit: file
    path 'versions.yml'                  , emit: versions

    script:
    file_name = meta.file_name ?: url.toString().tokenize('?')[0].tokenize('/')[-1]
    def args = task.ext.args ?: ''
    def md5_arg = md5 ? "--md5 ${md5}" : ''
    def size_arg = (size != null && size.toString() != '') ? "--size ${size}" : ''
    def checksums = meta.checksums_url ? "--checksums_url '${meta.checksums_url}'" : ''
    def cache = params.download_cache ? "--cache_dir '${file(params.download_cache)}'" : ''
    """
    download.py '${url}' \\
        --output '${file_name}' \\
        ${md5_arg} ${size_arg} ${checksums} ${cache} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
    END_VERSIONS
    """

    stub:
    file_name = meta.file_name ?: url.toString().tokenize('?')[0].tokenize('/')[-1]
    """
    touch '${file_name}' versions.yml
    """
}
