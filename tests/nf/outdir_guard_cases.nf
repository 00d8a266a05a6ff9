#!/usr/bin/env nextflow
/*
 * The results folder's guard on damaged run records and locks, and on what is not the pipeline's in its own folders,
 * case by case in one Nextflow process (each case a folder under --cases, its name's start saying which check runs;
 * tests/test_bad_input_e2e.py makes them and reads the lines): the workflow's own functions, so that the messages are
 * those a run gives, without starting a run per case.
 */
include { readRecord; lockOutdir } from '../../subworkflows/outdir_guard/records'
include { asideRuns; clearPendingInfo } from '../../subworkflows/outdir_guard/files'

workflow {
    def cases = java.nio.file.Paths.get(params.cases.toString()).toAbsolutePath()
    cases.toFile().listFiles().findAll { it.isDirectory() }.sort { it.name }.each { folder ->
        def root = folder.toPath()
        try {
            if (folder.name.startsWith('lock')) {
                lockOutdir(root)()
            } else if (folder.name.startsWith('aside')) {
                asideRuns(root)
            } else if (folder.name.startsWith('pending_info')) {
                clearPendingInfo(root, 'main')
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
