#!/usr/bin/env nextflow
/*
 * The results folder's guard on damaged run records and locks, case by case in one Nextflow process (each case a
 * folder under --cases; tests/test_bad_input_e2e.py makes them and reads the lines): the workflow's own functions, so
 * that the messages are those a run gives, without starting a run per case.
 */
include { readRecord; lockOutdir } from '../../subworkflows/outdir_guard/records'

workflow {
    def cases = java.nio.file.Paths.get(params.cases.toString()).toAbsolutePath()
    cases.toFile().listFiles().findAll { it.isDirectory() }.sort { it.name }.each { folder ->
        def root = folder.toPath()
        try {
            if (folder.name.startsWith('lock')) {
                lockOutdir(root)()
            } else {
                readRecord(root, 'main', folder.name.startsWith('pending'))
            }
            println "CASE ${folder.name}: accepted"
        } catch (Exception err) {
            while (err.cause && !(err instanceof nextflow.exception.WorkflowScriptErrorException)) {
                err = err.cause  // error() is thrown through the function call's reflection
            }
            println "CASE ${folder.name}: ${err.message}"
        }
    }
}
