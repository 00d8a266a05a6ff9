/*
 * The run's input files: the file parameters, the samplesheet's rows and the files they name. The samplesheet's
 * rules (columns, separators, which columns name files) are those of assets/schema_input.json, which CHECK_INPUTS
 * applies in full; the workflow reads CHECK_INPUTS' checked rows (samplesheet.valid.json), and the results folder's
 * guard reads the samplesheet itself, tolerantly, to know the files a run depends on.
 */
import groovy.json.JsonSlurper
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths

def samplesheetSchema() {
    return new JsonSlurper().parse(new File("${projectDir}/assets/schema_input.json"))
}

// A parameter naming an input file: the file, when given and present (CHECK_PARAMS says when one is missing)
def inputFile(String name) {
    if (!params[name]) {
        return Channel.empty()
    }
    def path = file(params[name].toString())
    if (!path.exists()) {
        error "ERROR: --${name} ${params[name]}: file not found"
    }
    if (path.isDirectory()) {
        error "ERROR: --${name} ${params[name]}: is a directory, not a file"
    }
    return Channel.value(path)
}

// The rows of CHECK_INPUTS' samplesheet.valid.json (JSON: a path may hold any character; lanes are lists) as [meta, row]
def sampleRows(sheet) {
    return sheet
        .flatMap { file -> new JsonSlurper().parse(file) }
        .map { row -> [[id: row.sample, single_end: row.single_end == true], row] }
}

// A file of a checked samplesheet row: present and not a directory, else an error naming the line and column
def sampleFile(Map row, String column, String path) {
    def where = "samplesheet line ${row.line}, column '${column}' (sample ${row.sample})"
    def found = file(path)
    if (!found.exists()) {
        // CHECK_INPUTS names a file whose name holds the lane separator where its task sees the file; here it cannot
        // be told from two lanes
        def hint = ''
        if (row[column] instanceof List && row[column].size() > 1) {
            def separator = samplesheetSchema()['x-lane-separator']
            hint = " ('${separator}' joins lanes: a file whose name holds '${separator}' must be renamed)"
        }
        error "ERROR: ${where}: file not found: ${path}${hint}"
    }
    if (found.isDirectory()) {
        error "ERROR: ${where}: ${path} is a directory, not a file"
    }
    return found
}

// The rows of a CSV file (RFC 4180: quoted fields may hold the separator, quotes and line breaks)
def csvRows(String text, String separator) {
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
        } else if (c == (separator as char)) {
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
 * The separator, the file columns (format file-path) and the lane separator come from assets/schema_input.json.
 * A samplesheet larger than `largest` bytes is not read. Read tolerantly (CHECK_INPUTS refuses a bad samplesheet with the line and column): what cannot be read is left out.
 */
def samplesheetFiles(Path sheet, long largest) {
    def schema = samplesheetSchema()
    def fileColumns = schema.items.properties.findAll { name, spec -> spec.format == 'file-path' }.keySet()
    def files = [:]
    if (!Files.isRegularFile(sheet) || Files.size(sheet) > largest) {
        return files
    }
    def rows
    try {
        rows = csvRows(new String(Files.readAllBytes(sheet), 'UTF-8').replaceFirst('^\uFEFF', ''), schema['x-separator'])
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
            if (!(column in fileColumns) || !row[j].trim()) {
                return
            }
            def lanes = (schema.items.properties[column]['x-lanes'] ? row[j].split(java.util.regex.Pattern.quote(schema['x-lane-separator']), -1) : [row[j]])*.trim()
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
