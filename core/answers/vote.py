"""Keys under which equal answers collide, for majority votes (cot_sc, SAG's answer vote)."""

from __future__ import annotations

import math
from fractions import Fraction

from agentdistill.core.answers.factual import normalize_factual
from agentdistill.core.answers.math_equiv import _sequence, _split_top_level, _THOUSANDS, _to_number, strip_math


def _number_key(value: float) -> str:
    if math.isfinite(value) and abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        return str(int(round(value)))
    fraction = Fraction(value).limit_denominator(10_000)
    if math.isclose(float(fraction), value, rel_tol=1e-9):
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:.6g}"


def normalize_answer(answer: str, domain: str) -> str:
    """A key under which equal answers collide (for majority votes). Never raises."""
    try:
        if answer is None:
            return ""
        if domain != "math":
            return normalize_factual(answer)
        s, _ = strip_math(answer)
        number = _to_number(s)
        if number is not None:
            return _number_key(number)
        sequence = _sequence(s)
        if sequence is not None:
            parts = [normalize_answer(part, "math") for part in sequence[2]]
            return sequence[0] + ",".join(parts) + sequence[1]
        items = _split_top_level(s, (",",))
        if len(items) > 1 and not _THOUSANDS.match(s):  # "2, -1": a set of solutions, order-free
            return ",".join(sorted(normalize_answer(item, "math") for item in items))
        return s
    except Exception:
        return str(answer).strip()
