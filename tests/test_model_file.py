"""The model file of the networks (predictors.save / load, bin/check_model.py): the same predictions after a round
trip, and every damaged or crafted field refused with one line naming it, without running pickled code or
allocating what the metadata claims."""

from __future__ import annotations

import copy
import os
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import planted as planted_data
import pytest
import torch
from planted import CHROM_SIZES, evidence_of, make_planted, model_settings

from atac2expr import formats, targets
from atac2expr.cli import InputError
from atac2expr.commands import check_model
from atac2expr.modelling import model_file, predictors
from atac2expr.regions import BinLayout


@pytest.fixture(scope="module")
def planted():
    return make_planted(n_samples=8, n_genes=5, region="chr1:1-12500,chr2:1-6000")


@pytest.fixture(scope="module", params=list(predictors.SAVEABLE))
def saved(request, planted, tmp_path_factory):
    """A tiny network trained for a few epochs and saved."""
    settings = model_settings(epochs=5, hidden=8, target_transform="none", seed=3)
    predictor = predictors.make(request.param, settings, predictors.Geometry.of(planted))
    Y = targets.transform_targets(planted.Y, "none")
    planted_data.fit(predictor, planted, Y)
    path = tmp_path_factory.mktemp(f"model_{request.param}") / "model.pt"
    model_file.save(path, predictor, list(planted.samples), planted_data.reference_of(planted, Y), evidence_of(planted))
    return predictor, path


def test_round_trip_gives_the_same_predictions(saved, planted):
    predictor, path = saved
    loaded, train_samples = model_file.load(path)
    assert loaded.kind == predictor.kind and loaded.settings == predictor.settings
    assert loaded.geometry.layout == planted.layout and train_samples == list(planted.samples)
    assert loaded.geometry.genes.to_dict("list") == {k: list(v) for k, v in planted.genes.to_dict("list").items()}
    assert np.array_equal(planted_data.predict(loaded, planted.X), planted_data.predict(predictor, planted.X))
    if predictor.kind == "mlp":
        assert not loaded.model.training  # ready to predict: dropout off


def test_the_file_is_plain_data_loaded_with_weights_only(saved, planted):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == formats.MODEL_FORMAT
    meta = payload["meta"]
    assert meta["layout"] == {"chrom": ["1", "2"], "start": [0, 0], "end": [12500, 6000], "bin_size": 1000}
    assert meta["genes"]["gene_biotype"] == ["protein_coding"] * 5 and meta["settings"]["target_transform"] == "none"
    assert {"torch", "numpy", "atac2expr", "python"} <= set(meta["versions"])


def test_the_same_model_saved_twice_gives_the_same_bytes(saved, planted, tmp_path):
    predictor, path = saved
    Y = targets.transform_targets(planted.Y, "none")
    again = tmp_path / "another_name.pt"
    model_file.save(again, predictor, list(planted.samples), planted_data.reference_of(planted, Y), evidence_of(planted))
    assert again.read_bytes() == path.read_bytes()


def test_the_file_records_the_bin_value(saved, planted, tmp_path):
    """A model trained on signal bins says so, loads as such and predicts from signal bins; a file without the field
    (written before signal bins existed) holds a model of binary bins."""
    predictor, path = saved
    assert payload_of(path)["meta"]["bin_value"] == "binary" and model_file.load(path)[0].geometry.bin_value == "binary"
    signal = make_planted(n_samples=8, n_genes=5, region="chr1:1-12500,chr2:1-6000", bin_value="signal")
    trained = predictors.make(predictor.kind, predictor.settings, predictors.Geometry.of(signal))
    Y = targets.transform_targets(signal.Y, "none")
    planted_data.fit(trained, signal, Y)
    model_file.save(tmp_path / "signal.pt", trained, list(signal.samples), planted_data.reference_of(signal, Y), evidence_of(signal))
    assert payload_of(tmp_path / "signal.pt")["meta"]["bin_value"] == "signal"
    loaded, _ = model_file.load(tmp_path / "signal.pt")
    assert loaded.geometry.bin_value == "signal" and "(signal bins)" in model_file.describe(loaded, [])
    assert np.array_equal(planted_data.predict(loaded, signal.X), planted_data.predict(trained, signal.X))
    old = copy.deepcopy(payload_of(path))
    del old["meta"]["bin_value"]
    assert model_file.load(write_payload(tmp_path, old))[0].geometry.bin_value == "binary"


def test_baselines_are_not_saved(planted, tmp_path):
    predictor = predictors.make("mean", model_settings(), predictors.Geometry.of(planted))
    with pytest.raises(ValueError, match="mean models are not saved"):
        model_file.save(tmp_path / "m.pt", predictor, [], planted_data.reference_of(planted, planted.Y), evidence_of(planted))
    assert not (tmp_path / "m.pt").exists()


# ---------------------------------------------------------------- damaged and crafted files

def payload_of(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def write_payload(tmp_path: Path, payload: dict) -> Path:
    path = tmp_path / "crafted.pt"
    torch.save(payload, path)
    return path


def refusal(path: Path, one_line: bool = True) -> str:
    with pytest.raises(InputError) as err:
        model_file.load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message or not one_line, message
    return message


def crafted(saved, tmp_path, change) -> str:
    """The refusal of the saved model's file after change(payload)."""
    payload = copy.deepcopy(payload_of(saved[1]))
    change(payload)
    return refusal(write_payload(tmp_path, payload))


def _set(path: str, value):
    """A change that sets payload['meta'][a][b]... = value (path 'a.b'); value None deletes the key."""
    def change(payload):
        *parents, key = path.split(".")
        target = payload["meta"]
        for part in parents:
            target = target[part]
        if value is None:
            del target[key]
        else:
            target[key] = value
    return change


@pytest.mark.parametrize("path, value, message", [
    ("settings.epochs", None, "model metadata field 'settings' lacks ['epochs'] / has unknown []"),
    ("settings.colour", "red", "model metadata field 'settings' lacks [] / has unknown ['colour']"),
    ("settings.epochs", "10", "model metadata field 'settings.epochs' is not a int"),
    ("settings.epochs", 10.0, "model metadata field 'settings.epochs' is not a int"),
    ("settings.epochs", True, "model metadata field 'settings.epochs' is not a int"),
    ("settings.lr", "0.1", "model metadata field 'settings.lr' is not a float"),
    ("settings.device", 0, "model metadata field 'settings.device' is not a str"),
    ("settings.target_transform", "sqrt", "model metadata field 'settings.target_transform' is 'sqrt', expected one of log1p, none"),
    ("settings.hidden", 0, "model metadata field 'settings': --hidden 0: must be >= 1"),
    ("settings", [1, 2], "model metadata field 'settings' is missing or not a dict"),
    ("model", "ridge", "model metadata field 'model' is 'ridge', expected one of mlp, tss_window, local_ridge, tss_similarity, blend"),
    ("model", None, "model metadata field 'model' is missing or not a str"),
    ("genes.gene_name", ["a", "b"], "model metadata field 'genes.gene_name' has 2 entries, the other genes fields 5"),
    ("genes.tss", [1, 2, 3, 4, "5"], "model metadata field 'genes.tss' is missing or not a list of int"),
    ("genes.strand", ["+", "+", "x", "-", "+"], "model metadata field 'genes.strand' holds ['x'], expected + or -"),
    ("genes.gene_id", [], "model metadata field 'genes.gene_id' is empty"),
    ("genes.gene_biotype", None, "model metadata field 'genes.gene_biotype' is missing or not a list of str"),
    ("genes", "all", "model metadata field 'genes' is missing or not a dict"),
    ("layout.end", [12500, 0], "model metadata field 'layout': region 2:0-0 is empty or negative"),
    ("layout.end", [100, 6000], None),  # a valid layout of other bins: the weights do not fit it
    ("layout.start", [0], "model metadata field 'layout.start' has 1 entries, the other layout fields 2"),
    ("layout.start", [-5, 0], "model metadata field 'layout': region 1:-5-12500 is empty or negative"),
    ("layout.chrom", ["1", 2], "model metadata field 'layout.chrom' is missing or not a list of str"),
    ("layout.bin_size", 0, "model metadata field 'layout': --bin_size 0: must be a positive number of bases"),
    ("layout.bin_size", "1000", "model metadata field 'layout.bin_size' is missing or not an int"),
    ("train_samples", "S00", "model metadata field 'train_samples' is missing or not a list of str"),
    ("bin_value", "counts", "model metadata field 'bin_value' is 'counts', expected one of binary, signal"),
    ("bin_value", 1, "model metadata field 'bin_value' is '1', expected one of binary, signal"),
])
def test_crafted_metadata_refused_naming_the_field(saved, tmp_path, path, value, message):
    text = crafted(saved, tmp_path, _set(path, value))
    if message is None and saved[0].kind in ("tss_window", "local_ridge"):  # their state depends on the genes' windows, not the bins
        assert "model file field 'reference' does not fit 8 training samples, 7 bins and 5 genes" in text
        return
    if message is None:  # the layout parses, so the weights are what does not fit
        assert f"weights do not fit a {saved[0].kind} model of 7 bins" in text
    else:
        assert message in text


def test_metadata_that_is_not_a_mapping(saved, tmp_path):
    def change(payload):
        payload["meta"] = ["not", "a", "dict"]
    assert "model file field 'meta' is missing or not a mapping" in crafted(saved, tmp_path, change)


def test_absurd_layout_refused_without_allocating(saved, tmp_path):
    """10^12 one-base bins: refused from the numbers alone, before any array or tensor is made."""
    def change(payload):
        payload["meta"]["layout"] = {"chrom": ["1"], "start": [0], "end": [10**12], "bin_size": 1}
    payload = copy.deepcopy(payload_of(saved[1]))
    change(payload)
    path = write_payload(tmp_path, payload)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "model metadata field 'layout' describes 1,000,000,000,000 bins, more than any genome" in message
    assert peak < 50 << 20 and time.perf_counter() - started < 5


def test_huge_gene_list_refused_without_allocating(saved, tmp_path):
    assert "model metadata field 'layout' describes" in crafted(
        saved, tmp_path, _set("layout", {"chrom": ["1"], "start": [0], "end": [(1 << 40) + 5], "bin_size": 10**9}))


def test_weights_of_the_wrong_shape(saved, tmp_path):
    def change(payload):
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name] = torch.zeros(3, 3)
    message = crafted(saved, tmp_path, change)
    assert f"weights do not fit a {saved[0].kind} model of 19 bins and 5 genes" in message


def test_missing_and_extra_weights(saved, tmp_path):
    def drop(payload):
        payload["state_dict"].pop(next(iter(payload["state_dict"])))

    def extra(payload):
        payload["state_dict"]["extra.weight"] = torch.zeros(1)

    def not_a_dict(payload):
        payload["state_dict"] = [torch.zeros(1)]
    for change in (drop, extra):
        assert "weights do not fit" in crafted(saved, tmp_path, change)
    assert "model file field 'state_dict' is missing or not a mapping of names to tensors" in crafted(saved, tmp_path, not_a_dict)


def test_format_marker(saved, tmp_path):
    def change(payload):
        payload["format"] = "atac2expr-model/1"
    assert f"written by an earlier atac2expr (format atac2expr-model/1; this one reads {formats.MODEL_FORMAT}): train the model again" in crafted(
        saved, tmp_path, change)
    assert "format marker missing" in refusal(write_payload(tmp_path, {"weights": torch.zeros(2)}))


@pytest.mark.parametrize("content", [b"hello", b"", b"PK\x03\x04 not really a zip"])
def test_not_a_zip_file(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    assert "not a model file written by train_model" in refusal(path)


def test_missing_file_and_folder(tmp_path):
    assert refusal(tmp_path / "none.pt") == f"{tmp_path / 'none.pt'}: file not found"
    assert refusal(tmp_path) == f"{tmp_path}: is a directory, not a model file"


class _RunsCode:
    """Unpickling this calls os.system: a model file must never be able to do that."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_would_run_code_is_refused(saved, tmp_path, capsys):
    marker = tmp_path / "ran"
    payload = copy.deepcopy(payload_of(saved[1]))
    payload["meta"]["note"] = _RunsCode(marker)
    path = write_payload(tmp_path, payload)
    message = refusal(path, one_line=False)  # torch's own message spans lines; the script prints it as one
    assert "not a model file written by train_model" in message and "UnpicklingError" in message
    assert not marker.exists()
    assert check_model.main(["--model", str(path), "--chrom_sizes", str(CHROM_SIZES), "--layout", str(tmp_path / "layout.tsv"),
                             "--bin_value_file", str(tmp_path / "bin_value.txt"), "--genome", "GRCh38"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"ERROR: {path}: not a model file") and "posix.system" in err[0]
    assert not marker.exists() and not (tmp_path / "layout.tsv").exists()
    torch.load(path, weights_only=False)  # the file really runs code when unpickled without weights_only
    assert marker.exists()


# ---------------------------------------------------------------- bin/check_model.py

def test_check_model_writes_the_layout(saved, planted, tmp_path, capsys):
    _, path = saved
    out = tmp_path / "layout.tsv"
    assert check_model.main(["--model", str(path), "--chrom_sizes", str(CHROM_SIZES), "--layout", str(out),
                             "--bin_value_file", str(tmp_path / "bin_value.txt"), "--genome", "GRCh38"]) == 0
    assert BinLayout.read(out) == planted.layout and (tmp_path / "bin_value.txt").read_text() == "binary\n"
    assert "trained on 8 samples" in capsys.readouterr().err


def test_check_model_refuses_in_one_line(saved, tmp_path, capsys):
    payload = copy.deepcopy(payload_of(saved[1]))
    payload["meta"]["genes"]["gene_name"] = ["a"]
    path = write_payload(tmp_path, payload)
    out = tmp_path / "layout.tsv"
    assert check_model.main(["--model", str(path), "--chrom_sizes", str(CHROM_SIZES), "--layout", str(out),
                             "--bin_value_file", str(tmp_path / "bin_value.txt"), "--genome", "GRCh38"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1 and "model metadata field 'genes.gene_name' has 1 entries, the other genes fields 5" in err[0]
    assert not out.exists() and not (tmp_path / "bin_value.txt").exists()


# ---------------------------------------------------------------- what a crafted file could slip past shape checks

def test_a_file_without_weights_is_refused_naming_the_field(saved, tmp_path):
    message = crafted(saved, tmp_path, lambda payload: payload.pop("state_dict"))
    assert "model file field 'state_dict' is missing or not a mapping of names to tensors" in message


def test_weights_that_are_not_numbers_are_refused(saved, tmp_path):
    """All-NaN weights load and give NaN predictions: refused at load, naming the tensor."""
    def poison(payload):
        name = sorted(payload["state_dict"])[0]
        payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))
    message = crafted(saved, tmp_path, poison)
    assert "NaN or infinite values" in message and "model weights '" in message


def test_a_truncated_gene_id_list_is_blamed_on_gene_id(saved, tmp_path):
    message = crafted(saved, tmp_path, _set("genes.gene_id", ["g1", "g2", "g3", "g4"]))
    assert "model metadata field 'genes.gene_id' has 4 entries, the other genes fields 5" in message


def test_genes_that_repeat_an_id_are_refused(saved, tmp_path):
    message = crafted(saved, tmp_path, _set("genes.gene_id", ["g1", "g1", "g3", "g4", "g5"]))
    assert "model metadata field 'genes.gene_id' repeats 1 id(s), e.g. 'g1'" in message


def test_regions_off_the_assembly_are_refused(saved, tmp_path):
    """The model's regions must be on --chrom_sizes' chromosomes and within their lengths, before any peak is binned."""
    sizes = {"1": 248_956_422, "3": 198_295_559}
    with pytest.raises(InputError, match=r"model metadata field 'layout.chrom': the model's region 2:1-6000 is on a chromosome absent"):
        model_file.load(saved[1], sizes)
    with pytest.raises(InputError, match=r"'layout.end': the model's region 1:1-12500 ends past 1's length 10,000"):
        model_file.load(saved[1], {"1": 10_000, "2": 10_000})
    model_file.load(saved[1], {"1": 12_500, "2": 6_000})


def test_the_reference_of_new_samples_round_trips_and_is_checked(saved, planted, tmp_path):
    """Every model file carries the reference a new sample is compared with (the training samples' open bins, the
    promoter rule, each gene's training mean, their activity kinds); a damaged one is refused naming the field."""
    predictor, path = saved
    _, train_samples, reference = model_file.load_with_reference(path)
    Y = targets.transform_targets(planted.Y, "none")
    assert np.array_equal(reference.train_open, (planted.X > 0).astype(np.uint8)) and reference.activity_kinds == ["binary"] * 8
    assert np.allclose(reference.train_mean, Y.mean(axis=0))
    meta = payload_of(path)["meta"]["reference"]
    assert meta["bin_size"] == 1000 and "rank" in meta["activity_normalisation"]

    def drop(payload):
        del payload["reference"]

    def wrong_shape(payload):
        payload["reference"]["train_mean"] = torch.zeros(3)

    def not_finite(payload):
        payload["reference"]["train_mean"] = torch.full((5,), float("nan"), dtype=torch.float64)

    assert "model file field 'reference' is missing or not a mapping of names to tensors" in crafted(saved, tmp_path, drop)
    for change in (wrong_shape, not_finite):
        assert "model file field 'reference' does not fit 8 training samples, 19 bins and 5 genes" in crafted(saved, tmp_path, change)
    assert "model metadata field 'reference.activity_kinds' must name signal, binary for each of the 8 training samples" in crafted(
        saved, tmp_path, _set("reference.activity_kinds", ["signal"] * 7))
    assert "model metadata field 'reference' is missing or not a dict" in crafted(saved, tmp_path, _set("reference", None))


@pytest.mark.parametrize("record, field", [
    ("not a mapping", "'assembly' is missing or not a dict"),
    ({"genome": "hg99", "chrom_sizes_md5": "0" * 32, "chrom_sizes": {"1": 10}}, "'assembly.genome' is 'hg99'"),
    ({"genome": "GRCh38", "chrom_sizes_md5": "xyz", "chrom_sizes": {"1": 10}}, "'assembly.chrom_sizes_md5' is not an MD5"),
    ({"genome": "GRCh38", "chrom_sizes_md5": "0" * 32, "chrom_sizes": {"1": -5}}, "'assembly.chrom_sizes' is not a mapping"),
    ({"genome": "GRCh38", "chrom_sizes_md5": "0" * 32, "chrom_sizes": {}}, "'assembly.chrom_sizes' is not a mapping"),
])
def test_a_crafted_assembly_record_is_refused_naming_the_field(saved, tmp_path, record, field):
    assert f"model metadata field {field}" in crafted(saved, tmp_path, _set("assembly", record))
