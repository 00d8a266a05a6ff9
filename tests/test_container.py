"""The test profile in the pipeline's image under the two container engines Debian packages, podman and Docker
Engine: every task runs in the image, and the results equal those of the one run without containers that the
end-to-end tests share (conftest.shared_run), compared the same way for both engines.

`make test-container` (root, Debian) sets the engines up, each through its script (cached: later calls take a second):
  - podman: setup/container/build.sh installs podman, runc and debootstrap when missing and builds the image without
    a registry, from a debootstrapped Debian base and a wheelhouse;
  - Docker Engine: setup/container/docker.sh installs Debian's docker.io when there is no dockerd, starts dockerd when
    none answers (no systemd needed; its log in the cache), puts the engine's own client first on PATH, and copies
    the same image into Docker (podman save | docker load), so both engines run the very same layers.
Where a script cannot run here (not root, or a tool is missing and there is no apt-get to install it; exit status 77)
the tests skip and say why; when it fails as root (an apt-get install, the build, dockerd), they fail.

Not exercised here: Singularity/Apptainer (Debian 12 has no package of either), rootless podman or Docker,
`docker build` of the Dockerfile (Docker gets podman's image), and GPUs in containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, Run, assert_no_partial_files, assert_same_results, assert_success, nextflow_run, published_files, run_params, trace_names

pytestmark = pytest.mark.container

# the script that installs, starts and fills each engine; it prints the environment that runs the image
SETUP = {"podman": REPO / "setup" / "container" / "build.sh", "docker": REPO / "setup" / "container" / "docker.sh"}
CANNOT_HERE = 77  # the scripts' exit status for "not possible on this machine" (setup/container/common.sh)


@dataclass(frozen=True)
class Engine:
    name: str             # the engine's command: podman or docker
    image: str            # the image's hashed tag in that engine
    env: dict[str, str]   # what the engine's commands and Nextflow need: CONTAINERS_CONF; DOCKER_HOST and PATH

    def run(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run([self.name, *args], env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=timeout)


_engines: dict[str, Engine] = {}


def set_up(name: str, config: pytest.Config) -> Engine:
    """The engine `name` with the image, set up by its script once per session; a skip or a failure says why."""
    if name in _engines:
        return _engines[name]
    if "container" not in (config.option.markexpr or ""):
        # the first build takes minutes and fills several GB: only a run that asks for it builds
        pytest.skip("runs only when selected with -m container (make test-container)")
    result = subprocess.run(["bash", str(SETUP[name])], capture_output=True, text=True, timeout=3600)
    script = SETUP[name].relative_to(REPO)
    if result.returncode == CANNOT_HERE:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "not possible on this machine"
        pytest.skip(f"{name}: {script}: {reason.removeprefix('container: ')}")
    if result.returncode != 0:
        pytest.fail(f"{script} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    exports = dict(re.findall(r'^export (\w+)="([^"]*)"$', result.stdout, flags=re.MULTILINE))
    assert "ATAC2EXPR_IMAGE" in exports, result.stdout
    image = exports.pop("ATAC2EXPR_IMAGE")
    env = {key: value.replace("$PATH", os.environ["PATH"]) for key, value in exports.items()}
    _engines[name] = Engine(name, image, env)
    return _engines[name]


@pytest.fixture(scope="session", params=["podman", "docker"])
def engine(request) -> Engine:
    """Each engine in turn. Session-scoped and first in the tests' arguments, so that a skip comes before the shared
    run is made."""
    return set_up(request.param, request.config)


@pytest.fixture(scope="session")
def docker(request) -> Engine:
    return set_up("docker", request.config)


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
            computed = [c for c in numeric if "seconds" not in c]  # how long a fit took is not what it computed
            assert np.allclose(mine[computed], other[computed], rtol=1e-5, atol=1e-8, equal_nan=True), name


def in_image(engine: Engine, script: str) -> str:
    """stdout of a bash script run in a fresh container of the image, without network."""
    result = engine.run("run", "--rm", "--network=none", engine.image, "bash", "-c", script)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def files_under(*folders: Path) -> list[Path]:
    return [Path(root) / name for folder in folders for root, dirs, files in os.walk(folder) for name in dirs + files]


def test_image_holds_the_pinned_tools_and_nothing_of_the_build(engine):
    report = json.loads(in_image(engine, """python - <<'EOF'
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
    assert in_image(engine, f"ls -A /tmp; ls -A /root/.cache 2>/dev/null; for s in {scripts}; do command -v $s; done; true").split() == []


def test_pipeline_in_the_container_equals_a_local_run(engine, shared_run: Run, test_data, tmp_path):
    # the trace names each task's container
    (tmp_path / "trace.config").write_text("trace.fields = 'task_id,hash,native_id,process,tag,name,status,exit,duration,realtime,workdir,container'\n")
    launch = tmp_path / engine.name
    run = assert_success(nextflow_run(launch, [*run_params(test_data, profile=f"test,{engine.name}"), "--container", engine.image,
                                               "-c", str(tmp_path / "trace.config")], timeout=1800, env=engine.env))
    trace, outdir = run.trace, run.outdir
    assert trace and all(row["status"] == "COMPLETED" for row in trace)
    # the same tasks as the run without containers, each started by `<engine> run` of the image
    assert trace_names(trace) == trace_names(shared_run.trace)
    # the guard's step runs in Nextflow itself (a native task: no container, no wrapper); every other task in the image
    native = [row for row in trace if row["process"].endswith("REPLACE_OUTPUTS")]
    assert len(native) == 1 and native[0]["container"] == "-", native
    for row in (row for row in trace if row not in native):
        assert row["container"] == engine.image, (row["name"], row["container"])
        wrapper = (Path(row["workdir"]) / ".command.run").read_text()
        started = re.findall(rf"^.*{engine.name} run .*{re.escape(engine.image)}.*$", wrapper, flags=re.MULTILINE)
        assert started, f"{row['name']}: no `{engine.name} run {engine.image}` in .command.run"
        if engine.name == "docker":
            # -profile docker runs each task as the user who runs Nextflow
            assert all("-u $(id -u):$(id -g)" in line for line in started), f"{row['name']}: {started}"
    # Nextflow removes each task's container when it ends
    left = engine.run("ps", "--all", "--filter", f"ancestor={engine.image}", "--format", "{{.Names}} {{.Status}}")
    assert left.returncode == 0 and not left.stdout.strip(), f"containers left behind:\n{left.stdout}{left.stderr}"
    # every file of the run, task folders and results, belongs to the user who ran Nextflow (root here)
    owners = {(path.lstat().st_uid, path.lstat().st_gid) for path in files_under(launch / "work", outdir)}
    assert owners == {(os.getuid(), os.getgid())}, owners

    assert_same_results(outdir, shared_run.outdir)
    assert_same_published_files(outdir, shared_run.outdir)
    assert_no_partial_files(outdir)


def test_docker_client_is_the_daemons(docker):
    # the engine's own client comes first on the PATH that Nextflow gets: another docker CLI on PATH (a newer one,
    # without an engine) is not the one that starts the tasks
    versions = docker.run("version", "--format", "{{.Client.Version}} {{.Server.Version}}")
    assert versions.returncode == 0, versions.stderr
    client, server = versions.stdout.split()
    assert client == server, versions.stdout


def test_docker_task_files_belong_to_the_user_it_runs_as(docker, tmp_path):
    """What -u $(id -u):$(id -g) gives a user who is not root: the image runs as a user it has no account for (no
    home folder) and the task's files are that user's."""
    folder = tmp_path / "task"
    folder.mkdir()
    folder.chmod(0o777)
    script = ("python -c 'import matplotlib.pyplot as plt, torch; plt.plot([0, 1]); plt.savefig(\"figure.png\")'"
              " && kallisto version > kallisto.txt && id -u > uid.txt")
    result = docker.run("run", "--rm", "--network=none", "-u", "4321:4321", "-v", f"{folder}:{folder}", "-w", str(folder),
                        docker.image, "bash", "-c", script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (folder / "uid.txt").read_text().strip() == "4321"
    assert {(path.stat().st_uid, path.stat().st_gid) for path in folder.iterdir()} == {(4321, 4321)}
