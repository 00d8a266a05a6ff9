#!/usr/bin/env python3
"""Scale benchmark (not a test; prints figures): the whole pipeline and its hot spots on real-size inputs.

Input: a folder written by benchmarks/make_scale_data.py (samplesheet.csv, genes.gtf.gz,
transcriptome.fa.gz, peaks/, abundance/). Two parts, each can be skipped:

1. pipeline: `nextflow run main.nf` on that data with the given parameters and a trace of every task
   (process, tag, status, exit, attempt, realtime, %cpu, peak_rss, peak_vmem, rchar, wchar, cpus,
   memory, time); then a table of each task's wall time, CPU and peak memory beside what it asked
   for, flagging a task whose peak RSS exceeds its memory request (the local executor does not
   enforce requests: on a cluster such a task is killed).
2. micro: on the same files, one sample's peaks binarised genome-wide at --bin_size by the
   project's code (atac2expr.peaks), by `bedtools makewindows | bedtools intersect -u` and parsed
   only by pandas.read_csv (the floor for any Python reader); gene TPM of all samples' abundance
   tables the way bin/gene_tpm.py does it against one pandas groupby; and read_gtf of the whole
   GTF (time and peak memory, in a child process). Ratios are reported against their goals.

The report (markdown) is printed and written to --report.

  benchmarks/bench_scale.py --data ~/.cache/atac2expr/scale/data --workdir ~/.cache/atac2expr/scale/run --report scale.md
  benchmarks/bench_scale.py --data /tmp/small --workdir /tmp/small_run --report /tmp/small.md \\
      --region chr1:1-20000000 --eval_models mean,ridge --model tss_window
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

TRACE_FIELDS = ("task_id,hash,process,tag,name,status,exit,attempt,submit,duration,realtime,%cpu,peak_rss,peak_vmem,"
                "rchar,wchar,cpus,memory,time")
PRIMARY = [str(c) for c in range(1, 23)] + ["X", "Y"]
GOALS = {  # name: (what the ratio is, goal, True when the ratio must be at least the goal)
    "bedtools": ("bedtools / project", 10.0, True),
    "pandas_parse": ("project / pandas parse", 1.5, False),
    "gene_tpm": ("gene_tpm.py way / one groupby", 1.5, False),
}


# ---------------------------------------------------------------- adapters to the project's code
# The project's APIs change; these are the only places that call them.


def project_binarize(peaks_file: Path, chrom_sizes: Path, bin_size: int) -> np.ndarray:
    """One peak file -> the 0/1 value of every bin of the whole genome (1-22, X, Y), as BINARIZE_PEAKS does."""
    from atac2expr import peaks, regions

    sizes = regions.read_chrom_sizes(chrom_sizes)
    table = peaks.read_peaks(peaks_file)
    if hasattr(peaks, "bin_peaks"):  # bin_peaks(peaks, layout, bin_value)
        layout = regions.BinLayout.of(regions.parse_regions("genome", sizes), bin_size)
        return peaks.bin_peaks(table, layout, "binary")
    if hasattr(regions, "BinLayout"):  # binarize_peaks(peaks, layout); parse_regions knows 'genome'
        layout = regions.BinLayout.of(regions.parse_regions("genome", sizes), bin_size)
        return peaks.binarize_peaks(table, layout)
    # binarize_peaks(peaks, regions, bin_size): regions must be whole numbers of bins
    whole = [regions.Region(c, 0, sizes[c] // bin_size * bin_size) for c in PRIMARY if c in sizes]
    return peaks.binarize_peaks(table, whole, bin_size)


def project_gene_tpm(folders: list[Path], transcripts: pd.DataFrame) -> pd.DataFrame:
    """genes x samples TPM the way bin/gene_tpm.py computes it (gene_tpm_per_sample), one column per sample."""
    from atac2expr.commands import gene_tpm

    per_sample, _ = gene_tpm.gene_tpm_per_sample(folders, transcripts.set_index("transcript_id")["gene_id"])
    genes = sorted(set().union(*(s.index for s in per_sample.values())))
    return pd.DataFrame({s: tpm.reindex(genes).fillna(0.0).to_numpy() for s, tpm in per_sample.items()}, index=genes)


def project_read_gtf(gtf: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from atac2expr.annotation import read_gtf

    return read_gtf(gtf)


# ---------------------------------------------------------------- baselines


def pandas_parse(peaks_file: Path) -> pd.DataFrame:
    """The least any Python reader of the file does: pandas' C parser on the first 3 columns."""
    return pd.read_csv(peaks_file, sep="\t", header=None, usecols=[0, 1, 2], names=["chrom", "start", "end"],
                       dtype={"chrom": str, "start": np.int64, "end": np.int64})


def pandas_gene_tpm(folders: list[Path], transcripts: pd.DataFrame) -> pd.DataFrame:
    """Every sample read, stacked, versions stripped, mapped to genes and summed in one groupby."""
    tables = [pd.read_csv(f / "abundance.tsv", sep="\t", usecols=["target_id", "tpm"]) for f in folders]
    stacked = pd.concat(tables, keys=[f.name for f in folders], names=["sample", None]).reset_index(level=0)
    t2g = pd.Series(transcripts["gene_id"].to_numpy(), index=transcripts["transcript_id"].to_numpy())
    gene = stacked["target_id"].str.replace(r"\.\d+$", "", regex=True).map(t2g)
    return stacked["tpm"].groupby([gene, stacked["sample"]]).sum().unstack(fill_value=0.0)


def ucsc_genome(chrom_sizes: Path, out: Path) -> Path:
    """The primary chromosomes with ENCODE's names (chr1 ... chrY), as bedtools needs them to match the peaks."""
    sizes = pd.read_csv(chrom_sizes, sep="\t", header=None, usecols=[0, 1], names=["chrom", "length"], dtype={"chrom": str})
    sizes["chrom"] = sizes["chrom"].str.replace(r"^chr", "", regex=True)
    sizes = sizes[sizes["chrom"].isin(PRIMARY)]
    sizes.assign(chrom="chr" + sizes["chrom"]).to_csv(out, sep="\t", header=False, index=False)
    return out


def ensure_bedtools() -> str | None:
    """bedtools on PATH, installing Debian's package when root and missing; None (and why) when not possible."""
    if shutil.which("bedtools"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "bedtools is not installed (install Debian's bedtools package, or run as root to let the benchmark do it)"
    print("installing Debian's bedtools package (apt-get)", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "bedtools"]
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            return "apt-get could not install bedtools"
    return None if shutil.which("bedtools") else "bedtools is still not on PATH after apt-get"


# ---------------------------------------------------------------- timing


def best_of(repeats: int, fn: Callable[[], Any], warm_up: bool = True) -> tuple[float, Any]:
    """The fastest of `repeats` runs (the least disturbed by other load on a shared machine) and the last result,
    after one untimed run that pays for imports and brings the files into the page cache, for every contender alike."""
    best, result = float("inf"), fn() if warm_up else None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - began)
    return best, result


def _run_quiet(cmd: list[str], stdout: Path) -> None:
    with open(stdout, "wb") as out:
        subprocess.run(cmd, stdout=out, check=True)


def micro_benchmarks(args: argparse.Namespace, tmp: Path) -> list[str]:
    """Markdown lines: timings and ratios of the micro-benchmarks."""
    sheet = pd.read_csv(args.data / "samplesheet.csv", dtype=str)
    peaks_file = (args.data / sheet["peaks"].iloc[0]).resolve()
    rows, ratios, notes = [], {}, []
    n_peaks = len(pandas_parse(peaks_file))

    t_project, values = best_of(args.repeats, lambda: project_binarize(peaks_file, args.chrom_sizes, args.bin_size))
    t_pandas, _ = best_of(args.repeats, lambda: pandas_parse(peaks_file))
    rows.append(("binarize (project: read_peaks + binarize_peaks)", t_project, f"{len(values):,} bins, {int(values.sum()):,} open"))
    rows.append(("parse only (pandas.read_csv, 3 columns)", t_pandas, f"{n_peaks:,} rows"))
    ratios["pandas_parse"] = t_project / t_pandas

    why_not = ensure_bedtools()
    if why_not is None:
        genome = ucsc_genome(args.chrom_sizes, tmp / "genome.txt")
        windows = tmp / "windows.bed"
        t_windows, _ = best_of(1, lambda: _run_quiet(["bedtools", "makewindows", "-g", str(genome), "-w", str(args.bin_size)], windows), warm_up=False)
        out = tmp / "open.bed"
        t_bed, _ = best_of(args.repeats, lambda: _run_quiet(["bedtools", "intersect", "-a", str(windows), "-b", str(peaks_file), "-u"], out))
        n_open = sum(1 for _ in open(out))
        version = subprocess.run(["bedtools", "--version"], capture_output=True, text=True).stdout.strip()
        rows.append((f"bedtools intersect -u ({version})", t_bed, f"{n_open:,} windows open"))
        rows.append(("bedtools makewindows (once, not in the ratio)", t_windows, f"{sum(1 for _ in open(windows)):,} windows"))
        ratios["bedtools"] = t_bed / t_project
        if n_open != int(values.sum()):
            notes.append(f"open bins differ: bedtools {n_open:,}, project {int(values.sum()):,} (check the bin layouts)")
    else:
        notes.append(f"bedtools comparison skipped: {why_not}")

    # read_gtf in a child process: its peak RSS is its own
    t2g_file = tmp / "t2g.tsv"
    child = subprocess.run([sys.executable, __file__, "--_read_gtf", str(args.data / "genes.gtf.gz"), str(t2g_file)],
                           capture_output=True, text=True)
    if child.returncode == 0:
        gtf_stats = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append(("read_gtf of the whole GTF (child process)", gtf_stats["seconds"],
                     f"{gtf_stats['genes']:,} genes, {gtf_stats['transcripts']:,} transcripts; peak RSS {gtf_stats['peak_rss_gb']:.1f} GB"))
        transcripts = pd.read_csv(t2g_file, sep="\t", dtype=str)
    else:
        notes.append(f"read_gtf failed: {child.stderr.strip().splitlines()[-1] if child.stderr.strip() else child.returncode}")
        transcripts = transcripts_from_fasta(args.data / "transcriptome.fa.gz")

    folders = sorted(p for p in (args.data / "abundance").glob("*") if (p / "abundance.tsv").is_file())
    if folders:
        t_gene, project = best_of(args.repeats, lambda: project_gene_tpm(folders, transcripts))
        t_group, pandas_way = best_of(args.repeats, lambda: pandas_gene_tpm(folders, transcripts))
        n_tx = len(pd.read_csv(folders[0] / "abundance.tsv", sep="\t", usecols=[0]))
        diff = float(np.abs(project.sort_index().to_numpy() - pandas_way.reindex(index=sorted(project.index), columns=project.columns).to_numpy()).max())
        rows.append(("gene TPM (gene_tpm.py way)", t_gene, f"{len(folders)} samples x {n_tx:,} transcripts -> {len(project):,} genes"))
        rows.append(("gene TPM (one pandas groupby)", t_group, f"max difference {diff:.2g} TPM"))
        ratios["gene_tpm"] = t_gene / t_group
    else:
        notes.append(f"gene TPM comparison skipped: no {args.data}/abundance/<sample>/abundance.tsv (make_scale_data.py --abundance)")

    lines = [f"Peaks: `{peaks_file.name}` ({n_peaks:,} rows); bins of {args.bin_size:,} bp over 1-22, X, Y; "
             f"best of {args.repeats} runs.", "", "| step | seconds | what |", "|---|---:|---|"]
    lines += [f"| {name} | {sec:.3f} | {what} |" for name, sec, what in rows]
    lines += ["", "| ratio | value | goal | met |", "|---|---:|---|---|"]
    for key, value in ratios.items():
        label, goal, at_least = GOALS[key]
        met = value >= goal if at_least else value <= goal
        lines.append(f"| {label} | {value:.2f}x | {'>=' if at_least else '<='} {goal:g}x | {'yes' if met else '**no**'} |")
    return lines + ([""] + [f"- {n}" for n in notes] if notes else [])


def transcripts_from_fasta(fasta: Path) -> pd.DataFrame:
    """transcript_id -> gene_id from the cDNA headers (when the GTF cannot be read)."""
    import gzip

    ids = []
    with gzip.open(fasta, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                fields = line[1:].split()
                gene = next((f[5:] for f in fields if f.startswith("gene:")), "")
                ids.append((fields[0].rsplit(".", 1)[0], gene.rsplit(".", 1)[0]))
    return pd.DataFrame(ids, columns=["transcript_id", "gene_id"])


def _read_gtf_child(gtf: Path, out: Path) -> int:
    began = time.perf_counter()
    genes, transcripts = project_read_gtf(gtf)
    seconds = time.perf_counter() - began
    transcripts.to_csv(out, sep="\t", index=False)
    print(json.dumps({"seconds": seconds, "genes": len(genes), "transcripts": len(transcripts),
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
    return 0


# ---------------------------------------------------------------- pipeline run and trace table


def bench_config(trace: Path) -> str:
    return (f"// written by benchmarks/bench_scale.py: a raw-number trace of every task\n"
            f"trace {{\n    enabled = true\n    overwrite = true\n    raw = true\n    file = '{trace}'\n"
            f"    fields = '{TRACE_FIELDS}'\n}}\n")


def run_pipeline(args: argparse.Namespace) -> tuple[int, float, Path, list[str]]:
    """nextflow run from --workdir; returns the exit status, wall seconds, the trace file and the command."""
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    trace = work / "trace.tsv"
    config = work / "bench_scale.config"
    config.write_text(bench_config(trace))
    cmd = [
        "nextflow", "run", str(REPO / "main.nf"), "-c", str(config), "-with-trace", str(trace), "-work-dir", str(work / "work"),
        "--input", str(args.data / "samplesheet.csv"), "--gtf", str(args.data / "genes.gtf.gz"),
        "--transcriptome", str(args.data / "transcriptome.fa.gz"), "--outdir", str(work / "results"),
        "--region", args.region, "--bin_size", str(args.bin_size), "--model", args.model, "--eval_models", args.eval_models,
        "--epochs", str(args.epochs), "--patience", str(args.patience),
    ]
    if args.max_cpus:
        cmd += ["--max_cpus", str(args.max_cpus)]
    if args.max_memory:
        cmd += ["--max_memory", args.max_memory]
    if args.resume:
        cmd.append("-resume")
    cmd += shlex.split(args.nextflow_args)
    print("$ " + shlex.join(cmd), flush=True)
    began = time.perf_counter()
    with open(work / "nextflow.stdout", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=work, env={**os.environ, "NXF_ANSI_LOG": "false"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            sys.stdout.write(line.decode(errors="replace"))
            sys.stdout.flush()
        status = proc.wait()
    return status, time.perf_counter() - began, trace, cmd


def _num(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column.replace({"-": None, "": None}), errors="coerce")


def read_trace(path: Path) -> pd.DataFrame:
    trace = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for col in ("exit", "attempt", "realtime", "%cpu", "peak_rss", "peak_vmem", "rchar", "wchar", "cpus", "memory", "time", "duration"):
        if col in trace:
            trace[col] = _num(trace[col].str.rstrip("%"))
    trace["process"] = trace["process"].str.split(":").str[-1]
    trace["over"] = trace["peak_rss"] > trace["memory"]
    return trace


def _gb(value: float) -> str:
    return "-" if pd.isna(value) else f"{value / 2**30:.2f}"


def _sec(ms: float) -> str:
    return "-" if pd.isna(ms) else f"{ms / 1000:.1f}"


def trace_tables(trace: pd.DataFrame) -> list[str]:
    """Per-process summary, then every task, markdown; tasks whose peak RSS exceeds their request flagged."""
    lines = ["Per process (wall = realtime of the task's command; CPU = %cpu, 100 = one core busy):", "",
             "| process | tasks | wall total s | wall max s | mean %cpu | cpus asked | peak RSS max GB | memory asked GB | RSS/asked | over |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    order = trace.groupby("process", sort=False)["task_id"].first().index
    for name in order:
        part = trace[trace["process"] == name]
        rss, mem = part["peak_rss"].max(), part["memory"].max()
        ratio = "-" if pd.isna(rss) or pd.isna(mem) or not mem else f"{rss / mem:.2f}"
        over = int(part["over"].sum())
        lines.append(f"| {name} | {len(part)} | {_sec(part['realtime'].sum())} | {_sec(part['realtime'].max())} | "
                     f"{part['%cpu'].mean():.0f} | {part['cpus'].max():.0f} | {_gb(rss)} | {_gb(mem)} | {ratio} | "
                     f"{f'**{over} OVER**' if over else ''} |")
    lines += ["", "Every task:", "",
              "| process | tag | status | exit | attempt | wall s | %cpu | cpus | peak RSS GB | memory GB | peak vmem GB | read GB | written GB | flag |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in trace.to_dict("records"):
        cpu = r["%cpu"]
        flags = []
        if r["over"]:
            flags.append("**RSS > request**")
        if not pd.isna(cpu) and not pd.isna(r["cpus"]) and cpu > 110 * r["cpus"]:
            flags.append("CPU > request")
        lines.append(f"| {r['process']} | {r['tag'] or '-'} | {r['status']} | {'' if pd.isna(r['exit']) else int(r['exit'])} | "
                     f"{'' if pd.isna(r['attempt']) else int(r['attempt'])} | {_sec(r['realtime'])} | "
                     f"{'-' if pd.isna(cpu) else f'{cpu:.0f}'} | {'' if pd.isna(r['cpus']) else int(r['cpus'])} | {_gb(r['peak_rss'])} | "
                     f"{_gb(r['memory'])} | {_gb(r['peak_vmem'])} | {_gb(r['rchar'])} | {_gb(r['wchar'])} | {' '.join(flags)} |")
    return lines


# ---------------------------------------------------------------- command line


def machine() -> str:
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0) if Path("/proc/meminfo").exists() else 0
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return (f"{platform.node()}: {os.cpu_count()} CPUs, {mem / 2**20:.0f} GiB RAM, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f}; atac2expr {commit or '?'}{' + uncommitted changes' if dirty else ''}")


def default_memory() -> str:
    """90% of the machine's memory: the cap for any task's request (the pipeline's --max_memory)."""
    try:
        total = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        return f"{max(1, int(total * 0.9 / 2**20))}.GB"
    except (OSError, StopIteration):
        return "8.GB"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder written by benchmarks/make_scale_data.py")
    parser.add_argument("--report", type=Path, required=True, help="markdown file to write the report to")
    parser.add_argument("--workdir", type=Path, help="where nextflow runs (work/, results/, trace.tsv); default: <data>/../run")
    parser.add_argument("--skip_pipeline", action="store_true", help="only the micro-benchmarks")
    parser.add_argument("--skip_micro", action="store_true", help="only the pipeline run")
    parser.add_argument("--resume", action="store_true", help="nextflow -resume (cached tasks show as CACHED without figures)")
    group = parser.add_argument_group("pipeline parameters")
    group.add_argument("--region", default="genome", help="(default %(default)s)")
    group.add_argument("--bin_size", type=int, default=1000, help="(default %(default)s)")
    group.add_argument("--model", default="tss_window,tss_similarity",
                       help="models trained on all samples (default %(default)s; the MLP is refused at genome scale)")
    group.add_argument("--eval_models", default="mean,ridge,tss_window,local_ridge,tss_similarity,archr,signac", help="(default %(default)s)")
    group.add_argument("--epochs", type=int, default=2, help="a short training: the benchmark measures resources, not accuracy (default %(default)s)")
    group.add_argument("--patience", type=int, default=3, help="early stopping patience in epochs (default %(default)s)")
    group.add_argument("--max_cpus", type=int, help="cap on any task's CPUs (default: the pipeline's, --max_cpus 2)")
    group.add_argument("--max_memory", help=f"cap on any task's memory (default: the pipeline's, 8.GB; this machine could give {default_memory()})")
    group.add_argument("--nextflow_args", default="", help="more arguments for nextflow run, e.g. \"--folds 3 -profile conda\"")
    group = parser.add_argument_group("micro-benchmarks")
    group.add_argument("--chrom_sizes", type=Path, default=REPO / "assets" / "GRCh38.chrom.sizes")
    group.add_argument("--repeats", type=int, default=3, help="runs of each step; the fastest counts (default 3)")
    args = parser.parse_args(argv)
    args.data = args.data.resolve()
    args.workdir = (args.workdir or args.data.parent / "run").resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--_read_gtf"]:
        return _read_gtf_child(Path(argv[1]), Path(argv[2]))
    args = parse_args(argv)
    if not (args.data / "samplesheet.csv").is_file():
        print(f"ERROR: {args.data}/samplesheet.csv not found: generate the data with benchmarks/make_scale_data.py", file=sys.stderr)
        return 2
    report = ["# atac2expr scale benchmark", "", machine(), ""]
    manifest = args.data / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        p = m.get("parameters", {})
        report += [f"Data: `{args.data}`: {m['genes']:,} genes, {m['transcripts']:,} transcripts, {m['gtf']['lines']:,} GTF lines "
                   f"({m['gtf']['bytes_unpacked'] / 1e9:.2f} GB unpacked), {p.get('samples')} samples x ~{p.get('peaks'):,} peaks, "
                   f"{p.get('read_pairs'):,} read pairs per sample.", ""]
    status = 0
    if not args.skip_pipeline:
        status, wall, trace_file, cmd = run_pipeline(args)
        report += ["## Pipeline", "", "```", shlex.join(cmd), "```", "",
                   f"Exit status {status}, wall time {wall / 60:.1f} min. Trace: `{trace_file}`.", ""]
        if status:
            tail = (args.workdir / "nextflow.stdout").read_text(errors="replace").strip().splitlines()[-15:]
            report += ["The run failed; the end of its output:", "", "```", *tail, "```", ""]
        trace = read_trace(trace_file) if trace_file.is_file() and trace_file.stat().st_size else None
        if trace is not None and len(trace):
            report += trace_tables(trace) + [""]
            over = trace[trace["over"]]
            report.append(f"{len(over)} task(s) with peak RSS above their memory request" + (
                ": " + ", ".join(sorted(set(over["process"]))) if len(over) else "") + ".")
            report.append("")
        else:
            report += ["No task ran (the trace is empty): the run stopped before any task started.", ""]
    if not args.skip_micro:
        with tempfile.TemporaryDirectory(prefix="bench_scale.") as tmp:
            report += ["## Micro-benchmarks", ""] + micro_benchmarks(args, Path(tmp)) + [""]
    text = "\n".join(report)
    print(text)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(f"report written to {args.report}", file=sys.stderr)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
