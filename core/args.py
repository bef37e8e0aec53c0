"""Checks for solver and task arguments: values arrive from the command line as YAML scalars (`-S k=abc` is the
string "abc"), so each solver checks and converts its own arguments when it is created, before any sample runs, and
refuses a bad one with an `InputError` naming the solver, the argument, the value and what was expected."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from agentdistill.core.errors import InputError, valid_names

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bad(owner: str, name: str, value: Any, expected: str) -> InputError:
    return InputError(f"{owner}: argument {name}={value!r}: expected {expected}")


def _range_text(kind: str, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return kind
    if hi is None:
        return f"{kind} {'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"{kind} {'<' if hi_open else '<='} {hi:g}"
    return f"{kind} in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def number(owner: str, name: str, value: Any, *, integer: bool = False, lo: float | None = None,
           hi: float | None = None, lo_open: bool = False, hi_open: bool = False) -> Any:
    """`value` as an int (integer=True) or float within the bounds, else an InputError."""
    kind = "an integer" if integer else "a number"
    expected = _range_text(kind, lo, hi, lo_open, hi_open)
    if isinstance(value, bool):
        raise _bad(owner, name, value, expected)
    try:
        converted = float(value)
    except (TypeError, ValueError):
        raise _bad(owner, name, value, expected) from None
    if math.isnan(converted) or (integer and not converted.is_integer()):
        raise _bad(owner, name, value, expected)
    if (lo is not None and (converted < lo or (lo_open and converted == lo))) or (
        hi is not None and (converted > hi or (hi_open and converted == hi))
    ):
        raise _bad(owner, name, value, expected)
    return int(converted) if integer else converted


def boolean(owner: str, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(owner, name, value, "true or false")


def choice(owner: str, name: str, value: Any, choices: Iterable[str]) -> str:
    options = list(choices)
    if str(value) not in options:
        raise InputError(f"{owner}: argument {name}={value!r}: expected one of {', '.join(options)}")
    return str(value)


def known(owner: str, given: Mapping[str, Any] | Iterable[str], valid: Iterable[str], what: str = "argument") -> None:
    """Refuse names not in `valid`, listing the valid ones."""
    valid = list(valid)
    unknown = sorted(set(given) - set(valid))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise InputError(f"{owner}: unknown {what}{'s' if len(unknown) > 1 else ''} {names}; {valid_names(unknown[0], valid)}")


def sample_shuffle(value: Any, where: str) -> int | None:
    """A shuffle seed that means the same on a first run and on a resumed one: None (no shuffle) or a seed >= 1.

    inspect 0.3.285 reads 0 as "no shuffle" on a first run (`if sample_shuffle:`) but as seed 0 on eval-set's retry
    path (`is not None`), so a resumed run evaluated other items than the first; 0 is therefore read as "no shuffle"
    everywhere (what every first run did). `true` (a new random order each run) cannot be resumed and is refused.
    """
    if value is None or value is False:
        return None
    if value is True:
        raise InputError(f"{where}: sample_shuffle true draws a new random order on every run, so a resumed run would "
                         "evaluate other items; give a seed (an integer >= 1)")
    seed = number(where, "sample_shuffle", value, integer=True, lo=0)
    if seed == 0:
        import logging

        logging.getLogger(__name__).warning(
            "%s: sample_shuffle 0 is read as 'no shuffle' (the first items of each task), the same on a first run and "
            "on a resumed one; give a seed >= 1 for a shuffled subset", where)
        return None
    return seed
