#!/usr/bin/env python3
"""Benchmark (not a test): the MLP memory estimate (atac2expr.settings.mlp_memory_bytes) against the peak RSS of the
real tasks' scripts, train_model.py (TRAIN_MODEL) and evaluate.py --models mean,mlp (EVALUATE), each run whole in its
own process under /usr/bin/time -v: the interpreter, torch, the dataset, the training and the outputs, as a task's
memory limit sees them.

At each size (bins, genes, samples; --hidden units) a dataset of random open bins and expression is written, both
scripts run a few epochs (the peak is reached in the first: full-batch Adam allocates everything at once), and the table
gives the estimate, each peak, and measured / estimate. A ratio above 1 means the estimate is too low for that size.

  benchmarks/bench_mlp_memory.py                      # the sizes of docs/deployment.md's MLP memory table, a few minutes on 2 cores
  benchmarks/bench_mlp_memory.py --sizes 20000:400:14 # bins:genes:samples
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from planted import settings_args

from atac2expr import dataset, regions, settings

REPO = Path(__file__).resolve().parents[1]

DEFAULT_SIZES = ["1000:50:6", "20000:400:14", "50000:1000:14", "100000:2000:14", "50000:1000:50", "200000:4000:14"]


def make_dataset(path: Path, n_bins: int, n_genes: int, n_samples: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    layout = regions.BinLayout.of([regions.Region("1", 0, n_bins * 1000)], 1000)
    tss = np.sort(rng.integers(0, n_bins * 1000, n_genes))
    genes = pd.DataFrame({"gene_id": [f"ENSG{i:011d}" for i in range(n_genes)], "gene_name": [f"G{i}" for i in range(n_genes)],
                          "gene_biotype": "protein_coding", "chrom": "1", "start": tss, "end": tss + 1000, "strand": "+", "tss": tss})
    X = (rng.random((n_samples, n_bins)) < 0.05).astype(np.uint8)
    Y = rng.lognormal(1.0, 1.5, (n_samples, n_genes))
    dataset.save_dataset(dataset.Dataset(X, Y, np.array([f"S{i:02d}" for i in range(n_samples)]), layout, genes), path)


def peak_rss(command: list[str]) -> tuple[int, float]:
    """(peak RSS in bytes, seconds) of a command run under /usr/bin/time -v; the command must succeed."""
    started = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{run.stderr[-3000:]}")
    kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    return kib * 1024, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, help="bins:genes:samples")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--output", type=Path, help="the table as JSON too")
    args = parser.parse_args(argv)
    mib = 2**20
    rows = []
    print(f"MLP bins -> {args.hidden} -> genes, {args.epochs} epochs, peak RSS of the whole script (/usr/bin/time -v)")
    print(f"{'bins':>8} {'genes':>6} {'samples':>7} {'estimate MiB':>12} {'train MiB':>10} {'ratio':>6} {'evaluate MiB':>12} {'ratio':>6} {'s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            n_bins, n_genes, n_samples = map(int, size.split(":"))
            npz = Path(tmp) / f"{size.replace(':', '_')}.npz"
            make_dataset(npz, n_bins, n_genes, n_samples)
            common = ["--threads", "1", "--max_memory", "0", *settings_args(hidden=args.hidden, epochs=args.epochs)]
            train, seconds = peak_rss([sys.executable, str(REPO / "bin" / "train_model.py"), "--dataset", str(npz), "--outdir",
                                       str(Path(tmp) / "train"), "--model", "mlp", "--genome", "GRCh38", "--chrom_sizes",
                                       str(REPO / "assets" / "GRCh38.chrom.sizes"), *common])
            folds = ["--folds", "3", "--val_fraction", "0.2", "--ridge_alpha", "1"]
            evaluate, more = peak_rss([sys.executable, str(REPO / "bin" / "evaluate.py"), "--dataset", str(npz), "--outdir",
                                       str(Path(tmp) / "evaluate"), "--models", "mean,mlp", *common, *folds])
            estimate = settings.mlp_memory_bytes(n_bins, n_genes, args.hidden, n_samples)
            rows.append({"bins": n_bins, "genes": n_genes, "samples": n_samples, "hidden": args.hidden, "estimate": estimate,
                         "train_model_peak": train, "evaluate_peak": evaluate, "seconds": seconds + more})
            print(f"{n_bins:>8,} {n_genes:>6,} {n_samples:>7} {estimate / mib:>12,.0f} {train / mib:>10,.0f} {train / estimate:>6.2f} "
                  f"{evaluate / mib:>12,.0f} {evaluate / estimate:>6.2f} {seconds + more:>6.0f}", flush=True)
    if args.output:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
