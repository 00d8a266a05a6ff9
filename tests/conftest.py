"""Shared test setup: the test data, and the Nextflow runs that end-to-end tests share (pytest.ini puts bin/ and tests/ on sys.path).

Layers (pytest markers): unit tests (no mark, seconds); `e2e` tests run the real `nextflow run`: one stub run
of the whole graph, one shared real run with a short training whose outputs most end-to-end tests read, and
separate runs only where the behaviour needs them (faults, resume, bad input at the Nextflow layer, the
lock); `slurm` and `container` tests run through a scheduler or the container engines (make test-slurm,
make test-container).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

# one BLAS thread, set before numpy loads it: the models' many small solves run many times slower with a thread
# per core on a shared machine (the pipeline's tasks set the task's CPUs the same way)
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# the package compiled once for the tests' many Pythons (a task's too), outside the repository: a machine that sets
# PYTHONDONTWRITEBYTECODE would otherwise have every task compile it anew
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"atac2expr-pycache-{os.getuid()}"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from atac2expr.samples import lane_separator  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "bin"

# a short training keeps the shared run at about a minute; the evaluation still runs every model on 5 folds
SHORT_TRAINING = ["--epochs", "150", "--patience", "20"]
# the best genes' figures and tracks of each model's links: 2 of them show every part of a figure (each costs most of a
# second of matplotlib's CPU, and the shared run links 8 models)
BEST_GENES = 2
# runs that check something else leave out the links and MultiQC (the shared run writes and checks them)
NO_REPORTS = ["--skip_links", "--skip_multiqc"]
# (what they leave out: the links' folders, MultiQC's, and the report's figure of the links' score)
REPORT_FOLDERS = ("links/", "sample_links/", "multiqc/", "report/links_score_benchmark.png")
# Nextflow's JVM with the C1 compiler only and the serial collector: a test's short runs take half the CPU time to
# start (on 2 cores the tasks share it); a caller's own NXF_OPTS wins
NEXTFLOW_ENV = {"NXF_ANSI_LOG": "false", "NXF_OPTS": os.environ.get("NXF_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: runs the real `nextflow run` (needs nextflow and kallisto on PATH; `make test`)")
    config.addinivalue_line("markers", "slurm: runs the pipeline through a one-node Slurm cluster started by setup/slurm/ "
                                       "(root; `make test-slurm`; excluded from `make test`)")
    config.addinivalue_line("markers", "container: runs the pipeline in its image with podman and with Docker Engine "
                                       "(root; `make test-container`; excluded from `make test`)")
    config.addinivalue_line("markers", "beside_stub: an end-to-end test that needs neither shared run, run in the stub run's "
                                       "session by tests/run_layers.sh (the sessions' lengths balanced)")


# tests/run_layers.sh runs the end-to-end tests in three sessions side by side: those that read the shared real run
# (directly or through another fixture) in one, those that read only the stub run in another, the others in a third,
# after the unit tests. The stub run's session is the shortest: tests marked beside_stub, which need neither run, go
# there, so that the three sessions end about together.
def e2e_layer(item) -> str:
    fixtures = set(getattr(item, "fixturenames", ()))
    if "shared_run" in fixtures:
        return "shared"
    return "stub" if "stub_run" in fixtures or item.get_closest_marker("beside_stub") else "independent"


def pytest_collection_modifyitems(config, items):
    """ATAC2EXPR_E2E_LAYER=shared, stub or independent keeps that layer's tests (unset: all)."""
    layer = os.environ.get("ATAC2EXPR_E2E_LAYER")
    if layer not in ("shared", "stub", "independent"):
        return
    kept = [item for item in items if e2e_layer(item) == layer]
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def run_nextflow(args: list[str], cwd: Path, timeout: int = 900, env: dict[str, str] | None = None,
                 script: bool = True) -> subprocess.CompletedProcess:
    """`nextflow run main.nf ARGS` launched from `cwd` (its work/ and .nextflow/ stay there); `script=False`: ARGS name
    the script."""
    if shutil.which("nextflow") is None:
        pytest.fail("nextflow is not on PATH: run the tests through `make test`")
    full_env = {**os.environ, **NEXTFLOW_ENV, **(env or {})}
    return subprocess.run(["nextflow", "run", *([str(REPO / "main.nf")] if script else []), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def operational_parameters(schema: dict) -> set[str]:
    """The parameters that change how a run executes, not what it computes: marked "operational" in nextflow_schema.json,
    or in a group so marked (the run record leaves them out; subworkflows/outdir_guard/records.nf reads the same marks)."""
    return {name for group in schema["$defs"].values() for name, spec in group["properties"].items()
            if group.get("operational") or spec.get("operational")}


def read_trace(path: Path) -> list[dict[str, str]]:
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def trace_names(trace: list[dict[str, str]], *statuses: str) -> set[str]:
    """Task names (process without the workflow prefix, and tag) of the trace rows with one of the statuses."""
    return {row["name"].split(":")[-1] for row in trace if not statuses or row["status"] in statuses}


def trace_processes(trace: list[dict[str, str]], *statuses: str) -> set[str]:
    return {row["process"].split(":")[-1] for row in trace if not statuses or row["status"] in statuses}


def error_lines(result: subprocess.CompletedProcess) -> set[str]:
    """The distinct one-line errors of a failed run: a script's 'ERROR: ...' (Nextflow quotes the failed task's
    stderr), else the workflow's own 'ERROR ~ ...' (not Nextflow's 'Error executing process' header)."""
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
    script = {line for line in lines if line.startswith("ERROR: ")}
    return script or {line for line in lines if line.startswith("ERROR ~ ") and not line.startswith("ERROR ~ Error executing process")}


@pytest.fixture(scope="session")
def test_data(tmp_path_factory) -> Path:
    """The bundled test dataset, generated once per test session by tests/make_test_data.py."""
    outdir = tmp_path_factory.mktemp("test_data")
    subprocess.run([sys.executable, str(REPO / "tests" / "make_test_data.py"), "--outdir", str(outdir)], check=True,
                   capture_output=True, text=True)
    return outdir


def data_params(data: Path) -> list[str]:
    return ["--input", str(data / "samplesheet.csv"), "--gtf", str(data / "genes.gtf.gz"),
            "--transcriptome", str(data / "transcriptome.fa.gz")]


def run_params(data: Path, profile: str = "test") -> list[str]:
    """The shared run's parameters; a run compared with it adds only --outdir, traces, -resume, -c files or a profile."""
    return ["-profile", profile, *data_params(data), *SHORT_TRAINING, "--links_genes", str(BEST_GENES)]


def sheet_rows(data: Path) -> list[list[str]]:
    """The test samplesheet's rows (header first) with absolute paths, so that a copy can live in another folder."""
    with open(data / "samplesheet.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    return [rows[0]] + [[row[0]] + [str(data / f) if f else "" for f in row[1:]] for row in rows[1:]]


def write_sheet(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def hostile_sheet(folder: Path, data: Path) -> tuple[Path, list[list[str]]]:
    """The test samplesheet with the files of its first three samples copied under hostile but valid names: shell
    metacharacters, quotes, spaces and commas (quoted in the CSV) in folder and file names, and the third sample's reads
    split into two lanes whose files share a base name in different folders. Returns the sheet and the hostile rows.
    The payloads are relative: a command that ran would leave PWNED_RAN in a task's folder (a path cannot hold ';',
    which joins lanes, or a line break)."""
    payloads = ["$(touch PWNED_RAN)", "`touch PWNED_RAN`", "it's a 'quoted' name", 'a "quoted" $(touch PWNED_RAN) name',
                "x | touch PWNED_RAN & y > z"]
    rows = sheet_rows(data)
    hostile = []
    for n, row in enumerate(rows[1:4]):
        where = folder / f"data, {payloads[n]}"
        where.mkdir(parents=True)
        names = []
        for column, path in zip(("fastq_1", "fastq_2", "peaks"), row[1:], strict=True):
            if not path:
                names.append("")
                continue
            target = where / f"{payloads[n + 1]} {column}{''.join(Path(path).suffixes)}"
            shutil.copy(path, target)
            names.append(str(target))
        hostile.append([row[0], *names])
    lanes = []
    for lane in (1, 2):
        (folder / f"lane{lane}").mkdir()
        lanes.append([folder / f"lane{lane}" / "reads_R1.fastq.gz", folder / f"lane{lane}" / "reads_R2.fastq.gz"])
    for mate, source in enumerate(hostile[2][1:3]):
        with gzip.open(source, "rt") as handle:
            lines = handle.readlines()
        half = (len(lines) // 8) * 4
        for lane, part in enumerate((lines[:half], lines[half:])):
            with gzip.open(lanes[lane][mate], "wt") as handle:
                handle.writelines(part)
    hostile[2][1] = lane_separator().join(str(lane[0]) for lane in lanes)
    hostile[2][2] = lane_separator().join(str(lane[1]) for lane in lanes)
    return write_sheet(folder / "hostile.csv", [rows[0], *hostile, *rows[4:]]), hostile


@dataclass
class Run:
    launch: Path
    outdir: Path
    result: subprocess.CompletedProcess
    trace: list[dict[str, str]]


def nextflow_run(launch: Path, params: list[str], outdir: Path | None = None, name: str = "trace", timeout: int = 900,
                 env: dict[str, str] | None = None) -> Run:
    """A run launched from `launch` with its trace; the caller asserts on the outcome."""
    launch.mkdir(parents=True, exist_ok=True)
    outdir = outdir or launch / "results"
    trace_file = launch / f"{name}.txt"
    result = run_nextflow([*params, "--outdir", str(outdir), "-with-trace", str(trace_file)], cwd=launch, timeout=timeout, env=env)
    trace = read_trace(trace_file) if trace_file.exists() else []
    return Run(launch, outdir, result, trace)


def assert_success(run: Run) -> Run:
    assert run.result.returncode == 0, run.result.stdout[-4000:] + run.result.stderr[-4000:]
    return run


def many_regions(n: int = 20_000) -> str:
    """n regions of 1 kb on chr1, 10 kb apart: about 440 kB of --region, more than one command-line argument may hold
    (128 kB on Linux)."""
    return ",".join(f"chr1:{10_000 * i + 1}-{10_000 * i + 1000}" for i in range(n))


def stub_params(data: Path, launch: Path) -> list[str]:
    """The stub run's parameters (its samplesheet and -params-file are in its launch folder)."""
    return ["-profile", "test", *data_params(data), "--input", str(launch / "samplesheet.csv"), "-params-file", str(launch / "params.json"),
            "-stub"]


def save_run(run: Run, path: Path) -> None:
    """The run as JSON, whole or not at all (another test session reads it)."""
    record = {"launch": str(run.launch), "outdir": str(run.outdir), "args": run.result.args, "returncode": run.result.returncode,
              "stdout": run.result.stdout, "stderr": run.result.stderr, "trace": run.trace}
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(record))
    part.replace(path)


def load_run(path: Path) -> Run:
    record = json.loads(path.read_text())
    result = subprocess.CompletedProcess(record["args"], record["returncode"], record["stdout"], record["stderr"])
    return Run(Path(record["launch"]), Path(record["outdir"]), result, record["trace"])


def handed_over_run(path: Path, session_pid: int, timeout: float = 1200) -> Run | None:
    """The run another test session saves at `path`, waited for while that session lives; None when it ends without it."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        try:
            os.kill(session_pid, 0)
        except ProcessLookupError:
            return load_run(path) if path.exists() else None
        if time.monotonic() > deadline:
            pytest.fail(f"no run saved at {path} after {timeout:.0f} s")
        time.sleep(1)
    return load_run(path)


@pytest.fixture(scope="session")
def stub_run(tmp_path_factory, test_data) -> Run:
    """-stub: every process of the graph runs (its stub), in seconds, on five samples and 20,000 regions given in a
    -params-file, with links far above the documented size; the results folder that the tests of the results folder's guard copy and run into again.

    Under tests/run_layers.sh (ATAC2EXPR_STUB_RUN names a file) the stub session's run serves the shared session too: the
    stub session saves it there, and the shared session's tests, which only read its results, wait for it (and run
    their own when the stub session ends without one)."""
    handover = Path(os.environ["ATAC2EXPR_STUB_RUN"]) if os.environ.get("ATAC2EXPR_STUB_RUN") else None
    layer = os.environ.get("ATAC2EXPR_E2E_LAYER")
    if handover and layer == "shared" and os.environ.get("ATAC2EXPR_STUB_SESSION"):
        run = handed_over_run(handover, int(os.environ["ATAC2EXPR_STUB_SESSION"]))
        if run is not None:
            return run
    launch = tmp_path_factory.mktemp("stub")
    write_sheet(launch / "samplesheet.csv", sheet_rows(test_data)[:6])
    # links far above the documented size: CHECK_PARAMS warns on the console (a stub run writes none)
    (launch / "params.json").write_text(json.dumps({"region": many_regions(), "links_top": 5000, "links_max_distance": 100_000_000}))
    run = nextflow_run(launch, stub_params(test_data, launch))
    if handover and layer == "stub":
        save_run(run, handover)
    return run


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory, test_data) -> Run:
    """One real run of the whole graph (test profile, every model, a short training) that most end-to-end
    tests read; also the reference that runs under faults, Slurm or containers are compared with."""
    return assert_success(nextflow_run(tmp_path_factory.mktemp("shared"), run_params(test_data)))


# published files whose bytes depend on when or where a run happened (start times, seconds taken)
_TIMESTAMPED = ("run_info.json", ".fastq_check.json")


PENDING_INFO = "pipeline_info/.pending/"  # what an unfinished run publishes into pipeline_info, moved into place when it completes


def published_files(outdir: Path) -> dict[str, Path]:
    """Files under outdir by relative path, without Nextflow's run reports, the run records (named by time or run) and
    the pending pipeline_info files of a run that did not complete."""
    return {str(p.relative_to(outdir)): p for p in sorted(outdir.rglob("*"))
            if p.is_file() and not p.name.startswith(("execution_report", "execution_timeline", "execution_trace", "run_", ".atac2expr"))
            and not str(p.relative_to(outdir)).startswith(PENDING_INFO)}


def assert_no_partial_files(outdir: Path) -> None:
    """Every output is written under a temporary name and renamed (bin/atac2expr/files.py): none may remain."""
    leftovers = [str(p) for p in outdir.rglob("*") if ".part" in p.name or p.name.startswith(".nfs")]
    assert not leftovers, leftovers


def assert_published_files_whole(outdir: Path, reference: Path, all_present: bool = True, skipped: tuple[str, ...] = ()) -> None:
    """Files in outdir are complete: equal to the reference's where the bytes are reproducible, else readable.
    `skipped`: folders the run left out (e.g. REPORT_FOLDERS), not expected beside the reference's."""
    ours = published_files(outdir)
    theirs = {name: path for name, path in published_files(reference).items() if not name.startswith(skipped)}
    if all_present:
        assert set(ours) == set(theirs), sorted(set(ours) ^ set(theirs))
        assert not (outdir / PENDING_INFO).exists(), "a complete run moves its pipeline_info files into place"
    for name, path in ours.items():
        assert name in theirs, f"unexpected file {name}"
        if path.suffix == ".npz":  # by array: the zip headers differ between Python builds
            with np.load(path) as ours_npz, np.load(theirs[name]) as theirs_npz:
                assert sorted(ours_npz.files) == sorted(theirs_npz.files), name
                assert all(np.array_equal(ours_npz[k], theirs_npz[k]) for k in theirs_npz.files), f"{name} differs"
        elif name.startswith(("quant/", "expression/", "dataset/", "annotation/")) and not path.name.endswith(_TIMESTAMPED):
            assert path.read_bytes() == theirs[name].read_bytes(), f"{name} differs from the uninterrupted run's"
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".png":
            assert path.read_bytes().endswith(b"IEND\xaeB`\x82"), f"{name}: truncated PNG"
        elif path.suffix == ".pt":
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None, f"{name}: corrupt"
        elif name != "pipeline_info/software_versions.yml":
            assert path.stat().st_size > 0, f"{name} is empty"


def assert_same_results(outdir: Path, reference: Path, some_models: bool = False) -> None:
    """dataset.npz arrays identical, gene_tpm.tsv identical, predictions and held-out metrics within 1e-5. `some_models`:
    the run trained and evaluated some of the reference's models (each must equal the reference's), not all."""
    with np.load(outdir / "dataset" / "dataset.npz") as ours, np.load(reference / "dataset" / "dataset.npz") as theirs:
        assert sorted(ours.files) == sorted(theirs.files)
        for key in theirs.files:
            assert np.array_equal(ours[key], theirs[key]), f"dataset.npz: {key} differs"
    assert (outdir / "expression" / "gene_tpm.tsv").read_bytes() == (reference / "expression" / "gene_tpm.tsv").read_bytes()
    trained = sorted(p.name for p in (outdir / "model").iterdir())
    if some_models:
        assert trained and set(trained) <= {p.name for p in (reference / "model").iterdir()}, trained
    else:
        assert trained == sorted(p.name for p in (reference / "model").iterdir()), trained
    for model in trained:
        ours = pd.read_csv(outdir / "model" / model / "predictions.tsv", sep="\t")
        theirs = pd.read_csv(reference / "model" / model / "predictions.tsv", sep="\t")
        assert list(ours.columns) == list(theirs.columns) and len(ours) == len(theirs) > 0
        assert ours[["sample", "gene_id"]].equals(theirs[["sample", "gene_id"]])
        for column in ("observed", "predicted", "observed_tpm", "predicted_tpm"):
            assert np.allclose(ours[column], theirs[column], rtol=1e-5, atol=1e-5), (model, column)
    if (reference / "evaluation").exists():
        ours = pd.read_csv(outdir / "evaluation" / "metrics.tsv", sep="\t").set_index("model")
        theirs = pd.read_csv(reference / "evaluation" / "metrics.tsv", sep="\t").set_index("model")
        if some_models:
            assert set(ours.index) <= set(theirs.index), list(ours.index)
            theirs = theirs.loc[ours.index]
        assert list(ours.index) == list(theirs.index)
        assert np.allclose(ours["mse"], theirs["mse"], rtol=1e-5, atol=1e-6), (ours["mse"], theirs["mse"])
