#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.check_params (its code and help are there; `pip install .` installs it as
atac2expr-check-params)."""

import sys

from atac2expr.commands.check_params import main

if __name__ == "__main__":
    sys.exit(main())
