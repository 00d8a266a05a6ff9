"""Small synthetic Datasets with a planted signal, shared by the model tests (not a test module itself).

Each gene's log1p(TPM) = base + effect * (bin of its TSS is open) + small noise, so a model that reads the
bins near a TSS can beat the per-gene mean on held-out samples, and a per-gene mean cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from atac2expr import dataset, link_scores, regions
from atac2expr.modelling import new_sample, predictors, promoter
from atac2expr.settings import EvaluationSettings, LinkSettings, ModelSettings

# The test networks are tiny: one thread is several times faster than two threads on shared cores.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
CHROM_SIZES = REPO / "assets" / "GRCh38.chrom.sizes"
SIZES = regions.read_chrom_sizes(CHROM_SIZES)
ASSEMBLY = ("--genome", "GRCh38", "--chrom_sizes", str(CHROM_SIZES))  # train_model.py records them in the model file
DEFAULT_REGION = "chr1:1-120000,chr2:1-60000"


def layout_of(region: str, bin_size: int = 1000) -> regions.BinLayout:
    """The bin layout of a --region value on GRCh38."""
    return regions.BinLayout.of(regions.parse_regions(region, SIZES), bin_size)


def make_planted(
    n_samples: int = 24, n_genes: int = 16, region: str = DEFAULT_REGION, bin_size: int = 1000,
    seed: int = 0, p_open: float = 0.4, effect: float = 2.0, noise: float = 0.05, constant_genes: int = 0,
    genes: pd.DataFrame | None = None, p_background: float | None = None, bin_value: str = "binary",
) -> dataset.Dataset:
    """p_background: the share of samples in which a bin without a TSS is open (default p_open); a low value
    makes the genes' own bins stand out, as gene activity scores assume. bin_value 'signal': every open bin gets the
    log1p of a peak signal drawn from 2-300 (float32 X), and expression follows the TSS bin's signal, not only
    whether it is open (effect per unit of log1p signal, divided by 3)."""
    rng = np.random.default_rng(seed)
    layout = layout_of(region, bin_size)
    bins = layout.bins()
    n_bins = len(bins)
    X = (rng.random((n_samples, n_bins)) < p_open).astype(np.uint8)
    if genes is None:
        tss_bin = rng.choice(n_bins, size=n_genes, replace=False)
        strand = np.where(rng.random(n_genes) < 0.5, "+", "-")
        tss = bins["start"].to_numpy()[tss_bin] + bin_size // 2
        start = np.where(strand == "+", tss, tss - 2000)
        end = np.where(strand == "+", tss + 2000, tss + 1)
        genes = pd.DataFrame({
            "gene_id": [f"ENSG{i:011d}" for i in range(n_genes)], "gene_name": [f"G{i}" for i in range(n_genes)],
            "gene_biotype": "protein_coding", "chrom": bins["chrom"].to_numpy()[tss_bin], "start": start, "end": end,
            "strand": strand, "tss": tss,
        })
    key = {(c, s): i for i, (c, s) in enumerate(zip(bins["chrom"], bins["start"], strict=True))}
    tss_bin = np.array([key[(c, t - t % bin_size)] for c, t in zip(genes["chrom"], genes["tss"], strict=True)])
    if p_background is not None:
        tss_open = X[:, tss_bin]
        X = (rng.random(X.shape) < p_background).astype(np.uint8)
        X[:, tss_bin] = tss_open
    if bin_value == "signal":
        X = np.where(X != 0, np.log1p(rng.uniform(2, 300, X.shape)), 0).astype(np.float32)
        effect = effect / 3
    n_genes = len(genes)
    base = rng.uniform(1.0, 3.0, n_genes)
    logy = base[None, :] + effect * X[:, tss_bin] + noise * rng.standard_normal((n_samples, n_genes))
    if constant_genes:
        logy[:, :constant_genes] = 0.0  # never expressed
    Y = np.expm1(np.clip(logy, 0, None))
    samples = np.array([f"S{i:02d}" for i in range(n_samples)])
    return dataset.Dataset(X, Y, samples, layout, genes.reset_index(drop=True), bin_value)


def fit(predictor, ds: dataset.Dataset, Y: np.ndarray, rows: np.ndarray | None = None):
    """predictor.fit on the dataset's samples (all, or `rows`), with the activity and groups of those it reads."""
    rows = np.arange(len(ds.samples)) if rows is None else np.asarray(rows)
    groups = None if ds.groups is None else ds.groups[rows]
    return predictor.fit(ds.X[rows], Y[rows], **predictors.inputs_for(predictor, activity=ds.activity[rows], groups=groups))


def predict(predictor, X: np.ndarray, activity: np.ndarray | None = None) -> np.ndarray:
    """predictor.predict of bins X, with their activity when it reads it (default: the activity the bins imply)."""
    if activity is None:
        activity = dataset.implied_activity(np.asarray(X), predictor.geometry.bin_value)[0]
    return predictor.predict(X, **predictors.predict_inputs(predictor, activity))


def reference_of(ds: dataset.Dataset, Y: np.ndarray) -> new_sample.Reference:
    """The new-sample reference train_model.py saves with a model of the dataset (Y in the target's units)."""
    return new_sample.Reference.of(ds.X, Y, ds.activity, ds.activity_kind, promoter.PromoterBins(ds.bins, ds.genes))


def write_planted(path: Path, **kwargs) -> dataset.Dataset:
    ds = make_planted(**kwargs)
    dataset.save_dataset(ds, path)
    return ds


# Settings of tiny, fast models (the pipeline's defaults are in nextflow_schema.json; the scripts take every one)
TEST_MODEL_SETTINGS = dict(hidden=32, epochs=30, lr=0.01, weight_decay=0.0, dropout=0.0, window=3000, patience=0, target_transform="log1p",
                           seed=1, device="cpu")
TEST_EVALUATION_SETTINGS = dict(folds=5, val_fraction=0.2, ridge_alpha="0.1,1,10,100")


def model_settings(**values) -> ModelSettings:
    return ModelSettings(**{**TEST_MODEL_SETTINGS, **values})


def evaluation_settings(**values) -> EvaluationSettings:
    return EvaluationSettings(**{**TEST_EVALUATION_SETTINGS, **values})


TEST_LINK_SETTINGS = dict(links_top=10, links_max_distance=250_000, links_fdr=1.0, abc_gamma=0.87, abc_min_distance=5000,
                         abc_max_distance=5_000_000)


def link_settings(**values) -> LinkSettings:
    return LinkSettings(**{**TEST_LINK_SETTINGS, **values})


def link_args(**values) -> list[str]:
    """Every LinkSettings argument and --link_combiner (the shipped one): links.py, sample_links.py and predict.py's links."""
    return [*link_settings(**values).cli_args(), "--link_combiner", str(link_scores.COMBINER)]


def evidence_of(ds: dataset.Dataset, reach: int = 250_000, seed: int = 1) -> link_scores.Evidence:
    """The cross-sample evidence a model file of `ds` keeps (train_model.py computes it the same way)."""
    return link_scores.compute_evidence(ds.activity, ds.Y, ds.bins, ds.genes, reach, seed)


def settings_args(**values) -> list[str]:
    """--name value for every ModelSettings field, and for every EvaluationSettings field too when evaluation=True or
    `values` names one of them: train_model.py and evaluate.py require each one."""
    evaluation = values.pop("evaluation", False)
    model_values = {k: v for k, v in values.items() if k in TEST_MODEL_SETTINGS}
    evaluation_values = {k: v for k, v in values.items() if k in TEST_EVALUATION_SETTINGS}
    unknown = set(values) - set(model_values) - set(evaluation_values)
    assert not unknown, unknown
    args = model_settings(**model_values).cli_args()
    if evaluation or evaluation_values:
        args += evaluation_settings(**evaluation_values).cli_args()
    return args


# ---------------------------------------------------------------- the generator's planted truth (tests/make_test_data.py)

def generated_dataset(folder: Path, region: str = "chr1:1-1000000", bin_size: int = 1000) -> tuple[dataset.Dataset, pd.DataFrame]:
    """The Dataset the pipeline would build from make_test_data.py's output, with the true TPMs as targets (no kallisto
    in between), and the generator's regulatory_bins.tsv: which bins drive which gene."""
    from atac2expr.annotation import genes_in_regions, read_gtf
    from atac2expr.peaks import bin_peaks, read_peaks

    layout = layout_of(region, bin_size)
    genes, _ = read_gtf(folder / "genes.gtf.gz")
    genes = genes_in_regions(genes, list(layout.regions)).reset_index(drop=True)
    sheet = pd.read_csv(folder / "samplesheet.csv")
    X = np.stack([bin_peaks(read_peaks(folder / p), layout, "binary") for p in sheet["peaks"]]).astype(np.uint8)
    truth = pd.read_csv(folder / "truth.tsv", sep="\t", dtype={"sample": str, "gene_id": str})
    tpm = truth.pivot(index="sample", columns="gene_id", values="true_tpm").loc[sheet["sample"], genes["gene_id"]]
    regulatory = pd.read_csv(folder / "regulatory_bins.tsv", sep="\t", dtype={"gene_id": str, "chrom": str})
    return dataset.Dataset(X, tpm.to_numpy(np.float64), sheet["sample"].to_numpy(str), layout, genes), regulatory


def link_precision(links: pd.DataFrame, regulatory: pd.DataFrame, bins: pd.DataFrame, genes: pd.DataFrame, max_distance: int) -> dict[str, float]:
    """Precision of the links (a formats.LINKS table) against the planted regulatory bins, over the genes that have
    one within max_distance, and what a random choice of as many bins among each gene's candidates would score."""
    truth = set(zip(regulatory["gene_id"], regulatory["chrom"].astype(str), regulatory["bin_start"], strict=True))
    tss = genes.set_index("gene_id")
    chrom, start, end = bins["chrom"].to_numpy(str), bins["start"].to_numpy(), bins["end"].to_numpy()
    hits = chance = total = 0.0
    for gene_id, rows in links.groupby("gene_id"):
        g = tss.loc[gene_id]
        candidates = (chrom == str(g["chrom"])) & (end > g["tss"] - max_distance) & (start < g["tss"] + max_distance + 1)
        true_bins = {(c, s) for gid, c, s in truth if gid == gene_id}
        n_true = sum((c, s) in true_bins for c, s in zip(chrom[candidates], start[candidates], strict=True))
        if n_true == 0:
            continue
        hits += sum((str(c), s) in true_bins for c, s in zip(rows["chrom"], rows["start"], strict=True))
        chance += len(rows) * n_true / candidates.sum()
        total += len(rows)
    return {"precision": hits / total if total else float("nan"), "chance": chance / total if total else float("nan"), "links": total}


def derangement(n: int, seed: int) -> np.ndarray:
    """A permutation that moves every sample: no sample keeps its own expression (the shuffled-label controls)."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        if (order != np.arange(n)).all():
            return order
