"""`InputError`: invalid user input, refused before any work starts, in one short message.

The message names the argument or the file (and line), says what was expected and, for names, lists the valid ones.
It derives from inspect's `PrerequisiteError`, which inspect's command line prints as the message alone (no
ExceptionGroup traceback), and from `ValueError`, so Python callers catch it as before. `agentdistill` commands turn
it into exit code 2 (see `report`); set `AGENTDISTILL_TRACEBACK=1` (or pass `--traceback`) to see the traceback.
"""

from __future__ import annotations

import difflib
import os
import sys
import traceback
from collections.abc import Iterable

from agentdistill.core.inspect_compat import PrerequisiteError

TRACEBACK_ENV = "AGENTDISTILL_TRACEBACK"

# Exit codes of every `agentdistill` command (README, "Bad input and exit codes"): 0 ok, 1 a check failed (regression
# drift, an incomplete grid or teacher run), 2 usage or input error (nothing was run; argparse uses 2 as well).
EXIT_INPUT = 2


class InputError(PrerequisiteError, ValueError):
    """Invalid input (an argument, a name, a file): the message alone tells the user what to fix."""

    def __init__(self, message: str) -> None:
        PrerequisiteError.__init__(self, message)
        ValueError.__init__(self, message)

    def __str__(self) -> str:
        return str(self.message)


def valid_names(name: str, valid: Iterable[str]) -> str:
    """'valid: a, b, c' plus the closest match, for messages about an unknown name."""
    names = sorted(set(valid))
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"valid: {', '.join(names)}{hint}"


def unknown_name(what: str, name: str, valid: Iterable[str]) -> InputError:
    return InputError(f"unknown {what} {name!r}; {valid_names(name, valid)}")


def want_traceback() -> bool:
    """`agentdistill --traceback` (or --debug) sets this variable."""
    return os.environ.get(TRACEBACK_ENV, "") not in ("", "0")


def report(prog: str, error: BaseException) -> int:
    """Print an input error as one line on stderr; return the exit code (2)."""
    if want_traceback():
        traceback.print_exception(error)
    print(f"{prog}: error: {error}", file=sys.stderr)
    return EXIT_INPUT


def command(prog: str):
    """Decorate a command's `main(argv) -> int`: an InputError becomes one line on stderr and exit code 2, the same
    whether the command runs from `agentdistill` or is called from Python."""
    import functools

    def wrap(main):
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except InputError as error:
                return report(prog, error)

        return run

    return wrap
