#!/usr/bin/env nextflow
/*
 * A samplesheet row's files, checked by the workflow's own sampleFile (subworkflows/input_files.nf), case by case in one
 * Nextflow process: each case a line of --cases (name, column, path; tab-separated), written and read by
 * tests/test_bad_input_e2e.py, without starting a run per case.
 */
include { sampleFile } from '../../subworkflows/input_files'

workflow {
    new File(params.cases.toString()).readLines().each { line ->
        def (name, column, path) = line.split('\t') as List
        def row = [line: 3, sample: 'S02', (column): path]
        try {
            sampleFile(row, column, path)
            println "CASE ${name}: accepted"
        } catch (Exception err) {
            while (err.cause && !(err instanceof nextflow.exception.WorkflowScriptErrorException)) {
                err = err.cause  // error() is thrown through the function call's reflection
            }
            println "CASE ${name}: ${err.message}"
        }
    }
}
