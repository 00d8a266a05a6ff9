"""Resume under faults: the Nextflow process killed mid-graph, and one task failing on a bad input.

(a) SIGKILL of Nextflow's java process once some KALLISTO_QUANT tasks completed and before
    BUILD_MATRIX started; `-resume` takes the finished tasks from the cache, runs the rest, and
    ends with the results of an uninterrupted run. Published files are whole at every point.
(b) then one sample's peaks file goes bad (CHECK_INPUTS stays cached: it reads the samplesheet, not the
    files): the results folder refuses the changed input, and with --overwrite the resumed run fails naming
    BINARIZE_PEAKS of that sample and the file; once the file is fixed, `-resume` reruns only that sample's
    BINARIZE_PEAKS and what depends on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (
    NEXTFLOW_ENV,
    NO_REPORTS,
    REPO,
    REPORT_FOLDERS,
    Run,
    assert_no_partial_files,
    assert_published_files_whole,
    assert_same_results,
    error_lines,
    read_trace,
    run_nextflow,
    run_params,
    sheet_rows,
    trace_names,
    write_sheet,
)

pytestmark = pytest.mark.e2e

BAD_SAMPLE = "S05"
# one model trained and two evaluated, of the shared run's: what a kill before BUILD_MATRIX or a bad input can change
# is upstream of the models, and the runs resumed here train and evaluate again
TRAINED, EVALUATED = ("blend",), ("mean", "blend")
MODELS = ["--model", ",".join(TRAINED), "--eval_models", ",".join(EVALUATED)]
UPSTREAM_OF_BUILD_MATRIX = {"CHECK_PARAMS", "REPLACE_OUTPUTS", "DEFINE_BINS", "CHECK_INPUTS", "GENE_ANNOTATION", "CHECK_FASTQ", "KALLISTO_INDEX",
                            "KALLISTO_QUANT",
                            "GENE_TPM", "BINARIZE_PEAKS"}


def _children(pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return found


def nextflow_java_pid(launcher: subprocess.Popen) -> int:
    """The JVM running Nextflow: the launcher itself when it exec's java (it does), else its child."""
    for pid in _children(launcher.pid):
        try:
            if b"nextflow.cli.Launcher" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError("no Nextflow JVM found under the launcher")


def left_out(reference: Path) -> tuple[str, ...]:
    """What these runs leave out of the reference's files: the report folders, and the files of the models they neither
    train nor evaluate."""
    others = sorted({p.name for p in (reference / "model").iterdir()} - set(TRAINED))
    figures = [p for p in (reference / "evaluation").glob("*_*.png") if p.stem.split("_", 1)[0] in ("scatter", "deviations")]
    return (*REPORT_FOLDERS, *(f"model/{model}/" for model in others), *(f"report/expression_fit_{model}.png" for model in others),
            *(p.relative_to(reference).as_posix() for p in figures if p.stem.split("_", 1)[1] not in EVALUATED))


@pytest.fixture(scope="module")
def launch(tmp_path_factory, test_data) -> dict:
    """A launch folder whose samplesheet points at the shared test data, except BAD_SAMPLE's peaks: a copy."""
    launch = tmp_path_factory.mktemp("faults")
    rows = sheet_rows(test_data)
    for row in rows[1:]:
        if row[0] == BAD_SAMPLE:
            peaks = launch / Path(row[3]).name
            peaks.write_bytes(Path(row[3]).read_bytes())
            row[3] = str(peaks)
    params = [*run_params(test_data), *NO_REPORTS, *MODELS, "--input", str(write_sheet(launch / "samplesheet.csv", rows))]
    return {"dir": launch, "outdir": launch / "results", "params": [*params, "--outdir", str(launch / "results")], "peaks": peaks}


@pytest.fixture(scope="module")
def killed_and_resumed(launch, shared_run: Run) -> dict:
    folder, outdir = launch["dir"], launch["outdir"]
    log = open(folder / "killed.out", "w")
    env = {**os.environ, **NEXTFLOW_ENV}
    started = time.monotonic()
    proc = subprocess.Popen(["nextflow", "run", str(REPO / "main.nf"), *launch["params"], "-with-trace", str(folder / "trace_killed.txt")],
                            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    completed: list[dict[str, str]] = []
    try:
        while True:
            assert proc.poll() is None, "the run ended before it could be killed: " + (folder / "killed.out").read_text()[-3000:]
            assert time.monotonic() - started < 900, "no KALLISTO_QUANT completed in 15 minutes"
            nf_log = (folder / ".nextflow.log").read_text(errors="replace") if (folder / ".nextflow.log").exists() else ""
            trace = read_trace(folder / "trace_killed.txt") if (folder / "trace_killed.txt").exists() else []
            quant_done = [row for row in trace if row["process"].endswith("KALLISTO_QUANT") and row["status"] == "COMPLETED"]
            if len(quant_done) >= 2:
                assert "Submitted process > ATAC2EXPR:BUILD_MATRIX" not in nf_log, "BUILD_MATRIX started before the kill: the test missed its window"
                java = nextflow_java_pid(proc)
                completed = [row for row in trace if row["status"] == "COMPLETED"]
                os.kill(java, signal.SIGKILL)
                break
            time.sleep(0.2)
        proc.wait(timeout=60)
    finally:
        # the tasks the JVM had started are orphans in its process group: end them too (a crashed head node)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()
    killed_at = time.monotonic() - started
    after_kill = {"returncode": proc.returncode, "files": sorted(p.name for p in outdir.rglob("*") if p.is_file())}
    assert_no_partial_files(outdir)  # whole or not at all, even right after the kill
    assert_published_files_whole(outdir, shared_run.outdir, all_present=False, skipped=left_out(shared_run.outdir))

    # a results folder the killed run had not reached, made a link to a user's folder: the rerun is refused before any
    # task, and the user's files are untouched
    users = folder / "users_folder"
    users.mkdir()
    (users / "matrix.npz").write_bytes(b"someone else's\n")
    (outdir / "dataset").symlink_to(users, target_is_directory=True)
    linked = run_nextflow([*launch["params"], "-resume", "-with-trace", str(folder / "trace_linked.txt")], cwd=folder)
    linked_trace = read_trace(folder / "trace_linked.txt") if (folder / "trace_linked.txt").exists() else []
    linked_state = {"result": linked, "trace": linked_trace,
                    "target": {p.name: p.read_bytes() for p in users.iterdir()}, "users": users}
    (outdir / "dataset").unlink()

    resumed = run_nextflow([*launch["params"], "-resume", "-with-trace", str(folder / "trace_resumed.txt")], cwd=folder)
    return {"completed": completed, "after_kill": after_kill, "linked": linked_state, "resumed": resumed, "killed_at": killed_at,
            "resume_s": time.monotonic() - started - killed_at}


def test_kill_mid_graph_then_resume(launch, killed_and_resumed, shared_run: Run):
    state = killed_and_resumed
    assert state["after_kill"]["returncode"] == -signal.SIGKILL
    completed = trace_names(state["completed"])
    assert any(name.startswith("KALLISTO_QUANT") for name in completed)
    assert not any(name.startswith(("BUILD_MATRIX", "TRAIN_MODEL", "REPORT")) for name in completed)

    resumed = state["resumed"]
    assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr[-2000:]
    trace = read_trace(launch["dir"] / "trace_resumed.txt")
    cached, ran = trace_names(trace, "CACHED"), trace_names(trace, "COMPLETED")
    # every task finished before the kill comes from the cache (but the guard's native step, which runs in every run)
    assert {name for name in completed if not name.startswith("REPLACE_OUTPUTS")} <= cached, sorted(completed - cached)
    assert {"BUILD_MATRIX", "TRAIN_MODEL", "REPORT"} <= {name.split(" ")[0] for name in ran}
    assert len(cached) + len(ran) == len(trace) and not cached & ran

    assert_same_results(launch["outdir"], shared_run.outdir, some_models=True)
    assert_published_files_whole(launch["outdir"], shared_run.outdir, skipped=left_out(shared_run.outdir))
    assert_no_partial_files(launch["outdir"])


def test_a_link_in_the_results_folder_after_a_kill_is_refused_before_any_task(killed_and_resumed):
    linked = killed_and_resumed["linked"]
    result = linked["result"]
    assert result.returncode != 0 and not linked["trace"], result.stdout[-3000:] + result.stderr[-2000:]
    (message,) = error_lines(result)
    assert f"dataset -> {linked['users']}" in message and "a link where the pipeline writes its results" in message, message
    assert linked["target"] == {"matrix.npz": b"someone else's\n"}


def test_failing_task_named_then_fixed_input_resumes_only_its_dependants(launch, killed_and_resumed, shared_run: Run):
    assert killed_and_resumed["resumed"].returncode == 0
    folder, peaks = launch["dir"], launch["peaks"]
    good = peaks.read_bytes()
    peaks.write_bytes(b"chr1\t5000\t6000\nchr1\t9000\t8000\n")  # end before start: refused by binarize_peaks.py
    try:
        # an input changed since the complete run that wrote --outdir: another configuration (refused without
        # --overwrite, as tests/test_pipeline.py checks for an edited samplesheet)
        failed = run_nextflow([*launch["params"], "-resume", "--overwrite", "-with-trace", str(folder / "trace_failed.txt")], cwd=folder)
    finally:
        peaks.write_bytes(good)  # the fix: the original content (new mtime, so the task runs again)
    output = failed.stdout + failed.stderr
    assert f"sample {BAD_SAMPLE} peaks {peaks}: its content changed" in output, output[-3000:]
    assert failed.returncode != 0
    assert f"BINARIZE_PEAKS ({BAD_SAMPLE})" in output and "terminated with an error exit status (2)" in output, output[-3000:]
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR: ")]
    assert any(peaks.name in line and "has end <= start" in line for line in errors), output[-3000:]
    trace = read_trace(folder / "trace_failed.txt")
    assert trace_names(trace, "FAILED") == {f"BINARIZE_PEAKS ({BAD_SAMPLE})"}
    # everything else came from the cache; CHECK_PARAMS reads every parameter, --overwrite too, and the guard's native
    # step runs in every run
    assert trace_names(trace, "COMPLETED") <= {"CHECK_PARAMS (main)", "REPLACE_OUTPUTS (main)"}
    assert "CHECK_INPUTS (samplesheet)" in trace_names(trace, "CACHED")
    assert "stale lock" not in output  # the failed run released its lock

    # the fixed input is the complete run's again; the failed run's outputs are no one's results and are replaced
    fixed = run_nextflow([*launch["params"], "-resume", "-with-trace", str(folder / "trace_fixed.txt")], cwd=folder)
    assert fixed.returncode == 0, fixed.stdout[-4000:]
    trace = read_trace(folder / "trace_fixed.txt")
    for row in trace:
        process = row["process"].split(":")[-1]
        # reruns: the fixed sample's BINARIZE_PEAKS, BUILD_MATRIX and everything after it; the rest is cached, and so
        # is SOFTWARE_VERSIONS: no version changed
        depends = (process not in UPSTREAM_OF_BUILD_MATRIX | {"SOFTWARE_VERSIONS"}
                   or row["name"].endswith(f"BINARIZE_PEAKS ({BAD_SAMPLE})") or process == "REPLACE_OUTPUTS")
        assert row["status"] == ("COMPLETED" if depends else "CACHED"), (row["name"], row["status"])
    assert {"BUILD_MATRIX", "TRAIN_MODEL", "REPORT"} <= {row["process"].split(":")[-1] for row in trace if row["status"] == "COMPLETED"}

    assert_same_results(launch["outdir"], shared_run.outdir, some_models=True)
    assert_published_files_whole(launch["outdir"], shared_run.outdir, skipped=left_out(shared_run.outdir))
    assert_no_partial_files(launch["outdir"])
