"""The installable package (pyproject.toml): `pip install .` gives atac2expr with the assets it reads and one console
script per command; bin/ holds only Nextflow's thin wrappers of atac2expr.commands; torch stays in modelling/."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from atac2expr import __version__
from conftest import BIN, REPO

COMMANDS = sorted(p.stem for p in (BIN / "atac2expr" / "commands").glob("*.py") if p.stem != "__init__")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def console_script(command: str) -> str:
    return "atac2expr-" + command.replace("_", "-")


def wrapper_text(command: str) -> str:
    """The whole of bin/<command>.py: what Nextflow runs; the code and the help are in atac2expr.commands.<command>."""
    return f'''#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.{command} (its code and help are there; `pip install .` installs it as
{console_script(command)})."""

import sys

from atac2expr.commands.{command} import main

if __name__ == "__main__":
    sys.exit(main())
'''


def test_every_command_has_a_console_script():
    assert COMMANDS
    assert PYPROJECT["project"]["scripts"] == {console_script(c): f"atac2expr.commands.{c}:main" for c in COMMANDS}


def test_bin_holds_only_a_thin_executable_wrapper_per_command():
    assert sorted(p.stem for p in BIN.glob("*.py")) == COMMANDS
    for command in COMMANDS:
        path = BIN / f"{command}.py"
        assert path.read_text() == wrapper_text(command), f"{path.name} is not the wrapper of atac2expr.commands.{command}"
        assert os.access(path, os.X_OK), f"{path.name} is not executable: Nextflow runs it from PATH"


def test_only_the_modelling_package_imports_torch():
    """Every module outside atac2expr/modelling/ (the commands and bin/'s wrappers included) reaches torch only through
    modelling/, at any depth of its code: the python environment's processes have no torch."""
    modelling = BIN / "atac2expr" / "modelling"
    offenders = []
    for path in sorted(BIN.rglob("*.py")):
        if modelling in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(REPO)}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "torch"]
    assert not offenders, offenders


def test_the_package_version_and_dependencies_have_one_owner():
    """pyproject.toml writes neither: the version is the package's __version__, the dependencies requirements.txt's pins."""
    project = PYPROJECT["project"]
    assert "version" not in project and "dependencies" not in project
    assert set(project["dynamic"]) == {"version", "dependencies"}
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
    assert dynamic == {"version": {"attr": "atac2expr.__version__"}, "dependencies": {"file": ["requirements.txt"]}}


def requirement_lines() -> list[str]:
    return [line.split("#", 1)[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.split("#", 1)[0].strip()]


# what the installed package reports about itself, run with only the install folder on PYTHONPATH
PROBE = """
import importlib.metadata, json
import atac2expr
from atac2expr import formats, genomes, link_scores, model_registry
distribution = importlib.metadata.distribution("atac2expr")
print(json.dumps({
    "file": atac2expr.__file__, "version": atac2expr.__version__, "metadata_version": distribution.version,
    "requires": distribution.requires,
    "scripts": {e.name: e.value for e in distribution.entry_points if e.group == "console_scripts"},
    "assets": str(formats.ASSETS), "samplesheet": formats.samplesheet_columns("peaks"),
    "combiner": link_scores.COMBINER.is_file(), "genomes": genomes.names(), "models": model_registry.names(),
    "chrom_sizes": sorted(p.name for p in formats.ASSETS.glob("*.chrom.sizes")),
}))
"""


def test_pip_install_gives_the_package_with_its_assets_and_commands(tmp_path):
    """`pip install --no-deps --no-build-isolation .` offline (no index) into a folder: the package imports from there,
    with its JSON files and the pipeline's assets inside it, the version of the repository, requirements.txt's pins, and
    a console script that runs."""
    # a copy of what the build reads (the repository's top-level files, bin/ and assets/): an in-tree build would write
    # its egg-info into bin/, which every task stages
    source = tmp_path / "source"
    source.mkdir()
    for path in REPO.iterdir():
        if path.is_file():
            shutil.copy2(path, source / path.name)
    for folder in ("bin", "assets"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "installed"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--no-cache-dir", "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)],
                         capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]

    # nothing of the repository on the path: the installed copy alone
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    found = json.loads(probe.stdout)
    assert Path(found["file"]).parent == target / "atac2expr"
    assert found["version"] == found["metadata_version"] == __version__
    assert found["requires"] == requirement_lines()
    assert found["scripts"] == PYPROJECT["project"]["scripts"]
    assert Path(found["assets"]) == target / "atac2expr" / "assets"
    assert found["samplesheet"] == ["sample", "peaks"] and found["combiner"]
    assert found["genomes"] and found["models"]
    assert found["chrom_sizes"] == sorted(p.name for p in (REPO / "assets").glob("*.chrom.sizes"))
    # every module and data file of the package, in every subpackage, and nothing else but the assets' copy
    def files_of(root: Path) -> set[Path]:
        return {p.relative_to(root) for p in (root / "atac2expr").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert {p for p in files_of(target) if p.parts[1] != "assets"} == files_of(BIN)

    script = target / "bin" / console_script("define_bins")
    run = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith(f"usage: {script.name} ") and "--bin_size" in run.stdout
