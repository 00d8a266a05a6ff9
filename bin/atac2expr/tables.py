"""The tables users read: written as TSV with every float in full (round-trip) precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .files import atomic_output
from .formats import GENE_MATRIX_KEYS, GENE_TPM, PREDICTIONS
from .targets import inverse_transform


def write_tsv(frame: pd.DataFrame, path: str | Path) -> None:
    """Tab-separated, header, no index; floats as Python's shortest repr, so reading back gives the same numbers."""
    with atomic_output(path) as handle:
        frame.to_csv(handle, sep="\t", index=False)


def gene_tpm_tables(genes: pd.DataFrame, tpm: dict[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(gene_tpm_matrix.tsv: gene_id, gene_name, one column per sample; gene_tpm.tsv: one row per sample and gene) of
    the genes' TPM per sample (arrays in the genes' order). gene_tpm.py and expression_table.py write both."""
    matrix = pd.DataFrame(tpm)
    for key in reversed(GENE_MATRIX_KEYS):
        matrix.insert(0, key, genes[key].to_numpy())
    tidy = matrix.melt(id_vars=list(GENE_MATRIX_KEYS), var_name="sample", value_name="tpm")[GENE_TPM.columns]
    return matrix, tidy


def prediction_table(samples: np.ndarray, genes: pd.DataFrame, predicted: np.ndarray, transform: str,
                     observed: np.ndarray | None = None, observed_tpm: np.ndarray | None = None,
                     leading: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per (sample, gene), sample-major: [leading columns,] sample, gene_id, gene_name, [observed,]
    predicted (the model's units), [observed_tpm,] predicted_tpm (inverse transform, clipped at 0)."""
    n_samples, n_genes = predicted.shape
    columns: dict[str, np.ndarray] = {name: np.repeat(np.asarray(values), n_genes) for name, values in (leading or {}).items()}
    columns["sample"] = np.repeat(np.asarray(samples).astype(str), n_genes)
    columns["gene_id"] = np.tile(genes["gene_id"].to_numpy(str), n_samples)
    columns["gene_name"] = np.tile(genes["gene_name"].to_numpy(str), n_samples)
    if observed is not None:
        columns["observed"] = np.asarray(observed).reshape(-1)
    columns["predicted"] = np.asarray(predicted).reshape(-1)
    if observed_tpm is not None:
        columns["observed_tpm"] = np.asarray(observed_tpm).reshape(-1)
    columns["predicted_tpm"] = np.clip(inverse_transform(np.asarray(predicted, dtype=np.float64), transform), 0, None).reshape(-1)
    return pd.DataFrame(columns)[PREDICTIONS.columns(tuple(leading or ()), observed is not None)]


def of_folds(metrics: pd.DataFrame, scheme: str = "random") -> pd.DataFrame:
    """The rows of one fold scheme of evaluate.py's metrics.tsv or per_gene_metrics.tsv, without the folds column
    (random, or group: leave-group-out); a table without the column is all random folds."""
    if "folds" not in metrics.columns:
        return metrics if scheme == "random" else metrics.iloc[0:0]
    return metrics[metrics["folds"] == scheme].drop(columns="folds")
