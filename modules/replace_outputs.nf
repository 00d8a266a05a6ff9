/*
 * The results folder's guard, once CHECK_PARAMS has passed and before any other task: the earlier outputs this run
 * replaces are moved aside (subworkflows/outdir_guard/main.nf, replaceOutputs). A native task (exec), in Nextflow
 * itself; never cached, as each run moves aside what its own plan says, also when resumed.
 */
include { replaceOutputs } from '../subworkflows/outdir_guard'

process REPLACE_OUTPUTS {
    tag "${entry}"
    cache false

    input:
    val entry       // 'main' or 'PREDICT'
    val checked     // what CHECK_PARAMS wrote: later steps receive it from here, so that none starts before the move

    output:
    val checked, emit: checked

    exec:
    replaceOutputs(params.outdir, entry)
}
