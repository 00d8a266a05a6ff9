/*
 * The results folder's guard: one run at a time per results folder, a run record per entry that keeps the folder to
 * one configuration and knows which files there the pipeline wrote, so that --overwrite replaces those and nothing
 * else, and nothing is ever written through a link or removed that the pipeline did not write.
 *
 *   OUTDIR_GUARD (at the end of an entry's workflow, when every process of the run is known and before any task
 *   starts): the lock; links in the folders the run uses are refused; the record of the last complete run
 *   (pipeline_info/run_<entry>.json: parameters, input identities, output files) and that of an unfinished one
 *   (run_<entry>.pending.json); every file in the folders the run publishes into must be one of theirs, else the run is
 *   refused naming the files; outputs of another configuration are refused, or with --overwrite planned to be replaced;
 *   outputs of an unfinished run of another configuration are no one's results and are planned to be replaced.
 *   REPLACE_OUTPUTS (once CHECK_PARAMS has passed, before any other task): replaceOutputs moves the planned files to
 *   <outdir>/.atac2expr-replaced/<run>/.
 *   At the end: a run that succeeded writes its record, moves its pipeline_info files into place and removes what was
 *   moved aside; a run that failed before publishing anything puts everything back; one that failed later leaves what
 *   it moved aside (removed by the next run that succeeds there) and records, in its unfinished-run record, which
 *   files it wrote.
 */
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.Paths

include { configDifferences; lockOutdir; outdirRoot; readRecord; recordPath; runConfiguration; schemaParams; writeJson } from './records'
include { asideFolder; asideRuns; clearPendingInfo; commitPendingInfo; filesUnder; movedList; publishFolders; pruneEmpty; refuseLinks;
          removeAside; scanFolders; shownFiles; startAside } from './files'

workflow OUTDIR_GUARD {
    take:
    entry   // 'main' or 'PREDICT'

    main:
    guardOutdir(entry)
}

/*
 * The guard, at the end of a workflow body (see the top of this file). Refuses with one ERROR line, or plans what
 * replaceOutputs moves aside, writes the unfinished-run record and sets what happens at the end.
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
    refuseLinks(root, scanned + ['pipeline_info'])
    def aside = asideRuns(root)
    clearPendingInfo(root, entry)
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
    def startedWith = found.keySet().findAll { found[it] == 'file' } as Set
    def state = [entry: entry, run: workflow.runName, started: workflow.start.toString(), params: current.params,
                 inputs: current.inputs, folders: folders as List, replace: replace.sort(),
                 previous: pending ? pending.findAll { key, value -> key != 'previous' } : null]
    writeJson(recordPath(root, entry, true), state)
    def sameAsRecord = record != null && !configDifferences(record, current)
    def wf = workflow
    workflow.onComplete {
        try {
            finishOutdir(root, entry, wf.success, state, scanned, startedWith, sameAsRecord, theirs, aside)
        } catch (Throwable err) {
            log.error "ERROR: --outdir ${root}: the run record, or what was moved aside to ${asideFolder(root)}, could not be brought " +
                      "up to date (${err.message}); see ${recordPath(root, entry, true)} before the next run there"
        } finally {
            release()
        }
    }
}

/*
 * Once CHECK_PARAMS has passed, before any other task (REPLACE_OUTPUTS): what guardOutdir planned to replace is moved
 * aside to <outdir>/.atac2expr-replaced/<run>/, whose list says what was moved there, and the folders it leaves empty
 * are removed.
 */
def replaceOutputs(outdir, String entry) {
    def root = Paths.get(outdir.toString()).toAbsolutePath().normalize()
    def state = readRecord(root, entry, true)
    if (!state?.replace) {
        return
    }
    def aside = startAside(root, state.run, state.replace)
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

def finishOutdir(Path root, String entry, boolean success, Map state, Collection scanned, Set startedWith, boolean sameAsRecord, Set theirs,
                 Map aside) {
    def found = scanFolders(root, scanned)
    def files = found.findAll { rel, kind -> kind == 'file' && !(rel in theirs) }.keySet().sort()
    if (success) {
        writeJson(recordPath(root, entry, false), [entry: entry, run: state.run, started: state.started, completed: new Date().toString(),
                                                   params: state.params, inputs: state.inputs, folders: state.folders, outputs: files])
        Files.deleteIfExists(recordPath(root, entry, true))
        commitPendingInfo(root, entry)
        (aside + [(state.run): state.replace]).each { run, paths -> removeAside(root, run, paths) }
        pruneEmpty(root, scanned)
        return
    }
    def movedAside = filesUnder(asideFolder(root).resolve(state.run)).findAll { it != movedList() } as Set
    def published = files.findAll { !(it in startedWith) || it in movedAside }
    if (!published) {
        // nothing of this run reached the folders (refused by a check): the folder as it was, record and all
        movedAside.each { rel ->
            def to = root.resolve(rel)
            if (!Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(to.parent)
                Files.move(asideFolder(root).resolve(state.run).resolve(rel), to, LinkOption.NOFOLLOW_LINKS)
            }
        }
        removeAside(root, state.run, state.replace)
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
    if (Files.exists(asideFolder(root), LinkOption.NOFOLLOW_LINKS)) {
        log.warn "--outdir ${root}: the outputs this run replaced are kept in ${asideFolder(root)} until a run completes there"
    }
}
