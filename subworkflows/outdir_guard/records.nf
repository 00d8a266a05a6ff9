/*
 * The results folder's records, for the guard (main.nf beside this file): one run at a time per folder (the lock),
 * the run record of each entry (pipeline_info/run_<entry>.json, and run_<entry>.pending.json while a run is
 * unfinished), and what a run computes from: its parameters (nextflow_schema.json says which change results) and the
 * identity of every input file.
 */
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.Paths
import java.security.MessageDigest

include { samplesheetFiles } from '../input_files'

def outdirRoot(outdir) {
    def root = Paths.get(outdir.toString()).toAbsolutePath().normalize()
    if (Files.exists(root) && !Files.isDirectory(root)) {
        error "ERROR: --outdir ${root}: exists and is not a folder"
    }
    if (!Files.isDirectory(root)) {
        Files.createDirectories(root)
    }
    return root
}

/*
 * One run at a time per results folder: <outdir>/.atac2expr.lock holds the owner (pid@host, run name); it is
 * removed when the run ends, however it ends. A lock whose process no longer runs on this host is stale and
 * replaced; a lock of another host cannot be judged and stops the run with the owner named. Returns the closure
 * that releases the lock (also run by a shutdown hook: Ctrl-C and kill end there too).
 */
def lockOutdir(Path root) {
    def lock = root.resolve('.atac2expr.lock').toFile()
    def host = InetAddress.localHost.hostName
    def me = "${ProcessHandle.current().pid()}@${host} ${workflow.runName} ${workflow.start}".toString()
    def broken = { String what -> error "ERROR: --outdir ${root}: its lock ${lock} ${what}, not the lock file this pipeline writes; " +
                                        "if no run is writing there, remove it and run again" }
    if (Files.isSymbolicLink(lock.toPath()) || (lock.exists() && !lock.isFile())) {
        broken(Files.isSymbolicLink(lock.toPath()) ? 'is a link' : lock.isDirectory() ? 'is a directory' : 'is not a regular file')
    }
    if (!lock.createNewFile()) {
        def owner = ''
        try {
            owner = lock.exists() ? lock.text.trim() : ''
        } catch (IOException err) {
            broken("cannot be read (${err.message})")
        }
        def matcher = owner =~ /^(\d+)@(\S+)/
        def sameHost = matcher.find() && matcher.group(2) == host
        def alive = !sameHost || ProcessHandle.of(matcher.group(1) as long).map { it.isAlive() }.orElse(false)
        if (alive) {
            error "ERROR: --outdir ${root}: another run is writing there (${owner ?: 'unknown owner'}; lock ${lock}). " +
                  "Wait for it, choose another --outdir, or remove the lock if no run is active."
        }
        log.warn "--outdir ${root}: replacing the stale lock of a run that no longer runs (${owner})"
        lock.delete()
        if (!lock.createNewFile()) {
            error "ERROR: --outdir ${root}: another run took the lock ${lock} just now"
        }
    }
    lock.text = me
    def release = { ignored = null -> if (lock.isFile() && lock.text.trim() == me) { lock.delete() } }
    Runtime.runtime.addShutdownHook(new Thread(release as Runnable))
    return release
}

def recordPath(Path root, String entry, boolean pending) {
    return root.resolve("pipeline_info/run_${entry}${pending ? '.pending' : ''}.json")
}

/*
 * A run record, or null when there is none. One that cannot be read as this pipeline writes it (truncated, a folder,
 * not a JSON object, fields of the wrong kind) stops the run naming it: without it the pipeline cannot tell which
 * files in the folder it wrote, so it removes nothing and cannot vouch for what is there.
 */
def readRecord(Path root, String entry, boolean pending) {
    def path = recordPath(root, entry, pending)
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
        return null
    }
    def damaged = { String what -> error "ERROR: --outdir ${root}: its run record ${path} ${what}; the pipeline cannot tell which files there " +
                                         "it wrote: choose another --outdir, or move that folder's results (and the record) away" }
    if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
        damaged(Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) ? 'is a directory, not a file' : 'is not a regular file')
    }
    def record
    try {
        record = new JsonSlurper().parseText(new String(Files.readAllBytes(path), 'UTF-8'))
    } catch (Exception ignored) {
        damaged('is not valid JSON (truncated?)')
    }
    if (!(record instanceof Map)) {
        damaged("is not a JSON object")
    }
    def kinds = [params: Map, inputs: Map, outputs: List, folders: List, run: String]
    def wrong = kinds.findAll { key, kind -> record.containsKey(key) && record[key] != null && !kind.isInstance(record[key]) }.keySet()
    if (wrong || !(record.params instanceof Map) || (record.outputs != null && record.outputs.any { !(it instanceof String) })) {
        damaged("is not a run record of this pipeline (${wrong ? 'field ' + wrong.join(', ') + ' of the wrong kind' : 'no parameters'})")
    }
    return record
}

def writeJson(Path path, Map content) {
    Files.createDirectories(path.parent)
    def tmp = path.resolveSibling(".${path.fileName}.part")
    tmp.toFile().text = JsonOutput.prettyPrint(JsonOutput.toJson(content)) + '\n'
    Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE)
}

// files up to this size are known by their content (a hash), larger ones by size and modification time
def hashedUpTo() {
    return 16L * 1024 * 1024
}

def sha256(Path path) {
    def digest = MessageDigest.getInstance('SHA-256')
    path.withInputStream { stream ->
        def buffer = new byte[1 << 16]
        int n
        while ((n = stream.read(buffer)) > 0) {
            digest.update(buffer, 0, n)
        }
    }
    return digest.digest().encodeHex().toString()
}

def fileIdentity(Path path) {
    def identity = [path: path.toString()]
    if (!Files.isRegularFile(path)) {
        identity.state = Files.exists(path) ? 'not a file' : 'missing'
        return identity
    }
    identity.size = Files.size(path)
    identity.mtime = Files.getLastModifiedTime(path).toMillis()
    if (identity.size <= hashedUpTo()) {
        identity.sha256 = sha256(path)
    }
    return identity
}

/*
 * What nextflow_schema.json says about the parameters, for the guard: the schema is their one owner.
 *   operational: they change how a run executes, not what it computes (marked "operational", or in a group so
 *                marked): a run that differs only in them writes the same results;
 *   files:       they name an input file ("format": "file-path"): the run record keeps each one's identity;
 *   samplesheets: file-path parameters with "mimetype": "text/csv": the files they name are inputs too.
 */
def schemaParams(String schemaPath) {
    def schema = new JsonSlurper().parse(new File(schemaPath))
    def all = [:], operational = [] as Set, files = [], samplesheets = [] as Set
    schema['$defs'].each { group, spec ->
        spec.properties.each { name, p ->
            all[name] = p
            if (spec.operational || p.operational) {
                operational << name
            }
            if (p.format == 'file-path') {
                files << name
                if (p.mimetype == 'text/csv') {
                    samplesheets << name
                }
            }
        }
    }
    return [names: all.keySet(), operational: operational, files: files, samplesheets: samplesheets]
}

/*
 * What a run computes from: its parameters (operational ones aside) and the identity of every input file (path, size
 * and modification time; the content's hash for files up to 16 MiB): the file parameters of the schema and, for a
 * samplesheet, the files it names. An edited samplesheet at the same path is another configuration.
 */
def runConfiguration(Map parameters, Map schemaInfo) {
    def values = new TreeMap(parameters.findAll { name, value ->
        name in schemaInfo.names && !(name in schemaInfo.operational) && !(value instanceof Closure) })
        .collectEntries { name, value -> [name, value == null ? null : value.toString()] }
    def inputs = new TreeMap()
    schemaInfo.files.each { name ->
        if (!parameters[name]) {
            return
        }
        def path = Paths.get(parameters[name].toString()).toAbsolutePath().normalize()
        inputs[name] = fileIdentity(path)
        if (name in schemaInfo.samplesheets) {
            samplesheetFiles(path, hashedUpTo()).each { key, file -> inputs[key] = fileIdentity(file) }
        }
    }
    return [params: values, inputs: inputs]
}

def sameInput(a, b) {
    if (a == null || b == null) {
        return a == b
    }
    if (a.path != b.path || a.state != b.state) {
        return false
    }
    if (a.sha256 && b.sha256) {
        return a.sha256 == b.sha256
    }
    return a['size'] == b['size'] && a.mtime == b.mtime
}

// How `earlier` (a record) and `current` differ: parameters as --name old -> new, then the input files that changed
def configDifferences(Map earlier, Map current) {
    def differences = []
    def before = earlier.params ?: [:], now = current.params
    def shown = { value -> value != null && value.size() > 60 ? value.take(57) + '...' : value }  // a list of thousands of regions
    (before.keySet() + now.keySet()).findAll { before[it] != now[it] }.sort().each {
        differences << "--${it} ${shown(before[it])} -> ${shown(now[it])}".toString()
    }
    def was = earlier.inputs ?: [:], is = current.inputs ?: [:]
    // a sample that is new or gone is said once, not once per file
    def sampleOf = { String key -> key.startsWith('sample ') ? key.tokenize(' ')[1] : null }
    def samplesWere = was.keySet().collect(sampleOf).findAll() as Set, samplesAre = is.keySet().collect(sampleOf).findAll() as Set
    def gone = samplesWere - samplesAre, added = samplesAre - samplesWere
    (was.keySet() + is.keySet()).sort().each { key ->
        def a = was[key], b = is[key]
        if (sameInput(a, b) || (key in before.keySet() && before[key] != now[key]) || sampleOf(key) in (gone + added)) {
            return  // the same, its parameter names another file (said above), or its sample is new or gone (said below)
        }
        def name = key.startsWith('sample ') ? key : "--${key}"
        if (a == null) {
            differences << "${name}: new".toString()
        } else if (b == null) {
            differences << "${name}: no longer in the run".toString()
        } else if (b.state) {
            differences << "${name} ${b.path}: ${b.state}".toString()
        } else if (a.path != b.path) {
            differences << "${name}: ${a.path} -> ${b.path}".toString()
        } else {
            def why = a.sha256 && b.sha256 ? 'its content changed' : a['size'] != b['size'] ? 'its size changed' : 'modified since'
            differences << "${name} ${b.path}: ${why}".toString()
        }
    }
    gone.sort().each { differences << "sample ${it}: no longer in the run".toString() }
    added.sort().each { differences << "sample ${it}: new".toString() }
    return differences
}
