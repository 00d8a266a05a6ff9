"""Check a model file from train_model.py field by field and write its bin layout and bin value, for binning new peaks
the way its training samples were binned.

A damaged or crafted file is refused with one line naming the field (types, lengths, known model kind and
target transform, unique genes, regions on the chromosomes of --chrom_sizes, finite weights of the right
shapes); loading never runs pickled code (torch weights_only=True). A model of another assembly than --genome and
--chrom_sizes is refused, naming both. Messages name the model as --model_source gives it (the user's path).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from atac2expr import cli, files
from atac2expr.modelling import model_file
from atac2expr.regions import read_chrom_sizes

log = logging.getLogger("check_model")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model.pt")
    parser.add_argument("--layout", type=Path, required=True, help="the model's bin layout, written here")
    parser.add_argument("--bin_value_file", type=Path, required=True, help="the model's bin value (binary or signal), written here")
    parser.add_argument("--chrom_sizes", type=Path, required=True, help="chromosome sizes of the assembly of the new samples' peaks")
    parser.add_argument("--genome", required=True, help="the assembly of the new samples' peaks (--genome)")
    parser.add_argument("--model_source", help="the model's name in messages (the user's path; default: --model)")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


@cli.entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    source = args.model_source or str(args.model)
    predictor, train_samples = model_file.load(args.model, read_chrom_sizes(args.chrom_sizes), args.genome, source)
    layout = predictor.geometry.layout
    log.info("%s: %s", source, model_file.describe(predictor, train_samples))
    layout.write(args.layout)
    with files.atomic_output(args.bin_value_file) as handle:
        handle.write(predictor.geometry.bin_value + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
