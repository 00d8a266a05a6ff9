#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.build_matrix (its code and help are there; `pip install .` installs it as
atac2expr-build-matrix)."""

import sys

from atac2expr.commands.build_matrix import main

if __name__ == "__main__":
    sys.exit(main())
