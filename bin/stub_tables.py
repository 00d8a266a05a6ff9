#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.stub_tables (its code and help are there; `pip install .` installs it as
atac2expr-stub-tables)."""

import sys

from atac2expr.commands.stub_tables import main

if __name__ == "__main__":
    sys.exit(main())
