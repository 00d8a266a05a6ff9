"""Download one file, resumable and retried, verified (md5 + size, or Ensembl's BSD sum) before it gets its name.

  download.py --url URL --md5 M --size N [--output NAME] [--cache_dir DIR]       (ENCODE files)
  download.py --url URL --checksums_url URL_OF_CHECKSUMS [--output NAME]         (any Ensembl file)
  download.py --ensembl gtf|cdna --ensembl_release 113 --ensembl_url URL [--genome GRCh37] (Ensembl GTF / cDNA)

The output is written in --outdir (default: the current folder) under --output, a plain file name
(default: the URL's last path segment); nothing appears under that name unless the checks pass.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

from atac2expr import cli
from atac2expr.download import (
    ENSEMBL_KINDS,
    Expected,
    RetryPolicy,
    download,
    ensembl_urls,
    expected_from_checksums,
    name_from_url,
    safe_name,
)

log = logging.getLogger("atac2expr.download")


def _optional(value: str | None) -> str | None:
    """Nextflow passes '' (or 'null') for a value it does not have."""
    return None if value is None or value.strip() in ("", "null", "None") else value.strip()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="the file's URL (redirects are followed; the original URL is used for every retry)")
    parser.add_argument("--output", help="file name of the download (a plain name; default: the URL's last path segment)")
    parser.add_argument("--outdir", default=".", help="folder of the download (default: %(default)s)")
    parser.add_argument("--md5", help="expected md5 of the file as served (ENCODE: md5sum)")
    parser.add_argument("--size", help="expected size in bytes (ENCODE: file_size)")
    parser.add_argument("--checksums_url", help="an Ensembl CHECKSUMS file (BSD sum) listing the URL's file name")
    parser.add_argument("--ensembl", choices=ENSEMBL_KINDS, help="download the GTF or cDNA FASTA of --genome at --ensembl_release")
    parser.add_argument("--genome", help="the assembly of --ensembl (GRCh38, GRCh37, GRCm39, GRCm38 or an alias; default GRCh38)")
    parser.add_argument("--ensembl_release", type=int, help="Ensembl release (with --ensembl)")
    parser.add_argument("--ensembl_url", help="Ensembl FTP/HTTP base (with --ensembl)")
    parser.add_argument("--cache_dir", help="download cache folder: a verified file there is linked/copied, not downloaded")
    parser.add_argument("--retries", type=int, default=5, help="retries after the first attempt (default: %(default)s)")
    parser.add_argument("--backoff", type=float, default=1.0, help="first wait in seconds, doubled per retry (default: %(default)s)")
    parser.add_argument("--max_wait", type=float, default=120.0, help="cap in seconds on any one wait, Retry-After included (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a connection counts as lost (default: %(default)s)")
    parser.add_argument("--progress_interval", type=float, default=5.0, help="seconds between progress lines (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.retries < 0 or args.backoff < 0 or args.max_wait < 0 or args.timeout <= 0:
        raise cli.InputError("--retries, --backoff and --max_wait must be >= 0 and --timeout > 0")
    policy = RetryPolicy(retries=args.retries, backoff=args.backoff, max_wait=args.max_wait)

    url, checksums_url = args.url, _optional(args.checksums_url)
    if args.ensembl:
        if url:
            raise cli.InputError(f"give either a URL or --ensembl {args.ensembl}, not both")
        if args.ensembl_release is None or not args.ensembl_url:
            raise cli.InputError(f"--ensembl {args.ensembl}: give --ensembl_release and --ensembl_url")
        url, checksums_url = ensembl_urls(args.ensembl, args.ensembl_release, args.ensembl_url, args.genome)
    if not url:
        raise cli.InputError("no URL given (or use --ensembl gtf|cdna)")
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise cli.InputError(f"{url}: only http:// and https:// URLs are downloaded")

    md5, size_text = _optional(args.md5), _optional(args.size)
    try:
        size = int(size_text) if size_text is not None else None
    except ValueError:
        raise cli.InputError(f"--size {size_text!r}: not a whole number of bytes") from None
    bsd = expected_from_checksums(url, checksums_url, policy=policy, timeout=args.timeout) if checksums_url else None
    expected = Expected(md5=md5, size=size, bsd_sum=bsd)
    if md5 is None and bsd is None:
        log.warning("%s: no --md5 or --checksums_url: the content cannot be verified%s", url, " (size only)" if size is not None else "")

    name = safe_name(_optional(args.output)) if _optional(args.output) else name_from_url(url)
    dest = Path(args.outdir) / name
    download(url, dest, expected, policy=policy, cache_dir=_optional(args.cache_dir), timeout=args.timeout,
             progress_interval=args.progress_interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
