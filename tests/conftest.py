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
