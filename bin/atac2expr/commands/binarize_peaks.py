"""One sample's ATAC-seq peaks -> one value per bin: --bin_value binary, 1 where a peak overlaps the bin, else 0;
--bin_value signal, log1p of the largest narrowPeak signalValue (column 7) among the peaks overlapping the bin, else 0
(the signalValue column of the detected format: narrowPeak, broadPeak or gappedPeak; BED3-BED12 have none and are
refused). Every bin's activity (the strongest overlapping peak's signalValue, or 1 per overlapped bin when the peaks
have no signal: the log says so) is written beside the bins, whatever --bin_value says.

The peaks' assembly is checked first: peaks past the end of a chromosome of --chrom_sizes, or on contigs of
another assembly than --genome, stop the run with the count and a hint to lift them over. Peaks on sequences outside the
regions are counted in the log, and in --summary (<sample>.peaks.json: peaks, those on the regions' chromosomes,
bins, open bins), which the QC report reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from atac2expr import cli, genomes
from atac2expr.dataset import SampleBins, save_sample_bins
from atac2expr.files import atomic_output, staged_source
from atac2expr.formats import BIN_VALUES, PEAK_SUMMARY, use_samplesheet_schema
from atac2expr.peaks import bin_activity, bin_peaks, check_assembly, read_peaks
from atac2expr.regions import BinLayout, read_chrom_sizes
from atac2expr.samples import sample_id_problem

log = logging.getLogger("binarize_peaks")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peaks", type=Path, required=True, help="BED3-BED12, narrowPeak, broadPeak or gappedPeak, gz or plain")
    parser.add_argument("--sample", required=True)
    parser.add_argument("--layout", type=Path, required=True, help="the bin layout (define_bins.py, or a model's)")
    parser.add_argument("--chrom_sizes", type=Path, required=True, help="the assembly's chromosome sizes")
    parser.add_argument("--genome", required=True, help="the assembly (--genome): another assembly's contigs are refused")
    parser.add_argument("--bin_value", required=True, choices=BIN_VALUES,
                        help="binary: 1 = a peak overlaps the bin; signal: log1p of the strongest overlapping peak's signalValue")
    parser.add_argument("--output", type=Path, required=True, help="<sample>.bins.npz")
    parser.add_argument("--summary", type=Path, help="<sample>.peaks.json: the counts of the log, for the QC report")
    parser.add_argument("--samplesheet_schema", type=Path, help="assets/schema_input.json: the sample-id rule (default: the pipeline's own)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    if args.samplesheet_schema:
        use_samplesheet_schema(args.samplesheet_schema)
    problem = sample_id_problem(args.sample)
    if problem:
        raise cli.InputError(f"--sample: {problem}")
    layout = BinLayout.read(args.layout)
    source = staged_source(args.peaks)
    try:
        peaks = read_peaks(source, signal=args.bin_value == "signal", activity=True)
        check_assembly(source, peaks, read_chrom_sizes(args.chrom_sizes), genome=genomes.resolve(args.genome))
    except cli.InputError as err:
        raise cli.InputError(f"sample {args.sample}: {err}") from None
    on_layout = peaks["chrom"].isin(layout.chroms)
    if len(peaks) and not on_layout.any():
        log.warning("sample %s: none of its %d peaks is on a chromosome of the regions (%s; the file has %s); every bin is 0",
                    args.sample, len(peaks), ", ".join(layout.chroms[:5]), ", ".join(sorted(map(str, peaks["chrom"].unique()))[:5]))
    values = bin_peaks(peaks, layout, args.bin_value)
    activity, activity_kind = bin_activity(peaks, layout)
    log.info("sample %s: %d %s peaks (%d on the regions' chromosomes, %d elsewhere) -> %d of %d bins open (%s); activity: %s",
             args.sample, len(peaks), peaks.attrs.get("format", "BED"), int(on_layout.sum()), int((~on_layout).sum()),
             np.count_nonzero(values), len(values), args.bin_value,
             "the peaks' signalValue" if activity_kind == "signal" else "open/closed (the peaks have no signalValue)")
    save_sample_bins(args.output, SampleBins(args.sample, values, layout, args.bin_value, activity, activity_kind))
    if args.summary:
        counts = (args.sample, len(peaks), int(on_layout.sum()), len(values), int(np.count_nonzero(values)))
        with atomic_output(args.summary) as handle:
            json.dump(dict(zip(PEAK_SUMMARY, counts, strict=True)), handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
