/*
 * Predict expression of new samples from their peaks with a trained model (-entry PREDICT):
 *   CHECK_MODEL (the model file, field by field; its bin layout and bin value) ; CHECK_INPUTS (sample,peaks)
 *   -> BINARIZE_PEAKS (each sample's peaks in the model's bins, as the model's training samples were binned)
 *   -> PREDICT_EXPRESSION (predictions and, unless --skip_links, which of each sample's bins drove them)
 */
include { CHECK_MODEL        } from '../modules/check_model'
include { CHECK_INPUTS       } from '../modules/check_inputs'
include { BINARIZE_PEAKS     } from '../modules/binarize_peaks'
include { PREDICT_EXPRESSION } from '../modules/predict'
include { SOFTWARE_VERSIONS  } from '../modules/software_versions'
include { inputFile; sampleFile; sampleRows } from '../subworkflows/input_files'
include { softwareVersions   } from './atac2expr'

workflow ATAC2EXPR_PREDICT {
    take:
    checked     // channel: params.valid.json, once CHECK_PARAMS passed and the guard moved aside what the run replaces
    chrom_sizes // channel: the run's chromosome sizes
    started     // channel: the versions.yml of the run's start (CHECK_PARAMS)

    main:
    schema_input = Channel.value(file("${projectDir}/assets/schema_input.json"))
    model = inputFile('model_file')
    CHECK_MODEL(checked.combine(model).map { valid, model_file -> [[id: 'model'], model_file] }, chrom_sizes)
    CHECK_INPUTS(checked.combine(inputFile('input')).map { valid, sheet -> sheet }, Channel.value([]), schema_input,
                 [layout: 'peaks', min_samples: 1])
    peaks = sampleRows(CHECK_INPUTS.out.samplesheet).map { meta, row -> [meta, sampleFile(row, 'peaks', row.peaks)] }
    // the model's bin layout and bin value (written by CHECK_MODEL, which checked them)
    layout = CHECK_MODEL.out.layout.map { meta, regions, bin_value -> [meta + [bin_value: bin_value.text.trim()], regions] }.first()
    BINARIZE_PEAKS(peaks, layout, chrom_sizes, schema_input)
    PREDICT_EXPRESSION(model, BINARIZE_PEAKS.out.bins.map { meta, bins -> bins }.collect(sort: { it.name }),
                       BINARIZE_PEAKS.out.summary.map { meta, summary -> summary }.collect(sort: { it.name }), chrom_sizes, !params.skip_links,
                       Channel.value(file("${projectDir}/assets/link_combiner.json", checkIfExists: true)))
    SOFTWARE_VERSIONS(softwareVersions(started.mix(CHECK_MODEL.out.versions, CHECK_INPUTS.out.versions, BINARIZE_PEAKS.out.versions,
                                                   PREDICT_EXPRESSION.out.versions)))

    emit:
    predictions = PREDICT_EXPRESSION.out.predictions
}
