"""Per-sample FASTQ content checks (check_fastq.py) and the read count check after kallisto (check_quant.py)."""

from __future__ import annotations

import bz2
import gzip
import json
import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from atac2expr.cli import InputError
from atac2expr.commands import check_fastq, check_quant
from atac2expr.fastq import check_sample

K = 31


def reads(n: int, length: int = 50, start: int = 0, seed: int = 0) -> list[tuple[str, str, str]]:
    """n reads (name, sequence, quality) named r<start>.. r<start+n-1>."""
    rng = random.Random(seed)
    return [(f"r{i}", "".join(rng.choice("ACGT") for _ in range(length)), "I" * length) for i in range(start, start + n)]


def fastq_text(records, mate: int | None = None, eol: str = "\n") -> bytes:
    """FASTQ records; mate 1/2 adds the Illumina comment ' 1:N:0:ACGT' that differs between R1 and R2."""
    comment = f" {mate}:N:0:ACGT" if mate else ""
    return "".join(eol.join([f"@{name}{comment}", seq, "+", qual]) + eol for name, seq, qual in records).encode()


def write(path: Path, data: bytes, gz: bool = True) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def pair(tmp_path: Path, records, name: str = "s", gz: bool = True) -> tuple[Path, Path]:
    suffix = ".fastq.gz" if gz else ".fastq"
    return (write(tmp_path / f"{name}_R1{suffix}", fastq_text(records, 1), gz),
            write(tmp_path / f"{name}_R2{suffix}", fastq_text(records, 2), gz))


def run(tmp_path: Path, fastq_1, fastq_2=None, sample: str = "S1", k: int = K, outdir: str = "out") -> tuple[int, Path]:
    out = tmp_path / outdir / f"{sample}.fastq_check.json"
    argv = ["--sample", sample, "--fastq_1", *map(str, fastq_1), "--min_read_length", str(k), "--output", str(out)]
    if fastq_2:
        argv += ["--fastq_2", *map(str, fastq_2)]
    return check_fastq.main(argv), out


def fails(tmp_path: Path, capsys, fastq_1, fastq_2=None, sample: str = "S1", k: int = K) -> str:
    """The one ERROR line of a failing check; no report (not even a partial one) is left behind."""
    code, out = run(tmp_path, fastq_1, fastq_2, sample, k, outdir="failed")
    assert code == 2
    assert not out.exists()
    assert not out.parent.exists() or not list(out.parent.iterdir())
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, errors
    assert f"sample {sample}" in errors[0]
    return errors[0]


# --- good inputs ---------------------------------------------------------------------------------

def test_paired_sample_report(tmp_path):
    r1, r2 = pair(tmp_path, reads(100))
    code, out = run(tmp_path, [r1], [r2])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["sample"] == "S1"
    assert report["paired"] is True
    assert report["lanes"] == [{"fastq_1": str(r1), "fastq_2": str(r2), "reads": 100}]
    assert report["total_reads"] == 100  # pairs
    assert report["records"] == 200
    assert report["kmer_length"] == K
    assert report["reads_shorter_than_k"] == 0
    assert report["read_length"] == {"min": 50, "max": 50, "mean": 50.0}
    assert report["seconds"] >= 0


def test_single_end_sample_report(tmp_path):
    r1 = write(tmp_path / "s.fastq.gz", fastq_text(reads(40, length=36)))
    code, out = run(tmp_path, [r1])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["paired"] is False
    assert report["lanes"] == [{"fastq_1": str(r1), "fastq_2": None, "reads": 40}]
    assert report["total_reads"] == report["records"] == 40
    assert report["read_length"] == {"min": 36, "max": 36, "mean": 36.0}


def test_multi_lane_paired_sample(tmp_path):
    lane1 = pair(tmp_path, reads(30), name="L1")
    lane2 = pair(tmp_path, reads(12, length=75, start=30), name="L2")
    code, out = run(tmp_path, [lane1[0], lane2[0]], [lane1[1], lane2[1]])
    assert code == 0
    report = json.loads(out.read_text())
    assert [lane["reads"] for lane in report["lanes"]] == [30, 12]
    assert [lane["fastq_2"] for lane in report["lanes"]] == [str(lane1[1]), str(lane2[1])]
    assert report["total_reads"] == 42
    assert report["read_length"]["min"] == 50 and report["read_length"]["max"] == 75
    assert report["read_length"]["mean"] == pytest.approx((60 * 50 + 24 * 75) / 84, abs=1e-3)


def test_plain_text_fastq_is_accepted_and_counted_like_gzip(tmp_path):
    plain = pair(tmp_path, reads(25), name="plain", gz=False)
    gz = pair(tmp_path, reads(25), name="gz")
    reports = []
    for files in (plain, gz):
        code, out = run(tmp_path, [files[0]], [files[1]])
        assert code == 0
        reports.append({k: v for k, v in json.loads(out.read_text()).items() if k not in ("lanes", "seconds")})
    assert reports[0] == reports[1]
    assert reports[0]["total_reads"] == 25


def test_crlf_line_endings_are_accepted_without_the_cr(tmp_path):
    # kallisto 0.48 strips the CR: same abundances as the LF file, so the check accepts CRLF
    r1 = write(tmp_path / "crlf_R1.fastq.gz", fastq_text(reads(10), 1, eol="\r\n"))
    r2 = write(tmp_path / "crlf_R2.fastq", fastq_text(reads(10), 2, eol="\r\n"), gz=False)
    code, out = run(tmp_path, [r1], [r2])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["total_reads"] == 10
    assert report["read_length"] == {"min": 50, "max": 50, "mean": 50.0}


def test_old_style_mate_suffixes_pair_up(tmp_path):
    records = reads(5)
    r1 = write(tmp_path / "a_R1.fastq.gz", fastq_text([(f"{n}/1", s, q) for n, s, q in records]))
    r2 = write(tmp_path / "a_R2.fastq.gz", fastq_text([(f"{n}/2", s, q) for n, s, q in records]))
    assert run(tmp_path, [r1], [r2])[0] == 0


def test_no_final_newline_trailing_blank_lines_and_multi_member_gzip(tmp_path):
    text = fastq_text(reads(6))
    no_newline = write(tmp_path / "a.fastq.gz", text[:-1])
    blank = write(tmp_path / "b.fastq.gz", text + b"\n\n")
    members = tmp_path / "c.fastq.gz"
    members.write_bytes(gzip.compress(text) + gzip.compress(fastq_text(reads(4, start=6))))  # `cat a.gz b.gz`
    for path, expected in ((no_newline, 6), (blank, 6), (members, 10)):
        code, out = run(tmp_path, [path])
        assert code == 0, path
        assert json.loads(out.read_text())["total_reads"] == expected


def test_empty_reads_are_records(tmp_path):
    # a read trimmed to nothing is "@name\n\n+\n\n": four lines, the last one empty
    text = fastq_text(reads(3)) + b"@empty\n\n+\n\n"
    code, out = run(tmp_path, [write(tmp_path / "a.fastq.gz", text)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["records"] == 4
    assert report["reads_shorter_than_k"] == 1
    assert report["read_length"]["min"] == 0


@pytest.mark.parametrize("chunk_size", [7, 64, 333, 4096, 1 << 22])
def test_records_straddling_chunks_give_the_same_report(tmp_path, chunk_size):
    rng = random.Random(5)
    records = [(f"read{i}", "A" * (length := rng.randint(1, 180)), "#" * length) for i in range(300)]
    r1 = write(tmp_path / "R1.fastq.gz", fastq_text(records, 1))
    r2 = write(tmp_path / "R2.fastq", fastq_text(records, 2, eol="\r\n"), gz=False)
    report = check_sample("S1", [r1], [r2], K, chunk_size=chunk_size)
    lengths = [len(seq) for _, seq, _ in records]
    assert report["total_reads"] == 300
    assert report["reads_shorter_than_k"] == 2 * sum(n < K for n in lengths)
    assert report["read_length"] == {"min": min(lengths), "max": max(lengths), "mean": round(sum(lengths) / 300, 3)}


@pytest.mark.parametrize("chunk_size", [64, 1 << 22])
def test_errors_name_the_same_record_whatever_the_chunk_size(tmp_path, chunk_size):
    records = reads(200)
    name, seq, qual = records[150]
    records[150] = (name, seq, qual[:-1])
    path = write(tmp_path / "a.fastq.gz", fastq_text(records))
    with pytest.raises(InputError, match=r"record 151: quality line is shorter"):
        check_sample("S1", [path], None, K, chunk_size=chunk_size)


# --- reads shorter than k --------------------------------------------------------------------------

def test_some_reads_shorter_than_k_are_counted_and_logged(tmp_path, capsys):
    records = reads(90, length=50) + reads(10, length=20, start=90)
    r1, r2 = pair(tmp_path, records)
    code, out = run(tmp_path, [r1], [r2])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["reads_shorter_than_k"] == 20  # 10 pairs: R1 and R2 counted apart
    assert report["read_length"]["min"] == 20
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING")]
    assert warnings == ["WARNING [atac2expr.fastq] sample S1: 20 of 200 reads (10.000%; R1 and R2 counted apart) are shorter than k = 31: "
                        "kallisto finds no k-mer in them"]


def test_all_reads_shorter_than_k_is_an_error(tmp_path, capsys):
    r1, r2 = pair(tmp_path, reads(10, length=30))
    error = fails(tmp_path, capsys, [r1], [r2])
    assert str(r1) in error
    assert "all 20 reads" in error and "shorter than k = 31" in error and "longest 30" in error


@pytest.mark.parametrize("chunk_size", [256, 1 << 22])
def test_reads_without_k_bases_in_a_row_are_an_error(tmp_path, capsys, chunk_size):
    """All-N reads pass every record check, and kallisto then fails after the index is built with an empty reason: refused
    here. A/C/G/T in headers (index sequences) and quality lines do not count; one read with a k-mer is enough."""
    n_reads = [(f"r{i}", "N" * 60, "I" * 60) for i in range(200)]
    r1, r2 = pair(tmp_path, n_reads)
    error = fails(tmp_path, capsys, [r1], [r2])
    assert str(r1) in error and "none of the 400 reads of sample S1 has k = 31 A/C/G/T bases in a row (all N?)" in error
    broken = [(f"r{i}", ("ACGT" * 8)[:30] + "N" + ("ACGT" * 8)[:30], "ACGT" * 15 + "I") for i in range(50)]  # runs of 30 < k
    path = write(tmp_path / "broken.fastq.gz", fastq_text(broken, 1))
    assert "none of the 50 reads" in fails(tmp_path, capsys, [path])
    one = n_reads[:150] + [("good", "ACGT" * 8, "I" * 32)] + n_reads[150:]
    path = write(tmp_path / "one.fastq.gz", fastq_text(one))
    assert check_sample("S1", [path], None, K, chunk_size=chunk_size)["total_reads"] == 201


def test_min_read_length_is_required(tmp_path):
    r1 = write(tmp_path / "a.fastq.gz", fastq_text(reads(3)))
    with pytest.raises(SystemExit) as exit_info:
        check_fastq.main(["--sample", "S1", "--fastq_1", str(r1), "--output", str(tmp_path / "o.json")])
    assert exit_info.value.code == 2


# --- malformed files -------------------------------------------------------------------------------

def test_truncated_gzip(tmp_path, capsys):
    data = gzip.compress(fastq_text(reads(2000)))
    path = tmp_path / "cut.fastq.gz"
    path.write_bytes(data[: len(data) // 2])
    error = fails(tmp_path, capsys, [path])
    assert error.startswith(f"ERROR: {path}: gzip file is truncated or corrupt")


def test_corrupt_gzip_checksum(tmp_path, capsys):
    data = bytearray(gzip.compress(fastq_text(reads(20))))
    data[-8] ^= 0xFF  # CRC32 of the member
    path = tmp_path / "crc.fastq.gz"
    path.write_bytes(bytes(data))
    assert "truncated or corrupt" in fails(tmp_path, capsys, [path])


def test_damaged_gzip_names_the_exact_count_of_whole_records(tmp_path, capsys):
    """The bytes decompressed before the damage count: every whole record before it, not those of the last full buffer."""
    first = gzip.compress(fastq_text(reads(1500)))
    second = gzip.compress(fastq_text(reads(1500, start=1500)))
    path = tmp_path / "damaged.fastq.gz"
    path.write_bytes(first + second[: len(second) // 3])
    error = fails(tmp_path, capsys, [path])
    assert "truncated or corrupt" in error and f"{1500 + _whole_records(second[: len(second) // 3]):,} whole records were read" in error


def _whole_records(cut_member: bytes) -> int:
    """Whole records in the text that a truncated gzip member still yields (what zcat prints before its error)."""
    text = zlib.decompressobj(31).decompress(cut_member)
    return text.count(b"\n") // 4


def test_gzip_with_trailing_garbage_is_read_whole_with_a_warning(tmp_path, capsys):
    """`gzip -d` ignores bytes after the last member that are not gzip ('trailing garbage ignored') and kallisto reads every
    record before them: the check counts them all, as check_quant then compares with kallisto, and warns."""
    rng = random.Random(3)
    transcripts = ["".join(rng.choice("ACGT") for _ in range(1000)) for _ in range(3)]
    (tmp_path / "tx.fa").write_text("".join(f">T{i}\n{t}\n" for i, t in enumerate(transcripts)))
    starts = [(rng.choice(transcripts), rng.randint(0, 900)) for _ in range(3000)]
    records = [(f"r{i}", t[start: start + 60], "I" * 60) for i, (t, start) in enumerate(starts)]
    path = tmp_path / "garbage.fastq.gz"
    path.write_bytes(gzip.compress(fastq_text(records)) + b"trailing garbage\x00" * 20)
    code, out = run(tmp_path, [path])
    assert code == 0
    assert json.loads(out.read_text())["total_reads"] == 3000
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "340 byte(s) after the last gzip member are not gzip data and are ignored" in warnings[0]
    subprocess.run(["kallisto", "index", "-i", str(tmp_path / "idx"), str(tmp_path / "tx.fa")], check=True, capture_output=True)
    subprocess.run(["kallisto", "quant", "-i", str(tmp_path / "idx"), "-o", str(tmp_path / "quant"), "--single", "-l", "200", "-s", "20",
                    str(path)], check=True, capture_output=True)
    assert json.loads((tmp_path / "quant" / "run_info.json").read_text())["n_processed"] == 3000
    assert check_quant.main(["--sample", "S1", "--fastq_check", str(out), "--run_info", str(tmp_path / "quant" / "run_info.json")]) == 0


@pytest.mark.parametrize("change, record, message", [
    (lambda n, s, q: [f"@{n}", s, "+", q[:-3]], 7, "record 7: quality line is shorter than the sequence (47 vs 50 characters)"),
    (lambda n, s, q: [f"@{n}", s, "+", q + "II"], 7, "record 7: quality line is longer than the sequence (52 vs 50 characters)"),
    (lambda n, s, q: [f"@{n}", s, q], 7, "record 7: third line does not start with '+'"),
    (lambda n, s, q: [f">{n}", s, "+", q], 7, "record 7: header line does not start with '@'"),
])
def test_malformed_record_is_named(tmp_path, capsys, change, record, message):
    lines = []
    for i, (name, seq, qual) in enumerate(reads(12), start=1):
        lines += change(name, seq, qual) if i == record else [f"@{name}", seq, "+", qual]
    path = write(tmp_path / "bad.fastq.gz", ("\n".join(lines) + "\n").encode())
    error = fails(tmp_path, capsys, [path], sample="S7")
    assert error.startswith(f"ERROR: {path}: {message}")


def test_malformed_record_in_r2_of_a_second_lane(tmp_path, capsys):
    lane1 = pair(tmp_path, reads(5), name="L1")
    records = reads(5, start=5)
    r1 = write(tmp_path / "L2_R1.fastq.gz", fastq_text(records, 1))
    name, seq, qual = records[3]
    r2 = write(tmp_path / "L2_R2.fastq.gz", fastq_text(records[:3] + [(name, seq, qual[:10])] + records[4:], 2))
    error = fails(tmp_path, capsys, [lane1[0], r1], [lane1[1], r2])
    assert error.startswith(f"ERROR: {r2}: record 4: quality line is shorter")


def test_record_cut_at_end_of_file(tmp_path, capsys):
    text = fastq_text(reads(9))
    path = write(tmp_path / "cut.fastq.gz", text + b"@r9\nACGTACGT\n")  # a whole gzip stream, a half record
    assert fails(tmp_path, capsys, [path]).startswith(f"ERROR: {path}: record 10: the file ends inside the record (2 of its 4 lines")
    # cut inside the quality line: the last line is shorter than its sequence
    cut = write(tmp_path / "cut2.fastq", text + b"@r9\nACGTACGT\n+\nIII", gz=False)
    assert fails(tmp_path, capsys, [cut]).startswith(f"ERROR: {cut}: record 10: quality line is shorter than the sequence (3 vs 8")


def test_not_a_fastq_file(tmp_path, capsys):
    path = write(tmp_path / "peaks.fastq.gz", b"chr1\t10\t20\n" * 8)
    error = fails(tmp_path, capsys, [path])
    assert "record 1: header line does not start with '@'" in error and "not a FASTQ file?" in error


def test_other_compression_is_refused(tmp_path, capsys):
    path = tmp_path / "a.fastq.bz2"
    path.write_bytes(bz2.compress(fastq_text(reads(3))))
    assert "compressed with bzip2; kallisto reads gzip or plain FASTQ only" in fails(tmp_path, capsys, [path])


def test_missing_file(tmp_path, capsys):
    assert f"{tmp_path / 'nope.fastq.gz'}: file not found" in fails(tmp_path, capsys, [tmp_path / "nope.fastq.gz"])


@pytest.mark.parametrize("gz", [True, False])
def test_zero_reads(tmp_path, capsys, gz):
    path = write(tmp_path / ("empty.fastq.gz" if gz else "empty.fastq"), b"", gz)
    assert fails(tmp_path, capsys, [path]).startswith(f"ERROR: {path}: no reads: the file holds no FASTQ record")


def test_zero_reads_in_both_mates(tmp_path, capsys):
    r1, r2 = write(tmp_path / "a_R1.fastq.gz", b""), write(tmp_path / "a_R2.fastq.gz", b"")
    assert fails(tmp_path, capsys, [r1], [r2]).startswith(f"ERROR: {r1}: no reads")


# --- R1 / R2 -------------------------------------------------------------------------------------------

def test_mates_out_of_order_with_the_same_count(tmp_path, capsys):
    records = reads(50)
    swapped = records[:20] + [records[21], records[20]] + records[22:]
    r1 = write(tmp_path / "a_R1.fastq.gz", fastq_text(records, 1))
    r2 = write(tmp_path / "a_R2.fastq.gz", fastq_text(swapped, 2))
    error = fails(tmp_path, capsys, [r1], [r2])
    assert error.startswith(f"ERROR: {r2}: record 21: read name 'r21' but 'r20' in {r1}")


def test_mates_out_of_order_across_chunks(tmp_path):
    records = reads(400, length=40)
    tail = records[300:]
    random.Random(3).shuffle(tail)
    mates = records[:300] + tail
    first = next(i for i, (a, b) in enumerate(zip(records, mates, strict=True)) if a[0] != b[0])
    r1 = write(tmp_path / "a_R1.fastq.gz", fastq_text(records, 1))
    r2 = write(tmp_path / "a_R2.fastq.gz", fastq_text(mates, 2))
    with pytest.raises(InputError, match=rf"record {first + 1}: read name '{mates[first][0]}' but '{records[first][0]}'"):
        check_sample("S1", [r1], [r2], K, chunk_size=500)


@pytest.mark.parametrize("n_1, n_2", [(30, 28), (28, 30)])
def test_different_read_counts(tmp_path, capsys, n_1, n_2):
    records = reads(30)
    r1 = write(tmp_path / "a_R1.fastq.gz", fastq_text(records[:n_1], 1))
    r2 = write(tmp_path / "a_R2.fastq.gz", fastq_text(records[:n_2], 2))
    error = fails(tmp_path, capsys, [r1], [r2])
    shorter, longer = (r1, r2) if n_1 < n_2 else (r2, r1)
    assert error.startswith(f"ERROR: {shorter}: record 29: the file ends after 28 records but {longer} has 30")


def test_same_file_as_both_mates(tmp_path, capsys):
    r1 = write(tmp_path / "a_R1.fastq.gz", fastq_text(reads(5)))
    assert fails(tmp_path, capsys, [r1], [r1]).startswith(f"ERROR: {r1}: the same file as fastq_1 and fastq_2")


def test_line_without_end_is_refused_before_it_fills_the_memory(tmp_path, monkeypatch):
    monkeypatch.setattr("atac2expr.fastq.MAX_RECORD", 1000)
    path = write(tmp_path / "a.fastq", fastq_text(reads(3)) + b"@r3\n" + b"A" * 5000, gz=False)
    with pytest.raises(InputError, match=r"record 4: more than 1,000 bytes without 4 whole lines \(not a FASTQ file\?\)"):
        check_sample("S1", [path], None, K, chunk_size=256)


def test_lane_counts_must_match(tmp_path, capsys):
    lane1 = pair(tmp_path, reads(5), name="L1")
    lane2 = pair(tmp_path, reads(5), name="L2")
    error = fails(tmp_path, capsys, [lane1[0], lane2[0]], [lane1[1]])
    assert "2 fastq_1 file(s) but 1 fastq_2 file(s)" in error


# --- after kallisto ----------------------------------------------------------------------------------

def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_check_quant_passes_when_kallisto_processed_every_read(tmp_path, capsys):
    r1, r2 = pair(tmp_path, reads(40))
    code, fastq_check = run(tmp_path, [r1], [r2])
    assert code == 0
    run_info = write_json(tmp_path / "run_info.json", {"n_processed": 40, "n_pseudoaligned": 38, "p_pseudoaligned": 95.0})
    assert check_quant.main(["--sample", "S1", "--run_info", str(run_info), "--fastq_check", str(fastq_check)]) == 0
    assert "sample S1: kallisto processed all 40 pairs, 38 pseudoaligned (95.0%)" in capsys.readouterr().err


@pytest.mark.parametrize("run_info, sample, message", [
    ({"n_processed": 13}, "S1", "kallisto processed 13 pairs of sample S1 but its FASTQ files hold 40"),
    ({"n_processed": 40}, "S2", "is the check of sample 'S1', not of sample S2"),
    ({"n_pseudoaligned": 40}, "S1", "no integer 'n_processed' (sample S1)"),
])
def test_check_quant_mismatch(tmp_path, capsys, run_info, sample, message):
    r1, r2 = pair(tmp_path, reads(40))
    code, fastq_check = run(tmp_path, [r1], [r2])
    assert code == 0
    path = write_json(tmp_path / "run_info.json", run_info)
    assert check_quant.main(["--sample", sample, "--run_info", str(path), "--fastq_check", str(fastq_check)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("ERROR: ") and message in error


@pytest.mark.skipif(shutil.which("kallisto") is None, reason="kallisto is not on PATH")
def test_kallisto_stops_at_a_short_quality_line_and_check_quant_catches_it(tmp_path, capsys):
    """The silent failure these checks exist for, with the real kallisto."""
    rng = random.Random(7)
    transcripts = ["".join(rng.choice("ACGT") for _ in range(1000)) for _ in range(5)]
    (tmp_path / "tx.fa").write_text("".join(f">T{i}\n{t}\n" for i, t in enumerate(transcripts)))
    records = []
    for i in range(300):
        t, start = rng.choice(transcripts), rng.randint(0, 900)
        records.append((f"r{i}", t[start: start + 60], "I" * 60))
    good = write(tmp_path / "good.fastq.gz", fastq_text(records))
    name, seq, qual = records[100]
    # kallisto reads quality lines until they are as long as the sequence: 57 + '@r101' overshoots and it stops
    # at record 101; 55 + '@r101' fits exactly and it swallows record 102's header and skips that read
    stops = write(tmp_path / "stops.fastq.gz", fastq_text(records[:100] + [(name, seq, qual[:-3])] + records[101:]))
    skips = write(tmp_path / "skips.fastq.gz", fastq_text(records[:100] + [(name, seq, qual[:-5])] + records[101:]))
    subprocess.run(["kallisto", "index", "-i", str(tmp_path / "idx"), str(tmp_path / "tx.fa")], check=True, capture_output=True)
    for path in (good, stops, skips):
        subprocess.run(["kallisto", "quant", "-i", str(tmp_path / "idx"), "-o", str(tmp_path / path.stem), "--single", "-l", "200",
                        "-s", "20", str(path)], check=True, capture_output=True)  # exits 0 every time
    code, fastq_check = run(tmp_path, [good])
    assert code == 0
    quant = ["--sample", "S1", "--fastq_check", str(fastq_check), "--run_info"]
    assert check_quant.main(quant + [str(tmp_path / "good.fastq" / "run_info.json")]) == 0
    for path in (stops, skips):
        processed = json.loads((tmp_path / path.stem / "run_info.json").read_text())["n_processed"]
        assert processed < 300
        assert check_quant.main(quant + [str(tmp_path / path.stem / "run_info.json")]) == 2
        assert f"kallisto processed {processed} reads of sample S1 but its FASTQ files hold 300" in capsys.readouterr().err
        assert "record 101: quality line is shorter" in fails(tmp_path, capsys, [path])
