"""Bad and hostile input through the real `nextflow run`: what the Nextflow layer adds to the unit-tested checks.

Each refused run stops with one error line naming the parameter, file, line or column, before any heavy task,
and leaves nothing half-written in --outdir. Values that reach a task (parameters, sample ids, file names)
never run as shell code: every test that feeds shell metacharacters also checks that no sentinel file appeared.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from conftest import (
    REPO,
    Run,
    data_params,
    error_lines,
    nextflow_run,
    run_nextflow,
    run_params,
    sheet_rows,
    trace_names,
    trace_processes,
    write_sheet,
)

pytestmark = pytest.mark.e2e

HEAVY = {"KALLISTO_INDEX", "KALLISTO_QUANT", "GENE_TPM", "BUILD_MATRIX", "TRAIN_MODEL", "EVALUATE"}


def sentinel_payloads(sentinel: Path) -> list[str]:
    """Ways to smuggle a command into a shell word: each would create the sentinel file if a shell ran it."""
    return [f"$(touch {sentinel})", f"`touch {sentinel}`", f"x'; touch {sentinel}; '", f'x"; touch {sentinel}; "',
            f"x; touch {sentinel}", f"x\ntouch {sentinel}"]


def refused(run: Run, results: bool = False) -> str:
    """The run failed with exactly one error line and ran nothing heavy; returns the line. No file is half-written in
    --outdir; unless `results` (a per-sample check failed while other samples' checks passed and published whole
    files), nothing but pipeline_info/ is there at all."""
    output = run.result.stdout + run.result.stderr
    assert run.result.returncode != 0, output[-3000:]
    errors = error_lines(run.result)
    assert len(errors) == 1, output[-3000:]
    if not results:
        assert not (trace_processes(run.trace) & HEAVY), trace_processes(run.trace)
    left = [str(p.relative_to(run.outdir)) for p in run.outdir.rglob("*") if p.is_file()] if run.outdir.exists() else []
    assert not [name for name in left if ".part" in name], left
    if not results:
        assert all(name.startswith("pipeline_info/") for name in left), left
    return errors.pop()


def test_misspelt_invalid_and_hostile_parameters_stop_in_seconds_in_one_line(tmp_path, test_data):
    """Nextflow keeps `--bin-size` as `binSize` and runs the defaults: CHECK_PARAMS refuses it, with every other bad
    value, in one line, before any other task. --max_memory foo and --max_cpus abc used to stop Nextflow's config parser
    first, with a message that named neither: the config lets them through uncapped, and CHECK_PARAMS names them too.
    Shell code in parameters is refused as data, named, and never runs (one run for all of them: each is a value
    CHECK_PARAMS reads; tests/test_parameters.py holds their rules)."""
    sentinel = tmp_path / "PWNED"
    payload = sentinel_payloads(sentinel)
    started = time.monotonic()
    run = nextflow_run(tmp_path, [*run_params(test_data), "--bin-size", "3000", "--epoch", "5", "--model", "mpl", "--folds", "1", "--target_transform", "foo",
                                  "--max_memory", "foo", "--max_cpus", "abc",
                                  "--region", payload[0], "--ridge_alpha", payload[4], "--device", payload[1], "--container", payload[2]])
    seconds = time.monotonic() - started
    message = refused(run)
    assert trace_processes(run.trace) == {"CHECK_PARAMS"}
    for part in ("--binSize", "did you mean --bin_size", "--epoch", "did you mean --epochs", "--model 'mpl'", "--folds 1",
                 "--target_transform 'foo'", "--max_cpus 'abc': expected integer", "--max_memory 'foo': not of the expected form",
                 "--region", "--ridge_alpha", "--device", "--container"):
        assert part in message, message
    assert not sentinel.exists()
    print(f"seconds from launch to the ERROR line: {seconds:.1f}")


def test_shell_code_in_sample_ids_never_runs(tmp_path, test_data):
    """A sample id with shell characters is refused, naming its line and column (the same rule in -entry PREDICT, below)."""
    sentinel = tmp_path / "PWNED"
    rows = sheet_rows(test_data)
    for n, payload in enumerate(sentinel_payloads(sentinel)[:4], start=1):
        rows[n][0] = payload
    message = refused(nextflow_run(tmp_path, [*run_params(test_data), "--input", str(write_sheet(tmp_path / "sheet.csv", rows))]))
    assert "line 2, column 'sample'" in message and "letters, digits" in message
    assert not sentinel.exists()


def test_shell_code_in_sample_ids_never_runs_in_predict(tmp_path, test_data, shared_run: Run):
    """One sample-id rule in every entry."""
    sentinel = tmp_path / "PWNED"
    rows = sheet_rows(test_data)
    predict_rows = [["sample", "peaks"], [sentinel_payloads(sentinel)[2], rows[1][3]]]
    params = ["-entry", "PREDICT", "--model_file", str(shared_run.outdir / "model" / "mlp" / "model.pt"),
              "--input", str(write_sheet(tmp_path / "sheet.csv", predict_rows))]
    message = refused(nextflow_run(tmp_path, params))
    assert "line 2, column 'sample'" in message and "letters, digits" in message
    assert not sentinel.exists()


def test_predict_refuses_a_model_of_another_assembly_naming_the_users_model_file(tmp_path, test_data, shared_run: Run):
    """The shared run's GRCh38 model under --genome GRCm39 (its region fits on either): CHECK_MODEL refuses it naming both
    assemblies and the model file as the user gave it, not the task's staged input/model.pt; nothing is binned."""
    model = shared_run.outdir / "model" / "blend" / "model.pt"
    rows = sheet_rows(test_data)
    sheet = write_sheet(tmp_path / "new.csv", [["sample", "peaks"], [rows[1][0], rows[1][3]]])
    message = refused(nextflow_run(tmp_path, ["-entry", "PREDICT", "--model_file", str(model), "--input", str(sheet), "--genome", "GRCm39"]))
    assert message.startswith(f"ERROR: {model}: a model of assembly GRCh38 (chromosome sizes MD5 "), message
    assert "this run's --genome is GRCm39" in message and "input/model.pt" not in message


def test_peaks_of_another_genome_build(tmp_path, test_data):
    """hg19 peaks (past GRCh38's chromosome ends): BINARIZE_PEAKS refuses them naming the sample and file; kallisto never starts."""
    rows = sheet_rows(test_data)
    hg19 = tmp_path / "hg19.bed"
    hg19.write_text("chr1\t249000000\t249000500\tpeak1\nchr1\t1000\t2000\tpeak2\nchr1_gl000191_random\t10\t100\tpeak3\n")
    rows[2][3] = str(hg19)
    run = nextflow_run(tmp_path, [*run_params(test_data), "--input", str(write_sheet(tmp_path / "sheet.csv", rows))])
    message = refused(run, results=True)
    assert "sample S02" in message and "hg19.bed" in message and "1 of 3 peaks end past" in message and "liftOver" in message
    assert not (trace_processes(run.trace) & HEAVY), trace_processes(run.trace)  # kallisto waits for every sample's peaks


def test_fastq_with_a_short_quality_line(tmp_path, test_data):
    """kallisto would stop at the bad record and exit 0: CHECK_FASTQ refuses the sample, whose kallisto never starts."""
    rows = sheet_rows(test_data)
    with gzip.open(rows[1][1], "rt") as handle:
        lines = handle.readlines()
    lines[4 * 100 + 3] = lines[4 * 100 + 3][:20] + "\n"
    bad = tmp_path / "S01_R1.fastq.gz"
    with gzip.open(bad, "wt") as handle:
        handle.writelines(lines)
    rows[1][1] = str(bad)
    run = nextflow_run(tmp_path, [*run_params(test_data), "--input", str(write_sheet(tmp_path / "sheet.csv", rows))])
    message = refused(run, results=True)
    assert "S01" in message and "record 101" in message
    assert "KALLISTO_QUANT (S01)" not in trace_names(run.trace)


def test_a_directory_in_the_samplesheet(tmp_path, test_data):
    rows = sheet_rows(test_data)
    rows[3][3] = str(tmp_path)
    message = refused(nextflow_run(tmp_path, [*run_params(test_data), "--input", str(write_sheet(tmp_path / "sheet.csv", rows))]))
    assert "line 4, column 'peaks' (sample S03)" in message and "is a directory" in message


def test_missing_and_directory_files_of_a_samplesheet_row_are_named(tmp_path, test_data):
    """A row's file that is missing, or a directory: one ERROR line naming the line, column and sample, from the function
    every run calls on each file of each row (tests/nf/input_files_cases.nf runs it on each case in one Nextflow process;
    the run above shows a run calling it)."""
    cases = {"missing": ("fastq_1", tmp_path / "missing_R1.fastq.gz"), "directory": ("peaks", tmp_path),
             "present": ("peaks", test_data / "samplesheet.csv")}
    listing = tmp_path / "cases.tsv"
    listing.write_text("".join(f"{name}\t{column}\t{path}\n" for name, (column, path) in cases.items()))
    result = run_nextflow([str(REPO / "tests" / "nf" / "input_files_cases.nf"), "--cases", str(listing)], cwd=tmp_path, script=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if line.startswith("CASE "))
    where = "ERROR: samplesheet line 3, column '{}' (sample S02): "
    assert lines == {
        "CASE missing": where.format("fastq_1") + f"file not found: {tmp_path / 'missing_R1.fastq.gz'}",
        "CASE directory": where.format("peaks") + f"{tmp_path} is a directory, not a file",
        "CASE present": "accepted"}


def test_required_inputs_missing(tmp_path, test_data):
    config = tmp_path / "no_references.config"
    config.write_text("params.gtf = null\nparams.transcriptome = null\n")
    message = refused(nextflow_run(tmp_path, ["-profile", "test", *data_params(test_data)[:2], "-c", str(config)]))
    assert "--gtf is required" in message and "--transcriptome is required" in message


def test_files_the_pipeline_did_not_write_survive_overwrite_and_are_named(tmp_path, test_data):
    """A results folder holding the user's own files and no run record: --overwrite refuses the run, naming them, and
    removes nothing."""
    outdir = tmp_path / "results"
    mine = {"report/thesis.docx": b"chapter 1", "model/notes.txt": b"notes", "quant/important.tsv": b"a\tb\n"}
    for name, data in mine.items():
        (outdir / name).parent.mkdir(parents=True, exist_ok=True)
        (outdir / name).write_bytes(data)
    run = nextflow_run(tmp_path, [*run_params(test_data), "--overwrite"], outdir)
    assert run.result.returncode != 0 and not run.trace
    (message,) = error_lines(run.result)
    assert "holds files this pipeline did not write" in message and "model/notes.txt, quant/important.tsv, report/thesis.docx" in message
    assert "move them out of --outdir" in message
    assert {str(p.relative_to(outdir)): p.read_bytes() for p in outdir.rglob("*") if p.is_file() and "pipeline_info" not in p.parts} == mine


def test_a_task_out_of_time_at_the_max_time_cap_is_not_retried_and_says_what_to_raise(tmp_path, test_data):
    """A task that runs its whole time at the --max_time cap would end the same way on a retry (three times the cap lost):
    it is not retried, and the run ends with one line naming the task and --max_time. (CHECK_PARAMS is made slow here: a
    stub run reaches the limit in seconds.)"""
    slow = tmp_path / "slow.config"
    slow.write_text("process { withName: 'CHECK_PARAMS' { beforeScript = 'sleep 120' } }\n")
    run = nextflow_run(tmp_path, [*run_params(test_data), "-stub", "--max_time", "3.s", "-c", str(slow)])
    message = refused(run)
    assert message.startswith("ERROR: START_RUN:CHECK_PARAMS (main) ran out of time: it ran its whole 3s, the --max_time cap")
    assert "raise --max_time" in message
    assert [(row["process"], row["attempt"]) for row in run.trace] == [("START_RUN:CHECK_PARAMS", "1")]


def test_damaged_run_records_locks_and_the_pipelines_own_folders_are_named(tmp_path):
    """A run record that is truncated, a folder, not a JSON object or not of this pipeline, a lock that is a folder,
    .atac2expr-replaced that is a file and pipeline_info/.pending holding a user's file: one ERROR line each, naming the
    file, and the user's files left as they were, from the functions every run calls (tests/nf/outdir_guard_cases.nf runs
    them on each case in one Nextflow process; tests/test_pipeline.py shows a run refused by them before any task)."""
    cases = tmp_path / "cases"
    records = {"truncated": b'{"params": {"epochs": "5"}, "outp', "not_an_object": b"[1, 2]\n",
               "not_ours": b'{"params": {}, "outputs": "bins/S01.bins.npz"}\n', "complete": b'{"params": {}, "outputs": []}\n'}
    for name, data in records.items():
        (cases / name / "pipeline_info").mkdir(parents=True)
        (cases / name / "pipeline_info" / "run_main.json").write_bytes(data)
    (cases / "a_folder" / "pipeline_info" / "run_main.json").mkdir(parents=True)
    (cases / "pending_truncated" / "pipeline_info").mkdir(parents=True)
    (cases / "pending_truncated" / "pipeline_info" / "run_main.pending.json").write_bytes(b'{"par')
    (cases / "lock_a_folder" / ".atac2expr.lock").mkdir(parents=True)
    (cases / "aside_a_file").mkdir()
    (cases / "aside_a_file" / ".atac2expr-replaced").write_text("a file where the folder goes\n")
    (cases / "pending_info_foreign" / "pipeline_info" / ".pending" / "main").mkdir(parents=True)
    (cases / "pending_info_foreign" / "pipeline_info" / ".pending" / "main" / "mine.txt").write_text("mine\n")
    result = run_nextflow([str(REPO / "tests" / "nf" / "outdir_guard_cases.nf"), "--cases", str(cases)], cwd=tmp_path, script=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if line.startswith("CASE "))
    assert lines.pop("CASE complete") == "accepted"
    record = "pipeline_info/run_main.json"
    expected = {"truncated": f"{record} is not valid JSON (truncated?)", "not_an_object": f"{record} is not a JSON object",
                "not_ours": f"{record} is not a run record of this pipeline (field outputs of the wrong kind)",
                "a_folder": f"{record} is a directory, not a file",
                "pending_truncated": "pipeline_info/run_main.pending.json is not valid JSON (truncated?)",
                "lock_a_folder": ".atac2expr.lock is a directory, not the lock file this pipeline writes"}
    aside, pending = cases / "aside_a_file" / ".atac2expr-replaced", cases / "pending_info_foreign" / "pipeline_info" / ".pending" / "main"
    assert lines.pop("CASE aside_a_file") == (f"ERROR: --outdir {cases / 'aside_a_file'}: {aside} is not a folder, not the folder where the "
                                              "pipeline keeps the outputs a run replaces; move it out of --outdir")
    assert lines.pop("CASE pending_info_foreign") == (f"ERROR: --outdir {cases / 'pending_info_foreign'}: {pending} holds what the pipeline "
                                                      "did not put there: pipeline_info/.pending/main/mine.txt; move it out of --outdir")
    assert aside.read_text() == "a file where the folder goes\n" and (pending / "mine.txt").read_text() == "mine\n"
    assert set(lines) == {f"CASE {name}" for name in expected}
    for name, part in expected.items():
        line = lines[f"CASE {name}"]
        assert line.startswith(f"ERROR: --outdir {cases / name}: its ") and f"{cases / name}/{part}" in line and "\n" not in line, line
