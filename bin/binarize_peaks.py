#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.binarize_peaks (its code and help are there; `pip install .` installs it as
atac2expr-binarize-peaks)."""

import sys

from atac2expr.commands.binarize_peaks import main

if __name__ == "__main__":
    sys.exit(main())
