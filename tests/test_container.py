"""The test profile in the image of the Dockerfile: every task through `podman run`, results equal to a run without one.

`make test-container` (root: setup/container/build.sh installs podman, runc and debootstrap when missing and
builds the image without a registry, from a debootstrapped Debian base and a wheelhouse). Docker Engine and
Singularity/Apptainer are not exercised here: the same image and wrapper, other engines.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, Run, assert_no_partial_files, assert_same_results, assert_success, nextflow_run, published_files, run_params, trace_names

pytestmark = pytest.mark.container

BUILD = REPO / "setup" / "container" / "build.sh"


def normalized(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503): PyYAML = pyyaml, sorted_nearest = sorted-nearest."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_pins(path: Path) -> dict[str, str]:
    """name -> version of the `name==version` lines of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalized(name)] = version.strip()
    return pins


@pytest.fixture(scope="session")
def image(request) -> str:
    """The image built (or found in podman's cache) by setup/container/build.sh; CONTAINERS_CONF set as it says.
    Session-scoped and first in the tests' arguments, so that a skip comes before the shared run is made."""
    if "container" not in (request.config.option.markexpr or ""):
        # the first build takes long and fills several GB: only a run that asks for it builds
        pytest.skip("runs only when selected with -m container (make test-container)")
    if os.geteuid() != 0:
        pytest.skip("needs root: the base image is made with debootstrap and podman runs as root (make test-container as root)")
    if shutil.which("podman") is None and shutil.which("apt-get") is None:
        pytest.skip("podman is not installed and there is no apt-get to install it")
    built = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=3600)
    if built.returncode != 0:
        pytest.fail(f"setup/container/build.sh failed:\n{built.stderr[-4000:]}")
    exports = dict(re.findall(r'^export (\w+)="([^"]*)"$', built.stdout, flags=re.MULTILINE))
    assert "ATAC2EXPR_IMAGE" in exports, built.stdout
    previous = os.environ.get("CONTAINERS_CONF")
    if "CONTAINERS_CONF" in exports:
        os.environ["CONTAINERS_CONF"] = exports["CONTAINERS_CONF"]
    try:
        yield exports["ATAC2EXPR_IMAGE"]
    finally:
        if previous is None:
            os.environ.pop("CONTAINERS_CONF", None)
        else:
            os.environ["CONTAINERS_CONF"] = previous


def assert_same_published_files(outdir: Path, reference: Path) -> None:
    """The same files as the run without containers: data files (annotation, bins, quantifications, expression,
    dataset) equal, every other table equal within floating-point rounding.

    .npz files are compared by their arrays: their zip headers depend on the Python patch version (zipfile), and the
    image's Python is not the host's. JSON files are run records (versions, times): they are checked readable.
    """
    ours, theirs = published_files(outdir), published_files(reference)
    assert set(ours) == set(theirs), sorted(set(ours) ^ set(theirs))
    for name, path in ours.items():
        if path.suffix == ".npz":
            with np.load(path) as mine, np.load(theirs[name]) as other:
                assert sorted(mine.files) == sorted(other.files), name
                for key in other.files:
                    assert np.array_equal(mine[key], other[key]), f"{name}: {key} differs"
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif name.startswith(("annotation/", "bins/", "quant/", "expression/", "dataset/")):
            assert path.read_bytes() == theirs[name].read_bytes(), f"{name} differs from the run without containers"
        elif path.suffix == ".tsv":
            mine, other = pd.read_csv(path, sep="\t"), pd.read_csv(theirs[name], sep="\t")
            assert list(mine.columns) == list(other.columns) and mine.shape == other.shape, name
            numeric = other.select_dtypes("number").columns
            assert mine.drop(columns=numeric).equals(other.drop(columns=numeric)), name
            assert np.allclose(mine[numeric], other[numeric], rtol=1e-5, atol=1e-8, equal_nan=True), name


def in_image(image: str, script: str) -> str:
    """stdout of a bash script run in a fresh container of the image, without network."""
    result = subprocess.run(["podman", "run", "--rm", "--network=none", image, "bash", "-c", script],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_image_holds_the_pinned_tools_and_nothing_of_the_build(image):
    report = json.loads(in_image(image, """python - <<'EOF'
import importlib, importlib.metadata, json, shutil, subprocess, sys
modules = ["torch", "numpy", "pandas", "pysam", "pyranges", "yaml", "matplotlib", "jsonschema"]
for module in modules:
    importlib.import_module(module)
installed = {d.metadata["Name"]: d.version for d in importlib.metadata.distributions()}
print(json.dumps({
    "python": "%d.%d" % sys.version_info[:2], "executable": sys.executable, "packages": installed,
    "kallisto": subprocess.run(["kallisto", "version"], capture_output=True, text=True).stdout.strip(),
    "ps": shutil.which("ps"), "imported": modules,
}))
EOF"""))
    assert report["python"] == "3.11" and report["executable"].startswith("/opt/venv/"), report["executable"]
    installed = {normalized(name): version for name, version in report["packages"].items()}
    # every runtime pin at its version, and every other package at the version constraints.txt fixes
    runtime = requirement_pins(REPO / "requirements.txt")
    assert {name: installed.get(name) for name in runtime} == runtime
    constraints = requirement_pins(REPO / "constraints.txt")
    unpinned = set(installed) - set(constraints) - {"pip", "setuptools", "wheel"}  # the virtualenv's own
    assert not unpinned, f"installed in the image but not in constraints.txt: {sorted(unpinned)}"
    assert {name: installed[name] for name in installed if name in constraints} == \
        {name: constraints[name] for name in installed if name in constraints}
    # the test tools of requirements-dev.txt stay out of the image
    dev = set(requirement_pins(REPO / "requirements-dev.txt"))
    assert not dev & set(installed), dev & set(installed)
    # the same kallisto as a run without containers, or the quantifications could differ
    assert report["kallisto"].startswith("kallisto, version "), report["kallisto"]
    if shutil.which("kallisto"):
        host = subprocess.run(["kallisto", "version"], capture_output=True, text=True).stdout.strip()
        assert report["kallisto"] == host
    assert report["ps"], "no ps in the image: Nextflow's task wrapper needs it"
    # neither the build context (wheels) nor pip's cache is left in the image, nor the pipeline's bin/ (mounted per task)
    scripts = " ".join(path.name for path in (REPO / "bin").glob("*.py"))
    assert in_image(image, f"ls -A /tmp; ls -A /root/.cache 2>/dev/null; for s in {scripts}; do command -v $s; done; true").split() == []


def test_pipeline_in_podman_equals_a_local_run(image, shared_run: Run, test_data, tmp_path):
    # the trace names each task's container
    (tmp_path / "trace.config").write_text("trace.fields = 'task_id,hash,native_id,process,tag,name,status,exit,workdir,container'\n")
    run = assert_success(nextflow_run(tmp_path / "podman", [*run_params(test_data, profile="test,podman"), "--container", image,
                                                           "-c", str(tmp_path / "trace.config")], timeout=1800))
    trace, outdir = run.trace, run.outdir
    assert trace and all(row["status"] == "COMPLETED" for row in trace)
    # the same tasks as the run without containers, each started by `podman run` of the image
    assert trace_names(trace) == trace_names(shared_run.trace)
    for row in trace:
        assert row["container"] == image, (row["name"], row["container"])
        wrapper = (Path(row["workdir"]) / ".command.run").read_text()
        assert re.search(rf"podman run .*{re.escape(image)}", wrapper), f"{row['name']}: no `podman run {image}` in .command.run"
    # Nextflow removes each task's container when it ends
    left = subprocess.run(["podman", "ps", "--all", "--filter", f"ancestor={image}", "--format", "{{.Names}} {{.Status}}"],
                          capture_output=True, text=True, check=True).stdout
    assert not left.strip(), f"containers left behind:\n{left}"

    assert_same_results(outdir, shared_run.outdir)
    assert_same_published_files(outdir, shared_run.outdir)
    assert_no_partial_files(outdir)
