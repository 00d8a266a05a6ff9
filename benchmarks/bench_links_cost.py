#!/usr/bin/env python3
"""Benchmark (not a test): what one LINKS task costs (bin/links.py run whole under /usr/bin/time -v), against the
candidate pairs and rows atac2expr.settings.links_pairs predicts from the layout and the genes; the per-pair,
per-row and fixed costs of its model (LINKS_* in settings.py) come from these measurements.

A dataset of random open bins (--samples samples, one region of --region_mb Mb in 1 kb bins, genes at 20 per Mb) is
written once; links.py runs for each model and (--links_top, --links_max_distance) pair, and the table gives the
predicted pairs and rows beside the rows written, the seconds, the peak RSS and the bytes of the files.

  benchmarks/bench_links_cost.py                 # the cases of docs/deployment.md's links cost table (ridge, tss_window, mlp)
  benchmarks/bench_links_cost.py --models ridge --cases 10:250000 1000:100000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_mlp_memory import make_dataset, peak_rss
from planted import settings_args

from atac2expr import dataset
from atac2expr.settings import links_pairs

REPO = Path(__file__).resolve().parents[1]

DEFAULT_CASES = ["10:250000", "100:1000000", "1000:100000000", "5000:100000000"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["ridge", "tss_window", "mlp"])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, help="links_top:links_max_distance")
    parser.add_argument("--region_mb", type=int, default=20)
    parser.add_argument("--samples", type=int, default=14)
    parser.add_argument("--output", type=Path, help="the table as JSON too")
    args = parser.parse_args(argv)
    rows = []
    mib = 2**20
    sizes = str(REPO / "assets" / "GRCh38.chrom.sizes")
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "dataset.npz"
        make_dataset(npz, args.region_mb * 1000, args.region_mb * 20, args.samples)
        ds = dataset.load_dataset(npz)
        print(f"links.py on {args.samples} samples, {ds.layout.n_bins:,} bins, {len(ds.genes):,} genes")
        print(f"{'model':>10} {'top':>6} {'distance':>11} {'pairs':>11} {'rows bound':>11} {'rows':>10} {'s':>7} {'peak MiB':>9} {'files MiB':>9}")
        saved = []
        if "mlp" in args.models:
            model_dir = Path(tmp) / "mlp"
            subprocess.run([sys.executable, str(REPO / "bin" / "train_model.py"), "--dataset", str(npz), "--outdir", str(model_dir), "--model",
                            "mlp", "--threads", "1", "--max_memory", "0", "--genome", "GRCh38", "--chrom_sizes", sizes,
                            *settings_args(hidden=500, epochs=3)], check=True, capture_output=True)
            saved = ["--saved_model", str(model_dir / "model.pt")]
        for model in args.models:
            for case in args.cases:
                top, distance = map(int, case.split(":"))
                pairs, bound = links_pairs(ds.layout, ds.genes["chrom"].to_numpy(str), ds.genes["tss"].to_numpy(), distance, top)
                out = Path(tmp) / f"{model}_{top}_{distance}"
                peak, seconds = peak_rss([sys.executable, str(REPO / "bin" / "links.py"), "--dataset", str(npz), "--model", model,
                                          *(saved if model == "mlp" else []), "--chrom_sizes", sizes, "--outdir", str(out),
                                          "--links_top", str(top), "--links_max_distance", str(distance), "--links_genes", "0",
                                          "--threads", "1", *settings_args(hidden=500, evaluation=True)])
                written = json.loads((out / f"{model}.links.json").read_text())["n_links"]
                size = sum(p.stat().st_size for p in out.glob(f"{model}.*"))
                rows.append({"model": model, "links_top": top, "links_max_distance": distance, "pairs": pairs, "rows_bound": bound,
                             "rows": written, "seconds": seconds, "peak_rss": peak, "file_bytes": size})
                print(f"{model:>10} {top:>6} {distance:>11,} {pairs:>11,} {bound:>11,} {written:>10,} {seconds:>7.1f} {peak / mib:>9,.0f} "
                      f"{size / mib:>9,.1f}", flush=True)
    if args.output:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
