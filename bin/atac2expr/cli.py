"""Conventions every bin/ script shares: logging, one-line errors, exit codes."""

from __future__ import annotations

import functools
import logging
import re
import sys
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger("atac2expr")

EXIT_INPUT_ERROR = 2
_SHOWN: dict[str, str] = {}  # a task's staged input -> the user's path, for messages


class InputError(Exception):
    """Bad input from the user: reported as one line naming the file, row or parameter."""


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s [%(name)s] %(message)s",
        stream=sys.stderr,
        force=True,
    )


def show_as(staged: str | Path, shown: str | None) -> str:
    """Name the staged input `staged` as `shown` (the user's path) in the script's ERROR line; returns the name to use."""
    if shown:
        _SHOWN[str(staged)] = shown
        return shown
    return str(staged)


def user_paths(message: str) -> str:
    """A message with every staged input (as a whole path, not part of a longer one) named by the user's path."""
    for staged, shown in _SHOWN.items():
        message = re.sub(rf"(?<![\w/.-]){re.escape(staged)}(?![\w/.-])", lambda _, shown=shown: shown, message)
    return message


def entrypoint(main: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a script's main(): InputError becomes one 'ERROR: ...' line and exit code 2.

    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        _SHOWN.clear()
        try:
            return main(argv)
        except InputError as err:
            message = " ".join(user_paths(str(err)).split())  # always a single line
            print(f"ERROR: {message}", file=sys.stderr)
            return EXIT_INPUT_ERROR

    return wrapper
