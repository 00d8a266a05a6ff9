"""atac2expr.samples: the one sample-id rule, the samplesheet reader and ids made from ENCODE names."""

from __future__ import annotations

import os
import random
import re
import string
from pathlib import Path

import pytest

from atac2expr.cli import InputError
from atac2expr.formats import samplesheet_schema
from atac2expr.samples import SampleIdRule, make_sample_id, read_samplesheet, sample_id_problem
from conftest import REPO

RULE = SampleIdRule.of_schema()
SAMPLE_ID_MAX = RULE.max_length
MISSING_LIKE = RULE.missing_like
OUTPUT_COLUMNS = RULE.output_columns

HEADER = "sample,fastq_1,fastq_2,peaks\n"


def sheet(tmp_path: Path, text: str | bytes, name: str = "samplesheet.csv") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def read(tmp_path: Path, text: str | bytes, layout="reads", min_samples: int = 1) -> list[dict]:
    return read_samplesheet(sheet(tmp_path, text), layout, min_samples)


def refused(tmp_path: Path, text: str | bytes, layout="reads", min_samples: int = 1) -> str:
    with pytest.raises(InputError) as err:
        read(tmp_path, text, layout, min_samples)
    message = str(err.value)
    assert "\n" not in message and "\r" not in message, repr(message)
    assert message.startswith(str(tmp_path / "samplesheet.csv"))
    return message


# ---------------------------------------------------------------- the id rule

@pytest.mark.parametrize("sample", ["A", "S01", "K562_rep1", "CD4-positive_alpha-beta_T_cell_rep2", "a.b-c_d", "1", "9abc",
                                    "NA12878", "nan1", "x" * SAMPLE_ID_MAX])
def test_good_sample_ids(sample):
    assert sample_id_problem(sample) is None


@pytest.mark.parametrize("word", ["NA", "na", "Na", "NaN", "nan", "NULL", "null", "None", "none", "TRUE", "True", "true", "tRuE",
                                  "FALSE", "false", "Inf", "infinity", "NaT", "T", "F"])
def test_missing_and_boolean_words_refused_in_any_case(word):
    assert "missing value or a boolean" in sample_id_problem(word)


@pytest.mark.parametrize("column", sorted(OUTPUT_COLUMNS))
def test_output_column_names_refused(column):
    assert "name of an output column" in sample_id_problem(column)
    assert "name of an output column" in sample_id_problem(column.upper())


def test_length_limit():
    assert sample_id_problem("a" * 64) is None
    assert sample_id_problem("a" * 65) == "sample id of 65 characters; at most 64"
    assert sample_id_problem("") == "empty sample id"


@pytest.mark.parametrize("sample", ["$(touch x)", "`touch x`", "a'b", 'a"b', "a;b", "a\nb", "a\rb", "a b", "a/b", "../up", ".hidden",
                                    ".", "..", "-a", "_a", "a*", "a|b", "a&b", "a>b", "ä", "a\tb", "a\x00b"])
def test_characters_that_are_not_allowed(sample):
    problem = sample_id_problem(sample)
    assert "may only contain letters, digits" in problem
    assert "\n" not in problem and "\r" not in problem and "\x00" not in problem


def test_every_word_of_the_rule_is_a_set_of_lower_case_words():
    assert all(w == w.lower() for w in MISSING_LIKE | OUTPUT_COLUMNS)


# ---------------------------------------------------------------- read_samplesheet

def test_good_samplesheet_rows(tmp_path):
    rows = read(tmp_path, HEADER + "A,a_R1.fastq.gz,a_R2.fastq.gz,a.bed\n\nB,b.fastq.gz,,peaks/b.bed.gz\n")
    assert [r["sample"] for r in rows] == ["A", "B"]
    assert rows[0] == {"sample": "A", "fastq_1": [str(tmp_path / "a_R1.fastq.gz")], "fastq_2": [str(tmp_path / "a_R2.fastq.gz")],
                       "peaks": str(tmp_path / "a.bed"), "single_end": False, "line": 2}
    assert rows[1]["fastq_2"] == [] and rows[1]["single_end"] is True and rows[1]["line"] == 4  # the blank line is counted
    assert rows[1]["peaks"] == str(tmp_path / "peaks" / "b.bed.gz")


def test_relative_paths_resolve_against_the_samplesheets_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project" / "sheets"
    path = sheet(folder, HEADER + "A,../fastq/a.fastq.gz,,./a.bed\nB,/abs/b.fastq.gz,,sub/../b.bed\n")
    monkeypatch.chdir(tmp_path)  # not the samplesheet's folder
    rows = read_samplesheet(os.path.relpath(path, tmp_path), "reads")
    assert rows[0]["fastq_1"] == [str(tmp_path / "project" / "fastq" / "a.fastq.gz")]
    assert rows[0]["peaks"] == str(folder / "a.bed")
    assert rows[1]["fastq_1"] == ["/abs/b.fastq.gz"] and rows[1]["peaks"] == str(folder / "b.bed")


def test_utf8_bom_and_spaces_around_header_names(tmp_path):
    rows = read(tmp_path, "\ufeff sample , fastq_1,fastq_2 ,peaks\r\n A , a.fastq.gz ,, a.bed \r\n")
    assert rows[0]["sample"] == "A" and rows[0]["fastq_1"] == [str(tmp_path / "a.fastq.gz")] and rows[0]["peaks"] == str(tmp_path / "a.bed")


def test_columns_in_another_order(tmp_path):
    rows = read(tmp_path, "peaks,fastq_2,sample,fastq_1\na.bed,,A,a.fastq.gz\n")
    assert rows[0]["sample"] == "A" and rows[0]["peaks"] == str(tmp_path / "a.bed")


def test_quoted_path_with_a_comma(tmp_path):
    rows = read(tmp_path, HEADER + 'A,"reads, lane 1.fastq.gz",,"peaks,v2.bed"\n')
    assert rows[0]["fastq_1"] == [str(tmp_path / "reads, lane 1.fastq.gz")] and rows[0]["peaks"] == str(tmp_path / "peaks,v2.bed")


def test_lanes_joined_with_semicolons(tmp_path):
    rows = read(tmp_path, HEADER + "A,L1/a_R1.fastq.gz;L2/a_R1.fastq.gz,L1/a_R2.fastq.gz;L2/a_R2.fastq.gz,a.bed\n")
    # lanes that share a base name in different folders are different files
    assert rows[0]["fastq_1"] == [str(tmp_path / "L1" / "a_R1.fastq.gz"), str(tmp_path / "L2" / "a_R1.fastq.gz")]
    assert len(rows[0]["fastq_2"]) == 2 and rows[0]["single_end"] is False


def test_peaks_only_samplesheet(tmp_path):
    rows = read(tmp_path, "sample,peaks\nA,a.bed\nB,/x/b.bed.gz\n", layout="peaks")
    assert rows == [{"sample": "A", "peaks": str(tmp_path / "a.bed"), "line": 2}, {"sample": "B", "peaks": "/x/b.bed.gz", "line": 3}]
    assert "unknown fastq_1" in refused(tmp_path, HEADER + "A,a.fastq.gz,,a.bed\n", layout="peaks")
    assert "missing peaks" in refused(tmp_path, "sample\nA\n", layout="peaks")


def test_an_optional_group_column_in_either_layout(tmp_path):
    rows = read(tmp_path, "sample,peaks,group\nA,a.bed,lymphoid\nB,b.bed,myeloid\n", layout="peaks")
    assert [(r["sample"], r["group"]) for r in rows] == [("A", "lymphoid"), ("B", "myeloid")]
    rows = read(tmp_path, "group,sample,fastq_1,fastq_2,peaks\nGMP-A.1,A,a.fastq.gz,,a.bed\n")
    assert rows[0]["group"] == "GMP-A.1"
    assert "group" not in read(tmp_path, "sample,peaks\nA,a.bed\n", layout="peaks")[0]  # without the column: no groups


@pytest.mark.parametrize("text, message", [
    ("sample,peaks,group\nA,a.bed,lymphoid\nB,b.bed,\n", "line 3, column 'group' (sample B): empty; when the samplesheet has a "
                                                     "'group' column, every sample needs one"),
    ("sample,peaks,group\nA,a.bed,bone marrow\n", "line 2, column 'group' (sample A): 'bone marrow' must be 1-64 letters, digits"),
    ("sample,peaks,group\nA,a.bed," + "g" * 65 + "\n", "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"),
    ("sample,peaks,group,group\nA,a.bed,x,y\n", "the header must be sample,peaks (and optionally group)"),
])
def test_bad_groups_refused_naming_line_and_column(tmp_path, text, message):
    assert message in refused(tmp_path, text, layout="peaks")


def test_one_group_for_every_sample_warns_that_there_are_no_group_folds(tmp_path, caplog):
    read(tmp_path, "sample,peaks,group\nA,a.bed,x\nB,b.bed,x\n", layout="peaks")
    assert "every sample is in group 'x'; leave-group-out folds need at least 2 groups" in caplog.text


@pytest.mark.parametrize("text, message", [
    ("sample,fastq_1,peaks\nA,a.fastq.gz,a.bed\n", "missing fastq_2; the header must be sample,fastq_1,fastq_2,peaks"),
    ("sample,fastq_1,fastq_2,peaks,extra\nA,a.fastq.gz,,a.bed,x\n", "unknown extra"),
    ("Sample,fastq_1,fastq_2,peaks\nA,a.fastq.gz,,a.bed\n", "missing sample; unknown Sample"),
    ("sample,fastq_1,fastq_2,peaks,peaks\nA,a.fastq.gz,,a.bed,b.bed\n", "the header must be"),
    ("", "empty file; the header must be"),
    (HEADER, "0 sample(s); at least 1 are needed"),
    (HEADER + "A,,,a.bed\n", "line 2, column 'fastq_1' (sample A): empty"),
    (HEADER + "A,a.fastq.gz,,\n", "line 2, column 'peaks' (sample A): empty"),
    (HEADER + ",a.fastq.gz,,a.bed\n", "line 2, column 'sample': empty sample id"),
    (HEADER + "A,a.fastq.gz,,a.bed,extra\n", "line 2: 5 comma-separated fields, the header has 4"),
    (HEADER + "A,a,b.fastq.gz,,a.bed\n", "a path with a comma must be quoted"),
    (HEADER + "A,a.fastq.gz,,a.bed;b.bed\n", "line 2, column 'peaks' (sample A): one file per sample (';' joins lanes"),
    (HEADER + "A,a.fastq.gz;,,a.bed\n", "line 2, column 'fastq_1' (sample A): lane 2 of 2 is empty ('a.fastq.gz;')"),
    (HEADER + "A,;a.fastq.gz,,a.bed\n", "lane 1 of 2 is empty"),
    (HEADER + "A,a.fastq.gz,b.fastq.gz;,a.bed\n", "column 'fastq_2' (sample A): lane 2 of 2 is empty"),
    (HEADER + "A,a1.fastq.gz;a2.fastq.gz,b.fastq.gz,a.bed\n", "line 2 (sample A): 2 fastq_1 file(s) but 1 fastq_2 file(s); "
                                                             "lanes pair up in order (';' joins lanes: a file whose name holds ';' must be"),
    (HEADER + "A,a.fastq.gz,,a.bed\nA,b.fastq.gz,,b.bed\n", "line 3, column 'sample': duplicate sample id 'A' (and 'A' on line 2)"),
    (HEADER + "a1,a.fastq.gz,,a.bed\nA1,b.fastq.gz,,b.bed\n", "line 3, column 'sample': sample ids that differ only in case"),
    (HEADER + "NA,a.fastq.gz,,a.bed\n", "line 2, column 'sample': 'NA' is read as a missing value"),
    (HEADER + "gene_id,a.fastq.gz,,a.bed\n", "line 2, column 'sample': 'gene_id' is the name of an output column"),
    (HEADER + "x" * 65 + ",a.fastq.gz,,a.bed\n", "line 2, column 'sample': sample id of 65 characters"),
])
def test_refused_samplesheets(tmp_path, text, message):
    assert message in refused(tmp_path, text)


@pytest.mark.parametrize("column, text", [
    ("fastq_1", "A,reads;1.fastq.gz,,a.bed\n"),
    ("fastq_2", "A,a_R1.fastq.gz,sub/reads;2.fastq.gz,a.bed\n"),
    ("peaks", "A,a.fastq.gz,,peaks;v2.bed\n"),
])
def test_a_file_name_holding_the_lane_separator_is_named(tmp_path, column, text):
    """';' joins lanes, so a file named 'reads;1.fastq.gz' would be read as two missing lanes: named, with what to do."""
    for name in ("reads;1.fastq.gz", "sub/reads;2.fastq.gz", "peaks;v2.bed"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    message = refused(tmp_path, HEADER + text)
    assert f"line 2, column '{column}' (sample A)" in message and "is one file whose name holds ';', which joins lanes" in message
    assert "rename the file" in message


def test_sample_id_of_64_characters_accepted(tmp_path):
    assert read(tmp_path, HEADER + "x" * 64 + ",a.fastq.gz,,a.bed\n")[0]["sample"] == "x" * 64


@pytest.mark.parametrize("field", ["$(touch x)", "`touch x`", "'quoted'", '"a""b"', "a;b", '"a\nb"', '"a\r\nb"', "a b"])
def test_shell_characters_and_line_breaks_in_ids_refused_on_one_line(tmp_path, field):
    message = refused(tmp_path, HEADER + f"{field},a.fastq.gz,,a.bed\n")
    # a quoted line break makes the record span lines 2-3: either names the row
    assert re.search(r"line [23], column 'sample': ", message) and "may only contain letters, digits" in message
    assert not (tmp_path / "x").exists()


def test_line_break_in_a_path_refused_on_one_line(tmp_path):
    message = refused(tmp_path, HEADER + 'A,"a\n.fastq.gz",,a.bed\n')
    assert "line 3, column 'fastq_1' (sample A)" in message and "holds a line break" in message and "a\\n.fastq.gz" in message


@pytest.mark.parametrize("rows, message", [
    ("A,a.fastq.gz,,a.bed\nB,a.fastq.gz,,b.bed\n", "line 3, column 'fastq_1' (sample B): {d}/a.fastq.gz is used twice (also line 2, column 'fastq_1')"),
    ("A,a.fastq.gz,./a.fastq.gz,a.bed\n", "column 'fastq_2' (sample A): {d}/a.fastq.gz is used twice (also line 2, column 'fastq_1')"),
    ("A,a.fastq.gz;sub/../a.fastq.gz,b;c,a.bed\n", "{d}/a.fastq.gz is used twice"),
    ("A,a.fastq.gz,,a.bed\nB,{d}/a.fastq.gz,,b.bed\n", "line 3, column 'fastq_1' (sample B): {d}/a.fastq.gz is used twice"),
    ("A,x/a.fastq.gz,,a.bed\nB,x//a.fastq.gz,,b.bed\n", "{d}/x/a.fastq.gz is used twice"),
])
def test_one_fastq_used_twice_after_normalisation(tmp_path, rows, message):
    assert message.format(d=tmp_path) in refused(tmp_path, HEADER + rows.format(d=tmp_path))


def test_one_peak_file_for_two_samples_accepted(tmp_path):
    """Peaks may be shared (e.g. pooled replicates); only a FASTQ belongs to one sample."""
    rows = read(tmp_path, HEADER + "A,a.fastq.gz,,p.bed\nB,b.fastq.gz,,p.bed\n")
    assert rows[0]["peaks"] == rows[1]["peaks"]


def test_too_few_samples_for_min_samples(tmp_path):
    text = HEADER + "A,a.fastq.gz,,a.bed\nB,b.fastq.gz,,b.bed\n"
    assert len(read(tmp_path, text, min_samples=2)) == 2
    message = refused(tmp_path, text, min_samples=3)
    assert "2 sample(s); at least 3 are needed" in message and "--evaluate false" in message


def test_non_utf8_samplesheet(tmp_path):
    message = refused(tmp_path, (HEADER + "A,a.fastq.gz,,a.bed\n").encode() + b"C\xff,c.fastq.gz,,c.bed\n")
    assert "line 3 is not valid UTF-8" in message


def test_missing_samplesheet(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_samplesheet(tmp_path / "none.csv", "reads")


# ---------------------------------------------------------------- make_sample_id

ENCODE_NAMES = [
    ["K562", "rep1"], ["k562", "rep1"], ["K562", "rep1"], ["CD4-positive, alpha-beta T cell", "rep1"],
    ["CD4-positive, alpha-beta T cell", "ENCDO000AAA", "rep1"], ["NA"], ["null"], ["None"], ["TRUE"], ["nan"], ["gene_id"], ["sample"],
    ["..."], ["-"], [""], [], ["é"], ["neural progenitor cell originated from H9", "rep2"],
    ["endothelial cell of umbilical vein (male newborn)", "rep1"], ["x" * 200], ["x" * 200 + "y"], ["X" * 200],
    ["$(touch x)"], ["`ls`"], ["a;b"], ["a\nb"], ["B cell", "rep1"], ["B_cell", "rep1"], ["b cell", "REP1"], ["t", "f"], ["T"],
]


def test_make_sample_id_gives_valid_unique_ids():
    used: set[str] = set()
    ids = [make_sample_id(parts, used) for parts in ENCODE_NAMES]
    assert all(sample_id_problem(i) is None for i in ids), [(i, sample_id_problem(i)) for i in ids if sample_id_problem(i)]
    assert len({i.lower() for i in ids}) == len(ids)
    assert used == {i.lower() for i in ids}
    assert ids[:4] == ["K562_rep1", "k562_rep1_2", "K562_rep1_3", "CD4-positive_alpha-beta_T_cell_rep1"]
    assert all(len(i) <= SAMPLE_ID_MAX for i in ids)


def test_make_sample_id_random_names():
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits + " _.-,;:()/'\"`$&|\n\té"
    used: set[str] = set()
    ids = []
    for _ in range(2000):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 20, 70, 150]))) for _ in range(rng.randint(1, 3))]
        ids.append(make_sample_id(parts, used))
    assert all(sample_id_problem(i) is None for i in ids)
    assert len({i.lower() for i in ids}) == len(ids)


def test_make_sample_id_keeps_readable_names_and_cuts_long_ones():
    used: set[str] = set()
    assert make_sample_id(["HepG2", "rep1"], used) == "HepG2_rep1"
    long_a = make_sample_id(["x" * 200], used)
    long_b = make_sample_id(["x" * 199 + "y"], used)
    assert long_a != long_b and long_a.startswith("x" * 40) and len(long_a) <= SAMPLE_ID_MAX


def test_the_usage_docs_samplesheet_table_is_the_schema():
    """docs/usage.md's samplesheet table says what assets/schema_input.json says."""
    schema = samplesheet_schema()
    layouts = schema["x-layouts"]
    lines = ["| column | layouts | required in | what |", "|---|---|---|---|"]
    for column, spec in schema["items"]["properties"].items():
        where = [name for name, layout in layouts.items() if column in layout["columns"] + layout.get("optional", [])]
        required = [name for name, layout in layouts.items() if column in layout["required"]]
        lines.append(f"| `{column}` | {', '.join(where)} | {', '.join(required) or '-'} | {spec['description']} |")
    assert "\n".join(lines) in (REPO / "docs" / "usage.md").read_text()
