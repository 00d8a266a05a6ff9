"""Shared code of the atac2expr pipeline's command-line scripts (bin/*.py).

The scripts in bin/ are thin command lines; everything two of them need lives here.
"""

__version__ = "0.1.0"
