"""Math answer equivalence: `math_equal(pred, gold)` never raises and never hangs.

Follows the checks of Qwen2.5-Math's `math_equal` (which the paper's reference code uses): normalised string
match, numbers with relative tolerance 1e-4, tuples / intervals / matrices element-wise, `x=` prefixes, then
sympy symbolic equality in a worker process killed at the deadline (`sympy_pool`). Differences, on purpose: the
x100 / /100 percent forms are accepted only when one side carries a percent sign (Qwen accepts them always, so it
scores "1" equal to "100").
"""

from __future__ import annotations

import math
import re
import time

from agentdistill.core.answers.extract import last_boxed, matching_brace, unwrap_text
from agentdistill.core.answers.sympy_pool import sympy_equal


_UNIT_WORDS = (
    "degrees?|cm|centimeters?|m|meters?|km|kilometers?|mm|inches|inch|in|feet|foot|ft|yards?|"
    "miles?|mph|units?|square|sq|cubic|seconds?|minutes?|hours?|days?|weeks?|months?|years?|"
    "dollars?|cents?|pounds?|lbs?|ounces?|oz|grams?|kg|g|liters?|litres?|ml|gallons?|"
    "people|students?|points?|ways|times|percent|apples|eggs|pages|marbles|cookies|boxes"
)
_TRAILING_UNITS = re.compile(rf"^(.*?\d)\s*(?:(?:{_UNIT_WORDS})\b\.?\s*)+(\^?\{{?[23]\}}?)?$", re.IGNORECASE)


def _fix_shorthand(text: str) -> str:
    r"""`\frac12` -> `\frac{1}{2}`, `\sqrt2` -> `\sqrt{2}`."""
    text = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\sqrt\s*(\d+|[a-zA-Z])", r"\\sqrt{\1}", text)
    return text


def strip_math(answer: str) -> tuple[str, bool]:
    """Normalised answer string and whether it carried a percent sign.

    Removes `$`, `\\left`/`\\right`, spacing commands, `\\!`, degree marks, percent signs,
    unit words and `\\text{units}`, a leading `x =` / `x \\in`, trailing dots, and spaces;
    `\\dfrac`/`\\tfrac` -> `\\frac`; `\\frac12` -> `\\frac{1}{2}`; `.5` -> `0.5`.
    """
    s = str(answer).strip()
    boxed = last_boxed(s)
    if boxed is not None and s.lstrip().startswith(("\\boxed", "\\fbox")):
        s = boxed
    s = s.replace("\n", " ").replace("\\!", "")
    s = re.sub(r"(?<!\\)\\[,;: ]|~", " ", s)
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\displaystyle", "")
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s.strip())
    s = s.replace("\\$", "").replace("$", "")
    had_percent = "%" in s or "percent" in s.lower()
    s = s.replace("\\%", "").replace("%", "")
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree", "", s)
    # units in \text{...} after a number: "5 \text{ cm}" -> "5"; a lone \text{Tuesday} -> Tuesday
    without_text = re.sub(r"\\(?:text|mbox|mathrm)\s*\{[^{}]*\}", "", s).strip()
    if re.search(r"\d", without_text) and re.search(r"\d\s*$", without_text):
        s = without_text
    s = unwrap_text(s)
    s = s.strip()
    match = _TRAILING_UNITS.match(s)
    if match and not re.search(r"[a-zA-Z]", match.group(1).replace("\\frac", "").replace("\\sqrt", "")):
        s = match.group(1)
    s = re.sub(r"\s+(?:percent|degrees?)$", "", s)
    # leading "x =", "k=", "y \in", "f(x) =" when the rest holds no other "="
    s = re.sub(r"^\s*[a-zA-Z](?:_\{?\w+\}?)?(?:\([a-z]\))?\s*(?:=|\\in)\s*(?=[^=]+$)", "", s)
    s = s.strip().rstrip(".").strip()
    s = _fix_shorthand(s)
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"(?<![\d])\.(\d)", r"0.\1", s)
    if "\\infty" not in s:  # one pass: "infinity" must not become "\inftyty"
        s = re.sub(r"infinity|inf", r"\\infty", s)
    if s.startswith("{") and s.endswith("}") and matching_brace(s, 0) == len(s) - 1:
        s = s[1:-1]
    return s, had_percent


_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SIMPLE_FRACTION = re.compile(r"^([+-]?)(?:\\frac\{([+-]?\d+(?:\.\d+)?)\}\{([+-]?\d+(?:\.\d+)?)\}|(\d+)/(\d+))$")
_TIMES_TEN = re.compile(r"^([+-]?\d+(?:\.\d+)?)\\times10\^\{?([+-]?\d+)\}?$")


def _to_number(s: str) -> float | None:
    """A stripped answer as a float when it is a plain number, thousands, a/b or \\frac{a}{b}."""
    if _PLAIN_NUMBER.match(s):
        return float(s)
    if _THOUSANDS.match(s):
        return float(s.replace(",", ""))
    match = _SIMPLE_FRACTION.match(s)
    if match:
        sign = -1.0 if match.group(1) == "-" else 1.0
        num, den = (match.group(2), match.group(3)) if match.group(2) is not None else (match.group(4), match.group(5))
        if float(den) == 0:
            return None
        return sign * float(num) / float(den)
    match = _TIMES_TEN.match(s)
    if match:
        return float(match.group(1)) * 10 ** int(match.group(2))
    return None


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-12)


def _split_top_level(s: str, separators: tuple[str, ...]) -> list[str]:
    """Split at separators that are outside any (), [], {}."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(s):
        char = s[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            for sep in separators:
                if s.startswith(sep, i):
                    parts.append(s[start:i])
                    start = i + len(sep)
                    i += len(sep) - 1
                    break
        i += 1
    parts.append(s[start:])
    return parts


_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$")


def _matrix(s: str) -> list[list[str]] | None:
    match = _MATRIX.match(s)
    if not match:
        return None
    rows = [row for row in match.group(2).split("\\\\") if row.strip()]
    return [[cell for cell in row.split("&")] for row in rows]


def _sequence(s: str) -> tuple[str, str, list[str]] | None:
    """(open, close, elements) for a bracketed tuple/interval/vector with >= 2 elements."""
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        # the brackets must enclose the whole string
        depth = 0
        for i, char in enumerate(s):
            depth += char in "([{"
            depth -= char in ")]}"
            if depth == 0 and i < len(s) - 1:
                return None
        parts = _split_top_level(s[1:-1], (",",))
        if len(parts) >= 2:
            return s[0], s[-1], parts
    return None


# --------------------------------------------------------------------------- latex -> sympy syntax

_FUNCTIONS = {
    "\\sin": "sin", "\\cos": "cos", "\\tan": "tan", "\\cot": "cot", "\\sec": "sec", "\\csc": "csc",
    "\\arcsin": "asin", "\\arccos": "acos", "\\arctan": "atan", "\\ln": "log", "\\log": "log",
    "\\exp": "exp",
}
_SYMPY_NAMES = {
    "sqrt", "pi", "oo", "E", "I", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos",
    "atan", "log", "exp", "Abs", "binomial", "factorial", "floor", "ceiling",
}


def _replace_command_args(s: str, command: str, nargs: int, build) -> str | None:
    """Replace `\\command{a}{b}` (nargs braced arguments) using build(args)."""
    while True:
        index = s.find(command)
        if index < 0:
            return s
        pos = index + len(command)
        optional = None
        if s.startswith("[", pos):
            end = s.find("]", pos)
            if end < 0:
                return None
            optional, pos = s[pos + 1 : end], end + 1
        args = []
        for _ in range(nargs):
            if not s.startswith("{", pos):
                return None
            close = matching_brace(s, pos)
            if close is None:
                return None
            args.append(s[pos + 1 : close])
            pos = close + 1
        s = s[:index] + build(args, optional) + s[pos:]


def _to_sympy_syntax(s: str) -> str | None:
    """A stripped LaTeX answer in sympy's parse_expr syntax, or None if it can't/shouldn't be parsed."""
    if not s or len(s) > 400:
        return None
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/")
    s = s.replace("\\pi", " pi ").replace("\\infty", " oo ").replace("π", " pi ")
    s = _replace_command_args(s, "\\frac", 2, lambda a, _o: f"(({a[0]})/({a[1]}))")
    if s is None:
        return None
    s = _replace_command_args(
        s, "\\sqrt", 1, lambda a, o: f"(({a[0]})**(1/({o})))" if o else f"sqrt({a[0]})"
    )
    if s is None:
        return None
    s = _replace_command_args(s, "\\binom", 2, lambda a, _o: f"binomial({a[0]},{a[1]})")
    if s is None:
        return None
    for latex, name in sorted(_FUNCTIONS.items(), key=lambda kv: -len(kv[0])):
        s = s.replace(latex, f" {name}")
    s = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", s)
    if "\\" in s:
        return None
    s = s.replace("{", "(").replace("}", ")").replace("^", "**")
    if "__" in s or "lambda" in s or not re.fullmatch(r"[0-9A-Za-z+\-*/().=!\s]*", s):
        return None
    if re.search(r"[A-Za-z_]\s*\.", s):  # no attribute access
        return None
    for name in re.findall(r"[A-Za-z]+", s):
        if len(name) > 1 and name not in _SYMPY_NAMES and len(name) > 3:
            return None  # words, not maths
    if s.count("=") > 1 or s.strip().startswith("=") or s.strip().endswith("="):
        return None
    return s


# --------------------------------------------------------------------------- equivalence

_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?$")


def _equal(pred: str, gold: str, deadline: float, depth: int = 0) -> bool:
    if depth > 4:
        return False
    p, p_percent = strip_math(pred)
    g, g_percent = strip_math(gold)
    if not p or not g:
        return False
    if p == g:
        return True
    if re.fullmatch(r"[A-Za-z][A-Za-z\s]+", p) and p.lower() == g.lower():
        return True
    pc, gc = _CHOICE.match(p), _CHOICE.match(g)
    if pc and gc:
        return pc.group(1).upper() == gc.group(1).upper()

    pn, gn = _to_number(p), _to_number(g)
    if pn is not None and gn is not None:
        if _close(pn, gn):
            return True
        if p_percent or g_percent:
            return _close(pn * 100, gn) or _close(pn, gn * 100)
        return False

    # unions of intervals: element-wise in order
    if "\\cup" in p or "\\cup" in g:
        pu, gu = _split_top_level(p, ("\\cup",)), _split_top_level(g, ("\\cup",))
        if len(pu) != len(gu) or len(gu) < 2:
            return False
        return all(_equal(a, b, deadline, depth + 1) for a, b in zip(pu, gu))

    # matrices and vectors (a pmatrix column equals a tuple with the same elements)
    pm, gm = _matrix(p), _matrix(g)
    pseq, gseq = _sequence(p), _sequence(g)
    if pm is not None or gm is not None:
        def cells(matrix, seq):
            if matrix is not None:
                return [len(matrix), max(len(r) for r in matrix)], [c for r in matrix for c in r]
            if seq is not None:
                return None, seq[2]
            return None, None

        (p_shape, p_cells), (g_shape, g_cells) = cells(pm, pseq), cells(gm, gseq)
        if p_cells is None or g_cells is None or len(p_cells) != len(g_cells):
            return False
        if p_shape is not None and g_shape is not None and p_shape != g_shape:
            return False
        return all(_equal(a, b, deadline, depth + 1) for a, b in zip(p_cells, g_cells))

    # tuples / intervals: same brackets (an interval's openness matters), element-wise
    if pseq is not None or gseq is not None:
        if pseq is None or gseq is None:
            return False
        if (pseq[0], pseq[1]) != (gseq[0], gseq[1]) or len(pseq[2]) != len(gseq[2]):
            return False
        return all(_equal(a, b, deadline, depth + 1) for a, b in zip(pseq[2], gseq[2]))

    # unbracketed lists ("1, -2"): the same elements in any order
    p_items, g_items = _split_top_level(p, (",",)), _split_top_level(g, (",",))
    if (len(p_items) > 1 or len(g_items) > 1) and not (_THOUSANDS.match(p) or _THOUSANDS.match(g)):
        if len(p_items) != len(g_items):
            return False
        remaining = list(g_items)
        for item in p_items:
            for j, other in enumerate(remaining):
                if _equal(item, other, deadline, depth + 1):
                    del remaining[j]
                    break
            else:
                return False
        return True

    sp, sg = _to_sympy_syntax(p), _to_sympy_syntax(g)
    if sp is None or sg is None:
        return False
    remaining_s = deadline - time.monotonic()
    if remaining_s <= 0:
        return False
    return sympy_equal(sp, sg, remaining_s)


def math_equal(pred: str | None, gold: str | None, timeout_s: float = 5.0) -> bool:
    """Whether a predicted math answer equals the gold. Never raises; symbolic checks stop at timeout_s."""
    try:
        if pred is None or gold is None:
            return False
        return _equal(str(pred), str(gold), time.monotonic() + float(timeout_s))
    except Exception:
        return False
