#!/usr/bin/env python3
"""Benchmark (not a test): reading the references at GRCh38 scale, streaming vs whole-file.

Generates, unless given, an Ensembl-113-like GTF (62,700 genes, ~252,000 transcripts with 6 exons
each, CDS/UTR/codon lines for 60% of them: ~3.3 M lines, ~1.5 GB unpacked, gzipped) and a cDNA
FASTA (250,000 records, ~420 MB unpacked, gzipped), then measures, each in its own process so that
its peak RSS is its own:

  gtf   before: the whole-file parse (the whole text in memory, one pandas read_csv)
        after:  annotation.read_gtf (streaming; only gene and transcript lines are parsed)
  fasta before: the whole FASTA read as text and its headers found with a regex
        after:  sequences.fasta_ids (pysam.FastxFile)
        names only, pysam.FastxFile vs a plain-Python chunked line scanner (the choice made in sequences.py)

  python benchmarks/bench_references.py                   # real size; the 'before' GTF parse needs ~10 GB of memory
  python benchmarks/bench_references.py --quick          # a tenth of the size
  python benchmarks/bench_references.py --skip-before    # only the streaming readers
  python benchmarks/bench_references.py --gtf Homo_sapiens.GRCh38.113.gtf.gz --fasta Homo_sapiens.GRCh38.cdna.all.fa.gz
  python benchmarks/bench_references.py --workdir /tmp/refs   # keep (and reuse) the generated inputs

The machine's load matters: the table gives wall and CPU seconds; compare CPU seconds when other work runs.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from atac2expr import annotation, files, formats, sequences
from atac2expr.regions import normalize_chroms

REPO = Path(__file__).resolve().parents[1]

CHROMS = [str(c) for c in range(1, 23)] + ["X", "Y", "MT"]
BIOTYPES = ["protein_coding", "lncRNA", "processed_pseudogene", "misc_RNA", "snRNA"]


# --- inputs -----------------------------------------------------------------------------------------------------------


def make_gtf(path: Path, n_genes: int, seed: int = 0) -> int:
    """An Ensembl-113-like GTF: attribute layout and line mix of the real one; returns the number of lines."""
    rng = np.random.default_rng(seed)
    tx_per_gene = 1 + rng.poisson(3.02, n_genes)
    gene_starts = rng.integers(10_000, 200_000_000, n_genes)
    n_lines, tx_number, buffer = 5, 0, []
    with gzip.open(path, "wt", compresslevel=6) as out:
        out.write("#!genome-build GRCh38.p14\n#!genome-version GRCh38\n#!genome-date 2013-12\n"
                  "#!genome-build-accession GCA_000001405.29\n#!genebuild-last-updated 2024-07\n")
        for g in range(n_genes):
            chrom, strand, start = CHROMS[g * len(CHROMS) // n_genes], "+-"[g % 2], int(gene_starts[g])
            end = start + 30_000
            gene_id, name, biotype, version = f"ENSG{g:011d}", f"GENE{g}", BIOTYPES[g % 5], 1 + g % 9
            gene_head = f'gene_id "{gene_id}"; gene_version "{version}";'
            gene_tail = f'gene_name "{name}"; gene_source "ensembl_havana"; gene_biotype "{biotype}";'
            buffer.append(f"{chrom}\tensembl_havana\tgene\t{start}\t{end}\t.\t{strand}\t.\t{gene_head} {gene_tail}\n")
            for t in range(tx_per_gene[g]):
                tx_number += 1
                coding = tx_number % 5 < 3
                head = f'{gene_head} transcript_id "ENST{tx_number:011d}"; transcript_version "{1 + t % 7}";'
                tail = (f'{gene_tail} transcript_name "{name}-{201 + t}"; transcript_source "havana"; '
                        f'transcript_biotype "{"protein_coding" if coding else "retained_intron"}"; tag "basic"; '
                        f'tag "Ensembl_canonical"; transcript_support_level "1 (assigned to previous version 5)";')
                attributes = f"{head} {tail}"
                buffer.append(f"{chrom}\thavana\ttranscript\t{start}\t{end}\t.\t{strand}\t.\t{attributes}\n")
                for e in range(6):
                    exon_start = start + e * 5000
                    buffer.append(f'{chrom}\thavana\texon\t{exon_start}\t{exon_start + 200}\t.\t{strand}\t.\t{head} exon_number "{e + 1}"; '
                                  f'{tail} exon_id "ENSE{tx_number * 6 + e:011d}"; exon_version "1";\n')
                if coding:
                    protein = f'{attributes} protein_id "ENSP{tx_number:011d}"; protein_version "1";'
                    buffer.append(f"{chrom}\thavana\tfive_prime_utr\t{start}\t{start + 50}\t.\t{strand}\t.\t{attributes}\n")
                    for e in range(6):
                        cds = start + e * 5000 + 50
                        buffer.append(f"{chrom}\thavana\tCDS\t{cds}\t{cds + 150}\t.\t{strand}\t0\t{protein}\n")
                    buffer.append(f"{chrom}\thavana\tstart_codon\t{start + 50}\t{start + 52}\t.\t{strand}\t0\t{protein}\n")
                    buffer.append(f"{chrom}\thavana\tstop_codon\t{end - 52}\t{end - 50}\t.\t{strand}\t0\t{protein}\n")
                    buffer.append(f"{chrom}\thavana\tthree_prime_utr\t{end - 50}\t{end}\t.\t{strand}\t.\t{attributes}\n")
            if len(buffer) > 100_000:
                n_lines += len(buffer)
                out.write("".join(buffer))
                buffer = []
        n_lines += len(buffer)
        out.write("".join(buffer))
    return n_lines


def make_fasta(path: Path, n_records: int, seed: int = 0, width: int = 60) -> int:
    """An Ensembl-like cDNA FASTA of random sequences (lengths 300-2700); returns the number of records."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(300, 2700, n_records)
    pool_lines = 200_000  # sequences are cut from a pool of random lines: far larger than gzip's 32 kB window
    pool = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, (pool_lines, width + 1))]
    pool[:, width] = ord("\n")
    pool = pool.tobytes()
    starts = rng.integers(0, pool_lines - 2700 // width - 1, n_records) * (width + 1)
    with gzip.open(path, "wb", compresslevel=1) as out:
        parts: list[bytes] = []
        for i in range(n_records):
            g = i // 4
            full, rem = divmod(int(lengths[i]), width)
            s = int(starts[i])
            parts.append(f">ENST{i + 1:011d}.{1 + i % 5} cdna chromosome:GRCh38:{CHROMS[g % 24]}:{10_000 + i}:{20_000 + i}:1 "
                         f"gene:ENSG{g:011d}.{1 + g % 9} gene_biotype:protein_coding transcript_biotype:protein_coding "
                         f"gene_symbol:GENE{g}\n".encode())
            parts.append(pool[s : s + full * (width + 1)])
            if rem:
                parts.append(pool[s + full * (width + 1) : s + full * (width + 1) + rem] + b"\n")
            if len(parts) > 30_000:
                out.write(b"".join(parts))
                parts = []
        out.write(b"".join(parts))
    return n_records


# --- the readers measured ---------------------------------------------------------------------------------------------


def whole_file_read_gtf(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The former parser: the whole GTF decoded into one string, parsed by one pandas read_csv."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    del raw
    gtf = pd.read_csv(io.StringIO(text), sep="\t", header=None, comment="#", usecols=[0, 2, 3, 4, 6, 8],
                      names=["chrom", "feature", "start", "end", "strand", "attributes"],
                      dtype={"chrom": str, "feature": str, "start": np.int64, "end": np.int64, "strand": str, "attributes": str})
    attribute = annotation._attribute
    genes = gtf[gtf["feature"] == "gene"].copy()
    genes["gene_id"] = annotation.strip_version(attribute(genes["attributes"], "gene_id"))
    genes["gene_name"] = attribute(genes["attributes"], "gene_name").fillna(genes["gene_id"])
    genes["gene_biotype"] = attribute(genes["attributes"], "gene_biotype").fillna("")
    genes["chrom"] = normalize_chroms(genes["chrom"])
    genes["start"] = genes["start"] - 1
    genes["tss"] = np.where(genes["strand"] == "-", genes["end"] - 1, genes["start"])
    genes = genes[formats.GENES.columns].drop_duplicates("gene_id").reset_index(drop=True)
    tx = gtf[gtf["feature"] == "transcript"]
    transcripts = pd.DataFrame({
        "transcript_id": annotation.strip_version(attribute(tx["attributes"], "transcript_id")),
        "gene_id": annotation.strip_version(attribute(tx["attributes"], "gene_id")),
    }).dropna().drop_duplicates("transcript_id").reset_index(drop=True)
    return genes, transcripts


def whole_file_fasta_ids(path: Path) -> set[str]:
    """The former check: the whole FASTA decoded into one string, headers found with a regex."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    del raw
    return {re.sub(r"\.\d+$", "", h.split("|")[0]) for h in re.findall(r"^>\s*(\S+)", text, flags=re.M)}


def scanner_names(path: Path, chunk_size: int = 1 << 23) -> list[str]:
    """First word of every FASTA header by a chunked plain-Python scan for '\\n>' (the alternative to pysam)."""
    names: list[str] = []
    rest = b""
    with files.open_binary(path) as handle:
        while chunk := handle.read(chunk_size):
            data = rest + chunk if rest else chunk
            cut = data.rfind(b"\n") + 1
            heads = [0] if data[:1] == b">" else []
            hit = data.find(b"\n>", 0, cut - 1)
            while hit >= 0:
                heads.append(hit + 1)
                hit = data.find(b"\n>", hit + 1, cut - 1)
            for head in heads:
                words = data[head + 1 : data.index(b"\n", head)].split(None, 1)
                names.append(words[0].decode() if words else "")
            rest = data[cut:]
    if rest[:1] == b">":
        words = rest[1:].split(None, 1)
        names.append(words[0].decode() if words else "")
    return names


def pysam_names(path: Path) -> list[str]:
    return sequences._names(path)


def _frame_digest(frame: pd.DataFrame) -> str:
    return f"{len(frame)} rows, hash {int(pd.util.hash_pandas_object(frame, index=True).sum()) & 0xFFFFFFFF:08x}"


MEASURED = {
    "gtf_before": lambda p: [_frame_digest(f) for f in whole_file_read_gtf(p)],
    "gtf_after": lambda p: [_frame_digest(f) for f in annotation.read_gtf(p)],
    "fasta_before": lambda p: f"{len(ids := whole_file_fasta_ids(p))} ids, hash {hash(frozenset(ids)) & 0xFFFFFFFF:08x}",
    "fasta_after": lambda p: f"{len(ids := sequences.fasta_ids(p))} ids, hash {hash(frozenset(ids)) & 0xFFFFFFFF:08x}",
    "names_pysam": lambda p: f"{len(n := pysam_names(p))} names, hash {hash(tuple(n)) & 0xFFFFFFFF:08x}",
    "names_scanner": lambda p: f"{len(n := scanner_names(p))} names, hash {hash(tuple(n)) & 0xFFFFFFFF:08x}",
    "imports_only": lambda p: "",
}


def _child(name: str, path: Path) -> int:
    """Run one reader in this (fresh) process and print its wall/CPU seconds and the process's peak RSS as JSON."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = MEASURED[name](path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": peak_rss_mib(), "result": result}))
    return 0


def peak_rss_mib() -> float:
    """This process's peak RSS.

    Linux: VmHWM of /proc/self/status. ru_maxrss is no use in a child: it keeps the high-water mark of
    the parent's memory that the child was spawned from, through the exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        match = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), flags=re.M)
        if match:
            return int(match[1]) / 2**10
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def measure(name: str, path: Path) -> dict:
    # one string hash in every child: the results' digests are compared across processes
    proc = subprocess.run([sys.executable, __file__, "--_child", name, str(path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- main -------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genes", type=int, default=62_700, help="genes of the generated GTF (~4 transcripts each)")
    parser.add_argument("--records", type=int, default=250_000, help="records of the generated cDNA FASTA")
    parser.add_argument("--quick", action="store_true", help="a tenth of the default sizes")
    parser.add_argument("--gtf", type=Path, help="measure this GTF instead of generating one")
    parser.add_argument("--fasta", type=Path, help="measure this cDNA FASTA instead of generating one")
    parser.add_argument("--workdir", type=Path, help="keep the generated inputs here and reuse them (default: a temporary folder)")
    parser.add_argument("--skip-before", action="store_true", help="skip the whole-file readers (the GTF one needs ~6x the unpacked size)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each streaming reader (the best is shown)")
    parser.add_argument("--_child", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        return _child(args._child[0], Path(args._child[1]))
    if args.quick:
        args.genes, args.records = args.genes // 10, args.records // 10

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_references."))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        gtf, fasta = args.gtf, args.fasta
        if gtf is None:
            gtf = workdir / f"genes_{args.genes}.gtf.gz"
            if not gtf.exists():
                t0 = time.perf_counter()
                lines = make_gtf(gtf, args.genes)
                print(f"generated {gtf}: {lines:,} lines in {time.perf_counter() - t0:.0f} s")
        if fasta is None:
            fasta = workdir / f"cdna_{args.records}.fa.gz"
            if not fasta.exists():
                t0 = time.perf_counter()
                make_fasta(fasta, args.records)
                print(f"generated {fasta} in {time.perf_counter() - t0:.0f} s")
        for path in (gtf, fasta):
            with files.open_binary(path) as handle:
                unpacked = sum(len(chunk) for chunk in iter(lambda: handle.read(1 << 24), b""))
            print(f"{path.name}: {path.stat().st_size / 2**20:,.0f} MiB on disk, {unpacked / 2**20:,.0f} MiB unpacked")

        runs = [("imports_only", gtf)]
        runs += [] if args.skip_before else [("gtf_before", gtf)]
        runs += [("gtf_after", gtf)] * args.repeats
        runs += [] if args.skip_before else [("fasta_before", fasta)]
        runs += [("fasta_after", fasta)] * args.repeats
        runs += [("names_pysam", fasta), ("names_scanner", fasta)] * args.repeats
        results: dict[str, dict] = {}
        for name, path in runs:
            result = measure(name, path)
            if name not in results or result.get("cpu", np.inf) < results[name].get("cpu", np.inf):
                results[name] = result

        print(f"\n{'reader':<16} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}  result")
        for name, r in results.items():
            if "error" in r:
                print(f"{name:<16} failed: {r['error']}")
            else:
                print(f"{name:<16} {r['wall']:8.2f} {r['cpu']:8.2f} {r['peak_mib']:13,.0f}  {r['result']}")
        print()
        for before, after in (("gtf_before", "gtf_after"), ("fasta_before", "fasta_after"), ("names_scanner", "names_pysam")):
            a, b = results.get(before, {}), results.get(after, {})
            if "cpu" in a and "cpu" in b:
                same = "same result" if a["result"] == b["result"] else "DIFFERENT RESULTS"
                print(f"{before} / {after}: wall x{a['wall'] / b['wall']:.1f}, CPU x{a['cpu'] / b['cpu']:.1f}, "
                      f"peak RSS x{a['peak_mib'] / b['peak_mib']:.1f}; {same}")
        print(f"(peak RSS includes the imports: {results['imports_only']['peak_mib']:,.0f} MiB for pandas, numpy, pysam)")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
