"""Expression from a table instead of reads: --expression (a genes x samples table, TSV or CSV) and ENCODE's released
gene quantifications (one RSEM genes.results per replicate). The layouts are those of formats.py.

- Values: every cell a number >= 0; a missing, non-numeric or negative one is refused, naming its line and column.
  Numbers are read exactly (a TPM written by this pipeline reads back bit for bit).
- Samples: the samplesheet's, matched by name; one missing from the table is refused; other columns are left out
  and listed in the log.
- Genes: matched to the annotation by id (versions stripped), else by name when exactly one gene has it. A name of
  several genes, or of none, and a gene that several rows match, is left out and listed with the reason; never guessed.
- Units: TPM stays as it is. Read counts become TPM with each gene's exon length (the union of its exons) where the
  annotation has exons: TPM = 1e6 * (c / L) / sum over the matched genes of (c / L); else CPM = 1e6 * c / the
  column's sum over all rows. A table of whole numbers with column sums far above 1e6 declared as TPM is warned about.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .annotation import strip_version
from .cli import InputError
from .files import read_text
from .formats import ENCODE_GENE_QUANTIFICATION, ENCODE_GENE_QUANTIFICATION_COLUMNS, EXPRESSION_KEY_COLUMNS, EXPRESSION_UNITS

log = logging.getLogger(__name__)

_MISSING = {"", "na", "nan", "null", "none", "n/a", "-", "."}
COUNTS_HINT_SUM = 2e6  # a TPM column sums to at most 1e6; read counts of a library to millions


@dataclass
class ExpressionTable:
    """Genes x samples: `keys` (gene_id and/or gene_name, as written) and `values` (float64, one column per sample)."""

    source: str
    keys: pd.DataFrame
    values: pd.DataFrame


def _text_frame(text: str, source: str) -> pd.DataFrame:
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False, header=None,
                            quoting=csv.QUOTE_MINIMAL, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{source}: not a table of expression ({' '.join(str(err).split())[:200]})") from None
    header = [str(c).strip() for c in frame.iloc[0]] if len(frame) else []
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{source}: column {repeated[0]} appears twice in the header")
    frame = frame.iloc[1:].reset_index(drop=True)
    frame.columns = header
    return frame


def _numbers(frame: pd.DataFrame, columns: list[str], source: str, lines: np.ndarray, unit: str) -> pd.DataFrame:
    values = {}
    for column in columns:
        text = frame[column].str.strip()
        missing = text.str.lower().isin(_MISSING)
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise InputError(f"{source} line {lines[row]}, column '{column}': missing value '{text.iat[row]}'; every gene needs a "
                             f"{unit} in every sample")
        try:
            numbers = text.astype(np.float64)  # Python's float(): correctly rounded, so written values read back exactly
        except ValueError:
            bad = next(i for i, v in enumerate(text) if not _parses(v))
            raise InputError(f"{source} line {lines[bad]}, column '{column}': '{text.iat[bad][:40]}' is not a number") from None
        invalid = ~np.isfinite(numbers.to_numpy()) | (numbers.to_numpy() < 0)
        if invalid.any():
            row = int(np.flatnonzero(invalid)[0])
            raise InputError(f"{source} line {lines[row]}, column '{column}': {text.iat[row]}; {unit} must be a finite number >= 0")
        values[column] = numbers.to_numpy()
    return pd.DataFrame(values, index=frame.index)


def _parses(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def read_expression_table(path: str | Path, unit: str, source: str | None = None) -> ExpressionTable:
    """A genes x samples table (TSV or CSV, told by its header line; gz or plain): nf-core/rnaseq's layout (gene_id,
    gene_name, samples...) or genes in the first column. `source` names the file in messages (the user's path)."""
    if unit not in EXPRESSION_UNITS:
        raise InputError(f"--expression_unit {unit}: choose one of {', '.join(EXPRESSION_UNITS)}")
    source = source or str(path)
    frame = _text_frame(read_text(path).lstrip("\ufeff"), source)
    header = list(frame.columns)
    key_columns = list(EXPRESSION_KEY_COLUMNS) if header[:2] == list(EXPRESSION_KEY_COLUMNS) else header[:1]
    samples = [c for c in header if c not in key_columns]
    if not samples or frame.empty:
        raise InputError(f"{source}: no sample columns or no genes; expected a header such as gene_id<TAB>gene_name<TAB>sample1... "
                         f"or gene<TAB>sample1...")
    lines = np.arange(len(frame)) + 2  # the header is line 1; blank lines are skipped by the reader
    keys = frame[key_columns].apply(lambda c: c.str.strip())
    empty = (keys == "").all(axis=1).to_numpy()
    if empty.any():
        raise InputError(f"{source} line {lines[int(np.flatnonzero(empty)[0])]}: no gene id or name")
    values = _numbers(frame, samples, source, lines, unit)
    return ExpressionTable(source, keys.reset_index(drop=True), values.reset_index(drop=True))


def read_encode_quantification(path: str | Path, source: str) -> pd.Series:
    """gene_id -> TPM of an ENCODE gene quantifications file (RSEM genes.results: gene_id, transcript_id(s), length,
    effective_length, expected_count, TPM, FPKM)."""
    frame = _text_frame(read_text(path), source)
    missing = [c for c in ENCODE_GENE_QUANTIFICATION.columns if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: not an ENCODE gene quantifications file (no column {', '.join(missing)}; expected "
                         f"{', '.join(ENCODE_GENE_QUANTIFICATION_COLUMNS)})")
    lines = np.arange(len(frame)) + 2
    values = _numbers(frame, ["TPM"], source, lines, "TPM")["TPM"]
    ids = frame["gene_id"].str.strip()
    if ids.duplicated().any():
        raise InputError(f"{source}: gene {ids[ids.duplicated()].iat[0]} is listed twice")
    return pd.Series(values.to_numpy(), index=ids.to_numpy(), name="TPM")


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
    keys = pd.DataFrame({"gene_id": first.index.astype(str)})
    return ExpressionTable("ENCODE gene quantifications", keys, values)


def select_samples(table: ExpressionTable, samples: list[str]) -> list[str]:
    """The table's columns left out (not in the samplesheet); a samplesheet sample missing from the table is refused."""
    present = list(table.values.columns)
    missing = [s for s in samples if s not in present]
    if missing:
        lower = {c.lower(): c for c in present}
        hints = [f"{s} (the table has {lower[s.lower()]})" for s in missing if s.lower() in lower]
        raise InputError(f"{table.source}: no column for sample(s) {', '.join(missing)} of the samplesheet"
                         f"{'; names are matched exactly: ' + ', '.join(hints) if hints else ''} "
                         f"(its sample columns: {', '.join(present[:10])}{' ...' if len(present) > 10 else ''})")
    extra = [c for c in present if c not in samples]
    if extra:
        log.info("%s: %d column(s) not in the samplesheet left out: %s", table.source, len(extra), ", ".join(extra))
    return extra


@dataclass
class GeneMatch:
    """Which annotation gene each table row is (gene_id, or '' when left out) and why rows were left out."""

    gene_id: np.ndarray
    reason: np.ndarray  # '' for a matched row


def match_genes(keys: pd.DataFrame, genes: pd.DataFrame) -> GeneMatch:
    """Rows of the table -> genes of the annotation (formats.GENES): by id without version, else by a name that exactly
    one gene has. A name of several genes, of none, and a gene matched by several rows are left out, with the reason."""
    n = len(keys)
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

    matched = gene_id != ""
    repeated = matched & pd.Series(gene_id).duplicated(keep=False).to_numpy()
    if repeated.any():
        counts = pd.Series(gene_id[repeated]).value_counts()
        reason[repeated] = [f"{int(counts[g])} rows of the table are gene {g}" for g in gene_id[repeated]]
        gene_id[repeated] = ""
    return GeneMatch(gene_id, reason)


def looks_like_counts(values: pd.DataFrame) -> bool:
    """Whole numbers only, with column sums far above the 1e6 a TPM column sums to."""
    array = values.to_numpy()
    return bool(array.size and np.all(array == np.round(array)) and np.median(array.sum(axis=0)) > COUNTS_HINT_SUM)


def to_tpm(values: pd.DataFrame, matched: np.ndarray, unit: str, lengths: np.ndarray | None) -> tuple[pd.DataFrame, str]:
    """TPM of the matched rows (a boolean mask) and how it was made. `lengths`: exon length of each row (NaN where
    unknown), or None when the annotation has no exons."""
    if unit == "tpm":
        return values[matched], "TPM as given"
    if lengths is None:
        library = values.sum(axis=0)
        cpm = values[matched] / library.replace(0, np.nan) * 1e6
        return cpm.fillna(0.0), "CPM: read counts per million of each column's sum (the annotation has no exons, so no gene lengths)"
    rate = values[matched].div(lengths[matched], axis=0)
    tpm = rate / rate.sum(axis=0).replace(0, np.nan) * 1e6
    return tpm.fillna(0.0), "TPM from read counts and each gene's exon length (the union of its exons in the annotation)"
