"""Shared pytest setup: bin/ on sys.path so tests import the scripts and the atac2expr package."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "bin"
if str(BIN) not in sys.path:
    sys.path.insert(0, str(BIN))


import csv  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

import pytest  # noqa: E402


def run_nextflow(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """`nextflow run main.nf ARGS` launched from `cwd` (its work/ and .nextflow/ stay there)."""
    if shutil.which("nextflow") is None:
        pytest.fail("nextflow is not on PATH: run the tests through `make test`")
    env = {**os.environ, "NXF_ANSI_LOG": "false"}
    return subprocess.run(["nextflow", "run", str(REPO / "main.nf"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def read_trace(path: Path) -> list[dict[str, str]]:
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="session")
def test_data(tmp_path_factory) -> Path:
    """The bundled test dataset, generated once per test session by bin/make_test_data.py."""
    outdir = tmp_path_factory.mktemp("test_data")
    subprocess.run([sys.executable, str(BIN / "make_test_data.py"), "--outdir", str(outdir)], check=True,
                   capture_output=True, text=True)
    return outdir


def data_params(data: Path) -> list[str]:
    return ["--input", str(data / "samplesheet.csv"), "--gtf", str(data / "genes.gtf.gz"),
            "--transcriptome", str(data / "transcriptome.fa.gz")]


# --- Issue 5 (tests/test_slurm.py, tests/test_faults.py): one uninterrupted reference run and result comparisons ---
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REFERENCE_EPOCHS = "50"  # short training: the runs compared with the reference use the same
# the smallest full graph (one model, no cross-validation): 2 shared cores, several runs per test
REFERENCE_MODEL_PARAMS = ["--model", "mlp", "--evaluate", "false", "--epochs", REFERENCE_EPOCHS]


def reference_params(data: Path, profile: str = "test") -> list[str]:
    """Parameters of the reference run; a run compared with it adds only --outdir, traces, -resume or a profile."""
    return ["-profile", profile, *data_params(data), *REFERENCE_MODEL_PARAMS]


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: runs the pipeline through a one-node Slurm cluster started by setup/slurm/ "
                                       "(root; `make test-slurm`; excluded from `make test`)")


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, test_data) -> Path:
    """--outdir of one uninterrupted local run of the test profile (REFERENCE_MODEL_PARAMS)."""
    launch = tmp_path_factory.mktemp("reference")
    outdir = launch / "results"
    result = run_nextflow([*reference_params(test_data), "--outdir", str(outdir), "-with-trace", str(launch / "trace.txt")], cwd=launch)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return outdir


# published files whose bytes do not depend on when or where a run happened
_TIMESTAMPED = {"run_info.json"}


def published_files(outdir: Path) -> dict[str, Path]:
    """Files under outdir by relative path, without Nextflow's own run reports (named by their start time)."""
    return {str(p.relative_to(outdir)): p for p in sorted(outdir.rglob("*"))
            if p.is_file() and not p.name.startswith(("execution_report", "execution_timeline", "execution_trace"))}


def assert_no_partial_files(outdir: Path) -> None:
    """Every output is written under a temporary name and renamed (bin/atac2expr/files.py): none may remain."""
    leftovers = [str(p) for p in outdir.rglob("*") if ".part" in p.name or p.name.startswith(".nfs")]
    assert not leftovers, leftovers


def assert_published_files_whole(outdir: Path, reference: Path, all_present: bool = True) -> None:
    """Files in outdir are complete: equal to the reference's where the bytes are reproducible, else readable."""
    import json
    import zipfile
    ours, theirs = published_files(outdir), published_files(reference)
    if all_present:
        assert set(ours) == set(theirs), sorted(set(ours) ^ set(theirs))
    for name, path in ours.items():
        assert name in theirs, f"unexpected file {name}"
        if name.startswith(("bins/", "quant/", "expression/", "dataset/")) and path.name not in _TIMESTAMPED:
            assert path.read_bytes() == theirs[name].read_bytes(), f"{name} differs from the uninterrupted run's"
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".png":
            assert path.read_bytes().endswith(b"IEND\xaeB`\x82"), f"{name}: truncated PNG"
        elif path.suffix == ".pt":
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None, f"{name}: corrupt"
        else:
            assert path.stat().st_size > 0, f"{name} is empty"


def assert_same_results(outdir: Path, reference: Path) -> None:
    """dataset.npz arrays identical, gene_tpm.tsv identical, predictions within 1e-5."""
    with np.load(outdir / "dataset" / "dataset.npz") as ours, np.load(reference / "dataset" / "dataset.npz") as theirs:
        assert sorted(ours.files) == sorted(theirs.files)
        for key in theirs.files:
            assert np.array_equal(ours[key], theirs[key]), f"dataset.npz: {key} differs"
    assert (outdir / "expression" / "gene_tpm.tsv").read_bytes() == (reference / "expression" / "gene_tpm.tsv").read_bytes()
    ours = pd.read_csv(outdir / "model" / "mlp" / "predictions.tsv", sep="\t")
    theirs = pd.read_csv(reference / "model" / "mlp" / "predictions.tsv", sep="\t")
    assert list(ours.columns) == list(theirs.columns) and len(ours) == len(theirs) > 0
    assert ours[["sample", "gene_id"]].equals(theirs[["sample", "gene_id"]])
    for column in ("observed", "predicted"):
        assert np.allclose(ours[column], theirs[column], rtol=0, atol=1e-5), column
    for column in ("observed_tpm", "predicted_tpm"):
        assert np.allclose(ours[column], theirs[column], rtol=1e-5, atol=1e-5), column


def trace_names(trace: list[dict[str, str]], *statuses: str) -> set[str]:
    """Task names (process without the workflow prefix, and tag) of the trace rows with one of the statuses."""
    return {row["name"].split(":")[-1] for row in trace if not statuses or row["status"] in statuses}
