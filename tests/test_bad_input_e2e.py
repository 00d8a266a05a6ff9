"""Bad input through the real `nextflow run`: one line naming the file, row or parameter, a non-zero exit,
nothing but CHECK_INPUTS started, and nothing half-written in --outdir.

The checks themselves are unit-tested in tests/test_check_inputs.py; tests/test_pipeline.py covers a
missing file, a duplicate id, a truncated FASTQ and bad regions end to end. These add the rest.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from conftest import data_params, read_trace, run_nextflow

pytestmark = pytest.mark.e2e


def bad_run(tmp_path: Path, test_data: Path, extra: list[str] = (), rows: list[str] | None = None,
            gtf: Path | None = None) -> str:
    """Run the test profile with a changed samplesheet/GTF/parameters; return the one ERROR line."""
    params = data_params(test_data)
    if rows is not None:
        (tmp_path / "samplesheet.csv").write_text("\n".join(rows) + "\n")
        params[params.index("--input") + 1] = str(tmp_path / "samplesheet.csv")
    if gtf is not None:
        params[params.index("--gtf") + 1] = str(gtf)
    outdir = tmp_path / "results"
    result = run_nextflow(["-profile", "test", *params, "--outdir", str(outdir), *extra,
                           "-with-trace", str(tmp_path / "trace.txt")], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    # the script's one line, in Nextflow's "Command error" section (stdout and stderr may both hold it)
    errors = {line.strip() for line in output.splitlines() if line.strip().startswith("ERROR: ")}
    assert len(errors) == 1, output[-3000:]
    ran = {row["process"].split(":")[-1] for row in read_trace(tmp_path / "trace.txt")}
    assert ran == {"CHECK_INPUTS"}, ran  # nothing heavy started
    # nothing half-written: only Nextflow's own run reports may be in --outdir
    left = [str(p.relative_to(outdir)) for p in outdir.rglob("*") if p.is_file()] if outdir.exists() else []
    assert all(name.startswith("pipeline_info/execution_") for name in left), left
    return errors.pop()


def sheet_rows(test_data: Path) -> list[str]:
    """The test samplesheet with absolute paths (so that it can live in another folder)."""
    lines = (test_data / "samplesheet.csv").read_text().splitlines()
    rows = [lines[0]]
    for line in lines[1:]:
        sample, *files = line.split(",")
        rows.append(",".join([sample] + [str(test_data / f) if f else "" for f in files]))
    return rows


def test_paired_fastqs_with_different_read_counts(tmp_path, test_data):
    """kallisto 0.48 would quantify silently up to the end of the shorter file (exit 0): refused up front."""
    rows = sheet_rows(test_data)
    sample, r1, r2, peaks = rows[3].split(",")
    short = tmp_path / Path(r2).name
    with gzip.open(r2, "rb") as source:
        short.write_bytes(gzip.compress(b"".join(source.readlines()[:4000])))  # the first 1000 reads
    rows[3] = ",".join([sample, r1, str(short), peaks])
    error = bad_run(tmp_path, test_data, rows=rows)
    assert f"line 4 (sample {sample})" in error and "has 1000" in error and Path(r1).name in error and short.name in error


def test_peak_file_mixing_chr_and_plain_names(tmp_path, test_data):
    rows = sheet_rows(test_data)
    sample, r1, r2, peaks = rows[2].split(",")
    mixed = tmp_path / "mixed.bed"
    mixed.write_text("chr1\t1000\t2000\n1\t5000\t6000\n")
    rows[2] = ",".join([sample, r1, r2, str(mixed)])
    error = bad_run(tmp_path, test_data, rows=rows)
    assert f"line 3, column 'peaks' (sample {sample})" in error and "mixed.bed" in error and "mixes chromosome names" in error


def test_bin_size_that_does_not_divide_the_region(tmp_path, test_data):
    error = bad_run(tmp_path, test_data, extra=["--bin_size", "3000"])
    assert "--bin_size" in error and "does not divide" in error


def test_region_past_the_chromosome_end(tmp_path, test_data):
    error = bad_run(tmp_path, test_data, extra=["--region", "chr1:248950001-249000000"])
    assert "--region" in error and "past the end of chromosome 1" in error


def test_gtf_without_transcripts_for_the_region(tmp_path, test_data):
    """Genes of the region are in the GTF but none has a transcript line: nothing could be quantified."""
    lines = gzip.decompress((test_data / "genes.gtf.gz").read_bytes()).decode().splitlines(keepends=True)
    fields = [line.split("\t") for line in lines if not line.startswith("#")]
    region_genes = {re.search(r'gene_id "([^"]+)"', f[8]).group(1) for f in fields if f[2] == "gene" and int(f[3]) <= 1_000_000}
    kept = ["\t".join(f) for f in fields if f[2] != "transcript" or re.search(r'gene_id "([^"]+)"', f[8]).group(1) not in region_genes]
    gtf = tmp_path / "no_transcripts.gtf"
    gtf.write_text("".join(kept))
    error = bad_run(tmp_path, test_data, gtf=gtf)
    assert "--region" in error and "no_transcripts.gtf" in error and "'transcript' line" in error


def test_non_utf8_gtf(tmp_path, test_data):
    text = gzip.decompress((test_data / "genes.gtf.gz").read_bytes())
    gtf = tmp_path / "latin1.gtf.gz"
    gtf.write_bytes(gzip.compress(text.replace(b'gene_name "', b'gene_name "\xe9', 1)))
    error = bad_run(tmp_path, test_data, gtf=gtf)
    assert "latin1.gtf.gz" in error and "is not valid UTF-8" in error
