"""setup/container/*.sh tell "not possible here" (exit 77: the container tests skip) from a failure (the tests fail).

Runs the scripts' first steps only, with stand-ins for `id`, `apt-get` and `sleep` on PATH: no root, no network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

CONTAINER = REPO / "setup" / "container"
CANNOT_HERE = 77


def stand_ins(folder: Path, **commands: str) -> str:
    """A PATH with the given commands (name -> bash body) first."""
    folder.mkdir(exist_ok=True)
    for name, body in commands.items():
        (folder / name).write_text(f"#!/bin/bash\n{body}\n")
        (folder / name).chmod(0o755)
    return f"{folder}:{os.environ['PATH']}"


def run(script: str, path: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path, "ATAC2EXPR_HOME": str(tmp_path / "home")}
    return subprocess.run(["/bin/bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("script", ["build.sh", "docker.sh"])
def test_not_root_is_not_possible_here(script, tmp_path):
    path = stand_ins(tmp_path / "bin", id='[ "$1" = -u ] && echo 1000 || exec /usr/bin/id "$@"')
    result = run(f"bash {CONTAINER / script}", path, tmp_path)
    assert result.returncode == CANNOT_HERE, result.stderr
    assert "needs root" in result.stderr


def test_a_missing_tool_without_apt_get_is_not_possible_here(tmp_path):
    # only bash's builtins: no apt-get on PATH
    result = run(f"source {CONTAINER / 'common.sh'}; apt_install docker.io", str(tmp_path / "empty"), tmp_path)
    assert result.returncode == CANNOT_HERE, result.stderr
    assert "missing docker.io and no apt-get to install them" in result.stderr


@pytest.mark.parametrize("failing", ["update", "install"])
def test_a_failing_apt_get_is_an_error(failing, tmp_path):
    path = stand_ins(tmp_path / "bin", sleep="true", **{"apt-get": f'[ "$1" = {failing} ] && exit 100; exit 0'})
    result = run(f"source {CONTAINER / 'common.sh'}; apt_install docker.io", path, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "failed" in result.stderr.splitlines()[-1]
    assert result.stderr.count("retrying") == 2  # three attempts
