#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.define_bins (its code and help are there; `pip install .` installs it as
atac2expr-define-bins)."""

import sys

from atac2expr.commands.define_bins import main

if __name__ == "__main__":
    sys.exit(main())
