"""bin/download.py and atac2expr.download against the fake ENCODE/Ensembl server (tests/fake_encode.py)."""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import subprocess

import pytest
from fake_encode import FakeEncodeData, FakeServer
from fake_encode import bsd_sum as oracle_bsd_sum

from atac2expr.cli import InputError
from atac2expr.commands import download as download_cli
from atac2expr.download import (
    Expected,
    RangeNotSatisfiable,
    RetryPolicy,
    _fetch_once,
    _Progress,
    bsd_sum,
    bsd_sum_update,
    download,
    ensembl_urls,
    name_from_url,
    parse_checksums,
    safe_name,
)

FAST = RetryPolicy(retries=3, backoff=0.01, max_wait=0.05)


def _bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def world():
    data = FakeEncodeData()
    biosample = data.biosample_type("K562")
    rna = data.experiment("total RNA-seq", biosample)
    content = _bytes(300_000, 1)
    fid = data.fastq(rna, content)
    restricted = data.fastq(rna, _bytes(1000, 2), restricted=True)
    data.ensembl(113, gtf=_bytes(5_000, 3), cdna=_bytes(70_000, 4))
    with FakeServer(data) as server:
        obj = data.objects[fid]
        yield {
            "server": server, "data": data, "content": content, "md5": obj["md5sum"], "size": obj["file_size"],
            "href": obj["href"], "url": server.url + obj["href"], "storage": f"/storage/{obj['accession']}/{obj['href'].rsplit('/', 1)[1]}",
            "name": obj["href"].rsplit("/", 1)[1], "restricted_url": server.url + data.objects[restricted]["href"],
        }


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_follows_redirect_and_verifies(world, tmp_path):
    dest = download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    assert dest.read_bytes() == world["content"]
    assert _leftovers(tmp_path) == [world["name"]]
    storage = world["server"].requests_to("/storage/")
    assert len(storage) == 1 and "X-Amz-Signature" in storage[0].query  # the 307 target was fetched once


def test_md5_mismatch_retried_then_clear_failure(world, tmp_path):
    world["server"].fault(world["storage"], "corrupt", times=99)
    with pytest.raises(InputError) as err:
        download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    message = str(err.value)
    assert "\n" not in message and world["url"] in message and "md5" in message and "4 attempts" in message
    assert _leftovers(tmp_path) == []  # nothing under the final name, no partial file either
    assert len(world["server"].requests_to("/storage/")) == FAST.retries + 1
    # every retry starts from scratch: no Range requests after a mismatch
    assert all("range" not in r.headers for r in world["server"].requests_to("/storage/"))


def test_md5_mismatch_once_then_right(world, tmp_path):
    world["server"].fault(world["storage"], "corrupt", times=1)
    dest = download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    assert hashlib.md5(dest.read_bytes()).hexdigest() == world["md5"]


def test_connection_dropped_mid_file_is_resumed_with_range(world, tmp_path):
    world["server"].fault(world["storage"], "drop", after=100_000)
    dest = download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    assert hashlib.md5(dest.read_bytes()).hexdigest() == world["md5"]
    ranges = [r.headers.get("range") for r in world["server"].requests_to("/storage/")]
    assert ranges == [None, "bytes=100000-"]
    # the resume went through the redirect again (original URL), never straight to the old storage URL
    assert len(world["server"].requests_to("/@@download/")) == 2


def test_resume_restarts_when_server_ignores_range(world, tmp_path, caplog):
    world["server"].fault(world["storage"], "drop", after=50_000)
    world["server"].fault(world["storage"], "norange")
    with caplog.at_level(logging.INFO):
        dest = download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    assert dest.read_bytes() == world["content"]
    assert "ignored the Range request" in caplog.text


def test_range_not_satisfiable_starts_over(world, tmp_path):
    part = tmp_path / "partial"
    part.write_bytes(world["content"])  # complete, but no size known: the resume asks for bytes past the end
    with pytest.raises(RangeNotSatisfiable):
        _fetch_once(world["url"], part, Expected(), 10, _Progress("x", None, 5))
    assert not part.exists()
    dest = download(world["url"], tmp_path / world["name"], Expected(world["md5"]), policy=FAST)
    assert dest.read_bytes() == world["content"]


def test_progress_is_logged_by_time_not_per_chunk(world, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="atac2expr.download"):
        download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    assert " at " not in caplog.text  # 300 kB: well under the 5 s interval, so no progress line
    assert "downloaded and verified" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="atac2expr.download"):
        download(world["url"], tmp_path / "again", Expected(world["md5"], world["size"]), policy=FAST, progress_interval=0)
    assert "of 293.0 KiB" in caplog.text and "/s" in caplog.text


def test_429_and_503_backed_off_then_succeed(world, tmp_path, caplog):
    server = world["server"]
    server.fault(world["href"], "status", code=429, times=2, retry_after="0")
    server.fault(world["href"], "status", code=503, times=1)
    with caplog.at_level(logging.WARNING):
        dest = download(world["url"], tmp_path / world["name"], Expected(world["md5"], world["size"]), policy=FAST)
    assert dest.read_bytes() == world["content"]
    assert len(server.requests_to("/@@download/")) == 4
    assert caplog.text.count("HTTP 429") == 2 and caplog.text.count("HTTP 503") == 1


def test_retry_after_is_capped():
    policy = RetryPolicy(retries=2, backoff=1.0, max_wait=30.0)
    assert policy.wait(0, retry_after=3600) == 30.0
    assert policy.wait(0, retry_after=2) == 2
    assert [policy.wait(a) for a in range(3)] == [1.0, 2.0, 4.0]


def test_restricted_and_missing_are_clear_errors_not_retried(world, tmp_path):
    with pytest.raises(InputError, match="restricted or missing") as err:
        download(world["restricted_url"], tmp_path / "x.fastq.gz", policy=FAST)
    assert world["restricted_url"] in str(err.value) and "403" in str(err.value)
    missing = world["server"].url + "/files/ENCFF999ZZZ/@@download/ENCFF999ZZZ.fastq.gz"
    with pytest.raises(InputError, match="HTTP 404.*restricted or missing"):
        download(missing, tmp_path / "y.fastq.gz", policy=FAST)
    assert len(world["server"].requests_to("ENCFF999ZZZ")) == 1
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["../evil.fastq.gz", "/etc/passwd", "..", "a/b.fastq.gz", "a\\b", ""])
def test_names_leaving_the_download_folder_are_refused(name):
    with pytest.raises(InputError, match="refused"):
        safe_name(name)


def test_href_trying_to_leave_the_folder_is_refused(world, tmp_path, capsys, monkeypatch):
    evil = world["server"].url + "/files/ENCFF001AAA/@@download/..%2F..%2Fevil.fastq.gz"
    with pytest.raises(InputError, match="refused"):
        name_from_url(evil)
    monkeypatch.chdir(tmp_path)
    assert download_cli.main(["--url", evil, "--md5", world["md5"], "--size", str(world["size"])]) == 2
    assert "refused" in capsys.readouterr().err
    assert download_cli.main(["--url", world["url"], "--output", "../escape.fastq.gz"]) == 2
    assert _leftovers(tmp_path) == [] and not (tmp_path.parent / "escape.fastq.gz").exists()
    assert not world["server"].requests_to("/storage/")


def test_cached_file_is_not_downloaded_again(world, tmp_path):
    cache = tmp_path / "cache"
    entry = cache / world["md5"] / world["name"]
    entry.parent.mkdir(parents=True)
    entry.write_bytes(world["content"])
    out = tmp_path / "out"
    dest = download(world["url"], out / world["name"], Expected(world["md5"], world["size"]), policy=FAST, cache_dir=cache)
    assert dest.read_bytes() == world["content"]
    assert world["server"].requests == []


def test_download_fills_the_cache_and_replaces_a_bad_entry(world, tmp_path):
    cache = tmp_path / "cache"
    expected = Expected(world["md5"], world["size"])
    download(world["url"], tmp_path / "a" / world["name"], expected, policy=FAST, cache_dir=cache)
    assert (cache / world["md5"] / world["name"]).read_bytes() == world["content"]
    n = len(world["server"].requests)
    download(world["url"], tmp_path / "b" / world["name"], expected, policy=FAST, cache_dir=cache)
    assert len(world["server"].requests) == n  # second time from the cache
    (cache / world["md5"] / world["name"]).unlink()
    (cache / world["md5"] / world["name"]).write_bytes(b"stale")
    dest = download(world["url"], tmp_path / "c" / world["name"], expected, policy=FAST, cache_dir=cache)
    assert dest.read_bytes() == world["content"] and len(world["server"].requests) > n


def test_cli_downloads_with_md5_and_size(world, tmp_path):
    code = download_cli.main(["--url", world["url"], "--md5", world["md5"], "--size", str(world["size"]), "--outdir", str(tmp_path),
                              "--output", "reads.fastq.gz", "--backoff", "0.01", "--retries", "2"])
    assert code == 0
    assert (tmp_path / "reads.fastq.gz").read_bytes() == world["content"]


def test_cli_wrong_size_fails_with_one_line(world, tmp_path, capsys):
    code = download_cli.main(["--url", world["url"], "--md5", world["md5"], "--size", str(world["size"] + 1), "--outdir", str(tmp_path),
                              "--backoff", "0.001", "--max_wait", "0.01", "--retries", "1"])
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "size" in errors[0] and "2 attempts" in errors[0]
    assert _leftovers(tmp_path) == []


# ---- Ensembl and BSD sum


def test_bsd_sum_matches_the_oracle_and_coreutils(tmp_path):
    for n, seed in [(0, 0), (1, 1), (1023, 2), (1024, 3), (1025, 4), (50_000, 5)]:
        data = _bytes(n, seed)
        path = tmp_path / f"f{n}"
        path.write_bytes(data)
        assert bsd_sum(path, use_gnu=False) == oracle_bsd_sum(data)  # the Python loop
        assert bsd_sum(path) == oracle_bsd_sum(data)  # GNU `sum -r` where installed
        if shutil.which("sum") and n:
            fields = subprocess.run(["sum", str(path)], capture_output=True, text=True, check=True).stdout.split()
            assert (int(fields[0]), int(fields[1])) == bsd_sum(path, use_gnu=False)
    assert bsd_sum_update(0, b"abc") == 16556  # `printf abc | sum` -> 16556 1


def test_parse_checksums():
    text = "12345     3 README\n00042 54321 Homo_sapiens.GRCh38.113.gtf.gz\n"
    assert parse_checksums(text) == {"README": (12345, 3), "Homo_sapiens.GRCh38.113.gtf.gz": (42, 54321)}
    with pytest.raises(InputError, match="line 1"):
        parse_checksums("d41d8cd98f00b204e9800998ecf8427e  file.gz\n")


def test_ensembl_urls():
    gtf, sums = ensembl_urls("gtf", 113, "https://ftp.ensembl.org/pub/")
    assert gtf == "https://ftp.ensembl.org/pub/release-113/gtf/homo_sapiens/Homo_sapiens.GRCh38.113.gtf.gz"
    assert sums == "https://ftp.ensembl.org/pub/release-113/gtf/homo_sapiens/CHECKSUMS"
    cdna, _ = ensembl_urls("cdna", 113, "http://mirror.example/pub")
    assert cdna == "http://mirror.example/pub/release-113/fasta/homo_sapiens/cdna/Homo_sapiens.GRCh38.cdna.all.fa.gz"
    with pytest.raises(InputError, match="--ensembl_release 0: must be a positive release number"):
        ensembl_urls("gtf", 0, "https://ftp.ensembl.org/pub")
    with pytest.raises(InputError, match="--ensembl dna: choose one of"):
        ensembl_urls("dna", 113, "https://ftp.ensembl.org/pub")


def test_ensembl_download_verified_by_bsd_sum(world, tmp_path):
    base = world["server"].url + "/pub"
    for kind, name in [("gtf", "Homo_sapiens.GRCh38.113.gtf.gz"), ("cdna", "Homo_sapiens.GRCh38.cdna.all.fa.gz")]:
        assert download_cli.main(["--ensembl", kind, "--ensembl_release", "113", "--ensembl_url", base, "--outdir", str(tmp_path),
                                  "--cache_dir", str(tmp_path / "cache")]) == 0
        served = world["data"].blobs[[p for p in world["data"].blobs if p.endswith(name)][0]]
        assert (tmp_path / name).read_bytes() == served
    assert len(list((tmp_path / "cache").glob("bsdsum-*/*"))) == 2


def test_ensembl_checksum_mismatch_fails(world, tmp_path, capsys):
    data, base = world["data"], world["server"].url + "/pub"
    path = "/pub/release-113/gtf/homo_sapiens/Homo_sapiens.GRCh38.113.gtf.gz"
    original = data.blobs[path]
    data.blobs[path] = original[:-1] + bytes([original[-1] ^ 1])  # same size, other sum
    code = download_cli.main(["--ensembl", "gtf", "--ensembl_release", "113", "--ensembl_url", base, "--outdir", str(tmp_path),
                              "--retries", "1", "--backoff", "0.001"])
    assert code == 2
    err = capsys.readouterr().err
    assert "BSD sum" in err and "Homo_sapiens.GRCh38.113.gtf.gz" in err
    assert _leftovers(tmp_path) == []
    missing = download_cli.main(["--ensembl", "gtf", "--ensembl_release", "99", "--ensembl_url", base, "--outdir", str(tmp_path)])
    assert missing == 2 and "restricted or missing" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--ensembl", "gtf"], "--ensembl gtf: give --ensembl_release and --ensembl_url"),
    (["--ensembl", "gtf", "--ensembl_release", "113"], "--ensembl gtf: give --ensembl_release and --ensembl_url"),
    (["--ensembl", "cdna", "--ensembl_url", "https://ftp.ensembl.org/pub"], "--ensembl cdna: give --ensembl_release and --ensembl_url"),
    (["--ensembl", "gtf", "--ensembl_release", "113", "--ensembl_url", "https://x", "--url", "https://y/f.gz"], "give either a URL or --ensembl gtf"),
    ([], "no URL given (or use --ensembl gtf|cdna)"),
    (["--url", "ftp://ftp.ensembl.org/pub/x.gz"], "only http:// and https:// URLs are downloaded"),
    (["--url", "file:///etc/passwd"], "only http:// and https:// URLs are downloaded"),
    (["--url", "https://example.org/f.gz", "--size", "ten"], "--size 'ten': not a whole number of bytes"),
    (["--url", "https://example.org/f.gz", "--retries", "-1"], "--retries, --backoff and --max_wait must be >= 0"),
])
def test_cli_argument_errors_are_one_line_and_download_nothing(tmp_path, capsys, args, message):
    assert download_cli.main([*args, "--outdir", str(tmp_path)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0], errors
    assert _leftovers(tmp_path) == []
