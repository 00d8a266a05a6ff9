"""Conventions every bin/ script shares: logging, one-line errors, exit codes."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Callable, Sequence

log = logging.getLogger("atac2expr")

EXIT_INPUT_ERROR = 2


class InputError(Exception):
    """Bad input from the user: reported as one line naming the file, row or parameter."""


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s [%(name)s] %(message)s",
        stream=sys.stderr,
        force=True,
    )


def entrypoint(main: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a script's main(): InputError becomes one 'ERROR: ...' line and exit code 2.

    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        try:
            return main(argv)
        except InputError as err:
            message = " ".join(str(err).split())  # always a single line
            print(f"ERROR: {message}", file=sys.stderr)
            return EXIT_INPUT_ERROR

    return wrapper
