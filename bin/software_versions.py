#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.software_versions (its code and help are there; `pip install .` installs it as
atac2expr-software-versions)."""

import sys

from atac2expr.commands.software_versions import main

if __name__ == "__main__":
    sys.exit(main())
