/*
 * The start of every run: --help, then CHECK_PARAMS (every parameter against nextflow_schema.json and the others, the
 * chromosome sizes of --genome or --chrom_sizes, the models the run trains, evaluates and links), then the results
 * folder's guard moves aside the earlier outputs this run replaces (REPLACE_OUTPUTS). Everything later waits for
 * what this emits. The guard's checks themselves run at the end of the entry's workflow (OUTDIR_GUARD), when every
 * process of the run is known and before any task starts.
 */
import groovy.json.JsonSlurper

include { CHECK_PARAMS    } from '../modules/check_params'
include { REPLACE_OUTPUTS } from '../modules/replace_outputs'
include { inputFile       } from './input_files'

workflow START_RUN {
    take:
    entry   // 'main' or 'PREDICT'
    route   // the main entry's expression: 'reads' (quantified by kallisto) or 'table'; 'reads' for PREDICT, which has none

    main:
    if (params.help) {
        log.info paramsHelp(params.help.toString() == 'hidden')
        exit 0
    }
    bundled = params.chrom_sizes ? [] : files("${projectDir}/assets/*.chrom.sizes").sort { it.name }
    CHECK_PARAMS([id: entry, route: route], file("${projectDir}/nextflow_schema.json"),
                 params.chrom_sizes ? inputFile('chrom_sizes') : Channel.value([]), Channel.value(bundled))
    // CHECK_PARAMS' warnings (links above the documented size) on the console, where a task's log is not read
    CHECK_PARAMS.out.warnings.subscribe { warnings -> warnings.readLines().findAll { it.trim() }.each { line -> log.warn line } }
    REPLACE_OUTPUTS(entry, CHECK_PARAMS.out.params.combine(CHECK_PARAMS.out.plan).combine(CHECK_PARAMS.out.genome))
    started = REPLACE_OUTPUTS.out.checked.first()    // a value: every later step reads it

    emit:
    checked     = started.map { valid, plan, genome -> valid }    // params.valid.json
    plan        = started.map { valid, plan, genome -> plan }     // models.json: the models to train, evaluate and link, and why
    chrom_sizes = started.map { valid, plan, genome -> chromSizes(genome) }
    versions    = CHECK_PARAMS.out.versions
}

// The run's chromosome sizes: --chrom_sizes, else the bundled file CHECK_PARAMS chose for --genome, read where it lies
// in assets/ (the same path in every run: a resumed run's tasks find their inputs unchanged)
def chromSizes(genome) {
    def chosen = new JsonSlurper().parse(genome).chrom_sizes
    return chosen ? file("${projectDir}/assets/${chosen}", checkIfExists: true) : file(params.chrom_sizes.toString())
}

/*
 * The parameters, grouped as in the schema, with their defaults: `nextflow run main.nf --help` (docs/usage.md holds
 * the same, written by bin/atac2expr/schema_docs.py; a test keeps the two and the schema in step). A parameter whose
 * schema says "x-choices" lists the models of bin/atac2expr/model_registry.json it accepts.
 */
def paramsHelp(boolean showHidden) {
    def schema = new JsonSlurper().parse(new File("${projectDir}/nextflow_schema.json"))
    def registry = new JsonSlurper().parse(new File("${projectDir}/bin/atac2expr/model_registry.json")).models
    def choices = ['models': registry.keySet(), 'saveable models': registry.findAll { name, spec -> spec.saveable }.keySet()]
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
            def extra = p.enum ? " (${p.enum.join('|')})" : p['x-choices'] ? " (auto or from: ${choices[p['x-choices']].join(', ')})" : ''
            def dflt = p.containsKey('default') ? "  [default: ${p.default.toString().replace('${version}', workflow.manifest.version)}]" : ''
            lines << "  --${name.padRight(26)} ${type}${extra}  ${p.description}${dflt}".toString()
        }
        lines << ''
    }
    lines << "Every parameter is checked before any work starts; docs/usage.md says more of each."
    return lines.join('\n')
}
