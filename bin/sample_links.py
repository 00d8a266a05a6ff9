#!/usr/bin/env python3
"""Nextflow's command line for atac2expr.commands.sample_links (its code and help are there; `pip install .` installs it as
atac2expr-sample-links)."""

import sys

from atac2expr.commands.sample_links import main

if __name__ == "__main__":
    sys.exit(main())
