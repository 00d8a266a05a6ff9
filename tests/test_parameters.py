"""atac2expr.parameters and bin/check_params.py: every pipeline parameter checked against nextflow_schema.json
(names, types, ranges, forms) and against the others, before any task starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from planted import CHROM_SIZES, REPO, SIZES

from atac2expr.cli import InputError
from atac2expr.commands import check_params
from atac2expr.parameters import check_parameters, load_schema, run_plan, schema_properties, unknown_parameters
from atac2expr.regions import read_chrom_sizes
from conftest import operational_parameters

SCHEMA_PATH = REPO / "nextflow_schema.json"
SCHEMA = load_schema(SCHEMA_PATH)
PROPERTIES = schema_properties(SCHEMA)
DEFAULTS = {name: spec["default"] for name, spec in PROPERTIES.items() if "default" in spec}
INPUTS = {"input": "samplesheet.csv", "gtf": "genes.gtf.gz", "transcriptome": "cdna.fa.gz"}


def params(drop: tuple[str, ...] = (), **values) -> dict:
    """The parameters of a run: every default, the required inputs, then `values`."""
    merged = {**DEFAULTS, **INPUTS, **values}
    for name in drop:
        merged.pop(name)
    return merged


def route_of(values: dict) -> str:
    """The workflow's decision (workflows/atac2expr.nf, expressionRoute): expression from a table or from reads."""
    table = values.get("expression") or (values.get("encode") in (True, "true") and values.get("encode_expression") == "quantifications")
    return "table" if table else "reads"


def check(entry: str = "main", drop: tuple[str, ...] = (), **values):
    """check_params.py's checks: the parameters, then the run's plan of models (its MLP checked against --max_memory)."""
    given = params(drop, **values)
    checked, layout = check_parameters(given, SCHEMA, SIZES, entry, route=route_of(given))
    run_plan(checked, layout, entry)
    return checked, layout


def refusal(entry: str = "main", drop: tuple[str, ...] = (), **values) -> str:
    with pytest.raises(InputError) as err:
        check(entry, drop, **values)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_the_schema_has_every_group_and_the_defaults():
    assert {"region", "bin_size", "model", "eval_models", "hidden", "epochs", "folds", "max_memory", "input", "model_file"} <= set(PROPERTIES)
    assert DEFAULTS["region"] == "chr1:1-1000000" and DEFAULTS["bin_size"] == 1000 and DEFAULTS["max_memory"] == "8.GB"


def test_all_defaults_and_the_required_inputs_pass():
    values, layout = check()
    assert values == params()
    assert layout.n_bins == 1000 and layout.bin_size == 1000 and str(layout.regions[0]) == "1:1-1000000"


def test_strings_from_the_command_line_are_coerced():
    values, layout = check(lr="1e-3", bin_size="3000", evaluate="false", dropout="0.5", folds=" 4 ", fragment_length="150",
                           overwrite="TRUE")
    assert values["lr"] == 0.001 and isinstance(values["lr"], float)
    assert values["bin_size"] == 3000 and isinstance(values["bin_size"], int)
    assert values["evaluate"] is False and values["overwrite"] is True
    assert values["dropout"] == 0.5 and values["folds"] == 4 and values["fragment_length"] == 150.0
    assert layout.bin_size == 3000 and layout.n_bins == 334  # the last bin is shorter


@pytest.mark.parametrize("given, name, hint", [
    ({"binSize": 3000}, "--binSize (--bin-size)", "did you mean --bin_size?"),  # what Nextflow makes of --bin-size
    ({"binSize": 3000, "bin-size": 3000}, "--binSize (--bin-size)", "did you mean --bin_size?"),  # Nextflow passes both spellings
    ({"epoch": 5}, "--epoch", "did you mean --epochs?"),
    ({"evalModels": "mean"}, "--evalModels (--eval-models)", "did you mean --eval_models?"),
    ({"qwertyuiop": 1}, "--qwertyuiop", "see `nextflow run main.nf --help`"),
])
def test_unknown_names_suggest_the_closest(given, name, hint):
    message = refusal(**given)
    assert message == f"{name}: unknown parameter; {hint}"  # one message for both spellings of --bin-size


def test_unknown_parameters_helper():
    assert unknown_parameters({"bin_size": 1, "lr": 2}, PROPERTIES) == []
    assert unknown_parameters({"learning_rate": 1}, PROPERTIES) == ["--learning_rate: unknown parameter; see `nextflow run main.nf --help`"]


@pytest.mark.parametrize("values, message", [
    ({"model": "mpl"}, "--model 'mpl': unknown mpl; choose from mlp, tss_window"),
    ({"model": "mlp,ridge"}, "--model 'mlp,ridge': unknown ridge"),  # ridge is evaluated, never trained on all samples
    ({"eval_models": "mean,svm"}, "--eval_models 'mean,svm': unknown svm"),
    ({"model": "mlp;rm"}, "--model 'mlp;rm': not of the expected form"),
    ({"epochs": 0}, "--epochs 0: must be >= 1"),
    ({"epochs": "0"}, "--epochs 0: must be >= 1"),
    ({"folds": 1}, "--folds 1: must be >= 2"),
    ({"target_transform": "foo"}, "--target_transform 'foo': choose one of log1p, none"),
    ({"bin_value": "fold_change"}, "--bin_value 'fold_change': choose one of binary, signal"),
    ({"bin_size": "3000.5"}, "--bin_size '3000.5': expected integer"),
    ({"bin_size": 3000.5}, "--bin_size 3000.5: expected integer"),
    ({"bin_size": 3000.0}, "--bin_size 3000.0: expected integer"),  # a script's int argument would refuse it later
    ({"bin_size": 0}, "--bin_size 0: must be >= 1"),
    ({"lr": -1}, "--lr -1: must be > 0"),
    ({"lr": "-1"}, "--lr -1.0: must be > 0"),
    ({"lr": 0}, "--lr 0: must be > 0"),
    ({"dropout": 1}, "--dropout 1: must be < 1"),
    ({"device": "gpu"}, "--device 'gpu': not of the expected form"),
    ({"region": "chr1:1-10;rm -rf /"}, "--region 'chr1:1-10;rm -rf /': not of the expected form"),
    ({"region": "$(touch x)"}, "--region '$(touch x)': not of the expected form"),
    ({"region": "chr1:0-10"}, "--region 'chr1:0-10': 'chr1:0-10' starts at 0"),
    ({"region": "chr1:1-300000000"}, "ends past the end of chromosome 1"),
    ({"region": "chrQ"}, "chromosome chrQ (Q) is not in --genome GRCh38"),
    ({"hidden": "many"}, "--hidden 'many': expected integer"),
    ({"hidden": None}, "--hidden null: expected integer"),
    ({"evaluate": "maybe"}, "--evaluate 'maybe': expected boolean"),
    ({"max_memory": "lots"}, "--max_memory 'lots': not of the expected form"),
    ({"kmer_size": 30}, "--kmer_size 30: kallisto needs an odd k-mer length"),
    ({"kmer_size": "30"}, "--kmer_size 30: kallisto needs an odd k-mer length"),
    ({"encode_samplesheet_only": True}, "--encode_samplesheet_only needs --encode"),
    ({"ridge_alpha": "1;2"}, "--ridge_alpha '1;2'"),
    ({"encode_url": "file:///etc/passwd"}, "--encode_url 'file:///etc/passwd'"),
])
def test_refused_values(values, message):
    assert message in refusal(**values)


def test_control_characters_are_escaped_in_the_message():
    message = refusal(region="chr1\n:1-10")
    assert "--region 'chr1\\n:1-10'" in message


def test_several_problems_in_one_line():
    message = refusal(model="mpl", epochs=0, folds=1, lr="-1", binSize=3000)
    parts = message.split("; ")
    assert parts[0] == "--binSize (--bin-size): unknown parameter"  # names first, then values
    assert parts[1] == "did you mean --bin_size?"
    for expected in ("--model 'mpl'", "--epochs 0", "--folds 1", "--lr -1"):
        assert sum(expected in p for p in parts) == 1, expected


def test_cross_checks_are_reported_together():
    message = refusal(drop=("input", "gtf", "transcriptome"), kmer_size=30, region="chr1:5-1")
    assert "--input is required" in message and "--gtf is required" in message and "--transcriptome is required" in message
    assert "--kmer_size 30" in message and "ends (1) before it starts (5)" in message


@pytest.mark.parametrize("missing", ["input", "gtf", "transcriptome"])
def test_inputs_required_without_encode(missing):
    message = refusal(drop=(missing,))
    assert message.startswith(f"--{missing} is required") and "--encode" in message


def test_encode_replaces_the_inputs():
    values, _ = check(drop=("input", "gtf", "transcriptome"), encode="true")
    assert values["encode"] is True
    check(drop=("input", "gtf", "transcriptome"), encode=True, encode_samplesheet_only=True)
    assert "--input and --encode: give one of them" in refusal(encode=True)


def test_predict_needs_a_model_file_and_a_samplesheet():
    message = refusal("PREDICT", drop=("input",))
    assert "--model_file is required with -entry PREDICT" in message and "--input is required with -entry PREDICT" in message
    values, _ = check("PREDICT", drop=("gtf", "transcriptome"), model_file="model.pt")
    assert values["model_file"] == "model.pt"


def test_mlp_at_genome_scale_refused_before_any_task():
    message = refusal(region="genome", model="mlp,tss_window")
    assert "the mlp model (3,088,281 bins -> 500 hidden" in message and "needs about 45.3 GiB" in message
    assert "8.0 GiB that --max_memory allows" in message
    # the alternatives: tss_window and the baselines, a smaller region, fewer hidden units, more memory
    for alternative in ("leave mlp out of --model and --eval_models", "tss_window", "a smaller --region", "--hidden 79",
                        "raise --max_memory to 47.GB"):
        assert alternative in message


@pytest.mark.parametrize("values", [
    {"model": "tss_window", "eval_models": "mean,ridge,archr,signac,tss_window"},
    {"model": "tss_window", "evaluate": False},  # mlp in --eval_models, but no evaluation
    {"model": "tss_window", "evaluate": "false"},
    {"max_memory": "64.GB"},
    {"hidden": 50},
])
def test_genome_accepted_without_an_mlp_that_cannot_fit(values):
    _, layout = check(region="genome", **values)
    assert layout.n_bins == 3_088_281


def test_mlp_only_in_eval_models_still_refused():
    assert "the mlp model" in refusal(region="genome", model="tss_window", eval_models="mean,mlp")


def test_predict_entry_does_not_train():
    check("PREDICT", region="genome", model_file="model.pt")


# ---------------------------------------------------------------- bin/check_params.py

def run_script(tmp_path: Path, values: dict, entry: str = "main") -> tuple[int, Path]:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(values))
    out = tmp_path / "out" / "params.checked.json"
    code = check_params.main(["--params", str(path), "--schema", str(SCHEMA_PATH), "--chrom_sizes", str(CHROM_SIZES),
                              "--entry", entry, "--output", str(out)])
    return code, out


def one_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(err) == 1, err
    return err[0]


def test_script_writes_typed_parameters(tmp_path, capsys):
    code, out = run_script(tmp_path, params(bin_size="2000", lr="1e-2"))
    assert code == 0
    written = json.loads(out.read_text())
    assert written["bin_size"] == 2000 and written["lr"] == 0.01 and written["region"] == "chr1:1-1000000"
    assert set(written) == set(params())
    assert "1:1-1000000 in 500 bins of 2,000 bp" in capsys.readouterr().err


@pytest.mark.parametrize("values, message", [
    (params(binSize=3000), "ERROR: --binSize (--bin-size): unknown parameter; did you mean --bin_size?"),
    (params(epochs=0, model="mpl"), "--epochs 0: must be >= 1"),
    (params(region="genome", model="mlp"), "the mlp model"),
    (params(drop=("input",)), "--input is required"),
])
def test_script_refusals(tmp_path, capsys, values, message):
    code, out = run_script(tmp_path, values)
    assert code == 2 and message in one_error(capsys) and not out.exists()


def test_script_refuses_a_file_that_is_not_json(tmp_path, capsys):
    path = tmp_path / "params.json"
    path.write_text("{not json")
    out = tmp_path / "out.json"
    code = check_params.main(["--params", str(path), "--schema", str(SCHEMA_PATH), "--chrom_sizes", str(CHROM_SIZES),
                              "--entry", "main", "--output", str(out)])
    assert code == 2 and "params.json: not a JSON object of parameters" in one_error(capsys) and not out.exists()


def test_script_predict_entry(tmp_path):
    code, out = run_script(tmp_path, params(drop=("gtf", "transcriptome"), model_file="m.pt"), entry="PREDICT")
    assert code == 0 and json.loads(out.read_text())["model_file"] == "m.pt"


def test_expression_table_annotation_and_genome_choices():
    """--expression replaces the reads (no --transcriptome needed); --gene_bed replaces --gtf (not both); --genome
    chooses the assembly of --region; --encode with a table, or with an assembly ENCODE lacks, is refused."""
    values, layout = check(drop=("transcriptome",), expression="counts.tsv", expression_unit="counts")
    assert "--transcriptome is required" in refusal(drop=("transcriptome",))
    assert values["expression_unit"] == "counts"
    check(drop=("gtf",), gene_bed="genes.bed")
    assert "--gtf and --gene_bed: give one annotation" in refusal(gene_bed="genes.bed")
    assert "--expression_unit 'fpkm': choose one of tpm, counts" in refusal(expression="x.tsv", expression_unit="fpkm")
    assert "--genome 'hg18': choose one of GRCh38" in refusal(genome="hg18")
    with pytest.raises(InputError, match=r"chromosome chr22 \(22\) is not in --genome GRCm39"):
        check_parameters(params((), genome="mm39", region="chr22"), SCHEMA, read_chrom_sizes(REPO / "assets" / "GRCm39.chrom.sizes"), "main")
    _, layout = check(genome="mm10", region="genome", model="tss_window", eval_models="mean")
    assert [r.chrom for r in layout.regions][-3:] == ["19", "X", "Y"] and len(layout.regions) == 21
    encode = {"drop": ("input", "gtf", "transcriptome"), "encode": True}
    assert "--expression and --encode" in refusal(**encode, expression="x.tsv")
    assert "ENCODE has no processed data of this assembly" in refusal(**encode, genome="GRCm39", ensembl_release=110)
    assert "Ensembl has --genome GRCm38 in releases 76-102" in refusal(**encode, genome="mm10")
    check(**encode, genome="GRCh37", encode_expression="quantifications")


def test_operational_parameters_are_marked_in_the_schema_and_reach_no_task():
    """The schema is the one owner of which parameters are operational (how a run executes, not what it computes): the
    resource, cluster, software and generic groups, and the results folder and download settings. A results folder
    accepts a run that differs only in them, so none may reach what a task computes: conf/modules.config reads only
    --outdir of them (the folders it publishes into)."""
    operational = operational_parameters(SCHEMA)
    groups = SCHEMA["$defs"]
    marked_groups = {name for name, group in groups.items() if group.get("operational")}
    assert marked_groups == {"resource_options", "cluster_options", "software_options", "generic_options"}
    assert operational == {p for g in marked_groups for p in groups[g]["properties"]} | {"outdir", "overwrite", "max_downloads", "download_cache"}
    read = set(re.findall(r"params\.(\w+)", (REPO / "conf" / "modules.config").read_text()))
    assert read & operational == {"outdir"}


# ---------------------------------------------------------------- the links' estimate

def test_links_that_cannot_fit_max_memory_are_refused_before_any_task():
    """One chromosome with --links_top 100000 --links_max_distance 100000000: even at a sparse genome's genes the links
    need far more than --max_memory."""
    message = refusal(region="chr1", links_top=100000, links_max_distance=100_000_000)
    assert message.startswith("--links_top and --links_max_distance: the links would need about ")
    assert "more than the 8.0 GiB that --max_memory allows any task" in message and "--skip_links" in message
    assert "7 model(s) (blend, ridge, archr, signac, tss_window, local_ridge, tss_similarity)" in message  # auto: no MLP on a chromosome
    check(region="chr1", links_top=100000, links_max_distance=100_000_000, skip_links=True)


def test_large_links_are_warned_about_with_rows_time_and_size(caplog):
    with caplog.at_level("WARNING"):
        check(region="chr1:1-50000000", links_top=2000, links_max_distance=1_000_000)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("the links are large: 7 model(s)") and "up to 1,980,020 links of 1,000 genes" in warning  # genes near the ends have fewer bins
    assert "GiB of files" in warning and "CPU minutes" in warning and "warned above 2 GiB or 60 CPU minutes" in warning


def test_default_links_at_genome_scale_are_neither_warned_nor_refused(caplog):
    with caplog.at_level("INFO"):
        check(region="genome")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert "links at 20 genes per Mb: 7 model(s)" in caplog.text


def test_check_params_writes_its_warnings_for_the_console(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params(region="chr1:1-50000000", links_top=2000, links_max_distance=1_000_000)))
    code = check_params.main(["--params", str(path), "--schema", str(SCHEMA_PATH), "--chrom_sizes", str(CHROM_SIZES), "--entry", "main",
                              "--output", str(tmp_path / "valid.json"), "--warnings", str(tmp_path / "warnings.txt")])
    assert code == 0
    (line,) = (tmp_path / "warnings.txt").read_text().splitlines()
    assert line.startswith("the links are large:")
    path.write_text(json.dumps(params()))
    assert check_params.main(["--params", str(path), "--schema", str(SCHEMA_PATH), "--chrom_sizes", str(CHROM_SIZES), "--entry", "main",
                              "--output", str(tmp_path / "valid.json"), "--warnings", str(tmp_path / "warnings.txt")]) == 0
    assert (tmp_path / "warnings.txt").read_text() == ""


def test_an_mlp_that_would_take_hours_says_so_before_starting(caplog):
    """--model mlp on a whole chromosome: an estimate in hours and what to do instead, on the console (warnings.txt);
    the seed's 1 Mb region with auto trains the MLP in seconds and says nothing."""
    with caplog.at_level("WARNING"):
        check(region="chr2", model="mlp,tss_window", eval_models="mean,mlp", skip_links=True)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    hours = float(warning.split("up to about ")[1].split(" CPU hours")[0])
    assert 10 < hours < 1000 and "6 training(s) of up to 1000 epochs" in warning and "--model auto" in warning
    caplog.clear()
    with caplog.at_level("WARNING"):
        check()
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("genome, chosen", [("GRCh38", "GRCh38.chrom.sizes"), ("hg19", "GRCh37.chrom.sizes"), ("mm10", "GRCm38.chrom.sizes")])
def test_script_chooses_the_bundled_sizes_of_the_genome_and_says_which(tmp_path, genome, chosen):
    """--genome's aliases are resolved once, here: the workflow reads the file CHECK_PARAMS names, where it lies."""
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params(genome=genome, region="chr2:1-1000000")))
    out = tmp_path / "genome.json"
    code = check_params.main(["--params", str(path), "--schema", str(SCHEMA_PATH), "--bundled_sizes", str(REPO / "assets"), "--entry", "main",
                              "--output", str(tmp_path / "valid.json"), "--genome_output", str(out)])
    assert code == 0 and json.loads(out.read_text())["chrom_sizes"] == chosen
    code = check_params.main(["--params", str(path), "--schema", str(SCHEMA_PATH), "--chrom_sizes", str(CHROM_SIZES), "--entry", "main",
                              "--output", str(tmp_path / "valid.json"), "--genome_output", str(out)])
    assert code == 0 and json.loads(out.read_text())["chrom_sizes"] is None
