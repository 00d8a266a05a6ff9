"""Every table and file layout that passes between the pipeline's steps, defined once: names, columns, types.

Readers and writers take their columns from here, so a table has one definition:

  GENES            genes.tsv (gene_annotation.py, gene_tpm.py; the genes of a dataset and of a model file)
  TRANSCRIPTS      transcripts.tsv (gene_annotation.py)
  GENE_LENGTHS     gene_lengths.tsv (gene_annotation.py): exon lengths, for counts -> TPM
  GENES_DROPPED    genes_dropped.tsv (gene_tpm.py, expression_table.py): genes left out and why
  EXPRESSION_*     an expression table (--expression, ENCODE gene quantifications) and what was made of it
  BINS             bins.tsv.gz (build_matrix.py): one row per column of X
  BIN_LAYOUT       regions.tsv (define_bins.py, check_model.py): the regions and the bin size every step reads
  GENE_TPM         gene_tpm.tsv: one row per (sample, gene)
  GENE_MATRIX_KEYS gene_tpm_matrix.tsv: genes x samples
  PREDICTIONS      every predictions table (train_model.py, evaluate.py, predict.py)
  TRAINING_LOSS    <model>/loss.tsv (train_model.py)
  METRICS          metrics.tsv (evaluate.py): the held-out summary per fold scheme and model; PER_GENE_METRICS per gene;
                   FOLDS, SPLITS, LEARNING_CURVES: the folds, the inner splits and the networks' losses per epoch
  QUANT_SUMMARY    quant_summary.tsv (gene_tpm.py): kallisto's transcripts per sample and those not in the GTF
  BEST_GENES       <model>/best_genes.tsv (links.py): the best-predicted genes with links, their figures and tracks
  NEW_SAMPLES      new_samples.tsv (predict.py): what each new sample is next to the training samples; PROMOTER_BASELINE
  LINKS            <model>.links.tsv.gz (links.py): one row per (gene, bin) link; SAMPLE_LINKS adds the sample (predict.py);
                   SAMPLE_SCORES the training samples' scored links (link_scores.py)
  PEAK_SUMMARY     <sample>.peaks.json (binarize_peaks.py): the sample's peaks and open bins
  QC_SAMPLES       qc_samples.tsv (qc_summary.py): reads, pseudoalignment, peaks and open bins per sample
  QC_GENES         qc_genes.tsv (qc_summary.py): the genes of the regions kept and dropped, by reason
  SAMPLE_BINS_NPZ  <sample>.bins.npz (binarize_peaks.py), arrays
  DATASET_NPZ      dataset.npz (build_matrix.py), arrays
  MODEL_META       the metadata of a model file (modelling/model_file.py)
  SAMPLESHEET      the samplesheet: assets/schema_input.json (read by samples.py)

Integer columns are int64; text columns are read as text, never as missing values ('NA' is a gene name); an empty
float field is NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cli import InputError

# the pipeline's assets/ (the samplesheet schema, the links' combiner, the bundled chromosome sizes): the repository's,
# beside bin/, or the copy inside the package that `pip install .` makes (pyproject.toml)
_PACKAGE = Path(__file__).resolve().parent
ASSETS = _PACKAGE / "assets" if (_PACKAGE / "assets").is_dir() else _PACKAGE.parents[1] / "assets"


def read_tsv(path: str | Path, **options: Any) -> pd.DataFrame:
    """A tab-separated table with a header; floats parsed exactly (the fast parser may change the last digit of
    what tables.write_tsv wrote)."""
    return pd.read_csv(path, sep="\t", float_precision="round_trip", **options)


@dataclass(frozen=True)
class Table:
    """A TSV table: its columns in order and their types ('str', 'int', 'float', 'bool')."""

    name: str
    fields: tuple[tuple[str, str], ...]

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self.fields]

    def of_type(self, kind: str) -> list[str]:
        return [name for name, t in self.fields if t == kind]

    @property
    def dtypes(self) -> dict[str, Any]:
        return {name: {"str": str, "int": np.int64, "float": np.float64, "bool": str}[t] for name, t in self.fields}

    def read(self, path: str | Path) -> pd.DataFrame:
        """The table at `path`, its columns checked and typed; one-line errors name the file."""
        try:
            # an empty float field is a missing value (NaN); text never is
            frame = read_tsv(path, dtype=self.dtypes, keep_default_na=False, na_values={c: [""] for c in self.of_type("float")})
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise InputError(f"{path}: not a {self.name} table ({' '.join(str(err).split())[:200]})") from None
        if list(frame.columns) != self.columns:
            raise InputError(f"{path}: not a {self.name} table (columns {', '.join(map(str, frame.columns))}; "
                             f"expected {', '.join(self.columns)})")
        for column in self.of_type("bool"):
            frame[column] = frame[column].str.lower() == "true"
        return frame

    def frame(self, data: dict[str, Any] | pd.DataFrame) -> pd.DataFrame:
        """The columns of `data` in this table's order (a missing column is a bug, so KeyError)."""
        return pd.DataFrame({name: data[name] for name in self.columns})


GENES = Table("genes", (("gene_id", "str"), ("gene_name", "str"), ("gene_biotype", "str"), ("chrom", "str"),
                        ("start", "int"), ("end", "int"), ("strand", "str"), ("tss", "int")))
TRANSCRIPTS = Table("transcripts", (("transcript_id", "str"), ("gene_id", "str"), ("in_transcriptome", "bool")))
# bases of the union of each gene's exons (GTF exon lines, BED12 blocks): counts -> TPM; no rows when the annotation has no exons
GENE_LENGTHS = Table("gene lengths", (("gene_id", "str"), ("length", "int")))
BINS = Table("bins", (("chrom", "str"), ("start", "int"), ("end", "int")))
BIN_LAYOUT = Table("bin layout", (("chrom", "str"), ("start", "int"), ("end", "int"), ("bin_size", "int")))
GENE_TPM = Table("gene TPM", (("sample", "str"), ("gene_id", "str"), ("gene_name", "str"), ("tpm", "float")))
# a genes x samples matrix (gene_tpm_matrix.tsv; nf-core/rnaseq's merged gene tables): these columns, then one per sample
GENE_MATRIX_KEYS = ("gene_id", "gene_name")
# evaluate.py's tables. folds: random, or group (leave-group-out). metrics.tsv: one row per (fold scheme, model), the
# held-out summary of evaluation.compute_metrics in its order, then the mean seconds of one fit
METRICS = Table("held-out metrics", (
    ("folds", "str"), ("model", "str"), ("mse", "float"), ("r2", "float"), ("r2_total", "float"), ("pearson_gene_median", "float"),
    ("pearson_gene_mean", "float"), ("spearman_gene_median", "float"), ("spearman_gene_mean", "float"), ("r2_gene_median", "float"),
    ("fraction_genes_better_than_mean", "float"), ("pearson_sample_median", "float"), ("pearson_sample_mean", "float"),
    ("n_genes", "int"), ("n_genes_no_variance", "int"), ("n_genes_undefined", "int"), ("n_samples", "int"), ("n_genes_variable", "int"),
    ("r2_variable", "float"), ("r2_gene_median_variable", "float"), ("fraction_genes_better_than_mean_variable", "float"),
    ("fit_seconds_per_fold", "float")))
# per_gene_metrics.tsv: one row per (fold scheme, model, gene)
PER_GENE_METRICS = Table("per-gene held-out metrics", (
    ("folds", "str"), ("model", "str"), ("gene_id", "str"), ("gene_name", "str"), ("pearson", "float"), ("spearman", "float"),
    ("r2", "float"), ("mse", "float"), ("observed_variance", "float"), ("status", "str")))
# folds.tsv: the random fold in which each sample is held out; with groups, FOLDS_GROUPS follow (its group, and the
# leave-group-out fold)
FOLDS = Table("folds", (("sample", "str"), ("fold", "int")))
FOLDS_GROUPS = Table("folds with groups", (*FOLDS.fields, ("group", "str"), ("group_fold", "int")))
# splits.tsv: every fold's samples by role (inner_train, validation, test)
SPLITS = Table("splits", (("fold", "int"), ("sample", "str"), ("role", "str")))
# learning_curves.tsv: the networks' training and inner-validation loss per epoch and fold
LEARNING_CURVES = Table("learning curves", (("model", "str"), ("fold", "int"), ("epoch", "int"), ("train_loss", "float"),
                                            ("val_loss", "float")))
# train_model.py's loss.tsv: the training loss per epoch (the MLP's; one row for a model fitted in one step)
TRAINING_LOSS = Table("training loss", (("epoch", "int"), ("train_loss", "float")))
# gene_tpm.py's quant_summary.tsv: per sample, kallisto's targets and those (and their TPM) not in the GTF
QUANT_SUMMARY = Table("quantification summary", (("sample", "str"), ("transcripts", "int"), ("transcripts_not_in_gtf", "int"),
                                                 ("tpm_not_in_gtf", "float"), ("tpm_total", "float")))
# links.py's <model>/best_genes.tsv: the best-predicted genes with links (r2_source: held-out, or in-sample when the model
# was not evaluated), with their figure and track, relative to the links' folder
BEST_GENES = Table("best-predicted genes", (("model", "str"), ("gene_id", "str"), ("gene_name", "str"), ("r2", "float"),
                                            ("r2_source", "str"), ("n_links", "int"), ("figure", "str"), ("track", "str")))
# predict.py's new_samples.tsv (modelling/new_sample.py says what each column means; the peak counts are empty when
# the sample's peaks summary is not given) and promoter_baseline.tsv
NEW_SAMPLES = Table("new samples", (
    ("sample", "str"), ("nearest_training_sample", "str"), ("similarity", "float"), ("training_similarity_low", "float"),
    ("training_similarity_high", "float"), ("peaks", "float"), ("peaks_in_model_bins", "float"), ("share_of_peaks_in_model_bins", "float"),
    ("open_bins", "int"), ("activity_kind", "str"), ("activity_normalisation", "str"), ("promoter_baseline_spearman", "float")))
PROMOTER_BASELINE = Table("promoter baseline", (
    ("sample", "str"), ("gene_id", "str"), ("gene_name", "str"), ("predicted", "float"), ("promoter_baseline", "float"),
    ("promoter_activity_rank", "float"), ("training_mean", "float")))
# genes left out of the targets: the genes table's columns (empty where the gene is not in the annotation), then why
GENES_DROPPED = Table("genes dropped", (*GENES.fields, ("reason", "str")))

# --expression: a genes x samples table, TSV or CSV (told by its header line). Its genes are in the first column, or in
# gene_id and gene_name (nf-core/rnaseq's merged tables: salmon.merged.gene_tpm.tsv, ..._counts.tsv); every other
# column is a sample. Ids are matched to the annotation without versions, names when the id does not match.
EXPRESSION_UNITS = ("tpm", "counts")
EXPRESSION_KEY_COLUMNS = GENE_MATRIX_KEYS
# ENCODE's released gene quantifications (RSEM genes.results, one file per replicate): the columns read
ENCODE_GENE_QUANTIFICATION = Table("ENCODE gene quantifications", (("gene_id", "str"), ("TPM", "float")))
ENCODE_GENE_QUANTIFICATION_COLUMNS = ("gene_id", "transcript_id(s)", "length", "effective_length", "expected_count", "TPM", "FPKM")
# expression_source.json (expression_table.py): where the targets came from and how they were made TPM
# (genes_in_table: the table's rows; genes_summed: genes of several rows, summed; rows_repeated: rows taken once)
EXPRESSION_SOURCE_FIELDS = ("source", "unit", "normalisation", "samples", "columns_left_out", "genes_in_table", "genes_matched",
                            "genes_dropped", "genes_in_regions", "genes_summed", "rows_repeated")


@dataclass(frozen=True)
class PredictionsLayout:
    """Every predictions table: [leading columns,] sample, gene_id, gene_name, [observed,] predicted, [observed_tpm,]
    predicted_tpm. One row per (sample, gene), sample-major."""

    keys: tuple[str, ...] = ("sample", "gene_id", "gene_name")
    values: tuple[str, ...] = ("observed", "predicted", "observed_tpm", "predicted_tpm")
    leading: tuple[str, ...] = ("model", "fold")

    def columns(self, leading: tuple[str, ...] = (), observed: bool = False) -> list[str]:
        values = [v for v in self.values if observed or not v.startswith("observed")]
        return [*leading, *self.keys, *values]


PREDICTIONS = PredictionsLayout()

# A link: a (gene, bin) pair (atac2expr/links.py). The bin is [start, end) on chrom; tss is the gene's (0-based);
# distance is from the TSS to the bin's centre in bp, strand-aware (negative upstream, positive downstream).
#   weight       how much the bin moves the model's prediction of the gene, in the model's target units (each model's rule)
#   score        the regulatory score (atac2expr/link_scores.py): the probability that the bin regulates the gene, from
#                the sample's activity by contact and the training samples' cross-sample evidence, by the combiner fitted
#                on CRISPRi-tested pairs; 0 for a bin closed in the sample
#   abc          the sample's activity-by-contact score of the pair
#   correlation  the pair's correlation across the training samples (0: weaker than the model keeps, or not tested)
#   fdr          its Benjamini-Hochberg FDR under the label-permutation null (1: not kept)
#   rank         1 = the gene's strongest link: by |weight| in a model's table, by score in a sample's
# A model's table (<model>.links.tsv.gz) scores each link on the training samples together (their mean activity);
# -entry PREDICT's (SAMPLE_LINKS) and the training samples' (SAMPLE_SCORES, model-independent: no weight) each sample's.
_SCORES = (("score", "float"), ("abc", "float"), ("correlation", "float"), ("fdr", "float"))
_LINK_KEYS = (("gene_id", "str"), ("gene_name", "str"), ("chrom", "str"), ("start", "int"), ("end", "int"), ("tss", "int"), ("distance", "int"))
LINKS = Table("links", (*_LINK_KEYS, ("weight", "float"), *_SCORES, ("rank", "int")))
SAMPLE_LINKS = Table("sample links", (("sample", "str"), *LINKS.fields))
SAMPLE_SCORES = Table("sample scores", (("sample", "str"), *_LINK_KEYS, *_SCORES, ("rank", "int")))

PEAK_SUMMARY = ("sample", "peaks", "peaks_on_regions", "bins", "bins_open")
QC_SAMPLES = Table("QC per sample", (("sample", "str"), ("reads", "float"), ("reads_shorter_than_k", "float"),
                                     ("pseudoaligned", "float"), ("pseudoaligned_percent", "float"), ("peaks", "int"),
                                     ("peaks_on_regions", "int"), ("bins_open", "int"), ("bins_open_percent", "float")))
QC_GENES = Table("QC of the genes", (("status", "str"), ("reason", "str"), ("genes", "int")))

# What a bin holds (--bin_value): binary, 0/1 (uint8: a peak overlaps the bin), or signal, log1p of the strongest
# overlapping peak's narrowPeak signalValue (float32; peaks.signal_value). Files and model files record which; a file
# without the record holds binary bins (files written before signal bins existed).
BIN_VALUES = ("binary", "signal")
BIN_DTYPES = {"binary": np.uint8, "signal": np.float32}
# What a bin's activity is (dataset.py; peaks.bin_activity): the strongest overlapping peak's signalValue (signal), or
# 1 per overlapped bin when the peaks have no signal column (binary)
ACTIVITY_KINDS = ("signal", "binary")

# .npz layouts: array names (strings are fixed-width unicode arrays, never pickled objects). Bins are stored as the
# bit-packed mask of nonzero values (open_bits, X_bits) plus, for signal bins, the nonzero values in row-major order
# (signal, X_signal: float32), so that mostly closed bins cost a bit each in either kind.
REGION_PREFIX = "region_"
LAYOUT_ARRAYS = ("region_chrom", "region_start", "region_end", "bin_size")
SAMPLE_BINS_NPZ = ("sample", "bin_value", "open_bits", "signal", "activity_kind", "activity_bits", "activity", "n_bins", *LAYOUT_ARRAYS)
GENE_ARRAY_PREFIX = "gene_"
DATASET_NPZ = ("X_bits", "X_signal", "bin_value", "activity_kind", "A_bits", "A_values", "n_bins", "Y", "samples", "groups", *LAYOUT_ARRAYS,
               *(name if name.startswith(GENE_ARRAY_PREFIX) else GENE_ARRAY_PREFIX + name for name in GENES.columns))

# a model file: torch.save of {"format": MODEL_FORMAT, "meta": {MODEL_META...}, "state_dict": {name: tensor},
# "reference": {name: tensor}, "evidence": {name: tensor}} (the reference: what a new sample is compared with,
# modelling/new_sample.py; the evidence: the links' cross-sample evidence, link_scores.py)
MODEL_FORMAT = "atac2expr-model/5"
MODEL_META = ("model", "settings", "layout", "bin_value", "genes", "train_samples", "reference", "versions", "evidence")


def gene_array_name(column: str) -> str:
    """The .npz array of a genes column: gene_id stays, chrom becomes gene_chrom."""
    return column if column.startswith(GENE_ARRAY_PREFIX) else GENE_ARRAY_PREFIX + column


_samplesheet_schema_path = [ASSETS / "schema_input.json"]


def use_samplesheet_schema(path: str | Path) -> None:
    """Read the samplesheet's rules from `path`: a task stages assets/schema_input.json (a container sees only the
    pipeline's bin/), and a script that reads samplesheets or sample ids takes it as --samplesheet_schema."""
    _samplesheet_schema_path[0] = Path(path)
    _load_samplesheet_schema.cache_clear()


@cache
def _load_samplesheet_schema(path: Path) -> dict[str, Any]:
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not the samplesheet schema (assets/schema_input.json) ({err})") from None


def samplesheet_schema() -> dict[str, Any]:
    """assets/schema_input.json: the samplesheet's columns, which are required in which layout, and their rules."""
    return _load_samplesheet_schema(_samplesheet_schema_path[0])


def samplesheet_columns(layout: str) -> list[str]:
    """The header of a samplesheet layout ('reads': sample,fastq_1,fastq_2,peaks; 'peaks': sample,peaks)."""
    layouts = samplesheet_schema()["x-layouts"]
    if layout not in layouts:
        raise ValueError(f"samplesheet layout {layout}: one of {', '.join(layouts)}")
    return list(layouts[layout]["columns"])


def samplesheet_optional_columns(layout: str) -> list[str]:
    """Columns a samplesheet of `layout` may add to its header (group)."""
    return list(samplesheet_schema()["x-layouts"][layout].get("optional", []))


def samplesheet_column(name: str) -> dict[str, Any]:
    return samplesheet_schema()["items"]["properties"][name]


# --encode: the samplesheet to review (the 'reads' layout holding ENCODE's URLs, then what verifies each file), the
# provenance of every sample, and the files to download, each once, under a name the pipeline makes
def encode_samplesheet_columns() -> list[str]:
    return [*samplesheet_columns("reads"), "fastq_1_md5", "fastq_1_size", "fastq_2_md5", "fastq_2_size", "peaks_md5", "peaks_size",
            "run_type", "read_length", "fragment_length", "expression", "expression_md5", "expression_size"]


ENCODE_PROVENANCE_COLUMNS = [
    "sample", "biosample_term_name", "biosample_classification", "biosample_term_id", "match_by",
    "rna_donor", "atac_donors", "atac_experiment", "peaks_file", "peaks_output_type",
    "rna_experiment", "rna_assay_title", "biological_replicate", "fastq_1_files", "fastq_2_files",
    "run_type", "read_length", "quantification_file", "genome_annotation",
]
DOWNLOAD_COLUMNS = ["name", "url", "md5", "size"]
# --encode_expression quantifications: each sample's downloaded gene quantifications (the file's name as downloaded,
# and its URL for messages)
QUANTIFICATIONS_COLUMNS = ["sample", "file", "source"]
