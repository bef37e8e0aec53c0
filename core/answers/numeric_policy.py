"""When two numbers count as the same answer (the numeric rows of the math grading policy, tasks/README.md).

- Both written exactly (integers, fractions, no decimal point): equal values only.
- An integer value on either side (float artefacts such as `13138980.000000002` rounded away): both must be the
  same integer. So no tolerance ever makes two different integers equal (`32,347` vs `32,348`, `13140000` vs
  `13138980.0`), and a rounded `561162` is not `561161.7`.
- Otherwise (neither an integer, at least one written as a decimal): equal up to float artefacts (relative 1e-12,
  GSM-Hard's `2.3333333333333335` = 7/3), or within the paper's relative 1e-4 AND the coarser decimal is the other
  value correctly rounded to its places (`38.5714` = 270/7, `561161.7` = `561161.7000000001`; not `5031.97` for
  `5031.9785714286`, not `19827120.5` for `19827119.5`, not `2.33` for 7/3).

Standalone on purpose: the sympy worker process imports it by file, without the package.
"""

from __future__ import annotations

import re
from fractions import Fraction

REL_TOL = 1e-4
# float golds carry binary artefacts about 1e-16 relative; anything within 1e-12 is the same value (9435680550.1 is
# not the integer 9435680550, a looser bound would say it is)
_ARTEFACT_REL = Fraction(1, 10**12)


def integral_value(x: Fraction) -> int | None:
    """The integer x stands for, allowing float artefacts; None when x is not an integer."""
    nearest = round(x)
    if x == nearest or abs(x - nearest) <= _ARTEFACT_REL * max(1, abs(x)):
        return int(nearest)
    return None


def decimal_places(numeral: str) -> int | None:
    """Places after the point a decimal numeral states (`1.50` -> 2, `4.46752e-05` -> 10); None when exact."""
    match = re.fullmatch(r"[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", numeral.strip())
    if not match or (match.group(2) is None and match.group(3) is None):
        return None
    return max(0, len(match.group(2) or "") - int(match.group(3) or 0))


def values_equal(p: Fraction, g: Fraction, p_places: int | None, g_places: int | None) -> bool:
    """Whether prediction p equals gold g; `*_places`: decimal places that side was written with (None: exact)."""
    if p_places is None and g_places is None:
        return p == g
    pi, gi = integral_value(p), integral_value(g)
    if pi is not None or gi is not None:
        return pi is not None and pi == gi
    diff, scale = abs(p - g), max(abs(p), abs(g))
    if diff <= _ARTEFACT_REL * scale:
        return True
    if diff > Fraction(REL_TOL) * scale:
        return False
    places = min(x for x in (p_places, g_places) if x is not None)
    return diff <= Fraction(1, 2 * 10**places) * (1 + _ARTEFACT_REL)
