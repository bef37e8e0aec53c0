"""When two numbers count as the same answer (the numeric rows of the math grading policy, tasks/README.md).

- Both written exactly (integers, fractions, no decimal point): equal values only.
- An integer value on either side (after float artefacts such as `13138980.000000002` are rounded away): both
  must be the same integer. So the tolerance never makes two different integers equal (`32,347` vs `32,348`,
  `13140000` vs `13138980.0`), and never turns a rounded `561162` into `561161.7`.
- Otherwise, when either side is written as a decimal: relative tolerance 1e-4 (the paper's checker), so
  GSM-Hard's float golds (`561161.7000000001`) and decimal forms of fractions (`38.5714` for 270/7) count.

Standalone on purpose: the sympy worker process imports it by file, without the package.
"""

from __future__ import annotations

import math
from fractions import Fraction

REL_TOL = 1e-4
# float golds carry binary artefacts about 1e-16 relative; anything this close to an integer is that integer
_ARTEFACT_REL = 1e-9


def integral_value(x: Fraction) -> int | None:
    """The integer x stands for, allowing float artefacts; None when x is not an integer."""
    nearest = round(x)
    if x == nearest or abs(x - nearest) <= _ARTEFACT_REL * max(1, abs(x)):
        return int(nearest)
    return None


def values_equal(p: Fraction, g: Fraction, p_decimal: bool, g_decimal: bool) -> bool:
    """Whether prediction p equals gold g; `*_decimal`: that side was written with a decimal point."""
    if not p_decimal and not g_decimal:
        return p == g
    pi, gi = integral_value(p), integral_value(g)
    if pi is not None or gi is not None:
        return pi is not None and pi == gi
    return math.isclose(float(p), float(g), rel_tol=REL_TOL, abs_tol=0.0)
