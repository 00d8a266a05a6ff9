/*
 * The pipeline: samples' ATAC-seq peaks and RNA-seq (reads, or a table of expression) -> one value per bin and
 * sample, gene TPMs -> models trained on all samples and evaluated held out -> links, QC, the report page, MultiQC.
 *
 *   inputs: LOCAL_INPUTS (the samplesheet and the files the parameters name) or ENCODE_INPUTS (--encode: matched
 *     ENCODE biosamples and Ensembl's references, downloaded) -> CHECK_INPUTS (the samplesheet); DEFINE_BINS
 *   ATAC-seq: BINARIZE_PEAKS (per sample: the bins, each bin's activity; assembly checked against --genome)
 *   references: GENE_ANNOTATION (genes and transcripts of the GTF or BED, and of the cDNA FASTA)
 *   RNA-seq: EXPRESSION_FROM_READS (CHECK_FASTQ, KALLISTO_*, GENE_TPM) or EXPRESSION_FROM_TABLE (EXPRESSION_TABLE)
 *   BUILD_MATRIX -> TRAIN_MODEL (each model of the plan) + EVALUATE (held out) -> LINKS + SAMPLE_LINKS -> QC_SUMMARY, REPORT
 *   SOFTWARE_VERSIONS -> MULTIQC
 */
include { DEFINE_BINS       } from '../modules/define_bins'
include { CHECK_INPUTS      } from '../modules/check_inputs'
include { BINARIZE_PEAKS    } from '../modules/binarize_peaks'
include { GENE_ANNOTATION   } from '../modules/gene_annotation'
include { BUILD_MATRIX      } from '../modules/build_matrix'
include { TRAIN_MODEL       } from '../modules/train_model'
include { EVALUATE          } from '../modules/evaluate'
include { LINKS             } from '../modules/links'
include { SAMPLE_LINKS      } from '../modules/sample_links'
include { QC_SUMMARY        } from '../modules/qc_summary'
include { REPORT            } from '../modules/report'
include { SOFTWARE_VERSIONS } from '../modules/software_versions'
include { MULTIQC           } from '../modules/multiqc'
include { ENCODE_SAMPLESHEET as ENCODE_SAMPLESHEET_ONLY } from '../modules/encode_samplesheet'
include { ENCODE_INPUTS         } from '../subworkflows/encode_inputs'
include { LOCAL_INPUTS          } from '../subworkflows/local_inputs'
include { EXPRESSION_FROM_READS } from '../subworkflows/expression_from_reads'
include { EXPRESSION_FROM_TABLE } from '../subworkflows/expression_from_table'
include { sampleFile; sampleRows } from '../subworkflows/input_files'

// Where the expression comes from, decided once: quantified from reads, or read from a table (--expression, or
// ENCODE's gene quantifications). CHECK_PARAMS and ATAC2EXPR receive it.
def expressionRoute() {
    return params.expression || (params.encode && params.encode_expression == 'quantifications') ? 'table' : 'reads'
}

// Every process's versions.yml, each distinct text once, in one file: by content, so a resumed run finds it cached
def softwareVersions(versions) {
    return versions.map { it.text }.unique().collectFile(name: 'versions.yml', sort: true, newLine: true)
}

workflow ATAC2EXPR {
    take:
    checked     // channel: params.valid.json, once CHECK_PARAMS passed and the guard moved aside what the run replaces
    plan        // channel: CHECK_PARAMS' models.json: the models to train, evaluate and link, and why
    chrom_sizes // channel: the run's chromosome sizes
    route       // 'reads' or 'table' (expressionRoute)
    started     // channel: the versions.yml of the run's start (CHECK_PARAMS)

    main:
    schema_input = Channel.value(file("${projectDir}/assets/schema_input.json"))
    versions = started
    models = plan.map { new groovy.json.JsonSlurper().parse(it) }
    models.subscribe { p -> p.why.each { purpose, why -> log.info "atac2expr: models to ${purpose}: ${p[purpose].join(', ') ?: 'none'} (${why})" } }
    if (params.encode && params.encode_samplesheet_only) {
        // review what ENCODE has before a big download: results/encode/{samplesheet.csv,provenance.tsv}
        ENCODE_SAMPLESHEET_ONLY(checked.map { [id: 'encode'] }, schema_input)
        versions = versions.mix(ENCODE_SAMPLESHEET_ONLY.out.versions)
    } else {
        inputs = params.encode ? ENCODE_INPUTS(checked, schema_input) : LOCAL_INPUTS(route)
        versions = versions.mix(inputs.versions)

        // the features: --region cut into --bin_size bins
        DEFINE_BINS(checked.combine(chrom_sizes).map { valid, sizes -> [[id: 'bins'], sizes] })
        layout = DEFINE_BINS.out.layout.first()

        // the samplesheet: structure and sample ids, then every file it names must exist
        CHECK_INPUTS(checked.combine(inputs.samplesheet).map { valid, sheet -> sheet }, inputs.sample_files, schema_input,
                     [layout: route == 'table' ? 'peaks' : 'reads', min_samples: params.evaluate ? 3 : 1])
        samples = sampleRows(CHECK_INPUTS.out.samplesheet)

        // ATAC-seq: peaks -> one value per bin (--bin_value) and each bin's activity, per sample
        BINARIZE_PEAKS(samples.map { meta, row -> [meta, sampleFile(row, 'peaks', row.peaks)] },
                       layout.map { meta, regions -> [meta + [bin_value: params.bin_value], regions] }, chrom_sizes, schema_input)

        // references: after the samplesheet passed, so that a refused samplesheet leaves no annotation in --outdir;
        // counts of a table become TPM with each gene's exon length
        exon_lengths = route == 'table' && params.expression && params.expression_unit == 'counts'
        GENE_ANNOTATION(inputs.annotation, inputs.transcriptome,
                        layout.combine(CHECK_INPUTS.out.samplesheet).map { meta, bins, sheet -> [meta, bins] }, exon_lengths)

        if (route == 'table') {
            expression = EXPRESSION_FROM_TABLE(
                inputs.expression.map { table -> [[unit: params.expression ? params.expression_unit : 'tpm', source: params.expression ?: ''], table] },
                inputs.quantifications, CHECK_INPUTS.out.samplesheet, GENE_ANNOTATION.out.genes,
                exon_lengths ? GENE_ANNOTATION.out.lengths : Channel.value([]), layout)
        } else {
            peaks_checked = BINARIZE_PEAKS.out.bins.map { meta, bins -> bins }.collect().map { true }
            expression = EXPRESSION_FROM_READS(samples, inputs.transcriptome, GENE_ANNOTATION.out.genes, GENE_ANNOTATION.out.transcripts,
                                               GENE_ANNOTATION.out.genes.combine(peaks_checked).map { true }, layout)
        }

        // features x targets -> models: each trained on all samples, and every one on the same held-out folds
        bins = BINARIZE_PEAKS.out.bins.map { meta, bins -> bins }.collect(sort: { it.name })
        BUILD_MATRIX(bins, expression.matrix, expression.genes, layout, CHECK_INPUTS.out.samplesheet)
        dataset = BUILD_MATRIX.out.dataset.first()    // a value: one TRAIN_MODEL task per model reads it
        TRAIN_MODEL(dataset, models.flatMap { it.train }, chrom_sizes)
        evaluation = Channel.value([])
        if (params.evaluate) {
            EVALUATE(dataset, models.map { it.evaluate.join(',') })
            evaluation = EVALUATE.out.results
            versions = versions.mix(EVALUATE.out.versions)
        }

        // links: which bins drive each gene, for each model the plan names (a trained one's from its model file)
        links = Channel.value([])
        if (!params.skip_links) {
            saved = TRAIN_MODEL.out.model.map { model_file -> [model_file.parent.name, model_file] }
                .combine(models).filter { name, model_file, p -> [name, 'saved'] in p.links }.map { name, model_file, p -> [name, model_file] }
            fitted = models.flatMap { p -> p.links.findAll { it[1] == 'fitted' }.collect { [it[0], []] } }
            combiner = Channel.value(file("${projectDir}/assets/link_combiner.json", checkIfExists: true))
            LINKS(saved.mix(fitted), dataset, evaluation, chrom_sizes, combiner)
            // each training sample's scored links (model-independent: every model file keeps the same evidence)
            SAMPLE_LINKS(dataset, chrom_sizes, combiner)
            links = LINKS.out.links.mix(LINKS.out.genes, SAMPLE_LINKS.out.table, SAMPLE_LINKS.out.summary).collect()
            versions = versions.mix(LINKS.out.versions, SAMPLE_LINKS.out.versions)
        }

        // QC per sample and per gene, for the report page and MultiQC
        QC_SUMMARY(dataset, BINARIZE_PEAKS.out.summary.map { meta, summary -> summary }.collect(), expression.fastq_checks,
                   expression.kallisto, expression.dropped, evaluation)
        REPORT(dataset, TRAIN_MODEL.out.results.collect(sort: { it.name }), evaluation, expression.source, links,
               QC_SUMMARY.out.samples.mix(QC_SUMMARY.out.genes).collect(), plan)
        versions = versions.mix(DEFINE_BINS.out.versions, CHECK_INPUTS.out.versions, BINARIZE_PEAKS.out.versions,
            GENE_ANNOTATION.out.versions, expression.versions, BUILD_MATRIX.out.versions, TRAIN_MODEL.out.versions,
            QC_SUMMARY.out.versions, REPORT.out.versions)
        multiqc = QC_SUMMARY.out.mqc.mix(expression.logs).collect()
    }

    SOFTWARE_VERSIONS(softwareVersions(versions))
    if (!params.skip_multiqc && !(params.encode && params.encode_samplesheet_only)) {
        MULTIQC(multiqc, SOFTWARE_VERSIONS.out.yml, Channel.value(file("${projectDir}/assets/multiqc_config.yml")))
    }
}
