#!/usr/bin/env python3
"""Check the samplesheet and parameters before any heavy work starts.

Several sequencing lanes of one sample go in one row, joined with ';' (fastq_1 and fastq_2 in
the same lane order).

Writes the samplesheet back with absolute paths (relative paths are read relative to the
samplesheet's own folder) and a single_end column, for the workflow to read.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import logging
import re
import sys
import zlib
from pathlib import Path
from typing import Sequence

from atac2expr import cli
from atac2expr.annotation import chromosome_extents, genes_in_regions, read_gtf
from atac2expr.cli import InputError
from atac2expr.files import atomic_output, check_gzip_integrity, is_gzip, read_text
from atac2expr.peaks import read_peaks
from atac2expr.regions import check_bin_size, check_chromosome_lengths, format_regions, parse_regions, read_chrom_sizes

log = logging.getLogger("check_inputs")

REQUIRED_COLUMNS = ["sample", "fastq_1", "fastq_2", "peaks"]
SAMPLE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def count_fastq_records(path: Path, chunk_size: int = 1 << 22) -> int:
    """Reads of a gzipped FASTQ, counted in the one pass that also finds a truncated or corrupt file."""
    lines, last = 0, b"\n"
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(chunk_size):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{path}: gzip file is truncated or corrupt ({err})") from None
    lines += last != b"\n"
    if lines % 4:
        raise InputError(f"{path}: {lines} lines, not a whole number of 4-line FASTQ records (truncated?)")
    return lines // 4


def check_fastq(path: Path, where: str, check_gzip: bool) -> int | None:
    """The number of reads (None when check_gzip is off); InputError unless a complete gzipped FASTQ."""
    if not is_gzip(path):
        raise InputError(f"{where}: {path} is not gzip-compressed (FASTQ files must be .fastq.gz)")
    try:
        with gzip.open(path, "rt", errors="replace") as handle:
            first = handle.readline()
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(f"{where}: {path}: gzip file is truncated or corrupt ({err})") from None
    if first and not first.startswith("@"):
        raise InputError(f"{where}: {path} is not a FASTQ file (first line does not start with '@')")
    if not check_gzip:
        return None
    try:
        return count_fastq_records(path)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def check_region_has_transcripts(in_region, transcripts, fasta: str, regions, gtf: Path, transcriptome: Path) -> None:
    """Some gene of the region has a transcript in the GTF and in the transcriptome.

    Otherwise GENE_TPM would drop every gene and the run would end with nothing to predict.
    """
    region_tx = transcripts[transcripts["gene_id"].isin(in_region["gene_id"])]
    if region_tx.empty:
        raise InputError(f"--region {format_regions(regions)}: none of the {len(in_region)} genes of {gtf} in the region "
                         f"has a 'transcript' line in the GTF")
    fasta_ids = {re.sub(r"\.\d+$", "", h.split("|")[0]) for h in re.findall(r"^>\s*(\S+)", fasta, flags=re.M)}
    if not region_tx["transcript_id"].isin(fasta_ids).any():
        raise InputError(f"--region {format_regions(regions)}: none of the {len(region_tx)} transcripts of the region's genes in {gtf} "
                         f"is in --transcriptome {transcriptome} (e.g. {region_tx['transcript_id'].iloc[0]})")


def check_samplesheet(path: Path, check_gzip: bool = True) -> list[dict[str, str]]:
    """Validated rows with absolute paths; InputError names the line and column of a problem."""
    text = read_text(path)
    base = path.resolve().parent
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; the header must be {','.join(REQUIRED_COLUMNS)}")
    extra = [c for c in header if c not in REQUIRED_COLUMNS]
    if extra:
        raise InputError(f"{path}: unknown column(s) {', '.join(extra)}; the header must be {','.join(REQUIRED_COLUMNS)}")
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise InputError(f"{path} line {line}: expected {len(header)} comma-separated fields")
        row = {k: v.strip() for k, v in row.items()}
        sample = row["sample"]
        if not sample:
            raise InputError(f"{path} line {line}, column 'sample': empty sample id")
        if not SAMPLE_ID_RE.match(sample):
            raise InputError(f"{path} line {line}, column 'sample': '{sample}' may only contain letters, digits, '_', '.' and '-' (no spaces)")
        if sample in seen:
            raise InputError(f"{path} line {line}, column 'sample': duplicate sample id '{sample}' (first on line {seen[sample]})")
        seen[sample] = line
        for column in ("fastq_1", "peaks"):
            if not row[column]:
                raise InputError(f"{path} line {line}, column '{column}': empty (sample {sample})")
        resolved: dict[str, str] = {"sample": sample}
        reads: dict[str, list[int | None]] = {"fastq_1": [], "fastq_2": []}
        for column in ("fastq_1", "fastq_2", "peaks"):
            where = f"{path} line {line}, column '{column}' (sample {sample})"
            names = [n.strip() for n in row[column].split(";")] if row[column] else []
            if column == "peaks" and len(names) > 1:
                raise InputError(f"{where}: one peak file per sample")
            files = []
            for name in names:
                file = Path(name)
                file = file if file.is_absolute() else base / file
                if not name or not file.is_file():
                    raise InputError(f"{where}: file not found: {file}")
                if column.startswith("fastq"):
                    reads[column].append(check_fastq(file, where, check_gzip))
                else:
                    if check_gzip and is_gzip(file):
                        try:
                            check_gzip_integrity(file)
                        except InputError as err:
                            raise InputError(f"{where}: {err}") from None
                    try:  # a bad peak file stops the run here, not in BINARIZE_PEAKS after the heavy work started
                        read_peaks(file)
                    except InputError as err:
                        raise InputError(f"{where}: {err}") from None
                files.append(str(file.resolve()))
            resolved[column] = ";".join(files)
        lanes_1, lanes_2 = resolved["fastq_1"].count(";") + 1, resolved["fastq_2"].count(";") + 1
        if resolved["fastq_2"] and lanes_1 != lanes_2:
            raise InputError(f"{path} line {line} (sample {sample}): {lanes_1} fastq_1 file(s) but {lanes_2} fastq_2 file(s); lanes pair up in order")
        for lane, (file_1, file_2, n_1, n_2) in enumerate(zip(resolved["fastq_1"].split(";"), resolved["fastq_2"].split(";"),
                                                             reads["fastq_1"], reads["fastq_2"]), start=1):
            if n_1 is not None and n_2 is not None and n_1 != n_2:
                # kallisto 0.48 stops silently at the end of the shorter file and quantifies what it read
                raise InputError(f"{path} line {line} (sample {sample}): fastq_1 {file_1} has {n_1} reads but fastq_2 {file_2} has {n_2}"
                                 f"{f' (lane {lane})' if lanes_1 > 1 else ''}; paired files must hold the same reads in the same order")
        resolved["single_end"] = "false" if resolved["fastq_2"] else "true"
        rows.append(resolved)
    if not rows:
        raise InputError(f"{path}: no samples")
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samplesheet", type=Path, required=True)
    parser.add_argument("--gtf", type=Path, required=True)
    parser.add_argument("--transcriptome", type=Path, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--bin_size", type=int, required=True)
    parser.add_argument("--chrom_sizes", type=Path, help="chromosome<TAB>length; regions past a chromosome end are refused")
    parser.add_argument("--no_gzip_check", action="store_true", help="skip decompressing every gz input to find truncated files")
    parser.add_argument("--output", type=Path, required=True, help="validated samplesheet (absolute paths)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    regions = parse_regions(args.region)
    check_bin_size(regions, args.bin_size)
    if args.chrom_sizes:
        check_chromosome_lengths(regions, read_chrom_sizes(args.chrom_sizes), str(args.chrom_sizes))
    for param, file in (("--gtf", args.gtf), ("--transcriptome", args.transcriptome)):
        if not file.is_file():
            raise InputError(f"{param} {file}: file not found")
    fasta = read_text(args.transcriptome)
    if not fasta.lstrip().startswith(">"):
        raise InputError(f"--transcriptome {args.transcriptome}: not a FASTA file (no '>' header)")
    genes, transcripts = read_gtf(args.gtf)
    extents = chromosome_extents(genes)
    in_region = genes_in_regions(genes, regions)
    if in_region.empty:
        on = ", ".join(sorted(extents)[:10])
        raise InputError(f"--region {format_regions(regions)}: no genes of {args.gtf} overlap it (the GTF has genes on {on})")
    check_region_has_transcripts(in_region, transcripts, fasta, regions, args.gtf, args.transcriptome)
    del fasta
    log.info("region %s: %d bins of %d bp, %d genes of the GTF", format_regions(regions),
             sum(r.length for r in regions) // args.bin_size, args.bin_size, len(in_region))
    rows = check_samplesheet(args.samplesheet, check_gzip=not args.no_gzip_check)
    log.info("%s: %d samples (%d single-end)", args.samplesheet, len(rows), sum(r["single_end"] == "true" for r in rows))
    with atomic_output(args.output) as handle:
        writer = csv.DictWriter(handle, fieldnames=["sample", "fastq_1", "fastq_2", "peaks", "single_end"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
