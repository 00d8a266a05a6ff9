/*
 * One file per task: streamed, retried with backoff, resumed with Range, md5/size (or Ensembl BSD sum)
 * verified before it gets its name.
 *   meta.id     a name the pipeline makes (never the URL's file name): the download is saved under it
 *   ext.args    --url/--md5/--size of an ENCODE file, or --ensembl gtf|cdna with the release and base URL
 *               (Ensembl's URLs are resolved by download.py), each value single-quoted (conf/modules.config)
 * params.download_cache: a folder shared across runs (verified files are hard-linked from it, never
 * downloaded again); null = no cache. With containers it must be mounted into the container.
 */
process DOWNLOAD {
    tag "${meta.id}"
    label 'process_single'
    maxForks params.max_downloads

    conda "${moduleDir}/../envs/python.yml"
    container "${params.container}"

    input:
    tuple val(meta), val(request)    // request: [url:, md5:, size:] or [ensembl: 'gtf'|'cdna']

    output:
    tuple val(meta), path("${meta.id}"), emit: file
    path 'versions.yml'                , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    download.py \\
        --output ${meta.id} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 -c 'import platform; print(platform.python_version())')
    END_VERSIONS
    """

    stub:
    """
    touch ${meta.id} versions.yml
    """
}
