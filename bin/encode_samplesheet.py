#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.encode_samplesheet (its code and help are there; `pip install .` installs it as
atac2expr-encode-samplesheet)."""

import sys

from atac2expr.commands.encode_samplesheet import main

if __name__ == "__main__":
    sys.exit(main())
