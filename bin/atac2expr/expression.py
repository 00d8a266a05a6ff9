"""Expression from a table instead of reads: --expression (a genes x samples table, TSV or CSV) and ENCODE's released
gene quantifications (one RSEM genes.results per replicate). The layouts are those of formats.py.

- Text: UTF-8 (a byte-order mark is skipped) or UTF-16 with its byte-order mark (a spreadsheet's "Unicode text"),
  gz or plain; line ends LF, CRLF or CR. Tab-, comma- or semicolon-separated, told by the header line; quoted fields
  as the csv module reads them. Lines starting with '#' before the header (featureCounts' command line, a GCT
  file's version and size lines) and blank lines are skipped. Another encoding, or an Excel workbook, is refused.
- Layouts as tools write them: nf-core/rnaseq's (gene_id, gene_name, samples...), genes in the first column, R's
  write.csv / write.table row names (an empty first header field, or a header one field shorter than the rows: row
  numbers 1..n are left out, other row names are the genes), and separators at the end of every line (a spreadsheet
  export: trailing empty fields are ignored). Another column without a name that holds values is refused.
- Samples: the samplesheet's, matched by name; one missing from the table, or named twice in its header, is refused;
  every other column (text such as a description, featureCounts' Chr/Start/Length, other samples) is left out
  unread and listed in the log.
- Values: every cell of a sample's column a number >= 0 (a TPM at most 1e6); a missing, non-numeric, negative or
  infinite one is refused, naming its line and column. Numbers are read exactly (a TPM written by this pipeline
  reads back bit for bit). A sample whose values are all 0, or whose column sum overflows, is refused, naming it.
- Genes: matched to the annotation by id (versions stripped), else by name when exactly one gene has it. A name of
  several genes, or of none, is left out and listed with the reason; never guessed. Several rows of one gene are
  summed (expression is additive over the parts of a gene: GENCODE's PAR copies, a symbol table's repeated
  symbols), except that a row repeating an earlier row of the gene exactly is taken once (a pasted duplicate),
  and rows that reach a gene only by name give way to a row that is the gene by id.
- Units: TPM stays as it is. Read counts become TPM with each gene's exon length (the union of its exons) where the
  annotation has exons: TPM = 1e6 * (c / L) / sum over the matched genes of (c / L); else CPM = 1e6 * c / the
  column's sum over all rows. A table of whole numbers with column sums far above 1e6 declared as TPM is warned about.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .annotation import strip_version
from .cli import InputError
from .files import is_gzip, read_text
from .formats import ENCODE_GENE_QUANTIFICATION, ENCODE_GENE_QUANTIFICATION_COLUMNS, EXPRESSION_KEY_COLUMNS, EXPRESSION_UNITS
from .samples import _shown

log = logging.getLogger(__name__)

_MISSING = {"", "na", "nan", "null", "none", "n/a", "-", ".", "#n/a", "#na", "#null!"}
COUNTS_HINT_SUM = 2e6  # a TPM column sums to at most 1e6; read counts of a library to millions
MAX_TPM = 1e6  # transcripts per million: no gene holds more than all of them
# a second key column that holds gene names (the first column holds ids or names)
NAME_COLUMNS = ("gene_name", "gene_symbol", "symbol", "hgnc_symbol", "external_gene_name")
ROW_NAMES = "(row names)"  # the column under R's empty first header field


@dataclass
class ExpressionTable:
    """Genes x samples: `keys` (gene_id and gene_name, as written; the same text in both when the table has one key
    column), `values` (float64, one column per sample), `lines` (each row's line in the file, for messages) and the
    columns left out."""

    source: str
    keys: pd.DataFrame
    values: pd.DataFrame
    lines: np.ndarray
    left_out: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading the text

def _decode(path: str | Path, source: str) -> str:
    """The file's text: UTF-8 (BOM skipped) or UTF-16 with a BOM; gz or plain."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{source}: file not found")
    try:
        raw = gzip.decompress(path.read_bytes()) if is_gzip(path) else path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{source}: gzip file is truncated or corrupt ({err})") from None
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(f"{source}: an Excel workbook or zip archive, not text; save the sheet as CSV (UTF-8) or tab-separated text")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{source}: starts with a UTF-16 byte-order mark but is not UTF-16 text") from None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(f"{source}: line {line} is not UTF-8 text (byte 0x{raw[err.start]:02x}); save the table as UTF-8 "
                         f"(a spreadsheet's 'CSV UTF-8'), or as UTF-16 'Unicode text'") from None


def _separator(line: str) -> str:
    for sep in ("\t", ",", ";"):
        if sep in line:
            return sep
    return "\t"


@dataclass
class _Columns:
    header: list[str]
    columns: dict[int, list[str]]  # column index -> its fields, one per data row
    lines: list[int]
    notes: list[str]


def _read_columns(text: str, source: str, wanted, samples: list[str] | None = None) -> _Columns:
    """The header and the fields of the columns `wanted(header)` picks, row by row; trailing empty fields, blank lines
    and leading '#' lines skipped. R's write.table row names (a header one field short that starts with one of
    `samples`) get an empty header field; any other row longer than the header is refused."""
    handle = io.StringIO(text, newline="")
    first = ""
    position = 0
    lines_before = 0
    for raw_line in handle:
        stripped = raw_line.strip()
        if stripped and not stripped.startswith("#"):
            first = raw_line
            break
        position += len(raw_line)
        lines_before += 1
    else:
        raise InputError(f"{source}: empty; expected a header such as gene_id<TAB>gene_name<TAB>sample1... or gene<TAB>sample1...")
    gct = text.lstrip().startswith("#1.")  # GCT: '#1.2', then the numbers of rows and columns, then the header
    if gct and len(first.split("\t")) == 2 and all(part.strip().isdigit() for part in first.split("\t")):
        position += len(first)
        lines_before += 1
    sep = _separator(first if not gct else text[position:].split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text[position:], newline=""), delimiter=sep, quotechar='"', strict=False)
    header: list[str] | None = None
    picked: list[int] = []
    columns: dict[int, list[str]] = {}
    lines: list[int] = []
    notes: list[str] = []
    trailing = False
    unnamed_columns: list[int] = []
    unnamed: dict[int, int] = {}  # an unnamed column (not the first) -> the first line where it holds a value
    try:
        for fields in reader:
            line = lines_before + reader.line_num
            width = len(fields)
            while width and not fields[width - 1].strip():
                width -= 1
            if not width:
                continue  # a blank line, or one of separators only
            if header is None:
                header = [f.strip() for f in fields[:width]]
                trailing = width < len(fields)
                continue
            if not lines and not trailing and samples and header[0] in samples and width == len(header) + 1:
                header.insert(0, "")  # R's write.table: the row names have no header field
                notes.append("the header is one field shorter than the rows and starts with a sample: the first column is R's row names")
            if width == 1 < len(header) and any(other in fields[0] for other in ("\t", ",", ";") if other != sep):
                raise InputError(f"{source} line {line}: one field, without the header's separator {sep!r}; is the line separated "
                                 f"by another character than the header?")
            if width > len(header):
                hint = ("if the first column is R's row names, write the table with write.table(..., col.names = NA) or add an empty "
                        "first field to the header" if width == len(header) + 1 else
                        f"is a value missing from the header, or does a field hold the separator {sep!r} unquoted?")
                raise InputError(f"{source} line {line}: {width} fields, but the header names {len(header)} columns; {hint}")
            if not lines:
                picked = wanted(header)
                columns = {i: [] for i in picked}
                unnamed_columns = [i for i in range(1, len(header)) if header[i] == ""]
            for i in picked:
                columns[i].append(fields[i] if i < width else "")
            for i in unnamed_columns:
                if i < width and i not in unnamed and fields[i].strip():
                    unnamed[i] = line
            lines.append(line)
    except csv.Error as err:
        raise InputError(f"{source} line {lines_before + reader.line_num}: not a table ({err})") from None
    if header is None:
        raise InputError(f"{source}: empty; expected a header such as gene_id<TAB>gene_name<TAB>sample1... or gene<TAB>sample1...")
    if unnamed:
        i, line = min(unnamed.items(), key=lambda item: item[1])
        raise InputError(f"{source} line {line}: column {i + 1} has no name in the header but holds values; name it, or remove it")
    if trailing:
        notes.append("a separator ends every line (a spreadsheet export): the empty last fields are ignored")
    if not lines:
        picked = wanted(header)
        columns = {i: [] for i in picked}
    return _Columns(header, columns, lines, notes)


def _key_columns(header: list[str], row_names: list[str] | None) -> tuple[int, int]:
    """(column of gene ids or names, column of gene names) of a header; the same column when there is one key."""
    start = 0
    if header and header[0] == "" and row_names is not None and row_names == [str(n) for n in range(1, len(row_names) + 1)]:
        start = 1  # R's row numbers: the genes are in the next column
    lower = [h.lower() for h in header]
    if lower[start:start + 2] == list(EXPRESSION_KEY_COLUMNS):
        return start, start + 1
    if len(header) > start + 1 and lower[start + 1] in NAME_COLUMNS:
        return start, start + 1
    if lower[start] == "name" and len(header) > start + 1 and lower[start + 1] == "description":
        return start, start + 1  # GCT: Name (the gene id), Description (its name)
    return start, start


def _check_samples(source: str, present: list[str], samples: list[str]) -> None:
    """A samplesheet sample missing from the table's columns, or in two of them, is refused."""
    repeated = [s for s in dict.fromkeys(present) if s and present.count(s) > 1 and s in samples]
    if repeated:
        where = [str(i + 1) for i, c in enumerate(present) if c == repeated[0]]
        raise InputError(f"{source}: column {repeated[0]} appears twice in the header (columns {', '.join(where)}); "
                         f"which one is the sample's?")
    missing = [s for s in samples if s not in present]
    if missing:
        lower = {c.lower(): c for c in present}
        hints = [f"{s} (the table has {lower[s.lower()]})" for s in missing if s.lower() in lower]
        shown = [c for c in present if c][:10]
        raise InputError(f"{source}: no column for sample(s) {', '.join(missing)} of the samplesheet"
                         f"{'; names are matched exactly: ' + ', '.join(hints) if hints else ''} "
                         f"(its columns: {', '.join(shown)}{' ...' if len(present) > 10 else ''})")


def _numbers(fields: list[str], column: str, source: str, lines: np.ndarray, unit: str) -> np.ndarray:
    text = pd.Series(fields, dtype=object).str.strip()
    missing = text.str.lower().isin(_MISSING).to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"{source} line {lines[row]}, column '{column}': missing value '{_shown(text.iat[row])}'; every gene needs a "
                         f"{unit} in every sample")
    try:
        numbers = text.astype(np.float64).to_numpy()  # Python's float(): correctly rounded, so written values read back exactly
    except ValueError:
        bad = next(i for i, v in enumerate(text) if not _parses(v))
        value = text.iat[bad]
        if value == column:
            hint = "; the header again (two tables joined?)"
        elif _parses(value.replace(",", "", 1)):
            hint = "; write numbers without thousands separators, and with a decimal point, not a comma"
        else:
            hint = ""
        raise InputError(f"{source} line {lines[bad]}, column '{column}': '{_shown(value[:40])}' is not a number{hint}") from None
    invalid = ~np.isfinite(numbers) | (numbers < 0)
    if invalid.any():
        row = int(np.flatnonzero(invalid)[0])
        raise InputError(f"{source} line {lines[row]}, column '{column}': {_shown(text.iat[row][:40])}; {unit} must be a finite number >= 0")
    if unit == "tpm" and (numbers > MAX_TPM).any():
        row = int(np.flatnonzero(numbers > MAX_TPM)[0])
        raise InputError(f"{source} line {lines[row]}, column '{column}': {_shown(text.iat[row][:40])} is more than 1e6, the most a TPM can be; "
                         f"if these are read counts, give --expression_unit counts")
    return numbers


def _parses(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def check_sample_sums(values: pd.DataFrame, source: str, unit: str) -> None:
    """A sample whose values are all 0, or whose column sum overflows, is refused, naming it."""
    with np.errstate(over="ignore"):
        sums = values.to_numpy().sum(axis=0)
    for sample, total in zip(values.columns, sums, strict=True):
        if not np.isfinite(total):
            raise InputError(f"{source}, column '{sample}': its values sum past the largest number a computer holds (1.8e308); "
                             f"are they {unit}? Give the sample's real values")
        if total == 0:
            raise InputError(f"{source}, column '{sample}': every value is 0 (no {unit} in any gene); is it the sample's column? "
                             f"Leave sample {sample} out of the samplesheet, or give its values")


def read_expression_table(path: str | Path, unit: str, samples: list[str], source: str | None = None) -> ExpressionTable:
    """The samplesheet's `samples` of a genes x samples table (formats in the module's docstring). `source` names the
    file in messages (the user's path)."""
    if unit not in EXPRESSION_UNITS:
        raise InputError(f"--expression_unit {unit}: choose one of {', '.join(EXPRESSION_UNITS)}")
    source = source or str(path)

    def wanted(header: list[str]) -> list[int]:
        _check_samples(source, header, samples)
        return sorted({0, 1, 2, *(header.index(s) for s in samples)} & set(range(len(header))))

    table = _read_columns(_decode(path, source), source, wanted, samples)
    header = table.header
    for note in table.notes:
        log.info("%s: %s", source, note)
    if not table.lines or len(header) < 2:
        raise InputError(f"{source}: no sample columns or no genes; expected a header such as gene_id<TAB>gene_name<TAB>sample1... "
                         f"or gene<TAB>sample1...")
    id_column, name_column = _key_columns(header, table.columns.get(0) if header[0] == "" else None)
    if id_column == 1:
        log.info("%s: the first column holds R's row numbers 1..%d: left out", source, len(table.lines))
    lines = np.asarray(table.lines)
    keys = pd.DataFrame({"gene_id": pd.Series(table.columns[id_column], dtype=object).str.strip(),
                         "gene_name": pd.Series(table.columns[name_column], dtype=object).str.strip()})
    empty = (keys == "").all(axis=1).to_numpy()
    if empty.any():
        raise InputError(f"{source} line {lines[int(np.flatnonzero(empty)[0])]}: no gene id or name")
    key_names = {header[id_column] or ROW_NAMES, header[name_column] or ROW_NAMES}
    left_out = [h or f"(column {i + 1})" for i, h in enumerate(header)
                if h not in samples and i not in (id_column, name_column) and not (i == 0 and id_column == 1)]
    if left_out:
        log.info("%s: %d column(s) not in the samplesheet left out: %s (genes: column %s)", source, len(left_out),
                 ", ".join(left_out), " and ".join(sorted(key_names)))
    values = pd.DataFrame({s: _numbers(table.columns[header.index(s)], s, source, lines, unit) for s in samples})
    check_sample_sums(values, source, unit)
    return ExpressionTable(source, keys, values, lines, left_out)


def read_encode_quantification(path: str | Path, source: str) -> pd.Series:
    """gene_id -> TPM of an ENCODE gene quantifications file (RSEM genes.results: gene_id, transcript_id(s), length,
    effective_length, expected_count, TPM, FPKM)."""
    table = _read_columns(read_text(path), source, lambda header: list(range(len(header))))
    missing = [c for c in ENCODE_GENE_QUANTIFICATION.columns if c not in table.header]
    if missing:
        raise InputError(f"{source}: not an ENCODE gene quantifications file (no column {', '.join(missing)}; expected "
                         f"{', '.join(ENCODE_GENE_QUANTIFICATION_COLUMNS)})")
    lines = np.asarray(table.lines)
    values = _numbers(table.columns[table.header.index("TPM")], "TPM", source, lines, "TPM")
    ids = pd.Series(table.columns[table.header.index("gene_id")], dtype=object).str.strip()
    if ids.duplicated().any():
        raise InputError(f"{source}: gene {ids[ids.duplicated()].iat[0]} is listed twice")
    return pd.Series(values, index=ids.to_numpy(), name="TPM")


def table_of_quantifications(files: dict[str, Path], sources: dict[str, str]) -> ExpressionTable:
    """One genes x samples table of per-sample ENCODE gene quantifications (sample -> file); the files must list the
    same genes (one GENCODE annotation)."""
    columns = {sample: read_encode_quantification(path, sources[sample]) for sample, path in sorted(files.items())}
    first_sample, first = next(iter(columns.items()))
    for sample, tpm in columns.items():
        if not tpm.index.equals(first.index):
            other = sorted(set(tpm.index) ^ set(first.index))[:3]
            raise InputError(f"{sources[sample]} and {sources[first_sample]} list different genes (e.g. {', '.join(other)}); "
                             f"are they of one GENCODE annotation?")
    values = pd.DataFrame({sample: tpm.to_numpy() for sample, tpm in columns.items()})
    ids = first.index.astype(str)
    keys = pd.DataFrame({"gene_id": ids, "gene_name": ids})
    for sample in values:
        check_sample_sums(values[[sample]], sources[sample], "TPM")
    return ExpressionTable("ENCODE gene quantifications", keys, values, np.arange(len(ids)) + 2)


def select_samples(table: ExpressionTable, samples: list[str]) -> list[str]:
    """The table's columns left out (not in the samplesheet); a samplesheet sample missing from the table is refused."""
    present = list(table.values.columns)
    _check_samples(table.source, present, samples)
    extra = [c for c in present if c not in samples]
    if extra:
        log.info("%s: %d column(s) not in the samplesheet left out: %s", table.source, len(extra), ", ".join(extra))
    return extra


# ---------------------------------------------------------------- genes

@dataclass
class GeneMatch:
    """Which annotation gene each table row is (gene_id, or '' when left out), why rows were left out, and the rows
    that add to another row of their gene (summed) or repeat one exactly (taken once)."""

    gene_id: np.ndarray
    reason: np.ndarray  # '' for a matched row
    several: int = 0  # genes of several rows
    summed: int = 0  # genes of several rows that are not exact repeats, summed
    repeats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # rows repeating an earlier row of their gene exactly
    examples: list[str] = field(default_factory=list)


def match_genes(keys: pd.DataFrame, genes: pd.DataFrame, values: pd.DataFrame | None = None,
                lines: np.ndarray | None = None) -> GeneMatch:
    """Rows of the table -> genes of the annotation (formats.GENES): by id without version, else by a name that exactly
    one gene has. A name of several genes or of none is left out, with the reason. Rows of one gene: a row that has
    the gene only by name gives way to a row that has it by id; a row repeating an earlier row of the gene exactly
    (same values; `values` given) is taken once; the others are summed by the caller (GeneMatch.gene_id repeats)."""
    n = len(keys)
    lines = np.arange(n) + 2 if lines is None else np.asarray(lines)
    gene_id = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    annotation_ids = pd.Index(genes["gene_id"].astype(str))
    names = genes["gene_name"].astype(str)
    name_count = names.value_counts()
    unique_name = genes.loc[names.map(name_count).to_numpy() == 1].set_index("gene_name")["gene_id"]
    id_column = keys["gene_id"] if "gene_id" in keys else keys.iloc[:, 0]
    name_column = keys["gene_name"] if "gene_name" in keys else keys.iloc[:, 0]

    by_id = strip_version(id_column).to_numpy()
    hit = annotation_ids.get_indexer(by_id) >= 0
    gene_id[hit] = by_id[hit]
    rest = ~hit
    name = name_column.to_numpy().astype(str)
    found = rest & pd.Index(name).isin(unique_name.index)
    gene_id[found] = unique_name.reindex(name[found]).to_numpy()
    several = rest & ~found & (pd.Series(name).map(name_count).fillna(0).to_numpy() > 1)
    reason[several] = [f"name matches {int(name_count[v])} genes of the annotation" for v in name[several]]
    reason[rest & ~found & ~several] = "no gene of the annotation has this id or name"

    # a row that is a gene only by its name gives way to a row that is the gene by id
    first_by_id = pd.Series(np.flatnonzero(hit), index=gene_id[hit]).groupby(level=0).first()
    yields = found & pd.Index(gene_id).isin(first_by_id.index)
    if yields.any():
        reason[yields] = [f"its name is that of gene {g}, which line {lines[first_by_id[g]]} of the table has by id"
                          for g in gene_id[yields]]
        gene_id[yields] = ""

    matched = gene_id != ""
    repeats = np.zeros(n, dtype=bool)
    several, summed, examples = 0, 0, []
    repeated = matched & pd.Series(gene_id).duplicated(keep=False).to_numpy()
    if repeated.any():
        if values is not None:
            frame = values.assign(_gene=gene_id)
            repeats = matched & frame.duplicated(keep="first").to_numpy()
        parts = pd.Series(np.flatnonzero(repeated & ~repeats), index=gene_id[repeated & ~repeats])
        counts = parts.index.value_counts()
        summed = int((counts > 1).sum())
        several = len(set(gene_id[repeated]))
        for g in list(dict.fromkeys(gene_id[repeated]))[:3]:
            rows = np.flatnonzero(gene_id == g)
            examples.append(f"{g} on lines {', '.join(str(lines[r]) for r in rows[:4])}{' ...' if len(rows) > 4 else ''}")
    return GeneMatch(gene_id, reason, several, summed, repeats, examples)


def gene_values(values: pd.DataFrame, match: GeneMatch, kept: np.ndarray) -> pd.DataFrame:
    """The values of each matched gene (rows `kept`, repeats excluded), its rows summed; indexed by gene_id, in the order
    of each gene's first row."""
    rows = kept & ~match.repeats
    frame = values[rows].assign(_gene=match.gene_id[rows])
    return frame.groupby("_gene", sort=False).sum().rename_axis(None)


def looks_like_counts(values: pd.DataFrame) -> bool:
    """Whole numbers only, with column sums far above the 1e6 a TPM column sums to."""
    array = values.to_numpy()
    return bool(array.size and np.all(array == np.round(array)) and np.median(array.sum(axis=0)) > COUNTS_HINT_SUM)


def to_tpm(values: pd.DataFrame, unit: str, lengths: np.ndarray | None, library: pd.Series) -> tuple[pd.DataFrame, str]:
    """TPM of each gene's values (genes x samples) and how it was made. `lengths`: each gene's exon length, or None
    when the annotation has no exons; `library`: each column's sum over all rows (CPM's denominator)."""
    if unit == "tpm":
        return values, "TPM as given"
    if lengths is None:
        return values / library.replace(0, np.nan) * 1e6, "CPM: read counts per million of each column's sum (the annotation has no exons, so no gene lengths)"
    rate = values.div(lengths, axis=0)
    tpm = rate / rate.sum(axis=0).replace(0, np.nan) * 1e6
    return tpm, "TPM from read counts and each gene's exon length (the union of its exons in the annotation)"
