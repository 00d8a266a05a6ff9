/*
 * The results folder's files, for the guard (main.nf beside this file): the folders a run publishes into, what is in
 * them (links never followed), the folder where replaced outputs wait (.atac2expr-replaced, the pipeline's own: it
 * holds only what the pipeline moved there, each run's moves listed in its folder) and the pending folder of the files
 * a run publishes into pipeline_info/ (moved into place when the run completes).
 */
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.FileVisitResult
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.Paths
import java.nio.file.SimpleFileVisitor
import java.nio.file.StandardCopyOption
import java.nio.file.attribute.BasicFileAttributes

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

def shownFiles(Collection names, int most = 8) {
    return names.take(most).join(', ') + (names.size() > most ? " and ${names.size() - most} more" : '')
}

def linkTarget(Path link) {
    try {
        return Files.readSymbolicLink(link).toString()
    } catch (Exception ignored) {
        return '?'
    }
}

/*
 * Refuses, before any task and whatever the parameters, a link in the folders the run publishes into (or reads its
 * record from, or keeps pipeline_info in): Nextflow publishes through links, so a link there would carry results, or
 * the removal of replaced ones, outside --outdir. --outdir itself may be a link: the run writes where it points.
 */
def refuseLinks(Path root, Collection folders) {
    def links = scanFolders(root, folders).findAll { rel, kind -> kind == 'link' }.keySet().sort()
    if (links) {
        def shown = links.take(3).collect { rel -> "${rel} -> ${linkTarget(root.resolve(rel))}" }.join(', ')
        def more = links.size() > 3 ? " and ${links.size() - 3} more" : ''
        error "ERROR: --outdir ${root}: ${shown}${more}: a link where the pipeline writes its results, which would write through it " +
              "into wherever it points; remove the link (the pipeline makes its own folders) or choose another --outdir"
    }
}

// the file in each run's folder of .atac2expr-replaced that lists what the run moved there
def movedList() {
    return '.atac2expr-moved.json'
}

/*
 * What earlier runs moved aside: run -> the paths (relative to --outdir) its list names. Anything else there (a
 * link, a file, a run folder without its list, a file its list does not name) stops the run naming it: the pipeline
 * removes only what it put there.
 */
def asideRuns(Path root) {
    def aside = asideFolder(root)
    if (!Files.exists(aside, LinkOption.NOFOLLOW_LINKS)) {
        return [:]
    }
    if (Files.isSymbolicLink(aside) || !Files.isDirectory(aside, LinkOption.NOFOLLOW_LINKS)) {
        error "ERROR: --outdir ${root}: ${aside} is ${Files.isSymbolicLink(aside) ? 'a link' : 'not a folder'}, not the folder where the " +
              "pipeline keeps the outputs a run replaces; move it out of --outdir"
    }
    def runs = [:], foreign = []
    aside.toFile().listFiles().sort { it.name }.each { entry ->
        def run = entry.toPath()
        def listed = null
        if (!Files.isSymbolicLink(run) && Files.isRegularFile(run.resolve(movedList()), LinkOption.NOFOLLOW_LINKS)) {
            try {
                listed = new JsonSlurper().parse(run.resolve(movedList()).toFile())
            } catch (Exception ignored) {
            }
        }
        if (!(listed instanceof List) || listed.any { !(it instanceof String) }) {
            foreign << root.relativize(run).toString()
            return
        }
        foreign.addAll(filesUnder(run).findAll { it != movedList() && !(it in listed) }.collect { root.relativize(run.resolve(it)).toString() })
        runs[entry.name] = listed
    }
    if (foreign) {
        error "ERROR: --outdir ${root}: ${aside} holds what the pipeline did not put there: ${shownFiles(foreign)}; it keeps only " +
              "the outputs a run replaces there: move them out of --outdir"
    }
    return runs
}

// A run's folder in .atac2expr-replaced, with the list of what it moves there written first
def startAside(Path root, String run, List paths) {
    def folder = asideFolder(root).resolve(run)
    Files.createDirectories(folder)
    folder.resolve(movedList()).toFile().text = JsonOutput.toJson(paths) + '\n'
    return folder
}

// What a run moved aside, removed: the files its list names (a link as itself), the list, the folders left empty
def removeAside(Path root, String run, List paths) {
    def folder = asideFolder(root).resolve(run)
    paths.each { rel ->
        def path = folder.resolve(rel).normalize()
        if (path.startsWith(folder) && path != folder && Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(path)
        }
    }
    Files.deleteIfExists(folder.resolve(movedList()))
    pruneEmpty(asideFolder(root), [run])
    if (Files.isDirectory(asideFolder(root), LinkOption.NOFOLLOW_LINKS) && !asideFolder(root).toFile().list()) {
        Files.delete(asideFolder(root))
    }
}

/*
 * pipeline_info/.pending/<entry>/: where the run's processes publish what goes into pipeline_info (parameters, the
 * model plan, the samplesheet and bins checked, the expression source, the software versions); moved into
 * pipeline_info (pipeline_info/PREDICT for -entry PREDICT) when the run completes, so that a run that is refused or
 * fails leaves nothing there that a reader would take for the last complete run's.
 */
def pendingInfo(Path root, String entry) {
    return root.resolve('pipeline_info').resolve('.pending').resolve(entry)
}

// the names the pipeline publishes into the pending folder (conf/modules.config; a test checks them against a run)
def pendingInfoNames() {
    return ['params.valid.json', 'models.json', 'regions.tsv', 'samplesheet.valid.json', 'expression_source.json', 'software_versions.yml']
}

// An unfinished run's pending files, removed before this run publishes its own; anything else there stops the run
def clearPendingInfo(Path root, String entry) {
    def pending = pendingInfo(root, entry)
    if (!Files.exists(pending, LinkOption.NOFOLLOW_LINKS)) {
        return
    }
    def found = scanFolders(root, [root.relativize(pending).toString()])
    def theirs = found.findAll { rel, kind -> kind == 'file' && Paths.get(rel).parent == root.relativize(pending) && Paths.get(rel).fileName.toString() in pendingInfoNames() }
    def other = found.keySet() - theirs.keySet()
    if (other || Files.isSymbolicLink(pending) || !Files.isDirectory(pending, LinkOption.NOFOLLOW_LINKS)) {
        error "ERROR: --outdir ${root}: ${pending} holds what the pipeline did not put there: ${shownFiles(other ?: [root.relativize(pending).toString()])}; " +
              "move it out of --outdir"
    }
    theirs.keySet().each { Files.delete(root.resolve(it)) }
}

// A complete run's pending files moved into pipeline_info (pipeline_info/PREDICT for -entry PREDICT), replacing the last
def commitPendingInfo(Path root, String entry) {
    def pending = pendingInfo(root, entry)
    if (!Files.isDirectory(pending, LinkOption.NOFOLLOW_LINKS)) {
        return
    }
    def target = entry == 'main' ? root.resolve('pipeline_info') : root.resolve('pipeline_info').resolve(entry)
    Files.createDirectories(target)
    pending.toFile().listFiles().findAll { it.name in pendingInfoNames() && Files.isRegularFile(it.toPath(), LinkOption.NOFOLLOW_LINKS) }.each {
        Files.move(it.toPath(), target.resolve(it.name), StandardCopyOption.REPLACE_EXISTING)
    }
    pruneEmpty(root.resolve('pipeline_info'), ['.pending'])
}
