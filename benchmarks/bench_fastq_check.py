#!/usr/bin/env python3
"""Benchmark: the per-sample FASTQ check against `zcat | wc -l` and kallisto (not a test; prints figures).

Generates paired 100 bp reads sampled from random transcripts (Illumina-like headers and
qualities, gzip -6 as sequencers and ENCODE ship them), builds a kallisto index of those
transcripts, then times on the same reads:

- `zcat R1 R2 | wc -l` (the goal: the check is at least as fast on one core),
- the check itself (atac2expr.fastq, ISA-L decompression + numpy parsing), in process and as
  bin/check_fastq.py,
- the same parser on Python's zlib (gzip module), and plain decompression with each library,
- pysam.FastxFile iterating the records,
- `kallisto quant` with 1 thread (and --threads).

Inputs are cached in --workdir and reused when the read count matches.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from atac2expr import fastq

BIN = Path(__file__).resolve().parents[1] / "bin"

READ_LENGTH = 100
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
COMPLEMENT = np.zeros(256, dtype=np.uint8)
COMPLEMENT[np.frombuffer(b"ACGT", np.uint8)] = np.frombuffer(b"TGCA", np.uint8)


def make_transcripts(path: Path, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    transcripts = [BASES[rng.integers(0, 4, rng.integers(1000, 4000))] for _ in range(n)]
    with open(path, "w") as handle:
        for i, seq in enumerate(transcripts):
            handle.write(f">BENCH{i:05d}\n{seq.tobytes().decode()}\n")
    return transcripts


def qualities(rng: np.random.Generator, n: int) -> np.ndarray:
    """Phred+33 qualities that fall along the read with noise, as on a HiSeq (about 35 distinct values)."""
    position = np.linspace(0, 8, READ_LENGTH)[None, :]
    q = 40 - position - rng.exponential(3.0, (n, READ_LENGTH))
    return (np.clip(q, 2, 41).astype(np.uint8) + 33)


def fastq_batch(names: np.ndarray, seqs: np.ndarray, quals: np.ndarray, mate: int) -> bytes:
    lines = []
    for i, (tile, x, y) in enumerate(names):
        lines.append(f"@BENCH:1:HXXXXBBXX:1:{tile}:{x}:{y} {mate}:N:0:ACGTACGT\n{seqs[i].tobytes().decode()}\n+\n"
                     f"{quals[i].tobytes().decode()}\n")
    return "".join(lines).encode()


def make_reads(workdir: Path, pairs: int, transcripts: list[np.ndarray], rng: np.random.Generator) -> tuple[Path, Path]:
    r1, r2 = workdir / f"bench_{pairs}_R1.fastq.gz", workdir / f"bench_{pairs}_R2.fastq.gz"
    if r1.exists() and r2.exists():
        return r1, r2
    lengths = np.array([len(t) for t in transcripts])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    genome = np.concatenate(transcripts)
    tmp1, tmp2 = r1.with_suffix(".part"), r2.with_suffix(".part")
    with open(tmp1, "wb") as out1, open(tmp2, "wb") as out2:
        gz1 = subprocess.Popen(["gzip", "-6"], stdin=subprocess.PIPE, stdout=out1)
        gz2 = subprocess.Popen(["gzip", "-6"], stdin=subprocess.PIPE, stdout=out2)
        batch = 100_000
        for first in range(0, pairs, batch):
            n = min(batch, pairs - first)
            tx = rng.integers(0, len(transcripts), n)
            fragment = np.clip(rng.normal(250, 30, n).astype(int), READ_LENGTH, None)
            fragment = np.minimum(fragment, lengths[tx])
            start = offsets[tx] + (rng.random(n) * (lengths[tx] - fragment + 1)).astype(int)
            cols = np.arange(READ_LENGTH)[None, :]
            seq1 = genome[start[:, None] + cols]
            seq2 = COMPLEMENT[genome[(start + fragment - 1)[:, None] - cols]]
            for seq in (seq1, seq2):  # 0.5% sequencing errors
                errors = rng.random(seq.shape) < 0.005
                seq[errors] = BASES[rng.integers(0, 4, errors.sum())]
            names = np.stack([rng.integers(1101, 2228, n), rng.integers(1000, 30000, n), rng.integers(1000, 40000, n)], axis=1)
            gz1.stdin.write(fastq_batch(names, seq1, qualities(rng, n), 1))
            gz2.stdin.write(fastq_batch(names, seq2, qualities(rng, n), 2))
        for gz in (gz1, gz2):
            gz.stdin.close()
            if gz.wait():
                raise SystemExit("gzip failed")
    tmp1.rename(r1)
    tmp2.rename(r2)
    return r1, r2


def best_of(repeats: int, func: Callable[[], object]) -> tuple[float, float, object]:
    """Best wall-clock and CPU seconds (this process and its children) over `repeats` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        result = func()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu_seconds() - c0)
    return min(walls), min(cpus), result


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def shell(command: str) -> str:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, capture_output=True, text=True).stdout


def drain(opener: Callable[[Path], object], files: list[Path], chunk: int = 1 << 23) -> int:
    total = 0
    for path in files:
        with opener(path) as handle:
            while block := handle.read(chunk):
                total += len(block)
    return total


def pysam_iterate(files: list[Path]) -> int:
    import pysam

    reads = 0
    for path in files:
        with pysam.FastxFile(str(path)) as handle:
            for record in handle:
                reads += len(record.sequence) == len(record.quality)
    return reads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5_000_000, help="read pairs to generate (default 5 M)")
    parser.add_argument("--quick", action="store_true", help="500 k pairs, one repeat")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per measurement")
    parser.add_argument("--threads", type=int, default=2, help="kallisto --threads for the second kallisto run")
    parser.add_argument("--no_kallisto", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "atac2expr_bench_fastq",
                        help="where inputs are generated and cached")
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.repeats = 500_000, 1
    args.workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    fasta = args.workdir / "transcripts.fa"
    transcripts = make_transcripts(fasta, 500, rng)
    t0 = time.perf_counter()
    r1, r2 = make_reads(args.workdir, args.pairs, transcripts, rng)
    files = [r1, r2]
    gz_mb = sum(f.stat().st_size for f in files) / 1e6
    raw_mb = None
    print(f"inputs: {args.pairs:,} pairs of {READ_LENGTH} bp, {r1.name} + {r2.name}: {gz_mb:,.0f} MB gzipped "
          f"(ready in {time.perf_counter() - t0:.0f} s; {args.workdir})")
    print(f"numpy {np.__version__}, isal {fastq.isal_version()}, cpu count {os.cpu_count()}; best of {args.repeats}")

    rows: list[tuple[str, float, float]] = []

    def measure(label: str, func: Callable[[], object]) -> object:
        wall, cpu, result = best_of(args.repeats, func)
        rows.append((label, wall, cpu))
        print(f"  {label}: {wall:.2f} s", flush=True)
        return result

    lines = measure("zcat R1 R2 | wc -l", lambda: shell(f"zcat {r1} {r2} | wc -l"))
    assert int(lines) == 8 * args.pairs, lines
    measure("zcat R1 R2 > /dev/null", lambda: shell(f"zcat {r1} {r2} > /dev/null"))
    raw_mb = measure("gzip module: decompress only", lambda: drain(lambda p: gzip.open(p, "rb"), files)) / 1e6
    measure("isal igzip: decompress only", lambda: drain(fastq.open_fastq, files))
    result = measure("check (isal + numpy), paired", lambda: fastq.check_sample("bench", [r1], [r2], min_read_length=31))
    assert result["total_reads"] == args.pairs, result
    measure("check (isal + numpy), R1 and R2 as single-end", lambda: (
        fastq.check_sample("bench", [r1], None, min_read_length=31), fastq.check_sample("bench", [r2], None, min_read_length=31)))
    measure("check (gzip module + numpy), paired",
            lambda: fastq.check_sample("bench", [r1], [r2], min_read_length=31, opener=lambda p: gzip.open(p, "rb")))
    output = args.workdir / "bench.fastq_check.json"
    measure("bin/check_fastq.py, paired (new process)", lambda: shell(
        f"{sys.executable} {BIN / 'check_fastq.py'} --sample bench --fastq_1 {r1} --fastq_2 {r2} "
        f"--min_read_length 31 --output {output}"))
    measure("pysam.FastxFile, R1 and R2 records", lambda: pysam_iterate(files))
    kallisto = shutil.which("kallisto")
    if kallisto and not args.no_kallisto:
        index = args.workdir / "transcripts.idx"
        if not index.exists():
            shell(f"kallisto index -i {index}.part {fasta} && mv {index}.part {index}")
        for threads in sorted({1, args.threads}):
            outdir = args.workdir / f"quant_t{threads}"
            measure(f"kallisto quant --threads {threads}, paired", lambda outdir=outdir, threads=threads: shell(
                f"kallisto quant -i {index} -o {outdir} --threads {threads} {r1} {r2} 2> {outdir}.log"))

    baseline, baseline_cpu = rows[0][1], rows[0][2]
    reads = 2 * args.pairs / 1e6
    print()
    print(f"{'':52s} {'wall s':>8s} {'cpu s':>8s} {'s/M reads':>10s} {'gz MB/s':>8s} {'s/GB gz':>8s} {'x zcat|wc':>10s} {'cpu x':>6s}")
    for label, wall, cpu in rows:
        print(f"{label:52s} {wall:8.2f} {cpu:8.2f} {wall / reads:10.3f} {gz_mb / wall:8.1f} {wall / gz_mb * 1000:8.1f} "
              f"{wall / baseline:10.2f} {cpu / baseline_cpu:6.2f}")
    print(f"(reads: R1 + R2 = {reads:.1f} M records; {gz_mb:,.0f} MB gz, {raw_mb:,.0f} MB uncompressed; s/M reads, MB/s and s/GB "
          f"from wall time; 'x zcat|wc' (wall) and 'cpu x' (CPU seconds, zcat and wc together) < 1: faster than zcat | wc -l; "
          f"on a shared machine the CPU ratio is the steadier one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
