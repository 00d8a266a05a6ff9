"""Samplesheet and parameter checks: one line naming the file, row and column."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import check_inputs

GTF = ('1\tensembl\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG01"; gene_name "A";\n'
       '1\tensembl\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG01"; transcript_id "ENST01";\n')


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "genes.gtf").write_text(GTF)
    (tmp_path / "tx.fa").write_text(">ENST01.1\nACGT\n")
    record = b"@r1\nACGT\n+\nIIII\n"
    for name in ("a_R1", "a_R2", "b_R1"):
        (tmp_path / f"{name}.fastq.gz").write_bytes(gzip.compress(record * 10))
    (tmp_path / "a.bed").write_text("chr1\t1\t100\n")
    (tmp_path / "b.bed.gz").write_bytes(gzip.compress(b"chr1\t1\t100\n"))
    return {"dir": tmp_path, "gtf": tmp_path / "genes.gtf", "tx": tmp_path / "tx.fa"}


def run(inputs, sheet: str, region: str = "chr1:1-10000", bin_size: int = 1000, capsys=None):
    path = inputs["dir"] / "samplesheet.csv"
    path.write_text(sheet)
    out = inputs["dir"] / "out" / "samplesheet.valid.csv"
    code = check_inputs.main(["--samplesheet", str(path), "--gtf", str(inputs["gtf"]), "--transcriptome", str(inputs["tx"]),
                              "--region", region, "--bin_size", str(bin_size), "--output", str(out),
                              "--chrom_sizes", str(Path(check_inputs.__file__).parents[1] / "assets" / "GRCh38.chrom.sizes")])
    return code, out


GOOD = "sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz,a_R2.fastq.gz,a.bed\nB,b_R1.fastq.gz,,b.bed.gz\n"


def test_valid_samplesheet_resolves_relative_paths(inputs):
    code, out = run(inputs, GOOD)
    assert code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "sample,fastq_1,fastq_2,peaks,single_end"
    assert lines[1].startswith(f"A,{inputs['dir'] / 'a_R1.fastq.gz'},") and lines[1].endswith(",false")
    assert lines[2].endswith(",,%s,true" % (inputs["dir"] / "b.bed.gz"))


@pytest.mark.parametrize("sheet, message", [
    ("sample,fastq_1,peaks\nA,a_R1.fastq.gz,a.bed\n", "missing column(s) fastq_2"),
    ("sample,fastq_1,fastq_2,peaks,extra\nA,a_R1.fastq.gz,,a.bed,x\n", "unknown column(s) extra"),
    ("sample,fastq_1,fastq_2,peaks\nA,,,a.bed\n", "line 2, column 'fastq_1': empty"),
    ("sample,fastq_1,fastq_2,peaks\n,a_R1.fastq.gz,,a.bed\n", "line 2, column 'sample': empty sample id"),
    ("sample,fastq_1,fastq_2,peaks\nA B,a_R1.fastq.gz,,a.bed\n", "'A B' may only contain"),
    (GOOD + "A,b_R1.fastq.gz,,a.bed\n", "line 4, column 'sample': duplicate sample id 'A' (first on line 2)"),
    ("sample,fastq_1,fastq_2,peaks\nA,nope.fastq.gz,,a.bed\n", "line 2, column 'fastq_1' (sample A): file not found"),
    ("sample,fastq_1,fastq_2,peaks\nA,a.bed,,a.bed\n", "is not gzip-compressed"),
    ("sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz,,a.bed,extra\n", "line 2: expected 4 comma-separated fields"),
    ("sample,fastq_1,fastq_2,peaks\n", "no samples"),
])
def test_bad_samplesheets(inputs, capsys, sheet, message):
    code, out = run(inputs, sheet)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("ERROR: ") and message in err[-1], err
    assert "samplesheet.csv" in err[-1] and not out.exists()


def test_truncated_fastq(inputs, capsys):
    data = (inputs["dir"] / "a_R1.fastq.gz").read_bytes()
    (inputs["dir"] / "a_R1.fastq.gz").write_bytes(data[:-12])
    code, _ = run(inputs, GOOD)
    assert code == 2 and "truncated or corrupt" in capsys.readouterr().err


@pytest.mark.parametrize("region, bin_size, message", [
    ("chr1:500-100", 1000, "end 100 is before start 500"),
    ("chr1:1-1500", 1000, "does not divide"),
    ("chr7:1-10000", 1000, "no genes"),
    ("chr1:248956001-249000000", 1000, "past the end of chromosome 1"),
    ("chrUn:1-1000", 1000, "not in"),
])
def test_bad_region_parameters(inputs, capsys, region, bin_size, message):
    code, _ = run(inputs, GOOD, region=region, bin_size=bin_size)
    err = capsys.readouterr().err
    assert code == 2 and message in err and ("--region" in err or "--bin_size" in err)


def test_non_utf8_samplesheet(inputs, capsys):
    path = inputs["dir"] / "samplesheet.csv"
    code, _ = run(inputs, "")
    path.write_bytes(GOOD.encode() + b"C\xff,a_R1.fastq.gz,,a.bed\n")
    code = check_inputs.main(["--samplesheet", str(path), "--gtf", str(inputs["gtf"]), "--transcriptome", str(inputs["tx"]),
                              "--region", "chr1:1-10000", "--bin_size", "1000", "--output", str(inputs["dir"] / "o.csv")])
    assert code == 2 and "line 4 is not valid UTF-8" in capsys.readouterr().err


def test_lanes_joined_with_semicolons(inputs):
    (inputs["dir"] / "a_R1_L2.fastq.gz").write_bytes((inputs["dir"] / "a_R1.fastq.gz").read_bytes())
    (inputs["dir"] / "a_R2_L2.fastq.gz").write_bytes((inputs["dir"] / "a_R2.fastq.gz").read_bytes())
    code, out = run(inputs, "sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz;a_R1_L2.fastq.gz,a_R2.fastq.gz;a_R2_L2.fastq.gz,a.bed\n")
    assert code == 0
    row = out.read_text().splitlines()[1].split(",")
    assert row[1] == f"{inputs['dir'] / 'a_R1.fastq.gz'};{inputs['dir'] / 'a_R1_L2.fastq.gz'}"


def test_lanes_must_pair_up(inputs, capsys):
    code, _ = run(inputs, "sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz;b_R1.fastq.gz,a_R2.fastq.gz,a.bed\n")
    assert code == 2 and "2 fastq_1 file(s) but 1 fastq_2 file(s)" in capsys.readouterr().err


# --- gaps filled for issue 5: every bad input one line naming the file, row or parameter ---------------------------

def _last_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("ERROR: "), err
    return err[-1]


def test_paired_files_with_different_read_counts(inputs, capsys):
    """kallisto 0.48 quantifies silently up to the end of the shorter file: refused here instead."""
    (inputs["dir"] / "a_R2.fastq.gz").write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 7))
    code, out = run(inputs, GOOD)
    error = _last_error(capsys)
    assert code == 2 and not out.exists()
    assert "line 2 (sample A)" in error and "a_R1.fastq.gz has 10 reads" in error and "a_R2.fastq.gz has 7" in error


def test_paired_lanes_with_different_read_counts_name_the_lane(inputs, capsys):
    (inputs["dir"] / "a_R1_L2.fastq.gz").write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 5))
    (inputs["dir"] / "a_R2_L2.fastq.gz").write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 4))
    code, _ = run(inputs, "sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz;a_R1_L2.fastq.gz,a_R2.fastq.gz;a_R2_L2.fastq.gz,a.bed\n")
    error = _last_error(capsys)
    assert code == 2 and "(lane 2)" in error and "a_R1_L2.fastq.gz has 5 reads" in error and "a_R2_L2.fastq.gz has 4" in error


def test_fastq_cut_inside_a_record(inputs, capsys):
    """A complete gzip stream whose FASTQ stops mid-record (cut before compression)."""
    (inputs["dir"] / "b_R1.fastq.gz").write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 3 + b"@r4\nACGT\n"))
    code, _ = run(inputs, GOOD)
    error = _last_error(capsys)
    assert code == 2 and "line 3, column 'fastq_1' (sample B)" in error and "not a whole number of 4-line FASTQ records" in error


def test_fastq_not_gzip_with_a_gz_name(inputs, capsys):
    (inputs["dir"] / "b_R1.fastq.gz").write_bytes(b"@r1\nACGT\n+\nIIII\n")
    code, _ = run(inputs, GOOD)
    error = _last_error(capsys)
    assert code == 2 and "line 3, column 'fastq_1' (sample B)" in error and "is not gzip-compressed" in error


@pytest.mark.parametrize("sample", ["../escape", ".hidden", "a/b", "A\tB", "x;y"])
def test_sample_ids_that_could_leave_the_output_folder_are_refused(inputs, capsys, sample):
    """Sample ids become file and folder names (quant/<id>/, bins/<id>.bins.npz): never a path."""
    code, out = run(inputs, f"sample,fastq_1,fastq_2,peaks\n{sample},a_R1.fastq.gz,,a.bed\n")
    error = _last_error(capsys)
    assert code == 2 and not out.exists() and "line 2, column 'sample'" in error


def test_empty_peaks_field(inputs, capsys):
    code, _ = run(inputs, "sample,fastq_1,fastq_2,peaks\nA,a_R1.fastq.gz,,\n")
    assert code == 2 and "line 2, column 'peaks': empty (sample A)" in _last_error(capsys)


@pytest.mark.parametrize("content, message", [
    (b"chr1\t500\t100\n", "peak 1 (chr1:500-100) has end <= start"),
    (b"chr1\t1\t100\n1\t200\t300\n", "mixes chromosome names with and without 'chr'"),
    (b"chr1\t1\t100\tpe\xe9k\n", "line 1 is not valid UTF-8"),
    (b"chr1 1 100\n", "not a BED file"),
])
def test_bad_peak_files_stop_the_run_before_heavy_work(inputs, capsys, content, message):
    """Found by CHECK_INPUTS, not by BINARIZE_PEAKS after kallisto has started."""
    (inputs["dir"] / "a.bed").write_bytes(content)
    code, out = run(inputs, GOOD)
    error = _last_error(capsys)
    assert code == 2 and not out.exists()
    assert "line 2, column 'peaks' (sample A)" in error and "a.bed" in error and message in error


def _run_with(inputs, gtf_text: bytes | None = None, fasta: bytes | None = None):
    if gtf_text is not None:
        inputs["gtf"].write_bytes(gtf_text)
    if fasta is not None:
        inputs["tx"].write_bytes(fasta)
    return run(inputs, GOOD)


def test_region_genes_without_transcript_lines(inputs, capsys):
    gtf = (b'1\tensembl\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG01"; gene_name "A";\n'
           b'2\tensembl\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG02"; gene_name "B";\n'
           b'2\tensembl\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG02"; transcript_id "ENST02";\n')
    code, out = _run_with(inputs, gtf_text=gtf)
    error = _last_error(capsys)
    assert code == 2 and not out.exists() and "--region" in error and "has a 'transcript' line" in error


def test_region_transcripts_missing_from_the_transcriptome(inputs, capsys):
    code, _ = _run_with(inputs, fasta=b">ENST99.1 cdna\nACGT\n")
    error = _last_error(capsys)
    assert code == 2 and "--transcriptome" in error and "tx.fa" in error and "ENST01" in error


def test_transcriptome_ids_with_versions_and_gencode_bars_match(inputs):
    code, _ = _run_with(inputs, fasta=b">ENST01.3|ENSG01.2|-|-|A-201|A|4|protein_coding|\nACGT\n")
    assert code == 0


def test_non_utf8_gtf(inputs, capsys):
    code, _ = _run_with(inputs, gtf_text=GTF.encode() + b'1\tensembl\tgene\t5001\t6000\t.\t+\t.\tgene_id "ENSG03"; gene_name "\xe9";\n')
    error = _last_error(capsys)
    assert code == 2 and "genes.gtf" in error and "line 3 is not valid UTF-8" in error


def test_region_past_the_chromosome_end_names_the_parameter(inputs, capsys):
    code, _ = run(inputs, GOOD, region="chr1:248956001-248957000")
    error = _last_error(capsys)
    assert code == 2 and "--region" in error and "past the end of chromosome 1" in error
