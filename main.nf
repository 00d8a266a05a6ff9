#!/usr/bin/env nextflow
/*
 * atac2expr: how much of a gene's expression does the open chromatin around it explain?
 *
 *   CHECK_PARAMS (every parameter, before anything else)
 *   samplesheet (sample, fastq_1, fastq_2, peaks) + GTF or gene BED + cDNA FASTA
 *     (or --expression TABLE with a samplesheet of sample, peaks: no reads, no FASTA)
 *     (or --encode: ENCODE_INPUTS finds and downloads matched ENCODE biosamples and Ensembl references)
 *     -> CHECK_INPUTS (samplesheet) ; DEFINE_BINS (--region cut into --bin_size bins)
 *     -> ATAC-seq: BINARIZE_PEAKS (per sample: 1 = a peak overlaps the bin, or its signal; assembly checked against --genome)
 *     -> references: GENE_ANNOTATION (genes and transcripts of the GTF or BED, and of the FASTA)
 *     -> RNA-seq:  CHECK_FASTQ (per sample) -> KALLISTO_INDEX -> KALLISTO_QUANT (per sample) -> GENE_TPM
 *        or a table: EXPRESSION_TABLE (--expression, or ENCODE's gene quantifications)
 *     -> BUILD_MATRIX (samples x bins, samples x genes) -> TRAIN_MODEL (all samples) + EVALUATE (held out)
 *     -> LINKS (per model: which bins drive each gene) + QC_SUMMARY -> REPORT (the report page)
 *   -> SOFTWARE_VERSIONS -> MULTIQC (kallisto's logs, the QC and evaluation tables, the versions)
 */
nextflow.enable.dsl = 2

include { CHECK_PARAMS                          } from './modules/check_params'
include { DEFINE_BINS                           } from './modules/define_bins'
include { CHECK_INPUTS                          } from './modules/check_inputs'
include { CHECK_INPUTS as CHECK_PREDICT_INPUTS  } from './modules/check_inputs'
include { CHECK_FASTQ                           } from './modules/check_fastq'
include { GENE_ANNOTATION                       } from './modules/gene_annotation'
include { KALLISTO_INDEX                        } from './modules/kallisto_index'
include { KALLISTO_QUANT                        } from './modules/kallisto_quant'
include { GENE_TPM                              } from './modules/gene_tpm'
include { EXPRESSION_TABLE                      } from './modules/expression_table'
include { BINARIZE_PEAKS                        } from './modules/binarize_peaks'
include { BUILD_MATRIX                          } from './modules/build_matrix'
include { TRAIN_MODEL                           } from './modules/train_model'
include { EVALUATE                              } from './modules/evaluate'
include { REPORT                                } from './modules/report'
include { LINKS                                 } from './modules/links'
include { QC_SUMMARY                            } from './modules/qc_summary'
include { MULTIQC                               } from './modules/multiqc'
include { CHECK_MODEL                           } from './modules/check_model'
include { PREDICT_EXPRESSION                    } from './modules/predict'
include { SOFTWARE_VERSIONS                     } from './modules/software_versions'
include { ENCODE_INPUTS                         } from './subworkflows/encode_inputs'
include { ENCODE_SAMPLESHEET as ENCODE_SAMPLESHEET_ONLY } from './modules/encode_samplesheet'
include { paramsHelp; guardOutdir; replaceOutputs } from './subworkflows/utils_atac2expr'

// --help, before anything else
def startRun() {
    if (params.help) {
        log.info paramsHelp("${projectDir}/nextflow_schema.json", params.help.toString() == 'hidden')
        exit 0
    }
}

// CHECK_PARAMS' checked parameters; once they pass, and before any other task, the results folder's guard moves aside
// the earlier outputs this run replaces (see guardOutdir, called at the end of each workflow body)
def checkedParams(checked, String entry) {
    return checked.params.map { valid ->
        replaceOutputs(params.outdir, entry)
        valid
    }
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

// The chromosome sizes: --chrom_sizes, else those bundled for --genome (bin/atac2expr/genomes.json names them;
// CHECK_PARAMS refuses a --genome it does not know, so the default's stand in until then)
def chromSizes() {
    if (params.chrom_sizes) {
        return file(params.chrom_sizes.toString(), checkIfExists: true)
    }
    def table = new groovy.json.JsonSlurper().parse(new File("${projectDir}/bin/atac2expr/genomes.json"))
    def wanted = params.genome.toString().toLowerCase()
    def genome = table.genomes.find { name, spec -> name.toLowerCase() == wanted || spec.aliases*.toLowerCase().contains(wanted) }
    return file("${projectDir}/assets/${(genome ? genome.value : table.genomes[table.default]).chrom_sizes}", checkIfExists: true)
}

// Expression from a table (--expression, or ENCODE's gene quantifications) rather than from reads
def expressionFromTable() {
    return params.expression || (params.encode && params.encode_expression == 'quantifications')
}

// The gene annotation: --gene_bed or --gtf, with its format
def annotationFile() {
    return params.gene_bed ? inputFile('gene_bed').map { [[format: 'gene_bed'], it] } : inputFile('gtf').map { [[format: 'gtf'], it] }
}

// A file of a checked samplesheet row: present and not a directory, else an error naming the line and column
def sampleFile(Map row, String column, String path) {
    def where = "samplesheet line ${row.line}, column '${column}' (sample ${row.sample})"
    def found = file(path)
    if (!found.exists()) {
        // CHECK_INPUTS names a file whose name holds ';' where its task sees the file; here it cannot be told from two lanes
        def lanes = row[column] instanceof List ? row[column].size() : 1
        def hint = lanes > 1 ? " (';' joins lanes: a file whose name holds ';' must be renamed)" : ''
        error "ERROR: ${where}: file not found: ${path}${hint}"
    }
    if (found.isDirectory()) {
        error "ERROR: ${where}: ${path} is a directory, not a file"
    }
    return found
}

// evaluated models fitted on all samples for their links when --model does not train them (a trained model's links
// come from its model file; the mean has none, and the MLP's only from training)
LINKED_BASELINES = ['ridge', 'archr', 'signac', 'tss_window', 'local_ridge', 'tss_similarity', 'blend']

// Every process's versions.yml, each distinct text once, in one file: by content, so a resumed run finds it cached
def softwareVersions(versions) {
    return versions.map { it.text }.unique().collectFile(name: 'versions.yml', sort: true, newLine: true)
}

// The rows of CHECK_INPUTS' samplesheet.valid.json (JSON: a path may hold any character; lanes are lists) as [meta, row]
def sampleRows(sheet) {
    return sheet
        .flatMap { file -> new groovy.json.JsonSlurper().parse(file) }
        .map { row -> [[id: row.sample, single_end: row.single_end == true], row] }
}

workflow ATAC2EXPR {
    take:
    checked         // channel: params.valid.json of CHECK_PARAMS (every later step waits for it)
    samplesheet     // channel: samplesheet.csv
    sample_files    // channel: files the samplesheet names by their names alone (--encode's downloads), or []
    schema_input    // channel: assets/schema_input.json (the samplesheet's layouts and the sample-id rule)
    annotation      // channel: [meta (format: gtf or gene_bed), GTF or gene BED]
    transcriptome   // channel: cDNA FASTA, or [] (expression from a table)
    chrom_sizes     // channel: chromosome sizes
    expression      // channel: the expression table (--expression), or []
    quantifications // channel: ENCODE's gene quantifications and the TSV naming each sample's, or []

    main:
    versions = Channel.empty()

    // the features: --region cut into --bin_size bins
    DEFINE_BINS(checked.combine(chrom_sizes).map { valid, sizes -> [[id: 'bins'], sizes] })
    layout = DEFINE_BINS.out.layout.first()

    // the samplesheet: structure and sample ids, then every file it names must exist
    CHECK_INPUTS(checked.combine(samplesheet).map { valid, sheet -> sheet }, sample_files, schema_input)
    samples = sampleRows(CHECK_INPUTS.out.samplesheet)
    peaks = samples.map { meta, row -> [meta, sampleFile(row, 'peaks', row.peaks)] }

    // ATAC-seq: peaks -> one value per bin (--bin_value), per sample (the peaks' assembly is checked against --genome)
    BINARIZE_PEAKS(peaks, layout.map { meta, regions -> [meta + [bin_value: params.bin_value], regions] }, chrom_sizes, schema_input)

    // references: genes and transcripts of the annotation (and of the cDNA FASTA), the region's genes among them; after
    // the samplesheet passed, so that a refused samplesheet leaves no annotation behind in --outdir
    GENE_ANNOTATION(annotation, transcriptome, layout.combine(CHECK_INPUTS.out.samplesheet).map { meta, bins, sheet -> [meta, bins] })

    if (expressionFromTable()) {
        // RNA-seq as a table: matched to the samples by name and to the annotation's genes by id or name
        lengths = params.expression && params.expression_unit == 'counts' ? GENE_ANNOTATION.out.lengths : Channel.value([])
        EXPRESSION_TABLE(expression, quantifications, CHECK_INPUTS.out.samplesheet, GENE_ANNOTATION.out.genes, lengths, layout)
        expression_matrix = EXPRESSION_TABLE.out.matrix
        expression_genes = EXPRESSION_TABLE.out.genes
        expression_source = EXPRESSION_TABLE.out.source
        genes_dropped = EXPRESSION_TABLE.out.dropped
        fastq_checks = Channel.value([])
        kallisto_results = Channel.value([])
        kallisto_logs = Channel.empty()
        versions = versions.mix(EXPRESSION_TABLE.out.versions)
    } else {
        // RNA-seq reads: each sample's reads checked (in parallel), then quantified; nothing heavy starts before the
        // references and every sample's peaks passed their checks
        reads = samples.map { meta, row ->
            [meta, row.fastq_1.collect { sampleFile(row, 'fastq_1', it) }, row.fastq_2.collect { sampleFile(row, 'fastq_2', it) }]
        }
        CHECK_FASTQ(reads)
        inputs_checked = GENE_ANNOTATION.out.genes.combine(BINARIZE_PEAKS.out.bins.map { meta, bins -> bins }.collect().map { true })
        KALLISTO_INDEX(inputs_checked.combine(transcriptome).map { genes, ok, fasta -> [[id: 'transcriptome'], fasta] })
        KALLISTO_QUANT(reads.join(CHECK_FASTQ.out.check), KALLISTO_INDEX.out.index.first())
        GENE_TPM(KALLISTO_QUANT.out.results.map { meta, dir -> dir }.collect(sort: { it.name }),
                 GENE_ANNOTATION.out.genes, GENE_ANNOTATION.out.transcripts, layout)
        expression_matrix = GENE_TPM.out.matrix
        expression_genes = GENE_TPM.out.genes
        expression_source = Channel.value([])
        genes_dropped = GENE_TPM.out.dropped
        fastq_checks = CHECK_FASTQ.out.check.map { meta, check -> check }.collect()
        kallisto_results = KALLISTO_QUANT.out.results.map { meta, dir -> dir }.collect()
        kallisto_logs = KALLISTO_QUANT.out.log.map { meta, log -> log }
        versions = versions.mix(CHECK_FASTQ.out.versions, KALLISTO_INDEX.out.versions, KALLISTO_QUANT.out.versions, GENE_TPM.out.versions)
    }

    // features x targets -> models -> report
    BUILD_MATRIX(BINARIZE_PEAKS.out.bins.map { meta, bins -> bins }.collect(sort: { it.name }), expression_matrix, expression_genes, layout,
                 CHECK_INPUTS.out.samplesheet)
    dataset = BUILD_MATRIX.out.dataset.first()    // a value: one TRAIN_MODEL task per model reads it
    TRAIN_MODEL(dataset, Channel.fromList(params.model.tokenize(',')*.trim().unique()))

    // held-out numbers: cross-validation over samples, every model on the same folds
    evaluation = Channel.value([])
    if (params.evaluate) {
        EVALUATE(dataset, params.eval_models)
        evaluation = EVALUATE.out.results
        versions = versions.mix(EVALUATE.out.versions)
    }

    // links: which bins drive each gene, for every trained model and every evaluated baseline that can say it
    links = Channel.value([])
    if (!params.skip_links) {
        trained = params.model.tokenize(',')*.trim()
        baselines = params.evaluate ? params.eval_models.tokenize(',')*.trim().unique().findAll { it in LINKED_BASELINES && !(it in trained) } : []
        models = TRAIN_MODEL.out.model.map { model_file -> [model_file.parent.name, model_file] }
            .mix(Channel.fromList(baselines).map { name -> [name, []] })
        LINKS(models, dataset, evaluation, chrom_sizes)
        links = LINKS.out.links.mix(LINKS.out.genes).collect()
        versions = versions.mix(LINKS.out.versions)
    }

    // QC per sample and per gene: for the report page and MultiQC
    QC_SUMMARY(dataset, BINARIZE_PEAKS.out.summary.map { meta, summary -> summary }.collect(), fastq_checks, kallisto_results,
               genes_dropped, evaluation)
    REPORT(dataset, TRAIN_MODEL.out.results.collect(sort: { it.name }), evaluation, expression_source, links,
           QC_SUMMARY.out.samples.mix(QC_SUMMARY.out.genes).collect())

    versions = versions.mix(DEFINE_BINS.out.versions, CHECK_INPUTS.out.versions, BINARIZE_PEAKS.out.versions,
        GENE_ANNOTATION.out.versions, BUILD_MATRIX.out.versions, TRAIN_MODEL.out.versions, QC_SUMMARY.out.versions,
        REPORT.out.versions)

    emit:
    dataset  = dataset
    models   = TRAIN_MODEL.out.model
    summary  = REPORT.out.summary
    multiqc  = QC_SUMMARY.out.mqc.mix(kallisto_logs).collect()   // MultiQC's inputs
    versions = versions
}

workflow {
    startRun()
    CHECK_PARAMS([id: 'main'], file("${projectDir}/nextflow_schema.json"), chromSizes())
    checked = checkedParams(CHECK_PARAMS.out, 'main')
    chrom_sizes = Channel.value(chromSizes())
    schema_input = Channel.value(file("${projectDir}/assets/schema_input.json"))
    versions = CHECK_PARAMS.out.versions
    if (params.encode && params.encode_samplesheet_only) {
        // review what ENCODE has before a big download: results/encode/{samplesheet.csv,provenance.tsv}
        ENCODE_SAMPLESHEET_ONLY(checked.map { [id: 'encode'] }, schema_input)
        versions = versions.mix(ENCODE_SAMPLESHEET_ONLY.out.versions)
    } else if (params.encode) {
        ENCODE_INPUTS(checked, schema_input)
        ATAC2EXPR(checked, ENCODE_INPUTS.out.samplesheet, ENCODE_INPUTS.out.sample_files, schema_input,
                  ENCODE_INPUTS.out.annotation, ENCODE_INPUTS.out.transcriptome, chrom_sizes, Channel.value([]),
                  ENCODE_INPUTS.out.quantifications)
        versions = versions.mix(ENCODE_INPUTS.out.versions, ATAC2EXPR.out.versions)
    } else {
        ATAC2EXPR(checked, inputFile('input'), Channel.value([]), schema_input, annotationFile(),
                  expressionFromTable() ? Channel.value([]) : inputFile('transcriptome'), chrom_sizes,
                  params.expression ? inputFile('expression') : Channel.value([]), Channel.value([]))
        versions = versions.mix(ATAC2EXPR.out.versions)
    }
    SOFTWARE_VERSIONS(softwareVersions(versions))
    if (!params.skip_multiqc && !(params.encode && params.encode_samplesheet_only)) {
        MULTIQC(ATAC2EXPR.out.multiqc, SOFTWARE_VERSIONS.out.yml, Channel.value(file("${projectDir}/assets/multiqc_config.yml")))
    }
    // last: every process of the run exists (the folders it publishes into are known) and no task has started
    guardOutdir('main')
}

/*
 * Predict expression of new samples from their peaks with a trained model:
 *   nextflow run main.nf -entry PREDICT --model_file results/model/mlp/model.pt --input new_samples.csv
 * where new_samples.csv has the columns sample,peaks (the same sample id rules as the main samplesheet).
 * The peaks are binned with the bin layout and bin value (binary or signal) recorded in the model; unless --skip_links,
 * predict/links/ says which of each sample's open bins drove its predictions.
 */
workflow PREDICT {
    startRun()
    CHECK_PARAMS([id: 'PREDICT'], file("${projectDir}/nextflow_schema.json"), chromSizes())
    checked = checkedParams(CHECK_PARAMS.out, 'PREDICT')
    chrom_sizes = Channel.value(chromSizes())
    schema_input = Channel.value(file("${projectDir}/assets/schema_input.json"))
    model = inputFile('model_file')

    CHECK_MODEL(checked.combine(model).map { valid, model_file -> [[id: 'model'], model_file] }, chrom_sizes)
    CHECK_PREDICT_INPUTS(checked.combine(inputFile('input')).map { valid, sheet -> sheet }, Channel.value([]), schema_input)
    peaks = sampleRows(CHECK_PREDICT_INPUTS.out.samplesheet).map { meta, row -> [meta, sampleFile(row, 'peaks', row.peaks)] }
    // the model's bin layout and bin value (written by CHECK_MODEL, which checked them)
    layout = CHECK_MODEL.out.layout.map { meta, regions, bin_value -> [meta + [bin_value: bin_value.text.trim()], regions] }.first()
    BINARIZE_PEAKS(peaks, layout, chrom_sizes, schema_input)
    PREDICT_EXPRESSION(model, BINARIZE_PEAKS.out.bins.map { meta, bins -> bins }.collect(sort: { it.name }),
                       BINARIZE_PEAKS.out.summary.map { meta, summary -> summary }.collect(sort: { it.name }), chrom_sizes)

    SOFTWARE_VERSIONS(softwareVersions(CHECK_PARAMS.out.versions.mix(CHECK_MODEL.out.versions, CHECK_PREDICT_INPUTS.out.versions,
                                                                     BINARIZE_PEAKS.out.versions, PREDICT_EXPRESSION.out.versions)))
    guardOutdir('PREDICT')
}

workflow.onComplete {
    if (workflow.success) {
        log.info "atac2expr finished: results in ${params.outdir}"
    }
}
