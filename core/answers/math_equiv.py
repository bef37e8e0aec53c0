"""Math answer equivalence: `math_equal(pred, gold)` never raises and never hangs.

Two layers. The project's own rules decide what `math-verify` (HuggingFace's maintained grader) gets wrong or
should not see: normalisation (units, `\\text{}`, thousands separators, degrees, `x =` prefixes, mixed numbers,
inequalities written as intervals, `\\pm`), numbers by `numeric_policy` (integers exact; decimals within 1e-4 only
when neither side is an integer; x100 percent forms only with a percent sign), text answers, choice letters, base
subscripts, and structure (tuples and intervals element-wise in order; sets, unions and solution lists in any
order; matrices by shape). Whatever is left, an expression, goes to math-verify (LaTeX) or sympy (plain syntax)
inside a worker process that is killed at the deadline (`sympy_pool`), because math-verify's own timeout uses
signals, which fail outside the main thread. The policy table: tasks/README.md, "Math grading policy".
"""

from __future__ import annotations

import re
import time
from fractions import Fraction

from agentdistill.core.answers.extract import last_boxed, matching_brace, unwrap_text
from agentdistill.core.answers.numeric_policy import decimal_places, values_equal
from agentdistill.core.answers.sympy_pool import worker_equal


_UNIT_WORDS = (
    "degrees?|cm|centimeters?|m|meters?|km|kilometers?|mm|inches|inch|in|feet|foot|ft|yards?|"
    "miles?|mph|units?|square|sq|cubic|seconds?|minutes?|hours?|days?|weeks?|months?|years?|"
    "dollars?|cents?|pounds?|lbs?|ounces?|oz|grams?|kg|g|liters?|litres?|ml|gallons?|usd|"
    "people|students?|points?|ways|times|percent|apples|eggs|pages|marbles|cookies|boxes"
)
_TRAILING_UNITS = re.compile(rf"^(.*?\d)\s*(?:(?:{_UNIT_WORDS})\b\.?\s*)+(\^?\{{?[23]\}}?)?$", re.IGNORECASE)
# a unit in \text{}/\mbox{} after the number, with an optional square/cube: "15\mbox{ cm}^2" -> "15"
_TEXT_UNIT = re.compile(r"(?:\\(?:text|mbox|mathrm|textnormal)\s*\{[^{}]*\}(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*)+$")
_RELATIONS = (("\\leq", "≤"), ("\\le", "≤"), ("\\geq", "≥"), ("\\ge", "≥"), ("\\lt", "<"), ("\\gt", ">"))


def _fix_shorthand(text: str) -> str:
    r"""`\frac12` -> `\frac{1}{2}`, `\frac\pi 3` -> `\frac{\pi}{3}`, `\sqrt2` -> `\sqrt{2}`, `2^10` -> `2^{10}`."""
    # brace-less arguments are one character or one command each: \frac\pi 3 -> \frac{\pi}{3} (math-verify
    # misreads that form: it turned 2007 + \frac\pi 3 into 2007)
    text = re.sub(r"\\frac\s*(\\[a-zA-Z]+|[a-zA-Z0-9])\s*(\\[a-zA-Z]+|[a-zA-Z0-9])", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*(\\[a-zA-Z]+|[a-zA-Z0-9])", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\sqrt\s*(\d+|[a-zA-Z])", r"\\sqrt{\1}", text)
    # an unbraced multi-digit exponent means all its digits (the golds write 2^2023)
    text = re.sub(r"\^\s*(\d+|[a-zA-Z])(?![\d}])", r"^{\1}", text)
    return text


def _one_variable_bound(part: str) -> tuple[str, str] | None:
    """`a<x≤b`, `x≥a`, `a>x`... as (variable, interval), or None when it is not such a bound."""
    pieces = re.split(r"(≤|≥|<|>)", part)
    if len(pieces) not in (3, 5):
        return None
    terms, ops = pieces[0::2], pieces[1::2]
    variables = [t for t in terms if re.fullmatch(r"[a-zA-Z]", t)]
    if len(variables) != 1 or any(not t for t in terms):
        return None
    var = variables[0]
    if any(var in re.sub(r"\\[a-zA-Z]+", "", t) for t in terms if t != var):
        return None
    closed = "≤≥"
    if len(ops) == 2:  # a < x <= b, or a > x >= b
        if terms[1] != var or (ops[0] in "<≤") != (ops[1] in "<≤"):
            return None
        if ops[0] in "<≤":
            low, high, op_low, op_high = terms[0], terms[2], ops[0], ops[1]
        else:
            low, high, op_low, op_high = terms[2], terms[0], ops[1], ops[0]
        return var, ("[" if op_low in closed else "(") + low + "," + high + ("]" if op_high in closed else ")")
    op = ops[0]
    if terms[1] == var:  # a < x  is  x > a
        op, bound = {"<": ">", ">": "<", "≤": "≥", "≥": "≤"}[op], terms[0]
    elif terms[0] == var:
        bound = terms[1]
    else:
        return None
    if op in "<≤":
        return var, "(-\\infty," + bound + ("]" if op in closed else ")")
    return var, ("[" if op in closed else "(") + bound + ",\\infty)"


def _inequality_to_interval(s: str) -> str:
    """`3 < x \\le 4` -> `(3,4]`; `x<2 or x>3` -> `(-\\infty,2)\\cup(3,\\infty)`; anything else unchanged."""
    relations = s
    for latex, symbol in _RELATIONS:
        relations = relations.replace(latex, symbol)
    if not re.search(r"[<>≤≥]", relations):
        return s
    parts = re.split(r"\s+or\s+|\\lor|\\vee|\\text\{\s*or\s*\}", relations)
    bounds = [_one_variable_bound(re.sub(r"\s+", "", part)) for part in parts]
    if any(b is None for b in bounds) or len({b[0] for b in bounds}) != 1:
        return s
    return "\\cup".join(b[1] for b in bounds)


def _items(s: str) -> list[str]:
    """Top-level list elements; an element with one `\\pm`/`\\mp` stands for its two values."""
    items = []
    for item in _split_top_level(s, (",",)):
        if item.count("\\pm") + item.count("\\mp") == 1:
            command = "\\pm" if "\\pm" in item else "\\mp"
            items += [item.replace(command, "+"), item.replace(command, "-")]
        else:
            items.append(item)
    return items


def strip_math(answer: str) -> tuple[str, bool]:
    """Normalised answer string and whether it carried a percent sign.

    Removes `$`, `\\left`/`\\right`, spacing commands, `\\!`, degree marks, percent signs, unit words and
    `\\text{units}` (squared too), a leading `x =` / `x \\in`, set braces `\\{ \\}`, trailing dots, and spaces;
    `\\dfrac`/`\\tfrac` -> `\\frac`; `\\frac12` -> `\\frac{1}{2}`; `.5` -> `0.5`; `10{,}080` -> `10,080`;
    `4 2/3` -> `4\\frac{2}{3}`; `\\times` -> `\\cdot`; one-variable inequalities -> intervals.
    """
    s = str(answer).strip()
    boxed = last_boxed(s)
    if boxed is not None and s.lstrip().startswith(("\\boxed", "\\fbox")):
        s = boxed
    s = s.replace("\n", " ").replace("\\!", "").replace("{,}", ",")
    s = re.sub(r"(?<!\\)\\[,;: ]|~|\\quad|\\qquad", " ", s)
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\displaystyle", "").replace("\\times", "\\cdot")
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s.strip())
    s = s.replace("\\$", "").replace("$", "")
    had_percent = "%" in s or "percent" in s.lower()
    s = s.replace("\\%", "").replace("%", "")
    # degrees inside a trigonometric function are an angle (tan 15° = 2 - sqrt 3), elsewhere a unit to drop
    s = re.sub(
        r"\\(sin|cos|tan|cot|sec|csc)\s*\{?\(?\s*(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)\s*\)?\}?",
        r"\\\1(\\frac{\2\\pi}{180})", s,
    )
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree", "", s)
    # units in \text{...} after a number: "5 \text{ cm}" -> "5"; a lone \text{Tuesday} -> Tuesday
    without_text = _TEXT_UNIT.sub("", s).strip()
    if re.search(r"\d\s*$", without_text):
        s = without_text
    s = unwrap_text(s).replace("\\textnormal", "")
    s = s.strip()
    match = _TRAILING_UNITS.match(s)
    if match and not re.search(r"[a-zA-Z]", match.group(1).replace("\\frac", "").replace("\\sqrt", "")):
        s = match.group(1)
    s = re.sub(r"\s+(?:percent|degrees?)$", "", s)
    # leading "x =", "k=", "y \in", "f(x) =" when the rest holds no other "="
    s = re.sub(r"^\s*[a-zA-Z](?:_\{?\w+\}?)?(?:\([a-z]\))?\s*(?:=|\\in)\s*(?=[^=]+$)", "", s)
    s = s.strip().rstrip(".").strip()
    s = re.sub(r"^([+-]?\d+)\s+(\d+)\s*/\s*(\d+)$", r"\1\\frac{\2}{\3}", s)  # "4 2/3": a mixed number
    s = _fix_shorthand(s)
    s = _inequality_to_interval(s)
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"(?<![\d])\.(\d)", r"0.\1", s)
    if "\\infty" not in s:  # one pass: "infinity" must not become "\inftyty"
        s = re.sub(r"infinity|inf", r"\\infty", s)
    s = s.replace("\\mathbb{R}", "(-\\infty,\\infty)")
    if s.startswith("\\{") and s.endswith("\\}"):
        s = s[2:-2]  # a set: its elements, compared in any order
    if s.startswith("{") and s.endswith("}") and matching_brace(s, 0) == len(s) - 1:
        s = s[1:-1]
    return s, had_percent


_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NUMERAL = r"\d+(?:\.\d+)?"
_SIMPLE_FRACTION = re.compile(
    rf"^([+-]?)(?:\\frac\{{([+-]?{_NUMERAL})\}}\{{([+-]?{_NUMERAL})\}}|({_NUMERAL})/({_NUMERAL}))$"
)
_MIXED_NUMBER = re.compile(r"^([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$")
_TIMES_TEN = re.compile(r"^([+-]?\d+(?:\.\d+)?)\\(?:times|cdot)10\^\{?([+-]?\d+)\}?$")


def _decimal(text: str) -> Fraction | None:
    exponent = re.search(r"[eE]([+-]?\d+)$", text)
    if exponent and abs(int(exponent.group(1))) > 400:
        return None  # 1e999999: not an answer, and exact arithmetic on it is slow
    return Fraction(text)


def exact_number(s: str) -> tuple[Fraction, int | None] | None:
    """A stripped answer as (exact value, decimal places it was written with, None when exact), else None.

    Numbers: plain and scientific, thousands separators, `a/b`, `\\frac{a}{b}`, mixed numbers
    `4\\frac{2}{3}` (proper fraction after an integer), `1.5\\cdot10^{3}`.
    """
    if _PLAIN_NUMBER.match(s):
        value = _decimal(s)
        return None if value is None else (value, decimal_places(s))
    if _THOUSANDS.match(s):
        plain = s.replace(",", "")
        return Fraction(plain), decimal_places(plain)
    match = _SIMPLE_FRACTION.match(s)
    if match:
        num, den = (match.group(2), match.group(3)) if match.group(2) is not None else (match.group(4), match.group(5))
        if Fraction(den) == 0:
            return None
        value = Fraction(num) / Fraction(den)
        places = [x for x in (decimal_places(num), decimal_places(den)) if x is not None]
        return (-value if match.group(1) == "-" else value), (max(places) if places else None)
    match = _MIXED_NUMBER.match(s)
    if match and int(match.group(3)) < int(match.group(4)):
        value = int(match.group(2)) + Fraction(int(match.group(3)), int(match.group(4)))
        return (-value if match.group(1) == "-" else value), None
    match = _TIMES_TEN.match(s)
    if match and abs(int(match.group(2))) <= 400:
        value = Fraction(match.group(1)) * Fraction(10) ** int(match.group(2))
        return value, decimal_places(match.group(1) + "e" + match.group(2)) if "." in match.group(1) else None
    return None


def _places(s: str) -> int | None:
    """The most decimal places of any decimal numeral in an expression (None when it has none)."""
    places = [decimal_places(numeral) for numeral in re.findall(r"\d*\.\d+(?:[eE][+-]?\d+)?", s)]
    return max((x for x in places if x is not None), default=None)


def _to_number(s: str) -> float | None:
    """A stripped answer as a float when it is a number (voting keys)."""
    number = exact_number(s)
    return None if number is None else float(number[0])


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


_MATRIX = re.compile(r"^(.*?)\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\2\}$")


def _matrix(s: str) -> list[list[str]] | None:
    """Rows of cells; a scalar written before the matrix (`\\frac{8}{49}\\begin{pmatrix}...`) multiplies each cell."""
    match = _MATRIX.match(s)
    if not match or "\\begin" in match.group(1) or "\\end" in match.group(3):
        return None
    scalar = match.group(1)
    rows = [row for row in match.group(3).split("\\\\") if row.strip()]
    return [[f"{scalar}\\cdot({cell})" if scalar else cell for cell in row.split("&")] for row in rows]


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


_BASE_NUMBER = re.compile(r"^([+-]?)([0-9A-Za-z]+)_\{?(\d+)\}?$")


def _base_number(s: str) -> tuple[str, str, int] | None:
    """`52_8` / `52_{8}` / `\\text{A5}_{11}` as (sign, digits, base) when the digits are valid in that base."""
    match = _BASE_NUMBER.match(s)
    if not match:
        return None
    base = int(match.group(3))
    if not 2 <= base <= 36:
        return None
    try:
        int(match.group(2), base)
    except ValueError:
        return None
    return match.group(1), match.group(2).upper(), base


# --------------------------------------------------------------------------- latex -> sympy syntax (plain answers)

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
    """A stripped answer in sympy's parse_expr syntax, or None if it can't/shouldn't be parsed."""
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
        if len(name) > 3 and name not in _SYMPY_NAMES:
            return None  # words, not maths
    if s.count("=") > 1 or s.strip().startswith("=") or s.strip().endswith("="):
        return None
    return s


def _leaf_side(s: str) -> dict:
    """How the worker should read one answer: plain text through sympy's parser, LaTeX through math-verify."""
    places = _places(s)
    if "\\" not in s:
        plain = _to_sympy_syntax(s)
        if plain is not None:
            return {"py": plain, "places": places}
    # the plain form too, for a worker without math-verify
    return {"latex": s, "places": places, "py_fallback": _to_sympy_syntax(s)}


# --------------------------------------------------------------------------- equivalence

_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?$")
_WORDS = re.compile(r"[A-Za-z][A-Za-z ]{2,}")


def _same_items(p_items: list[str], g_items: list[str], deadline: float, depth: int) -> bool:
    """The same elements in any order (each gold element used once)."""
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


def _equal(pred: str, gold: str, deadline: float, depth: int = 0) -> bool:
    if depth > 4:
        return False
    p, p_percent = strip_math(pred)
    g, g_percent = strip_math(gold)
    if not p or not g:
        return False
    if p == g:
        return True
    if _WORDS.fullmatch(unwrap_text(p)) or _WORDS.fullmatch(unwrap_text(g)):  # text answers: the words
        return p.lower() == g.lower()
    pc, gc = _CHOICE.match(p), _CHOICE.match(g)
    if pc and gc:
        return pc.group(1).upper() == gc.group(1).upper()
    p_base, g_base = _base_number(p), _base_number(g)
    if p_base or g_base:
        # the question fixes the base, so a missing subscript is fine; the value in another base is not
        p_base = p_base or (("-", p[1:], 0) if p.startswith("-") else ("", p, 0))
        g_base = g_base or (("-", g[1:], 0) if g.startswith("-") else ("", g, 0))
        same_base = 0 in (p_base[2], g_base[2]) or p_base[2] == g_base[2]
        return same_base and p_base[0] == g_base[0] and p_base[1].upper() == g_base[1].upper()

    pn, gn = exact_number(p), exact_number(g)
    if pn is not None and gn is not None:
        (p_value, p_places), (g_value, g_places) = pn, gn
        if values_equal(p_value, g_value, p_places, g_places):  # a percent sign read as a unit: 10% = 10
            return True
        if p_percent or g_percent:  # or as /100: 10% = 0.1 (never 10 = 0.1 without a sign)
            p_value = p_value / 100 if p_percent else p_value
            g_value = g_value / 100 if g_percent else g_value
            return values_equal(p_value, g_value, p_places, g_places)
        return False

    # "10,080" is a number, unless the other side is a list: then "45,135,225,315" is one too
    p_list, g_list = len(_items(p)) > 1 and not _THOUSANDS.match(p), len(_items(g)) > 1 and not _THOUSANDS.match(g)
    p = p.replace(",", "") if _THOUSANDS.match(p) and not g_list else p
    g = g.replace(",", "") if _THOUSANDS.match(g) and not p_list else g

    # unions of intervals: the same intervals in any order
    if "\\cup" in p or "\\cup" in g:
        pu, gu = _split_top_level(p, ("\\cup",)), _split_top_level(g, ("\\cup",))
        if len(pu) != len(gu) or len(gu) < 2:
            return False
        return _same_items(pu, gu, deadline, depth)

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

    # sets and unbracketed lists ("1, -2"): the same elements in any order
    p_items, g_items = _items(p), _items(g)
    if len(p_items) > 1 or len(g_items) > 1:
        return _same_items(p_items, g_items, deadline, depth)

    remaining_s = deadline - time.monotonic()
    if remaining_s <= 0:
        return False
    return worker_equal({"op": "leaf", "p": _leaf_side(p), "g": _leaf_side(g)}, remaining_s)


def math_equal(pred: str | None, gold: str | None, timeout_s: float = 5.0) -> bool:
    """Whether a predicted math answer equals the gold. Never raises; symbolic checks stop at timeout_s."""
    try:
        if pred is None or gold is None:
            return False
        return _equal(str(pred), str(gold), time.monotonic() + float(timeout_s))
    except Exception:
        return False
