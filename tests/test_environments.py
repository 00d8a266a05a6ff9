"""Each process's scripts need only the packages of its environment file: what -profile conda builds (envs/*.yml).

A process names its environment with `conda "${moduleDir}/../envs/<name>.yml"` and runs scripts of bin/. Two checks,
for every (process, script):
- statically, the script's imports and those of the atac2expr modules it reaches (function-level imports
  included) use only the third-party packages of that environment; a failure names the import chain;
- for real, the script runs `--help` in a Python whose import system refuses every package of the project's
  environments that this environment lacks (what a conda environment without them would do); the scripts of one
  environment share that Python.
The pins of envs/*.yml and requirements.txt are kept equal here too.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import deque
from functools import cache
from pathlib import Path

import pytest
import yaml

from conftest import BIN, REPO

# conda package -> the module Python imports (None: not a Python package); PyPI names where they differ
IMPORT_NAME = {"python": None, "kallisto": None, "numpy": "numpy", "pandas": "pandas", "pyyaml": "yaml", "jsonschema": "jsonschema",
               "python-isal": "isal", "pysam": "pysam", "pyranges": "pyranges", "pytorch": "torch", "matplotlib-base": "matplotlib",
               "multiqc": "multiqc", "pybigwig": "pyBigWig"}
PYPI_NAME = {"python-isal": "isal", "pytorch": "torch", "matplotlib-base": "matplotlib", "pybigwig": "pybigwig"}
PACKAGE = "atac2expr"


def conda_packages(env: Path) -> dict[str, str]:
    """name -> version of an environment file's `channel::name=version` dependencies."""
    packages = {}
    for dependency in yaml.safe_load(env.read_text())["dependencies"]:
        spec = str(dependency).split("::")[-1]
        name, _, version = spec.partition("=")
        packages[name.strip().lower()] = version.strip("=").strip()
    return packages


@cache
def environments() -> dict[str, set[str]]:
    """envs/<name>.yml -> the modules its Python can import (third-party, top level)."""
    result = {}
    for env in sorted((REPO / "envs").glob("*.yml")):
        names = conda_packages(env)
        unknown = sorted(set(names) - set(IMPORT_NAME))
        assert not unknown, f"{env.name}: add {unknown} to IMPORT_NAME in {Path(__file__).name}"
        result[env.stem] = {IMPORT_NAME[n] for n in names if IMPORT_NAME[n]}
    return result


def module_environment(text: str) -> str | None:
    """The envs/<name>.yml a module's process names with `conda`: its name."""
    env = re.search(r'conda\s+"\$\{moduleDir\}/\.\./envs/(\w+)\.yml"', text)
    return env[1] if env else None


def processes() -> list[tuple[str, str, str]]:
    """(process, environment, script) for every bin/ script a process of modules/ runs."""
    scripts = {p.name for p in BIN.glob("*.py")}
    found = []
    for module in sorted((REPO / "modules").glob("*.nf")):
        text = module.read_text()
        name = re.search(r"^process\s+(\w+)", text, flags=re.MULTILINE)[1]
        if re.search(r"^\s+exec:", text, flags=re.MULTILINE):
            continue  # a native task runs in Nextflow itself: no environment, no script
        env = module_environment(text)
        assert env, f"{module.name}: no conda environment of envs/"
        for script in sorted(set(re.findall(r"\b([a-z_]+\.py)\b", text)) & scripts):
            found.append((name, env, script))
    return found


def test_every_script_runs_in_some_process():
    assert {p.name for p in BIN.glob("*.py")} == {script for _, _, script in processes()}


# ---------------------------------------------------------------- static: the import closure

def _imports(path: Path, module: str) -> list[str]:
    """Absolute names of every module `path` imports, at any depth of its code (function-level imports too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            names.append(parent)
            names += [f"{parent}.{alias.name}" for alias in node.names]  # `from pkg import module`
    return names


def _source(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = BIN.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def third_party_imports(script: str) -> dict[str, list[str]]:
    """top-level third-party module -> the import chain by which `script` reaches it."""
    stdlib = sys.stdlib_module_names
    chains: dict[str, list[str]] = {}
    queue = deque([(BIN / script, script.removesuffix(".py"), [script])])
    seen = set()
    while queue:
        path, module, chain = queue.popleft()
        if module in seen:
            continue
        seen.add(module)
        for name in _imports(path, module):
            top = name.split(".")[0]
            if top == PACKAGE:
                source = _source(name)
                if source is not None:
                    # a package's __init__ runs before its modules
                    for parent in [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]:
                        init = _source(parent)
                        if init is not None:
                            queue.append((init, parent, [*chain, parent]))
                    queue.append((source, name, [*chain, name]))
            elif top and top not in stdlib and top != "__future__":
                chains.setdefault(top, [*chain, top])
    return chains


@pytest.mark.parametrize("process, env, script", processes())
def test_imports_of_a_process_are_in_its_environment(process, env, script):
    allowed = environments()[env]
    missing = {top: chain for top, chain in third_party_imports(script).items() if top not in allowed}
    assert not missing, (f"{process} runs {script} in envs/{env}.yml, which lacks "
                         + "; ".join(f"{top} (imported by {' -> '.join(chain)})" for top, chain in sorted(missing.items())))


# ---------------------------------------------------------------- for real: --help without the other packages

GUARD = """
import contextlib, importlib.abc, io, json, runpy, sys
blocked = set(sys.argv[1].split(",")) - {""}
class Guard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in this process's environment)")
        return None
sys.meta_path.insert(0, Guard())
results = {}
for script in sys.argv[2:]:
    sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
    sys.argv = [script, "--help"]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exit:
            code = exit.code or 0
        except BaseException as error:  # noqa: BLE001 - reported per script
            code, err = 1, io.StringIO(f"{type(error).__name__}: {error}")
    results[script] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()[-2000:]}
print(json.dumps(results))
"""


def run_guarded(scripts: list[Path], blocked: list[str]) -> dict[str, dict]:
    """Each script's `--help` in one Python whose import system refuses the blocked packages: script -> its exit code and
    output. The scripts of one environment share the Python (what one of them imports, the others may import too)."""
    result = subprocess.run([sys.executable, "-c", GUARD, ",".join(blocked), *map(str, scripts)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("env", sorted({env for _, env, _ in processes()}))
def test_the_process_scripts_run_with_only_their_environment(env):
    every = set().union(*environments().values())
    blocked = sorted(every - environments()[env])
    users: dict[str, list[str]] = {}
    for process, process_env, script in processes():
        if process_env == env:
            users.setdefault(script, []).append(process)
    results = run_guarded([BIN / script for script in sorted(users)], blocked)
    failed = {script: result for script, result in results.items() if result["code"] != 0 or "usage:" not in result["stdout"]}
    assert not failed, "\n".join(f"{', '.join(users[Path(s).name])}: {Path(s).name} --help with {','.join(blocked)} hidden:\n"
                                  f"{r['stderr']}" for s, r in failed.items())


def test_the_guard_catches_a_hidden_import(tmp_path):
    """The check above fails where it should: a script that imports torch, run as a python-environment process."""
    script = tmp_path / "uses_torch.py"
    script.write_text("import argparse\nimport torch\nargparse.ArgumentParser().parse_args()\n")
    (result,) = run_guarded([script], ["torch"]).values()
    assert result["code"] != 0 and "No module named 'torch' (not in this process's environment)" in result["stderr"]


@pytest.mark.parametrize("module", sorted((REPO / "modules").glob("*.nf")), ids=lambda path: path.stem)
def test_versions_yml_reads_package_metadata_of_the_environment(module):
    """A task's versions.yml names the packages of its environment, read from their metadata: importing them only to
    print a version costs up to seconds per task (torch)."""
    text = module.read_text()
    env = module_environment(text)
    for command in re.findall(r"python3 -c '([^']*)'", text):
        if command == "import platform; print(platform.python_version())":
            continue
        package = re.fullmatch(r'from importlib\.metadata import version; print\(version\("([\w-]+)"\)\)', command)
        assert package, f"{module.name}: {command!r}: read the version with importlib.metadata, not by importing the package"
        assert env and package[1] in environments()[env], f"{module.name}: {package[1]} is not in its environment"


# ---------------------------------------------------------------- pins: envs/*.yml = requirements.txt

def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def test_conda_pins_equal_the_requirements():
    pins = requirement_pins()
    used = set()
    for env in sorted((REPO / "envs").glob("*.yml")):
        for name, version in conda_packages(env).items():
            if IMPORT_NAME.get(name) is None:
                continue
            pypi = PYPI_NAME.get(name, name)
            used.add(pypi)
            assert pypi in pins, f"{env.name}: {name} is not in requirements.txt"
            assert version == pins[pypi], f"{env.name}: {name}={version}, requirements.txt has {pypi}=={pins[pypi]}"
    assert set(pins) <= used, f"requirements.txt packages in no environment: {sorted(set(pins) - used)}"
