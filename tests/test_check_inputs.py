"""bin/check_inputs.py: the checked samplesheet it writes (absolute paths, JSON) and its one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atac2expr.commands import check_inputs

HEADER = "sample,fastq_1,fastq_2,peaks\n"
GOOD = HEADER + "A,a_R1.fastq.gz,a_R2.fastq.gz,a.bed\nB,b_R1.fastq.gz,,b.bed.gz\n"


def run(tmp_path: Path, text: str | bytes, *extra: str) -> tuple[int, Path]:
    path = tmp_path / "samplesheet.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    out = tmp_path / "out" / "samplesheet.valid.json"
    layout = [] if "--layout" in extra else ["--layout", "reads"]
    return check_inputs.main(["--samplesheet", str(path), "--output", str(out), *layout, *extra]), out


def read_back(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(the fields of the first row, the rows), as the workflow reads them"""
    rows = json.loads(path.read_text())
    return list(rows[0]), rows


def last_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    assert err[0].startswith("ERROR: ")
    return err[0]


def test_valid_samplesheet_resolves_relative_paths(tmp_path):
    code, out = run(tmp_path, GOOD)
    assert code == 0
    columns, rows = read_back(out)
    assert columns == ["sample", "fastq_1", "fastq_2", "peaks", "single_end", "line"]
    assert rows[0] == {"sample": "A", "fastq_1": [str(tmp_path / "a_R1.fastq.gz")], "fastq_2": [str(tmp_path / "a_R2.fastq.gz")],
                       "peaks": str(tmp_path / "a.bed"), "single_end": False, "line": 2}
    assert rows[1]["fastq_2"] == [] and rows[1]["single_end"] is True and rows[1]["peaks"] == str(tmp_path / "b.bed.gz")

def test_any_character_of_a_path_survives(tmp_path):
    """Quotes, commas, spaces and shell characters in a (quoted) path reach the workflow unchanged."""
    name = 'it\'s a "quoted", $(odd) name.fastq.gz'
    code, out = run(tmp_path, HEADER + 'A,"' + name.replace('"', '""') + '",,a.bed\n')
    assert code == 0 and read_back(out)[1][0]["fastq_1"] == [str(tmp_path / name)]


def test_files_are_not_opened_here(tmp_path):
    """Existence and content are checked later (the workflow and the per-sample tasks): none of these files exists."""
    code, out = run(tmp_path, HEADER + "A,nope_R1.fastq.gz,,nope.bed\n")
    assert code == 0 and read_back(out)[1][0]["fastq_1"] == [str(tmp_path / "nope_R1.fastq.gz")]


def test_quoted_path_with_a_comma_round_trips(tmp_path):
    code, out = run(tmp_path, HEADER + 'A,"reads, lane 1.fastq.gz","reads, lane 2.fastq.gz","peaks,v2.bed"\n')
    assert code == 0
    row = read_back(out)[1][0]
    assert row["fastq_1"] == [str(tmp_path / "reads, lane 1.fastq.gz")] and row["fastq_2"] == [str(tmp_path / "reads, lane 2.fastq.gz")]
    assert row["peaks"] == str(tmp_path / "peaks,v2.bed")


def test_lanes_joined_with_semicolons(tmp_path):
    code, out = run(tmp_path, HEADER + "A,L1/a_R1.fastq.gz;L2/a_R1.fastq.gz,L1/a_R2.fastq.gz;L2/a_R2.fastq.gz,a.bed\n")
    assert code == 0
    row = read_back(out)[1][0]
    assert row["fastq_1"] == [str(tmp_path / "L1" / "a_R1.fastq.gz"), str(tmp_path / "L2" / "a_R1.fastq.gz")]
    assert row["fastq_2"] == [str(tmp_path / "L1" / "a_R2.fastq.gz"), str(tmp_path / "L2" / "a_R2.fastq.gz")]


def test_bom_and_spaces_in_the_header(tmp_path):
    code, out = run(tmp_path, "\ufeffsample , fastq_1 ,fastq_2,peaks\r\nA,a.fastq.gz,,a.bed\r\n")
    assert code == 0 and read_back(out)[1][0]["sample"] == "A"


def test_peaks_only(tmp_path):
    code, out = run(tmp_path, "sample,peaks\nA,a.bed\nB,b.bed\n", "--layout", "peaks")
    assert code == 0
    columns, rows = read_back(out)
    assert columns == ["sample", "peaks", "line"] and [r["peaks"] for r in rows] == [str(tmp_path / "a.bed"), str(tmp_path / "b.bed")]


def test_peaks_only_refuses_a_full_samplesheet(tmp_path, capsys):
    code, out = run(tmp_path, GOOD, "--layout", "peaks")
    message = last_error(capsys)
    assert code == 2 and "unknown fastq_1, fastq_2" in message and not out.exists()
    assert "with --expression or ENCODE's gene quantifications (expression from a table, not from reads)" in message


def test_min_samples(tmp_path, capsys):
    code, out = run(tmp_path, GOOD, "--min_samples", "2")
    assert code == 0
    out.unlink()
    code, out = run(tmp_path, GOOD, "--min_samples", "3")
    assert code == 2 and "2 sample(s); at least 3 are needed" in last_error(capsys) and not out.exists()


@pytest.mark.parametrize("text, message", [
    ("sample,fastq_1,peaks\nA,a_R1.fastq.gz,a.bed\n", "missing fastq_2"),
    ("sample,fastq_1,fastq_2,peaks,extra\nA,a_R1.fastq.gz,,a.bed,x\n", "unknown extra"),
    (HEADER + "A,,,a.bed\n", "line 2, column 'fastq_1' (sample A): empty"),
    (HEADER + ",a_R1.fastq.gz,,a.bed\n", "line 2, column 'sample': empty sample id"),
    (HEADER + "A B,a_R1.fastq.gz,,a.bed\n", "'A B' may only contain"),
    (GOOD + "A,c_R1.fastq.gz,,a.bed\n", "line 4, column 'sample': duplicate sample id 'A' (and 'A' on line 2)"),
    (GOOD + "a,c_R1.fastq.gz,,a.bed\n", "line 4, column 'sample': sample ids that differ only in case"),
    (HEADER + "A,a_R1.fastq.gz,,a.bed,extra\n", "line 2: 5 comma-separated fields, the header has 4"),
    (HEADER + "A,a_R1.fastq.gz;,,a.bed\n", "line 2, column 'fastq_1' (sample A): lane 2 of 2 is empty"),
    (HEADER + "A,a_R1.fastq.gz;b_R1.fastq.gz,a_R2.fastq.gz,a.bed\n", "2 fastq_1 file(s) but 1 fastq_2 file(s)"),
    (GOOD + "C,./a_R1.fastq.gz,,c.bed\n", "line 4, column 'fastq_1' (sample C): {d}/a_R1.fastq.gz is used twice (also line 2"),
    (HEADER + "$(touch x),a_R1.fastq.gz,,a.bed\n", "line 2, column 'sample': '$(touch x)' may only contain"),
    (HEADER + "null,a_R1.fastq.gz,,a.bed\n", "'null' is read as a missing value"),
    (HEADER, "0 sample(s); at least 1 are needed"),
])
def test_bad_samplesheets(tmp_path, capsys, text, message):
    code, out = run(tmp_path, text)
    error = last_error(capsys)
    assert code == 2 and message.format(d=tmp_path) in error and "samplesheet.csv" in error
    assert not out.exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("sample", ["../escape", ".hidden", "a/b", "A\tB", "x;y"])
def test_sample_ids_that_could_leave_the_output_folder_are_refused(tmp_path, capsys, sample):
    """Sample ids become file and folder names (quant/<id>/, bins/<id>.bins.npz): never a path."""
    code, out = run(tmp_path, HEADER + f"{sample},a_R1.fastq.gz,,a.bed\n")
    assert code == 2 and not out.exists() and "line 2, column 'sample'" in last_error(capsys)


def test_non_utf8_samplesheet(tmp_path, capsys):
    code, out = run(tmp_path, GOOD.encode() + b"C\xff,c_R1.fastq.gz,,a.bed\n")
    assert code == 2 and "line 4 is not valid UTF-8" in last_error(capsys) and not out.exists()


def test_missing_samplesheet(tmp_path, capsys):
    out = tmp_path / "o.csv"
    assert check_inputs.main(["--samplesheet", str(tmp_path / "none.csv"), "--layout", "reads", "--output", str(out)]) == 2
    assert "none.csv: file not found" in last_error(capsys) and not out.exists()


def test_relative_paths_against_a_base_folder(tmp_path):
    """--encode: the samplesheet names downloads by name, staged in a folder of their own."""
    (tmp_path / "files").mkdir()
    code, out = run(tmp_path, HEADER + "A,file_1.fastq.gz,,file_2.bed.gz\n", "--base", str(tmp_path / "files"))
    assert code == 0
    row = read_back(out)[1][0]
    assert row["fastq_1"] == [str(tmp_path / "files" / "file_1.fastq.gz")] and row["peaks"] == str(tmp_path / "files" / "file_2.bed.gz")


def test_an_unknown_layout_is_refused(tmp_path, capsys):
    code, _ = run(tmp_path, GOOD, "--layout", "fastq")
    assert code == 2 and "samplesheet layout fastq: choose one of reads, peaks" in last_error(capsys)

