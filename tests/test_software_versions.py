"""bin/software_versions.py: the versions.yml of every process merged into one file."""

from __future__ import annotations

import yaml

from atac2expr.commands import software_versions


def run(tmp_path, *files):
    out = tmp_path / "out" / "software_versions.yml"
    code = software_versions.main(["--versions", *map(str, files), "--pipeline_version", "0.1.0", "--nextflow_version", "24.10.8",
                                   "--output", str(out)])
    return code, out


def test_merge(tmp_path):
    a = tmp_path / "a.yml"
    a.write_text('"ATAC2EXPR:TRAIN_MODEL":\n  python: 3.11.7\n  torch: 2.5.1\n')
    b = tmp_path / "b.yml"
    b.write_text("KALLISTO_QUANT:\n  kallisto: 0.50.1\n")
    c = tmp_path / "c.yml"
    c.write_text('"ATAC2EXPR:TRAIN_MODEL":\n  numpy: 2.1.0\n')
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    code, out = run(tmp_path, a, b, c, empty)
    assert code == 0
    merged = yaml.safe_load(out.read_text())
    assert merged == {
        "KALLISTO_QUANT": {"kallisto": "0.50.1"},
        "TRAIN_MODEL": {"python": "3.11.7", "torch": "2.5.1", "numpy": "2.1.0"},
        "Workflow": {"atac2expr": "0.1.0", "Nextflow": "24.10.8"},
    }
    assert list(merged) == sorted(merged)


def test_not_yaml_is_one_line_error_and_no_output(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("key: [unclosed\n")
    code, out = run(tmp_path, bad)
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert code == 2 and len(err) == 1 and err[0].startswith(f"ERROR: {bad}: not YAML")
    assert not out.exists()
