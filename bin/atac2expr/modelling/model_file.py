"""The model file of a trained network, the whole format in one place: save, load, validate, describe.

A model file is a torch.save() of plain data only (tensors, str, int, float, lists, dicts), always loaded with
weights_only=True, so loading never runs pickled code:

  {"format": formats.MODEL_FORMAT,
   "meta": {"model": kind, "settings": ModelSettings fields, "layout": {chrom, start, end: lists, bin_size},
            "bin_value": "binary" or "signal" (what the bins held; absent in files written before signal bins: binary),
            "assembly": {"genome": --genome's assembly name, "chrom_sizes_md5": regions.chrom_sizes_checksum of the
                         chromosome sizes, "chrom_sizes": {chromosome: length} of the layout's chromosomes}
                        (absent in files written before it was recorded: a warning, and only the regions are checked),
            "genes": {formats.GENES column: list}, "train_samples": [...],
            "reference": {"bin_size": int, "activity_normalisation": str, "activity_kinds": [signal or binary per
                          training sample]} (what the model expects of a new sample's peaks),
            "versions": {...},
            "evidence": the cross-sample evidence's summary (pairs tested and kept, the null's quantiles)},
   "state_dict": {name: tensor},
   "reference": {name: tensor},
   "evidence": {name: tensor}}
The state is the predictor's (predictors.Predictor.state): a network's weights, or the arrays of a closed-form
model (coefficients, each gene's training mean, the training samples' open bins where predicting needs them).
The reference is the same for every model (new_sample.Reference): the training samples' open bins, the promoter rule
fitted on them and each gene's training mean, for the new-sample report of -entry PREDICT.
The evidence is the same for every model too: the training samples' cross-sample evidence of the links' regulatory
score (link_scores.Evidence: the kept (gene, bin) correlations with their FDR, and each gene's expression
statistics), so every model file scores links the same way (link_scores.py).

Every field is checked before use; a damaged or crafted file gets one line naming the field. Messages name the file
as `source` gives it (the user's path; a task sees a staged copy).

A model is used only on its own assembly: check_assembly refuses another --genome, or chromosome sizes that differ
from the model's on a chromosome of its regions, naming both assemblies.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import genomes
from ..cli import InputError
from ..files import atomic_path
from ..formats import ACTIVITY_KINDS, BIN_VALUES, GENES, MODEL_FORMAT
from ..link_scores import Evidence
from ..regions import BinLayout, chrom_sizes_checksum
from ..settings import TRANSFORMS, ModelSettings
from . import new_sample, predictors, runtime

log = logging.getLogger(__name__)

_MAX_ITEMS = 50_000_000  # refuse crafted metadata that would allocate without bound
_STRANDS = {"+", "-", "."}


def model_meta(predictor: predictors.Predictor, train_samples: list[str]) -> dict[str, Any]:
    """Everything predict.py needs besides the weights: plain data only, so the file loads with weights_only=True."""
    layout, genes = predictor.geometry.layout, predictor.geometry.genes
    arrays = layout.to_arrays(prefix="")
    ints = set(GENES.of_type("int"))
    return {
        "model": predictor.kind,
        "settings": predictor.settings.as_dict(),
        "layout": {"chrom": arrays["chrom"].tolist(), "start": [int(v) for v in arrays["start"]],
                   "end": [int(v) for v in arrays["end"]], "bin_size": layout.bin_size},
        "bin_value": predictor.geometry.bin_value,
        "genes": {f: [int(v) for v in genes[f]] if f in ints else genes[f].astype(str).tolist() for f in GENES.columns},
        "train_samples": [str(s) for s in train_samples],
    }


def assembly_record(genome: str, chrom_sizes: dict[str, int], layout: BinLayout) -> dict[str, Any]:
    """The assembly a model is of: --genome's name, the checksum of the chromosome sizes, the layout's chromosomes' lengths."""
    chroms = dict.fromkeys(region.chrom for region in layout.regions)
    missing = [c for c in chroms if c not in chrom_sizes]
    if missing:
        raise InputError(f"chromosome(s) {', '.join(missing)} of the model's regions are not in --chrom_sizes")
    return {"genome": genomes.resolve(genome).name, "chrom_sizes_md5": chrom_sizes_checksum(chrom_sizes),
            "chrom_sizes": {c: int(chrom_sizes[c]) for c in chroms}}


def _tensors(arrays: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v, copy=True)) for k, v in arrays.items()}


# how the evidence's arrays are stored (compact: a genome's kept pairs are about a million)
_EVIDENCE_DTYPES = {"gene_start": np.int64, "bin": np.int32, "correlation": np.float16, "fdr": np.float32,
                    "expression_mean": np.float32, "expression_sd": np.float32, "expression_breadth": np.float32}


def save(path: str | Path, predictor: predictors.Predictor, train_samples: list[str], reference: new_sample.Reference,
         evidence: Evidence, assembly: dict[str, Any] | None = None) -> None:
    """Weights (state dict, on the CPU) plus the metadata needed to reuse them, the reference of new samples and the
    training samples' cross-sample evidence of the links' score, written atomically. `assembly`: assembly_record of the
    training data (train_model.py always gives it)."""
    if not predictor.saveable:
        raise ValueError(f"{predictor.kind} models are not saved")
    meta = {**model_meta(predictor, train_samples), "reference": reference.meta(predictor.geometry.layout.bin_size),
            "versions": runtime.software_versions(), "evidence": evidence.summary()}
    if assembly is not None:
        meta["assembly"] = assembly
    stored = {name: np.ascontiguousarray(np.asarray(value).astype(_EVIDENCE_DTYPES.get(name, np.int64)))
              for name, value in evidence.state().items()}
    # through a file object: torch names the archive's folder after a path, here the temporary one, so the same model
    # would give other bytes on every save
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save({"format": MODEL_FORMAT, "meta": meta, "state_dict": _tensors(predictor.state()),
                    "reference": _tensors(reference.state()), "evidence": _tensors(stored)}, handle)


def read_payload(path: str | Path, source: str | Path | None = None) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, state_dict) of a model file, unchecked beyond the format marker; never unpickles code. `source` names the
    file in messages."""
    meta, state, _, _ = _read_payload(path, source)
    return meta, state


def _read_payload(path: str | Path, source: str | Path | None = None
                  ) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(meta, state_dict, reference, evidence) of a model file, unchecked beyond the format marker and the tensors'
    mappings."""
    shown = source or path
    if not Path(path).is_file():
        raise InputError(f"{shown}: {'is a directory, not a model file' if Path(path).is_dir() else 'file not found'}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a foreign or corrupt file
        raise InputError(f"{shown}: not a model file written by train_model ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or not str(payload.get("format", "")).startswith(MODEL_FORMAT.split("/")[0] + "/"):
        raise InputError(f"{shown}: not a model file written by train_model (format marker missing)")
    if payload["format"] != MODEL_FORMAT:
        raise InputError(f"{shown}: written by an earlier atac2expr (format {str(payload['format'])[:40]}; this one reads {MODEL_FORMAT}): "
                         f"train the model again")
    if not isinstance(payload.get("state_dict"), dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload["state_dict"].items()):
        raise InputError(f"{shown}: model file field 'state_dict' is missing or not a mapping of names to tensors")
    for part in ("reference", "evidence"):
        if not isinstance(payload.get(part), dict) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload[part].items()):
            raise InputError(f"{shown}: model file field '{part}' is missing or not a mapping of names to tensors")
    return payload.get("meta"), payload["state_dict"], payload["reference"], payload["evidence"]


def _field(meta: dict, key: str, kind: type | tuple[type, ...], path) -> Any:
    value = meta.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{path}: model metadata field '{key}' is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def _list(container: dict, key: str, kind: type, path, where: str) -> list:
    values = container.get(key)
    if not isinstance(values, list) or len(values) > _MAX_ITEMS or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values):
        raise InputError(f"{path}: model metadata field '{where}{key}' is missing or not a list of {kind.__name__}")
    return values


def _same_lengths(lists: dict[str, list], path, where: str) -> int:
    """The common length of parallel lists; the field whose length differs from the others' is the one named."""
    lengths = {name: len(values) for name, values in lists.items()}
    common = max(set(lengths.values()), key=lambda n: (list(lengths.values()).count(n), n))
    for name, n in lengths.items():
        if n != common:
            raise InputError(f"{path}: model metadata field '{where}{name}' has {n} entries, the other {where.rstrip('.')} fields {common}")
    return common


def _settings(meta: dict, path) -> ModelSettings:
    raw = _field(meta, "settings", dict, path)
    expected = set(ModelSettings.__dataclass_fields__)
    if set(raw) != expected:
        missing, extra = sorted(expected - set(raw)), sorted(set(raw) - expected)
        raise InputError(f"{path}: model metadata field 'settings' lacks {missing} / has unknown {extra}")
    for name, f in ModelSettings.__dataclass_fields__.items():
        want = {"int": int, "float": (int, float), "str": str}[str(f.type)]
        if not isinstance(raw[name], want) or isinstance(raw[name], bool):
            raise InputError(f"{path}: model metadata field 'settings.{name}' is not a {str(f.type)}")
    if raw["target_transform"] not in TRANSFORMS:
        raise InputError(f"{path}: model metadata field 'settings.target_transform' is {str(raw['target_transform'])[:40]!r}, "
                         f"expected one of {', '.join(TRANSFORMS)}")
    try:
        return ModelSettings(**raw)
    except InputError as err:
        raise InputError(f"{path}: model metadata field 'settings': {err}") from None


def _layout(meta: dict, path, chrom_sizes: dict[str, int] | None) -> BinLayout:
    layout_meta = _field(meta, "layout", dict, path)
    lists = {"chrom": _list(layout_meta, "chrom", str, path, "layout."), "start": _list(layout_meta, "start", int, path, "layout."),
             "end": _list(layout_meta, "end", int, path, "layout.")}
    _same_lengths(lists, path, "layout.")
    bin_size = layout_meta.get("bin_size")
    if not isinstance(bin_size, int) or isinstance(bin_size, bool):
        raise InputError(f"{path}: model metadata field 'layout.bin_size' is missing or not an int")
    try:
        layout = BinLayout.from_arrays({**lists, "bin_size": bin_size}, prefix="")
    except (ValueError, InputError) as err:
        raise InputError(f"{path}: model metadata field 'layout': {err}") from None
    if max(lists["end"]) >= 1 << 40 or layout.n_bins > _MAX_ITEMS:
        raise InputError(f"{path}: model metadata field 'layout' describes {layout.n_bins:,} bins, more than any genome")
    if chrom_sizes is not None:
        for region in layout.regions:
            if region.chrom not in chrom_sizes:
                raise InputError(f"{path}: model metadata field 'layout.chrom': the model's region {region.chrom}:{region.start + 1}-"
                                 f"{region.end} is on a chromosome absent from --chrom_sizes (is the model of another assembly?)")
            if region.end > chrom_sizes[region.chrom]:
                raise InputError(f"{path}: model metadata field 'layout.end': the model's region {region.chrom}:{region.start + 1}-"
                                 f"{region.end} ends past {region.chrom}'s length {chrom_sizes[region.chrom]:,} in --chrom_sizes "
                                 f"(is the model of another assembly?)")
    return layout


def _assembly(meta: dict, path) -> dict[str, Any] | None:
    if "assembly" not in meta:
        return None
    record = _field(meta, "assembly", dict, path)
    genome = record.get("genome")
    if not isinstance(genome, str) or genome not in genomes.genomes():
        raise InputError(f"{path}: model metadata field 'assembly.genome' is {str(genome)[:40]!r}, expected one of {', '.join(genomes.genomes())}")
    checksum = record.get("chrom_sizes_md5")
    if not isinstance(checksum, str) or len(checksum) != 32 or any(c not in "0123456789abcdef" for c in checksum):
        raise InputError(f"{path}: model metadata field 'assembly.chrom_sizes_md5' is not an MD5 checksum")
    sizes = record.get("chrom_sizes")
    if (not isinstance(sizes, dict) or not sizes or len(sizes) > _MAX_ITEMS
            or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v > 0 for k, v in sizes.items())):
        raise InputError(f"{path}: model metadata field 'assembly.chrom_sizes' is not a mapping of chromosomes to lengths")
    return record


def check_assembly(record: dict[str, Any] | None, genome: str, chrom_sizes: dict[str, int], path) -> None:
    """Refuse a model of another assembly than this run's (--genome, --chrom_sizes), naming both."""
    this = genomes.resolve(genome).name
    checksum = chrom_sizes_checksum(chrom_sizes)
    if record is None:
        log.warning("%s records no assembly (written by an earlier atac2expr): it cannot be checked to be of --genome %s; only its "
                    "regions are checked against the chromosome sizes", path, this)
        return
    theirs = f"{record['genome']} (chromosome sizes MD5 {record['chrom_sizes_md5']})"
    ours = f"{this} (chromosome sizes MD5 {checksum})"
    if record["genome"] != this:
        raise InputError(f"{path}: a model of assembly {theirs}, but this run's --genome is {ours}; predict with --genome "
                         f"{record['genome']} (and its chromosome sizes), or use a model trained on {this}")
    differ = [(c, n, chrom_sizes.get(c)) for c, n in record["chrom_sizes"].items() if chrom_sizes.get(c) != n]
    if differ:
        chrom, theirs_bp, ours_bp = differ[0]
        here = f"{ours_bp:,} bp" if ours_bp is not None else "absent"
        raise InputError(f"{path}: a model of assembly {theirs}, but this run's chromosome sizes are another assembly's: {ours}, "
                         f"chromosome {chrom} is {theirs_bp:,} bp in the model's and {here} in this run's (--chrom_sizes); give the "
                         f"chromosome sizes the model was trained with")
    if record["chrom_sizes_md5"] != checksum:
        log.info("%s: assembly %s; this run's chromosome sizes (MD5 %s) differ from the model's (MD5 %s) only on chromosomes outside "
                 "its regions", path, this, checksum, record["chrom_sizes_md5"])


def _bin_value(meta: dict, path) -> str:
    if "bin_value" not in meta:
        return "binary"  # written before signal bins existed
    value = meta["bin_value"]
    if not isinstance(value, str) or value not in BIN_VALUES:
        raise InputError(f"{path}: model metadata field 'bin_value' is {str(value)[:40]!r}, expected one of {', '.join(BIN_VALUES)}")
    return value


def _genes(meta: dict, path) -> pd.DataFrame:
    genes_meta = _field(meta, "genes", dict, path)
    ints = set(GENES.of_type("int"))
    lists = {f: _list(genes_meta, f, int if f in ints else str, path, "genes.") for f in GENES.columns}
    if not lists["gene_id"]:
        raise InputError(f"{path}: model metadata field 'genes.gene_id' is empty")
    _same_lengths(lists, path, "genes.")
    genes = pd.DataFrame(lists)
    repeated = genes["gene_id"][genes["gene_id"].duplicated()]
    if len(repeated):
        raise InputError(f"{path}: model metadata field 'genes.gene_id' repeats {len(repeated)} id(s), e.g. "
                         f"{str(repeated.iloc[0])[:40]!r}; each output of the model is one gene")
    strands = set(genes["strand"])
    if not strands <= _STRANDS:
        raise InputError(f"{path}: model metadata field 'genes.strand' holds {sorted(strands - _STRANDS)[:3]}, expected + or -")
    return genes


def read_meta(meta: Any, path, chrom_sizes: dict[str, int] | None = None,
              genome: str | None = None) -> tuple[str, ModelSettings, predictors.Geometry, list[str]]:
    """Validated (kind, settings, geometry, train_samples) of a model file's metadata; one-line errors name the field.
    With chrom_sizes, the model's regions must lie on those chromosomes; with genome too, the model must be of that
    assembly (check_assembly)."""
    if not isinstance(meta, dict):
        raise InputError(f"{path}: model file field 'meta' is missing or not a mapping")
    kind = _field(meta, "model", str, path)
    if kind not in predictors.SAVEABLE:
        raise InputError(f"{path}: model metadata field 'model' is {kind[:40]!r}, expected one of {', '.join(predictors.SAVEABLE)}")
    settings = _settings(meta, path)
    assembly = _assembly(meta, path)
    if genome is not None and chrom_sizes is not None:
        check_assembly(assembly, genome, chrom_sizes, path)
    layout = _layout(meta, path, chrom_sizes)
    bin_value = _bin_value(meta, path)
    genes = _genes(meta, path)
    train_samples = _list(meta, "train_samples", str, path, "")
    return kind, settings, predictors.Geometry(layout, genes, bin_value), train_samples


def _check_state(path, kind: str, geometry: predictors.Geometry, state: dict[str, torch.Tensor], expected: dict[str, tuple]) -> None:
    shapes = {name: tuple(t.shape) for name, t in state.items()}
    if shapes != expected:
        raise InputError(f"{path}: weights do not fit a {kind} model of {geometry.layout.n_bins:,} bins and {len(geometry.genes):,} genes "
                         f"(weights {sorted(shapes.items())[:2]}, expected {sorted(expected.items())[:2]})")
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise InputError(f"{path}: model weights '{name}' hold {bad:,} NaN or infinite values of {tensor.numel():,}; "
                             f"the model cannot predict (was its training diverging?)")


def _reference_meta(meta: dict, path, n_train: int) -> list[str]:
    """The training samples' activity kinds of the metadata's 'reference' (its other fields are text for people)."""
    reference = _field(meta, "reference", dict, path)
    kinds = _list(reference, "activity_kinds", str, path, "reference.")
    if len(kinds) != n_train or not set(kinds) <= set(ACTIVITY_KINDS):
        raise InputError(f"{path}: model metadata field 'reference.activity_kinds' must name {', '.join(ACTIVITY_KINDS)} for each of "
                         f"the {n_train} training samples")
    return kinds


def load_with_reference(path: str | Path, chrom_sizes: dict[str, int] | None = None, genome: str | None = None,
                        source: str | Path | None = None) -> tuple[predictors.Predictor, list[str], new_sample.Reference]:
    """(predictor, training samples, reference of new samples) of a model file written by train_model.py, checked
    field by field; with chrom_sizes and genome, of that assembly. `source` names the file in messages (the user's path)."""
    shown = source or path
    meta, state, reference, evidence = _read_payload(path, shown)
    kind, settings, geometry, train_samples = read_meta(meta, shown, chrom_sizes, genome)
    kinds = _reference_meta(meta, shown, len(train_samples))
    predictor = predictors.make(kind, settings, geometry)
    _check_state(shown, kind, geometry, state, predictor.state_shapes(len(train_samples)))
    expected = new_sample.Reference.state_shapes(len(train_samples), geometry.layout.n_bins, len(geometry.genes))
    shapes = {name: tuple(t.shape) for name, t in reference.items()}
    if shapes != expected or not all(bool(torch.isfinite(t).all()) for t in reference.values() if t.is_floating_point()):
        raise InputError(f"{shown}: model file field 'reference' does not fit {len(train_samples)} training samples, "
                         f"{geometry.layout.n_bins:,} bins and {len(geometry.genes):,} genes, or holds NaN or infinite values")
    predictor.load_state({name: tensor.numpy() for name, tensor in state.items()}, len(train_samples))
    predictor.evidence = Evidence.from_state({name: tensor.numpy() for name, tensor in evidence.items()}, len(geometry.genes),
                                             geometry.layout.n_bins, str(shown))
    return predictor, train_samples, new_sample.Reference.from_state({k: v.numpy() for k, v in reference.items()},
                                                                     geometry.layout.n_bins, kinds)


def load(path: str | Path, chrom_sizes: dict[str, int] | None = None, genome: str | None = None,
         source: str | Path | None = None) -> tuple[predictors.Predictor, list[str]]:
    """(predictor, training samples) of a model file written by train_model.py, checked field by field; with
    chrom_sizes and genome, of that assembly. `source` names the file in messages (the user's path). The predictor's
    `evidence` is the file's cross-sample evidence."""
    predictor, train_samples, _ = load_with_reference(path, chrom_sizes, genome, source)
    return predictor, train_samples


def describe(predictor: predictors.Predictor, train_samples: list[str]) -> str:
    """One line on a loaded model: kind, bins, genes, units, training samples."""
    return (f"{predictor.kind} model of {predictor.geometry.layout.describe()} ({predictor.geometry.bin_value} bins) -> "
            f"{len(predictor.geometry.genes)} genes "
            f"({predictor.settings.units}), trained on {len(train_samples)} samples")

