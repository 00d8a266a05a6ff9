"""The test profile through a real scheduler: a one-node Slurm cluster on this machine (setup/slurm/).

`make test-slurm` (root: it installs Debian's slurm-wlm and munge when missing). Every task must go
through sbatch, and the results must equal a local run's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, Run, assert_no_partial_files, assert_published_files_whole, assert_same_results, read_trace, run_nextflow, run_params

pytestmark = pytest.mark.slurm

SLURM = REPO / "setup" / "slurm"


@pytest.fixture(scope="module")
def slurm_cluster():
    """munged + slurmctld + slurmd with all state in a fresh folder; SLURM_CONF points the clients at it."""
    state = Path(tempfile.mkdtemp(prefix="a2e-slurm-", dir="/tmp"))  # short: the munge socket path has a length limit
    started = subprocess.run(["bash", str(SLURM / "start.sh"), str(state)], capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        subprocess.run(["bash", str(SLURM / "stop.sh"), str(state)], capture_output=True, timeout=120)
        pytest.fail(f"could not start the test Slurm cluster:\n{started.stderr[-3000:]}")
    conf = re.search(r'SLURM_CONF="([^"]+)"', started.stdout).group(1)
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    try:
        yield state
    finally:
        subprocess.run(["bash", str(SLURM / "stop.sh"), str(state)], capture_output=True, timeout=120)
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
        shutil.rmtree(state, ignore_errors=True)


def slurm_jobs() -> dict[str, str]:
    """Job id -> job name of every job slurmctld remembers (finished ones included, MinJobAge)."""
    out = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%i %j"], capture_output=True, text=True, check=True).stdout
    return dict(line.split(maxsplit=1) for line in out.splitlines() if line.strip())


def test_cluster_is_up(slurm_cluster):
    state = subprocess.run(["sinfo", "--noheader", "--format=%P %t %c %m"], capture_output=True, text=True, check=True).stdout
    assert re.match(r"debug\* idle \d+ \d+", state.strip()), state


def test_pipeline_through_sbatch_equals_a_local_run(slurm_cluster, shared_run: Run, test_data, tmp_path):
    # the profile's polling suits a real cluster; poll every second so the test does not wait for nothing
    (tmp_path / "poll.config").write_text("executor { pollInterval = '1 sec'; queueStatInterval = '2 sec' }\n")
    outdir = tmp_path / "results"
    result = run_nextflow([*run_params(test_data, profile="test,slurm"), "-c", str(tmp_path / "poll.config"),
                           "--outdir", str(outdir), "-with-trace", str(tmp_path / "trace.txt")], cwd=tmp_path, timeout=1500)
    logs = "\n".join(p.read_text()[-1500:] for p in slurm_cluster.glob("log/slurm*.log"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:] + logs

    trace = read_trace(tmp_path / "trace.txt")
    assert len(trace) >= 30 and all(row["status"] == "COMPLETED" for row in trace)
    jobs = slurm_jobs()
    # the guard's step runs in Nextflow itself (a native task, no job); every other task is a Slurm job
    native = [row for row in trace if row["process"].endswith("REPLACE_OUTPUTS")]
    submitted = [row for row in trace if row not in native]
    assert len(native) == 1
    for row in submitted:
        # native_id is sbatch's job id (the local executor would give a process id): a job slurmctld ran
        assert row["native_id"].isdigit() and jobs.get(row["native_id"], "").startswith("nf-"), (row["name"], row["native_id"], jobs)
        assert "#SBATCH" in (Path(row["workdir"]) / ".command.run").read_text()
    assert len({row["native_id"] for row in submitted}) == len(submitted)

    assert_same_results(outdir, shared_run.outdir)
    assert_published_files_whole(outdir, shared_run.outdir)
    assert_no_partial_files(outdir)
