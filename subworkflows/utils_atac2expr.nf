/*
 * What the workflow does before any task starts: --help from nextflow_schema.json, one run per results
 * folder (a lock), and no results of another configuration left looking current (a run record).
 * The parameters themselves are checked by CHECK_PARAMS (jsonschema, in the first task).
 */
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

/*
 * The parameters, grouped as in the schema, with their defaults: `nextflow run main.nf --help`.
 */
def paramsHelp(String schemaPath, boolean showHidden) {
    def schema = new JsonSlurper().parse(new File(schemaPath))
    def lines = ["Usage: nextflow run main.nf --input samplesheet.csv --gtf genes.gtf.gz --transcriptome cdna.fa.gz [options]",
                 "       nextflow run main.nf --input peaks.csv --expression genes_x_samples.tsv --gtf genes.gtf.gz (or --gene_bed genes.bed) [--genome GRCh37] [options]",
                 "       nextflow run main.nf --encode [options]",
                 "       nextflow run main.nf -entry PREDICT --model_file model.pt --input samples.csv [options]",
                 ""]
    schema['$defs'].each { group, spec ->
        def shown = spec.properties.findAll { name, p -> showHidden || !p.hidden }
        if (!shown) {
            return
        }
        lines << "${spec.title}: ${spec.description ?: ''}".toString()
        shown.each { name, p ->
            def type = p.type instanceof List ? p.type.findAll { it != 'null' }.join('|') : p.type
            def extra = p.enum ? " (${p.enum.join('|')})" : ''
            def dflt = p.containsKey('default') ? "  [default: ${p.default.toString().replace('${version}', workflow.manifest.version)}]" : ''
            lines << "  --${name.padRight(26)} ${type}${extra}  ${p.description}${dflt}".toString()
        }
        lines << ''
    }
    lines << "Every parameter is checked before any work starts; see README.md, 'Parameters'."
    return lines.join('\n')
}

/*
 * One run at a time per results folder: <outdir>/.atac2expr.lock holds the owner (pid@host, run name); it is
 * removed when the run ends, however it ends. A lock whose process no longer runs on this host is stale and
 * replaced; a lock of another host cannot be judged and stops the run with the owner named.
 */
def lockOutdir(outdir) {
    def dir = new File(outdir.toString()).absoluteFile
    dir.mkdirs()
    def lock = new File(dir, '.atac2expr.lock')
    def host = InetAddress.localHost.hostName
    def me = "${ProcessHandle.current().pid()}@${host} ${workflow.runName} ${workflow.start}".toString()
    if (!lock.createNewFile()) {
        def owner = lock.exists() ? lock.text.trim() : ''
        def matcher = owner =~ /^(\d+)@(\S+)/
        def sameHost = matcher.find() && matcher.group(2) == host
        def alive = !sameHost || ProcessHandle.of(matcher.group(1) as long).map { it.isAlive() }.orElse(false)
        if (alive) {
            error "ERROR: --outdir ${dir}: another run is writing there (${owner ?: 'unknown owner'}; lock ${lock}). " +
                  "Wait for it, choose another --outdir, or remove the lock if no run is active."
        }
        log.warn "--outdir ${dir}: replacing the stale lock of a run that no longer runs (${owner})"
        lock.delete()
        if (!lock.createNewFile()) {
            error "ERROR: --outdir ${dir}: another run took the lock ${lock} just now"
        }
    }
    lock.text = me
    def release = { ignored = null -> if (lock.exists() && lock.text.trim() == me) { lock.delete() } }
    workflow.onComplete(release)
    workflow.onError(release)
    Runtime.runtime.addShutdownHook(new Thread(release as Runnable))  // Ctrl-C and kill end here too
}

/*
 * The results folder belongs to one configuration. <outdir>/pipeline_info/run_<entry>.json records the
 * parameters of the runs that wrote it; a run with other parameters (operational ones aside) is refused,
 * naming them, unless --overwrite, which removes the earlier outputs of that entry first. A folder holding
 * the entry's outputs without a record is refused the same way.
 */
def checkOutdir(outdir, String entry, Map parameters, boolean overwrite) {
    // parameters that change how a run is executed, not what it computes
    def operational = ['outdir', 'overwrite', 'help', 'config_profile_name', 'max_downloads', 'download_cache', 'container',
                       'use_mamba', 'max_cpus', 'max_memory', 'max_time', 'queue', 'slurm_queue', 'slurm_account',
                       'cluster_options', 'sge_penv', 'max_jobs']
    // the folders an entry writes into --outdir (conf/modules.config); pipeline_info/ is shared and only added to
    def folders = entry == 'PREDICT' ? ['predict']
        : ['annotation', 'quant', 'expression', 'bins', 'dataset', 'model', 'evaluation', 'report', 'encode']
    def dir = new File(outdir.toString()).absoluteFile
    def record = new File(dir, "pipeline_info/run_${entry}.json")
    def current = new TreeMap(parameters.findAll { name, value -> !(name in operational) && !(value instanceof Closure) })
                      .collectEntries { name, value -> [name, value == null ? null : value.toString()] }
    def outputs = folders.findAll { new File(dir, it).exists() }
    if (outputs && !overwrite) {
        if (!record.exists()) {
            error "ERROR: --outdir ${dir}: holds ${outputs.join(', ')} from a run this pipeline cannot identify (no ${record.name}); " +
                  "choose another --outdir or add --overwrite to replace them"
        }
        def earlier = new JsonSlurper().parse(record).params ?: [:]
        def changed = (earlier.keySet() + current.keySet()).findAll { earlier[it] != current[it] }.sort()
        if (changed) {
            def shown = changed.take(5).collect { "--${it} ${earlier[it]} -> ${current[it]}" }.join(', ')
            error "ERROR: --outdir ${dir}: its results come from a run with other parameters (${shown}${changed.size() > 5 ? ', ...' : ''}); " +
                  "choose another --outdir, or add --overwrite to replace them"
        }
    }
    if (outputs && overwrite) {
        log.warn "--outdir ${dir}: --overwrite removes the earlier outputs (${outputs.join(', ')})"
        outputs.each { new File(dir, it).deleteDir() }
    }
    record.parentFile.mkdirs()
    def tmp = new File(record.parentFile, ".${record.name}.part")
    tmp.text = JsonOutput.prettyPrint(JsonOutput.toJson([entry: entry, params: current, run: workflow.runName, started: workflow.start.toString()])) + '\n'
    tmp.renameTo(record)
}
