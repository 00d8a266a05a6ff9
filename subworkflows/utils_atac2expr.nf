/*
 * What the workflow does around its tasks: --help from nextflow_schema.json, one run per results folder (a lock),
 * and the results folder's guard: a run record per entry that keeps the folder to one configuration and knows
 * which files there the pipeline wrote, so that --overwrite replaces those and nothing else.
 * The parameters themselves are checked by CHECK_PARAMS (jsonschema, in the first task).
 *
 * The guard, in order:
 *   guardOutdir (at the end of a workflow body, when every process of the run is known and before any task starts):
 *     the lock; the record of the last complete run (pipeline_info/run_<entry>.json: parameters, input identities,
 *     output files) and that of an unfinished one (run_<entry>.pending.json); every file in the folders the run
 *     publishes into must be one of theirs, else the run is refused naming the files; outputs of another
 *     configuration are refused, or with --overwrite planned to be replaced; outputs of an unfinished run of another
 *     configuration are no one's results and are planned to be replaced without --overwrite.
 *   replaceOutputs (once CHECK_PARAMS has passed, before any other task): the planned files, and with --overwrite
 *     the links in those folders, are moved aside to <outdir>/.atac2expr-replaced/<run>/; a link moves as itself,
 *     its target is never read, walked or changed.
 *   at the end: a run that succeeded writes its record and removes what was moved aside; a run that failed before
 *     publishing anything puts everything back; one that failed later leaves what it moved aside (removed by the next
 *     run that succeeds there) and records, in its unfinished-run record, which files it wrote.
 */
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.FileVisitResult
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.Paths
import java.nio.file.SimpleFileVisitor
import java.nio.file.attribute.BasicFileAttributes
import java.security.MessageDigest

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
 * The folders of --outdir this run publishes into, from each of its processes' publishDir (conf/modules.config), as
 * the run's graph holds them; pipeline_info/ is shared by every run and entry and is not one of them. Called when the
 * workflow body has run (every process of the run exists) and before any task starts.
 */
def publishFolders(Path root) {
    def folders = [] as TreeSet
    workflow.session.dag.vertices.findAll { it.process }.each { vertex ->
        def processor = vertex.process
        def specs = processor.config.get('publishDir') ?: []
        (specs instanceof List ? specs : [specs]).each { spec ->
            if (spec instanceof Map && spec.enabled == false) {
                return
            }
            def path = spec instanceof Map ? spec.path : spec
            if (path instanceof Closure) {
                // evaluated as for a task of the process: the paths of conf/modules.config read only params and task.process
                def copy = path.rehydrate([task: [process: processor.name], params: params], path.owner, path.thisObject)
                copy.resolveStrategy = Closure.DELEGATE_FIRST
                path = copy.call()
            }
            def relative = root.relativize(Paths.get(path.toString()).toAbsolutePath().normalize())
            if (relative.toString() == '' || relative.startsWith('..')) {
                error "ERROR: conf/modules.config: ${processor.name} publishes into ${path}, not into a folder of --outdir " +
                      "(${root}); the results folder's guard knows the outputs by their folders"
            }
            folders << relative.getName(0).toString()
        }
    }
    folders.remove('pipeline_info')
    return folders
}

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

// ---------------------------------------------------------------------------------------------- run records

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

// ---------------------------------------------------------------------------------------------- inputs

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

// The rows of a CSV file (RFC 4180: quoted fields may hold commas, quotes and line breaks)
def csvRows(String text) {
    def rows = [], row = [], field = new StringBuilder()
    boolean quoted = false
    int i = 0
    while (i < text.length()) {
        def c = text.charAt(i)
        if (quoted) {
            if (c == ('"' as char)) {
                if (i + 1 < text.length() && text.charAt(i + 1) == ('"' as char)) {
                    field.append('"')
                    i++
                } else {
                    quoted = false
                }
            } else {
                field.append(c)
            }
        } else if (c == ('"' as char)) {
            quoted = true
        } else if (c == (',' as char)) {
            row << field.toString()
            field.setLength(0)
        } else if (c == ('\n' as char) || c == ('\r' as char)) {
            if (c == ('\r' as char) && i + 1 < text.length() && text.charAt(i + 1) == ('\n' as char)) {
                i++
            }
            row << field.toString()
            field.setLength(0)
            rows << row
            row = []
        } else {
            field.append(c)
        }
        i++
    }
    if (field.length() || row) {
        row << field.toString()
        rows << row
    }
    return rows
}

/*
 * The files a samplesheet names, by sample, column and lane: their identities are part of the run's configuration.
 * Read tolerantly (CHECK_INPUTS refuses a bad samplesheet with the line and column): what cannot be read is left out.
 */
def samplesheetFiles(Path sheet) {
    def files = [:]
    if (!Files.isRegularFile(sheet) || Files.size(sheet) > hashedUpTo()) {
        return files
    }
    def rows
    try {
        rows = csvRows(new String(Files.readAllBytes(sheet), 'UTF-8').replaceFirst('^\uFEFF', ''))
    } catch (Exception ignored) {
        return files
    }
    if (!rows) {
        return files
    }
    def header = rows[0]*.trim()
    def sample = header.indexOf('sample')
    if (sample < 0) {
        return files
    }
    rows.drop(1).findAll { it.size() == header.size() }.each { row ->
        header.eachWithIndex { column, j ->
            if (j == sample || !row[j].trim()) {
                return
            }
            def lanes = row[j].split(';', -1)*.trim()
            lanes.eachWithIndex { name, lane ->
                if (!name) {
                    return
                }
                def path = Paths.get(name)
                path = (path.absolute ? path : sheet.toAbsolutePath().parent.resolve(path)).normalize()
                def key = "sample ${row[sample].trim()} ${column}${lanes.size() > 1 ? ' lane ' + (lane + 1) : ''}".toString()
                files[key] = path
            }
        }
    }
    return files
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
            samplesheetFiles(path).each { key, file -> inputs[key] = fileIdentity(file) }
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

// ---------------------------------------------------------------------------------------------- files of the folders

def relativeName(Path root, Path path) {
    return root.relativize(path).toString()
}

/*
 * Every file and link in the folders, by path relative to the results folder: 'file', 'link' or 'other'. Links are
 * never followed: a link to a folder is one entry, whatever it points to.
 */
def scanFolders(Path root, Collection folders) {
    def found = new TreeMap<String, String>()
    folders.each { folder ->
        def top = root.resolve(folder)
        if (Files.isSymbolicLink(top)) {
            found[folder] = 'link'
        } else if (Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
            Files.walkFileTree(top, new SimpleFileVisitor<Path>() {
                FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    found[root.relativize(file).toString()] = attrs.isSymbolicLink() ? 'link' : attrs.isRegularFile() ? 'file' : 'other'
                    return FileVisitResult.CONTINUE
                }
                FileVisitResult visitFileFailed(Path file, IOException err) {
                    found[root.relativize(file).toString()] = 'other'
                    return FileVisitResult.CONTINUE
                }
            })
        } else if (Files.exists(top, LinkOption.NOFOLLOW_LINKS)) {
            found[folder] = Files.isRegularFile(top, LinkOption.NOFOLLOW_LINKS) ? 'file' : 'other'
        }
    }
    return found
}

// Empty folders under the given folders of the results folder, removed bottom-up (links are never followed)
def pruneEmpty(Path root, Collection folders) {
    folders.each { folder ->
        def top = root.resolve(folder)
        if (Files.isSymbolicLink(top) || !Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
            return
        }
        Files.walkFileTree(top, new SimpleFileVisitor<Path>() {
            FileVisitResult postVisitDirectory(Path dir, IOException err) {
                if (!dir.toFile().list()) {
                    Files.delete(dir)
                }
                return FileVisitResult.CONTINUE
            }
        })
    }
}

// where replaced outputs wait, inside --outdir (the same file system: a move is a rename)
def asideFolder(Path root) {
    return root.resolve('.atac2expr-replaced')
}

// The files and links under a folder (not following links), relative to it
def filesUnder(Path top) {
    def found = []
    if (Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
        Files.walkFileTree(top, new SimpleFileVisitor<Path>() {
            FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                found << top.relativize(file).toString()
                return FileVisitResult.CONTINUE
            }
        })
    }
    return found
}

// Removes a folder the pipeline made, and what is in it: a link inside is removed itself, never what it points to
def removeTree(Path top) {
    if (!Files.exists(top, LinkOption.NOFOLLOW_LINKS)) {
        return
    }
    Files.walkFileTree(top, new SimpleFileVisitor<Path>() {
        FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            Files.delete(file)
            return FileVisitResult.CONTINUE
        }
        FileVisitResult postVisitDirectory(Path dir, IOException err) {
            Files.delete(dir)
            return FileVisitResult.CONTINUE
        }
    })
}

def shownFiles(Collection names, int most = 8) {
    return names.take(most).join(', ') + (names.size() > most ? " and ${names.size() - most} more" : '')
}

// ---------------------------------------------------------------------------------------------- the guard

/*
 * The results folder's guard, at the end of a workflow body (see the top of this file). Refuses with one ERROR line,
 * or plans what replaceOutputs moves aside, writes the unfinished-run record and sets what happens at the end.
 */
def guardOutdir(String entry) {
    def root = outdirRoot(params.outdir)
    def release = lockOutdir(root)
    try {
        guardLocked(root, entry, release)
    } catch (Throwable err) {
        release()
        throw err
    }
}

def guardLocked(Path root, String entry, Closure release) {
    def schemaInfo = schemaParams("${projectDir}/nextflow_schema.json")
    def folders = publishFolders(root)
    def current = runConfiguration(params, schemaInfo)
    def record = readRecord(root, entry, false)
    def pending = readRecord(root, entry, true)
    // the other entries' records (-entry PREDICT beside the main run): their files are theirs
    def theirs = [] as Set
    root.resolve('pipeline_info').toFile().listFiles()?.each { file ->
        def match = file.name =~ /^run_(.+?)(\.pending)?\.json$/
        if (match.matches() && match.group(1) != entry) {
            theirs.addAll(readRecord(root, match.group(1), match.group(2) != null)?.outputs ?: [])
        }
    }
    def scanned = ([] as TreeSet) + folders + (record?.folders ?: []) + (pending?.folders ?: [])
    def found = scanFolders(root, scanned)
    def listed = (record?.outputs ?: []) as Set
    def movedBy = { run, rel -> run && Files.exists(asideFolder(root).resolve(run).resolve(rel), LinkOption.NOFOLLOW_LINKS) }
    // who wrote each file: the complete run, the unfinished one (its list when it ended with one; when it was killed,
    // whatever appeared in its folders), another entry, or no one this pipeline knows
    def owner = { String rel ->
        def mine = listed.contains(rel) && !movedBy(pending?.run, rel)
        if (pending != null && pending.outputs != null && rel in pending.outputs) {
            return 'pending'
        }
        if (mine) {
            return 'record'
        }
        if (pending != null && pending.outputs == null && rel.tokenize('/')[0] in (pending.folders ?: [])) {
            return 'pending'
        }
        return rel in theirs ? 'other' : 'foreign'
    }
    def byOwner = found.findAll { rel, kind -> kind != 'link' }.keySet().groupBy { rel -> found[rel] == 'file' ? owner(rel) : 'foreign' }
    def links = found.findAll { rel, kind -> kind == 'link' }.keySet().sort()
    def foreign = byOwner.foreign ?: []
    if (foreign) {
        def why = record && record.outputs == null ? 'its run record predates the lists of outputs' : 'no run record lists them'
        error "ERROR: --outdir ${root}: holds files this pipeline did not write, or cannot tell it wrote (${why}): ${shownFiles(foreign)}; " +
              "move them out of --outdir or choose another --outdir (--overwrite replaces only the pipeline's own outputs)"
    }
    def replace = []
    def recordFiles = byOwner.record ?: []
    if (recordFiles) {
        def changed = configDifferences(record, current)
        if (changed) {
            if (!params.overwrite) {
                error "ERROR: --outdir ${root}: its results come from a run with other parameters or inputs (${shownFiles(changed, 5)}); " +
                      "choose another --outdir, or add --overwrite to replace them"
            }
            log.warn "--outdir ${root}: --overwrite: the ${recordFiles.size()} output(s) of the run with other parameters or inputs " +
                     "(${shownFiles(changed, 5)}) are replaced once the parameter checks pass"
            replace += recordFiles
        }
    }
    def pendingFiles = byOwner.pending ?: []
    if (pendingFiles && configDifferences(pending, current)) {
        log.warn "--outdir ${root}: the ${pendingFiles.size()} output(s) of run ${pending.run}, which did not finish and had other " +
                 "parameters or inputs, are replaced once the parameter checks pass"
        replace += pendingFiles
    }
    if (params.overwrite && links) {
        log.warn "--outdir ${root}: --overwrite: the link(s) ${shownFiles(links)} are removed once the parameter checks pass; what they " +
                 "point to is left alone"
        replace += links
    }
    def startedWith = found.keySet().findAll { found[it] == 'file' } as Set
    def state = [entry: entry, run: workflow.runName, started: workflow.start.toString(), params: current.params,
                 inputs: current.inputs, folders: folders as List, replace: replace.sort(),
                 previous: pending ? pending.findAll { key, value -> key != 'previous' } : null]
    writeJson(recordPath(root, entry, true), state)
    def sameAsRecord = record != null && !configDifferences(record, current)
    def wf = workflow
    workflow.onComplete {
        try {
            finishOutdir(root, entry, wf.success, state, scanned, startedWith, sameAsRecord, theirs)
        } catch (Throwable err) {
            log.error "ERROR: --outdir ${root}: the run record, or what was moved aside to ${asideFolder(root)}, could not be brought " +
                      "up to date (${err.message}); see ${recordPath(root, entry, true)} before the next run there"
        } finally {
            release()
        }
    }
}

/*
 * Once CHECK_PARAMS has passed, before any other task: what guardOutdir planned to replace is moved aside to
 * <outdir>/.atac2expr-replaced/<run>/ (a link moves as itself), and the folders it leaves empty are removed.
 */
def replaceOutputs(outdir, String entry) {
    def root = Paths.get(outdir.toString()).toAbsolutePath().normalize()
    def state = readRecord(root, entry, true)
    if (!state?.replace) {
        return
    }
    if (Files.isSymbolicLink(asideFolder(root))) {
        Files.delete(asideFolder(root))  // the pipeline's own folder name: a link there would carry the outputs elsewhere
    }
    def aside = asideFolder(root).resolve(state.run)
    def real = root.toRealPath()
    // a path is moved only when no folder on its way is a link: a record's path under a folder since replaced by a
    // link to elsewhere would otherwise move a file from outside --outdir
    def linkFree = { Path parent -> Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS) && parent.toRealPath() == real.resolve(root.relativize(parent)) }
    state.replace.each { String rel ->
        def from = root.resolve(rel).normalize()
        if (from.startsWith(root) && from != root && linkFree(from.parent) && Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
            def to = aside.resolve(rel)
            Files.createDirectories(to.parent)
            Files.move(from, to, LinkOption.NOFOLLOW_LINKS)
        }
    }
    pruneEmpty(root, state.replace.collect { it.tokenize('/')[0] }.unique())
    log.info "--outdir ${root}: ${state.replace.size()} earlier output(s) moved aside to ${aside}: removed when this run completes, " +
             "put back if it fails before writing any output"
}

def finishOutdir(Path root, String entry, boolean success, Map state, Collection scanned, Set startedWith, boolean sameAsRecord, Set theirs) {
    def aside = asideFolder(root)
    def found = scanFolders(root, scanned)
    def files = found.findAll { rel, kind -> kind == 'file' && !(rel in theirs) }.keySet().sort()
    if (success) {
        writeJson(recordPath(root, entry, false), [entry: entry, run: state.run, started: state.started, completed: new Date().toString(),
                                                   params: state.params, inputs: state.inputs, folders: state.folders, outputs: files])
        Files.deleteIfExists(recordPath(root, entry, true))
        removeTree(aside)
        pruneEmpty(root, scanned)
        return
    }
    def movedAside = filesUnder(aside.resolve(state.run)) as Set
    def published = files.findAll { !(it in startedWith) || it in movedAside }
    if (!published) {
        // nothing of this run reached the folders (refused by a check): the folder as it was, record and all
        movedAside.each { rel ->
            def to = root.resolve(rel)
            if (!Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(to.parent)
                Files.move(aside.resolve(state.run).resolve(rel), to, LinkOption.NOFOLLOW_LINKS)
            }
        }
        removeTree(aside.resolve(state.run))
        if (Files.isDirectory(aside, LinkOption.NOFOLLOW_LINKS) && !filesUnder(aside)) {
            removeTree(aside)
        }
        if (state.previous) {
            writeJson(recordPath(root, entry, true), state.previous)
        } else {
            Files.deleteIfExists(recordPath(root, entry, true))
        }
        return
    }
    if (sameAsRecord) {
        // what this run wrote is what the complete run of the same configuration wrote: its record still holds
        Files.deleteIfExists(recordPath(root, entry, true))
    } else {
        writeJson(recordPath(root, entry, true), state.findAll { key, value -> key != 'previous' } + [ended: new Date().toString(), outputs: files])
    }
    if (Files.exists(aside, LinkOption.NOFOLLOW_LINKS)) {
        log.warn "--outdir ${root}: the outputs this run replaced are kept in ${aside} until a run completes there"
    }
}
