#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.check_model (its code and help are there; `pip install .` installs it as
atac2expr-check-model)."""

import sys

from atac2expr.commands.check_model import main

if __name__ == "__main__":
    sys.exit(main())
