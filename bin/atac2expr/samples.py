"""Sample ids and the samplesheet: one rule for every entry (the main run, -entry PREDICT, --encode).

The samplesheet is described once, in assets/schema_input.json (formats.samplesheet_schema): its layouts and
columns, the sample-id rule, which columns hold several lanes. This module reads and checks samplesheets by it.
A sample id becomes a file and folder name in every task and a column name in the outputs, so it is:
- 1 to 64 characters of letters, digits, '_', '.' and '-', starting with a letter or digit (no spaces,
  no shell characters, never '.' or '..');
- not a word that pandas or R read as a missing value or a boolean (NA, nan, null, None, TRUE, ...);
- not the name of an output column (gene_id, gene_name, sample, ...);
- unique ignoring case (macOS and Windows file systems do not tell 'a1' from 'A1').
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .cli import InputError
from .files import read_text
from .formats import samplesheet_column, samplesheet_columns, samplesheet_optional_columns, samplesheet_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleIdRule:
    """The sample-id rule of the samplesheet schema's 'sample' column."""

    max_length: int
    pattern: re.Pattern
    missing_like: frozenset[str]  # read as missing or boolean by pandas (na_values, true/false) or R (NA, TRUE, Inf)
    output_columns: frozenset[str]

    @classmethod
    def of_schema(cls) -> "SampleIdRule":
        column = samplesheet_column("sample")
        return cls(column["maxLength"], re.compile(column["pattern"].removeprefix("^").removesuffix("$")),
                   frozenset(column["x-read-as-missing"]), frozenset(column["x-output-columns"]))


def lane_separator() -> str:
    return samplesheet_schema()["x-lane-separator"]


def sample_id_problem(sample: str) -> str | None:
    """Why `sample` is not a usable sample id, or None."""
    rule = SampleIdRule.of_schema()
    if not sample:
        return "empty sample id"
    if not rule.pattern.fullmatch(sample):
        return f"'{_shown(sample)}' may only contain letters, digits, '_', '.' and '-', and must start with a letter or digit"
    if len(sample) > rule.max_length:
        return f"sample id of {len(sample)} characters; at most {rule.max_length}"
    if sample.lower() in rule.missing_like:
        return f"'{sample}' is read as a missing value or a boolean by pandas and R; choose another id"
    if sample.lower() in rule.output_columns:
        return f"'{sample}' is the name of an output column; choose another id"
    return None


def _shown(text: str) -> str:
    """A value for an error message: control characters escaped, so the message stays one line."""
    return text.encode("unicode_escape").decode("ascii")[:80]


def _label(value: str, column: str, where: str) -> str:
    """A checked value of a label column (group): the schema's pattern and length, never empty."""
    spec = samplesheet_column(column)
    if not value:
        raise InputError(f"{where}: empty; when the samplesheet has a '{column}' column, every sample needs one")
    if len(value) > spec["maxLength"] or not re.fullmatch(spec["pattern"].removeprefix("^").removesuffix("$"), value):
        raise InputError(f"{where}: '{_shown(value)}' must be 1-{spec['maxLength']} letters, digits, '_', '.' or '-', "
                         f"starting with a letter or digit")
    return value


def make_sample_id(parts: list[str], used: set[str]) -> str:
    """A valid, new (ignoring case) sample id from free text such as ENCODE biosample names: other characters
    become '_', a long id is cut and given a digest of the whole, a clash gets _2, _3, ...; `used` (lower case)
    is updated."""
    text = "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p).strip("_.-") for p in parts if p)
    text = re.sub(r"_+", "_", text).strip("_.-") or "sample"
    if not text[0].isalnum():
        text = f"s{text}"
    longest = SampleIdRule.of_schema().max_length
    if len(text) > longest - 4 or sample_id_problem(text):
        text = f"{text[:longest - 13].rstrip('_.-')}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    candidate, n = text, 2
    while candidate.lower() in used:
        candidate, n = f"{text}_{n}", n + 1
    problem = sample_id_problem(candidate)
    if problem:  # the rules above make this impossible; a bug if reached
        raise ValueError(f"made an invalid sample id {candidate!r}: {problem}")
    used.add(candidate.lower())
    return candidate


def read_samplesheet(path: str | Path, layout: str, min_samples: int = 1, base: str | Path | None = None) -> list[dict]:
    """Checked rows of a samplesheet of `layout` (assets/schema_input.json): sample ids, lanes and paths made absolute
    (relative paths are relative to `base`, by default the samplesheet's folder). Files are not opened. Every error
    is one line naming the line and column.

    Each row: sample, its columns (a lane column as a list of paths, [] when empty; another as a path),
    single_end (bool, when the layout has reads) and line (the row's line in the file)."""
    if layout not in samplesheet_schema()["x-layouts"]:
        raise InputError(f"samplesheet layout {layout}: choose one of {', '.join(samplesheet_schema()['x-layouts'])}")
    columns = samplesheet_columns(layout)
    required = set(samplesheet_schema()["x-layouts"][layout]["required"])
    optional = samplesheet_optional_columns(layout)
    path = Path(path)
    text = read_text(path).lstrip("\ufeff")  # Excel's "CSV UTF-8" starts with a byte-order mark
    base = Path(base).resolve() if base is not None else path.resolve().parent
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=samplesheet_schema()["x-separator"])
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: empty file; the header must be {','.join(columns)}") from None
    missing = [c for c in columns if c not in header]
    extra = [c for c in header if c not in columns and c not in optional]
    given_optional = [c for c in optional if c in header]
    if missing or extra or len(set(header)) != len(header):
        other = [c for c in extra if c in samplesheet_schema()["items"]["properties"]]
        why = f" ({samplesheet_schema()['x-layouts'][layout]['description']})" if other else ""
        also = f" (and optionally {','.join(optional)})" if optional else ""
        raise InputError(f"{path}: header {','.join(header)}: {'missing ' + ', '.join(missing) + '; ' if missing else ''}"
                         f"{'unknown ' + ', '.join(extra) + '; ' if extra else ''}the header must be {','.join(columns)}{also}{why}")
    rows: list[dict[str, str]] = []
    ids: dict[str, tuple[str, int]] = {}  # lower-case id -> (id, line)
    fastqs: dict[str, tuple[int, str]] = {}  # resolved path -> (line, column)
    for record in reader:
        line = reader.line_num
        if not any(field.strip() for field in record):
            continue
        if len(record) != len(header):
            raise InputError(f"{path} line {line}: {len(record)} comma-separated fields, the header has {len(header)} "
                             f"(a path with a comma must be quoted: \"a,b.fastq.gz\")")
        row = {name: value.strip() for name, value in zip(header, record, strict=True)}
        sample = row["sample"]
        problem = sample_id_problem(sample)
        if problem:
            raise InputError(f"{path} line {line}, column 'sample': {problem}")
        if sample.lower() in ids:
            first, first_line = ids[sample.lower()]
            same = "duplicate sample id" if first == sample else "sample ids that differ only in case (one file name on macOS)"
            raise InputError(f"{path} line {line}, column 'sample': {same} '{sample}' (and '{first}' on line {first_line})")
        ids[sample.lower()] = (sample, line)
        checked: dict = {"sample": sample}
        for column in columns[1:]:
            where = f"{path} line {line}, column '{column}' (sample {sample})"
            value = row[column]
            has_lanes = bool(samplesheet_column(column).get("x-lanes"))
            if not value:
                if column in required:
                    raise InputError(f"{where}: empty")
                checked[column] = [] if has_lanes else ""
                continue
            separator = lane_separator()
            lanes = value.split(separator)
            if len(lanes) > 1:
                whole = os.path.normpath(value if os.path.isabs(value) else os.path.join(base, value))
                if os.path.isfile(whole):  # where the task sees the user's files; else the workflow's file check hints
                    raise InputError(f"{where}: '{_shown(value)}' is one file whose name holds '{separator}', which joins "
                                     f"lanes in a samplesheet; rename the file")
                if not has_lanes:
                    raise InputError(f"{where}: one file per sample ('{separator}' joins lanes of FASTQ files; a file "
                                     f"whose name holds '{separator}' must be renamed)")
            resolved = []
            for lane, name in enumerate(lanes, start=1):
                name = name.strip()
                if not name:
                    raise InputError(f"{where}: lane {lane} of {len(lanes)} is empty ('{_shown(value)}'); lanes are joined with "
                                     f"'{lane_separator()}' and none may be empty")
                if "\n" in name or "\r" in name or "\0" in name:
                    raise InputError(f"{where}: '{_shown(name)}' holds a line break or NUL character")
                file = os.path.normpath(name if os.path.isabs(name) else os.path.join(base, name))
                if samplesheet_column(column).get("x-unique-file"):
                    if file in fastqs:
                        other_line, other_column = fastqs[file]
                        raise InputError(f"{where}: {file} is used twice (also line {other_line}, column '{other_column}'); "
                                         f"each FASTQ belongs to one sample and one lane")
                    fastqs[file] = (line, column)
                resolved.append(file)
            checked[column] = resolved if has_lanes else resolved[0]
        for column in columns[1:]:
            pair = samplesheet_column(column).get("x-pairs-with")
            if pair and checked[column] and len(checked[column]) != len(checked[pair]):
                raise InputError(f"{path} line {line} (sample {sample}): {len(checked[pair])} {pair} file(s) but "
                                 f"{len(checked[column])} {column} file(s); lanes pair up in order ('{lane_separator()}' joins lanes: a "
                                 f"file whose name holds '{lane_separator()}' must be renamed)")
            if pair:
                checked["single_end"] = not checked[column]
        for column in given_optional:
            checked[column] = _label(row[column], column, f"{path} line {line}, column '{column}' (sample {sample})")
        checked["line"] = line
        rows.append(checked)
    if "group" in given_optional and rows and len({r["group"] for r in rows}) < 2:
        log.warning("%s: every sample is in group '%s'; leave-group-out folds need at least 2 groups, so the evaluation has "
                    "random folds only", path, rows[0]["group"])
    if len(rows) < min_samples:
        why = " (the held-out evaluation needs training, validation and test samples; or --evaluate false)" if min_samples >= 3 else ""
        raise InputError(f"{path}: {len(rows)} sample(s); at least {min_samples} are needed{why}")
    return rows
