"""The pipeline's version is written once, in bin/atac2expr/__init__.py; everything else reads or follows it."""

from __future__ import annotations

import re

from atac2expr import __version__
from atac2expr.parameters import load_schema, schema_properties
from conftest import REPO

SEMVER = re.compile(r"\d+\.\d+\.\d+(?:[-+][\w.]+)?")


def test_the_version_is_a_release_number():
    assert SEMVER.fullmatch(__version__)


def test_nextflow_config_reads_the_version_from_the_package():
    config = (REPO / "nextflow.config").read_text()
    assert "bin/atac2expr/__init__.py" in config and "version         = pipelineVersion" in config
    manifest = config.split("manifest {")[1].split("}")[0]
    assert not re.search(r"^\s*version\s*=\s*['\"]", manifest, flags=re.MULTILINE)


def test_the_default_image_follows_the_version():
    raw = (REPO / "nextflow_schema.json").read_text()
    assert '"default": "atac2expr:${version}"' in raw
    assert schema_properties(load_schema(REPO / "nextflow_schema.json"))["container"]["default"] == f"atac2expr:{__version__}"


def test_no_file_writes_another_version():
    """Image tags and labels in the README and docs/, the Dockerfile and the container build say this version, or none."""
    documents = ["README.md", *(str(p.relative_to(REPO)) for p in sorted((REPO / "docs").glob("*.md")))]
    for name in (*documents, "Dockerfile", "setup/container/build.sh"):
        text = (REPO / name).read_text()
        for tag in re.findall(r"atac2expr:(\d+\.\d+\.\d+)", text) + re.findall(r'image\.version="(\d+\.\d+\.\d+)"', text):
            assert tag == __version__, f"{name}: version {tag}, the package says {__version__}"
