"""The pipeline's commands, one module each: argparse, `main(argv) -> int` with `@cli.entrypoint`.

Nextflow runs each through its wrapper bin/<name>.py (bin/ is on a task's PATH, and the wrapper finds this package
beside it); `pip install .` installs each as the console script atac2expr-<name> (underscores become dashes,
pyproject.toml). Nothing is imported here: a command loads only what it needs (check_quant.py runs with the
standard library alone).
"""
