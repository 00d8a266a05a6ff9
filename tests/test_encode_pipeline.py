"""End to end on ENCODE-shaped data: discovery -> download -> trained model, against a local server.

The fake portal (tests/fake_encode.py) serves the bundled test dataset as ENCODE biosamples
(one ATAC-seq and one total RNA-seq experiment each) and the GTF / cDNA as an Ensembl release.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fake_encode import FakeServer, data_from_samplesheet

from conftest import run_nextflow

# beside the stub run's session: the unit tests' session runs the other independent tests after them
pytestmark = [pytest.mark.e2e, pytest.mark.beside_stub]

MAX_BIOSAMPLES = 3  # of the fixture's biosamples: enough to train, small enough to run twice in CI


HOSTILE = "S01 Peyer's patch; $(touch PWNED) `touch PWNED` \"x\""  # a biosample's name, with shell code
HOSTILE_SAMPLE = "S01_Peyer_s_patch_touch_PWNED_touch_PWNED_x_rep1"  # the sample id the pipeline makes of it


def make_hostile(data) -> str:
    """S01's biosample named HOSTILE, and its FASTQ's file name holding shell code too: returns that name."""
    biosample = next(o for o in data.objects.values() if "BiosampleType" in o["@type"] and o["term_name"] == "S01")
    biosample["term_name"] = HOSTILE
    fastq = next(o for o in data.objects.values() if "File" in o["@type"] and o["file_format"] == "fastq"
                 and data.objects[o["dataset"]]["biosample_ontology"] == biosample["@id"])
    old_name = fastq["href"].rsplit("/", 1)[1]
    new_name = f"{fastq['accession']}$(touch${{IFS}}PWNED)`touch${{IFS}}PWNED`;touch${{IFS}}PWNED.fastq.gz"
    fastq["href"] = f"/files/{fastq['accession']}/@@download/{new_name}"
    data.blobs[f"/storage/{fastq['accession']}/{new_name}"] = data.blobs[f"/storage/{fastq['accession']}/{old_name}"]
    return new_name


@pytest.fixture(scope="module")
def encode_server(test_data):
    """The test data as ENCODE biosamples, the first of them (by name) with hostile metadata (make_hostile)."""
    data = data_from_samplesheet(test_data)
    data.ensembl(113, (test_data / "genes.gtf.gz").read_bytes(), (test_data / "transcriptome.fa.gz").read_bytes())
    hostile_file = make_hostile(data)
    with FakeServer(data) as server:
        server.hostile_file = hostile_file
        yield server


def downloads(server: FakeServer) -> list[str]:
    return [r.path for r in server.requests if "/storage/" in r.path or r.path.endswith((".gtf.gz", ".fa.gz"))]


def test_encode_discovery_download_and_training(tmp_path_factory, encode_server, test_data):
    """Discovery, download and training from the portal; ENCODE's metadata and the --encode_* filters reach tasks as
    data: a biosample named with quotes and shell code is selected by a filter holding that exact name (so the value
    arrived whole), its FASTQ's file name holds shell code too, and no command of theirs runs; the sample id and the
    download's name are the pipeline's. A second run with the same download cache downloads nothing again."""
    cache = tmp_path_factory.mktemp("download_cache")
    params = ["--encode", "--encode_url", encode_server.url, "--ensembl_url", f"{encode_server.url}/pub",
              "--download_cache", str(cache), "--encode_biosamples", f"{HOSTILE},S02,S03", "--encode_max_biosamples", str(MAX_BIOSAMPLES),
              "--model", "tss_window", "--evaluate", "false", "--skip_links", "--skip_multiqc"]

    first = tmp_path_factory.mktemp("encode_run1")
    result = run_nextflow([*params, "--outdir", str(first / "results")], cwd=first)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    n_samples = MAX_BIOSAMPLES
    sheet = pd.read_csv(first / "results" / "encode" / "samplesheet.csv")
    assert len(sheet) == n_samples and sheet["fastq_1"].str.startswith("http").all()
    assert list(sheet["sample"]) == [HOSTILE_SAMPLE, "S02_rep1", "S03_rep1"]
    assert set(sheet.columns) >= {"fastq_1_md5", "fastq_1_size", "peaks_md5", "run_type"}
    provenance = pd.read_csv(first / "results" / "encode" / "provenance.tsv", sep="\t")
    assert len(provenance) == n_samples and provenance["atac_experiment"].str.startswith("ENCSR").all()
    summary = json.loads((first / "results" / "report" / "summary.json").read_text())
    assert summary["samples"] == n_samples and summary["bins"] == 1000
    assert (first / "results" / "model" / "tss_window" / "model.pt").stat().st_size > 0
    assert (first / "results" / "bins" / f"{HOSTILE_SAMPLE}.bins.npz").exists()
    versions = (first / "results" / "pipeline_info" / "software_versions.yml").read_text()
    assert "ENCODE_SAMPLESHEET" in versions and "DOWNLOAD" in versions
    fetched = downloads(encode_server)
    assert any(encode_server.hostile_file in path for path in fetched)  # the hostile file was downloaded
    single_end = int((sheet["fastq_2"].isna()).sum())
    assert len(fetched) == 3 * n_samples - single_end + 2  # every FASTQ, peak file, GTF and cDNA once
    assert len(set(fetched)) == len(fetched)

    # a new run (new launch folder, no -resume) with the same cache downloads nothing again
    before = len(encode_server.requests)
    second = tmp_path_factory.mktemp("encode_run2")
    again = run_nextflow([*params, "--outdir", str(second / "results")], cwd=second)
    assert again.returncode == 0, again.stdout[-4000:]
    assert downloads(encode_server)[len(fetched):] == []
    assert len(encode_server.requests) > before  # it did ask the API again (discovery is not cached)
    assert not [path for folder in (first, second, cache) for path in folder.rglob("PWNED")]


def test_samplesheet_only(tmp_path, encode_server):
    result = run_nextflow(["--encode", "--encode_samplesheet_only", "--encode_url", encode_server.url, "--encode_max_biosamples", "2",
                           "--outdir", str(tmp_path / "results")], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(pd.read_csv(tmp_path / "results" / "encode" / "samplesheet.csv")) == 2
    assert not (tmp_path / "results" / "model").exists()


def test_encode_gene_quantifications_instead_of_fastqs(tmp_path, test_data):
    """--encode_expression quantifications: each replicate's released GRCh38 GENCODE V29 gene quantifications are
    downloaded (md5-verified, cached) instead of its FASTQs, their GENCODE ids matched to the annotation; no read is
    quantified, and the targets are the files' TPMs."""
    data = data_from_samplesheet(test_data, quantifications=True)
    data.ensembl(113, (test_data / "genes.gtf.gz").read_bytes(), None)
    cache = tmp_path / "cache"
    with FakeServer(data) as server:
        params = ["--encode", "--encode_expression", "quantifications", "--encode_url", server.url, "--ensembl_url", f"{server.url}/pub",
                  "--encode_max_biosamples", str(MAX_BIOSAMPLES), "--download_cache", str(cache), "--model", "tss_window",
                  "--evaluate", "false", "--outdir", str(tmp_path / "results"), "-with-trace", str(tmp_path / "trace.txt")]
        result = run_nextflow(params, cwd=tmp_path)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        fetched = downloads(server)
    assert not [p for p in fetched if "fastq" in p] and not [p for p in fetched if p.endswith(".fa.gz")]
    assert len([p for p in fetched if p.endswith(".tsv")]) == MAX_BIOSAMPLES
    processes = {row.split("\t")[3].split(":")[-1] for row in (tmp_path / "trace.txt").read_text().splitlines()[1:]}
    assert "EXPRESSION_TABLE" in processes and not processes & {"CHECK_FASTQ", "KALLISTO_INDEX", "KALLISTO_QUANT", "GENE_TPM"}
    sheet = pd.read_csv(tmp_path / "results" / "encode" / "samplesheet.csv")
    assert sheet["expression"].str.startswith("http").all() and sheet["fastq_1"].isna().all()
    matrix = pd.read_csv(tmp_path / "results" / "expression" / "gene_tpm_matrix.tsv", sep="\t").set_index("gene_id")
    truth = pd.read_csv(test_data / "truth.tsv", sep="\t").pivot(index="gene_id", columns="sample", values="true_tpm")
    for sample in sheet["sample"]:
        biosample = sample.removesuffix("_rep1")
        assert np.array_equal(matrix[sample].to_numpy(), truth.loc[matrix.index, biosample].to_numpy())  # V29's values
    assert sorted(p.name for p in cache.rglob("*.tsv")) == sorted({p.rsplit("/", 1)[-1] for p in fetched if p.endswith(".tsv")})
