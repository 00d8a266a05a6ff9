"""Find matched ENCODE ATAC-seq peaks and RNA-seq FASTQs; write a samplesheet of URLs and a provenance table.

The samplesheet has the local samplesheet's columns (sample,fastq_1,fastq_2,peaks) holding URLs,
plus md5/size per file, run_type, read_length and fragment_length (formats.encode_samplesheet_columns). Several
lanes of one sample are ';'-joined in fastq_1/fastq_2 and their md5/size columns. Nothing is downloaded here;
zero matches writes a header-only samplesheet (a warning, exit code 0). With --downloads and --local_samplesheet
it also writes the files to download (each distinct URL once, under a name the pipeline makes) and the samplesheet
that names them, for the pipeline to download and read. With --expression quantifications the RNA-seq is ENCODE's
released gene quantifications (no FASTQs): the local samplesheet is sample,peaks and --quantifications names each
sample's file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from atac2expr import cli, genomes
from atac2expr.download import RetryPolicy
from atac2expr.encode import (
    EXPRESSION_SOURCES,
    MATCH_BY,
    EncodeClient,
    Options,
    download_plan,
    provenance_rows,
    samplesheet_rows,
    select_samples,
    split_list,
    write_table,
)
from atac2expr.formats import (
    DOWNLOAD_COLUMNS,
    ENCODE_PROVENANCE_COLUMNS,
    QUANTIFICATIONS_COLUMNS,
    encode_samplesheet_columns,
    samplesheet_columns,
    use_samplesheet_schema,
)

log = logging.getLogger("atac2expr.encode_samplesheet")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encode_url", required=True, help="ENCODE portal, e.g. https://www.encodeproject.org")
    parser.add_argument("--match_by", choices=MATCH_BY, required=True,
                        help="pair ATAC-seq and RNA-seq by biosample (term name + classification) or also by donor")
    parser.add_argument("--rna_assay_titles", action="append", required=True,
                        help="RNA-seq assay titles, comma-separated or repeated, e.g. 'total RNA-seq,polyA plus RNA-seq'")
    parser.add_argument("--classifications", action="append", help="biosample classifications to keep, e.g. 'cell line,tissue' (default: all)")
    parser.add_argument("--biosamples", action="append",
                        help="biosample term names to keep, e.g. 'K562,HepG2' (a comma followed by a space belongs to the name) (default: all)")
    parser.add_argument("--max_biosamples", type=int, help="keep at most this many matched biosamples (first by name)")
    parser.add_argument("--peak_output_type",
                        help="ATAC-seq peak output_type, e.g. 'replicated peaks' (default: the preferred_default file, else 'pseudoreplicated peaks')")
    parser.add_argument("--expression", choices=EXPRESSION_SOURCES, default="reads",
                        help="RNA-seq as FASTQs (reads) or ENCODE's released gene quantifications (default: %(default)s)")
    parser.add_argument("--genome", help="the assembly (--genome): ENCODE's files of it, of its organism (default GRCh38)")
    parser.add_argument("--output", default="samplesheet.csv", help="samplesheet to write (default: %(default)s)")
    parser.add_argument("--provenance", default="provenance.tsv", help="provenance table to write (default: %(default)s)")
    parser.add_argument("--downloads", help="also write the files to download (name, url, md5, size; TSV), each once")
    parser.add_argument("--local_samplesheet", help="also write the samplesheet that names the downloads (once put in one folder)")
    parser.add_argument("--quantifications", help="also write sample, file, source of each sample's gene quantifications (TSV)")
    parser.add_argument("--samplesheet_schema", help="assets/schema_input.json (default: the pipeline's own)")
    parser.add_argument("--retries", type=int, default=5, help="retries per API request (default: %(default)s)")
    parser.add_argument("--backoff", type=float, default=1.0, help="first wait in seconds, doubled per retry (default: %(default)s)")
    parser.add_argument("--max_wait", type=float, default=120.0, help="cap in seconds on any one wait (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per API request (default: %(default)s)")
    parser.add_argument("--min_interval", type=float, default=0.15,
                        help="seconds between API requests; ENCODE allows about 10 per second (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.samplesheet_schema:
        use_samplesheet_schema(args.samplesheet_schema)
    if args.retries < 0 or args.backoff < 0 or args.max_wait < 0 or args.timeout <= 0 or args.min_interval < 0:
        raise cli.InputError("--retries, --backoff, --max_wait and --min_interval must be >= 0 and --timeout > 0")
    genome = genomes.resolve(args.genome)
    if genome.encode is None:
        raise cli.InputError(f"--genome {genome.name}: ENCODE has no processed data of this assembly")
    options = Options(
        match_by=args.match_by,
        rna_assay_titles=split_list(args.rna_assay_titles),
        classifications=split_list(args.classifications),
        biosamples=split_list(args.biosamples),
        max_biosamples=args.max_biosamples,
        peak_output_type=(args.peak_output_type or "").strip() or None,
        organism=genome.encode["organism"],
        assembly=genome.encode["assembly"],
        expression=args.expression,
    )
    client = EncodeClient(args.encode_url, policy=RetryPolicy(args.retries, args.backoff, args.max_wait),
                          timeout=args.timeout, min_interval=args.min_interval)
    selection = select_samples(client, options)
    rows = samplesheet_rows(selection.samples, client)
    write_table(rows, encode_samplesheet_columns(), args.output)
    downloads, local, quantifications = download_plan(rows)
    if args.downloads:
        write_table(downloads, DOWNLOAD_COLUMNS, args.downloads, delimiter="\t")
    total = sum(int(d["size"]) for d in downloads if d["size"].isdigit())
    log.info("to download: %d files, %.2f GB in all (the sizes ENCODE reports; %s)", len(downloads), total / 1e9,
             "gene quantifications and peaks" if args.expression == "quantifications" else "FASTQs and peaks")
    if args.local_samplesheet:
        write_table(local, samplesheet_columns("peaks" if args.expression == "quantifications" else "reads"), args.local_samplesheet)
    if args.quantifications:
        write_table(quantifications, QUANTIFICATIONS_COLUMNS, args.quantifications, delimiter="\t")
    write_table(provenance_rows(selection.samples, client, options.match_by), ENCODE_PROVENANCE_COLUMNS, args.provenance, delimiter="\t")
    if not selection.samples:
        log.warning("no ENCODE biosample has both ATAC-seq and RNA-seq data passing the filters; %s has only its header", args.output)
    else:
        log.info("wrote %s (%d samples) and %s (%d API requests)", args.output, len(selection.samples), args.provenance, client.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
