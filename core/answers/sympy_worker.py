"""Symbolic equality worker: a separate process so a hanging parse or simplification can be killed.

Protocol (one JSON object per line on stdin/stdout), answer `{"eq": bool}`; prints `{"ready": true}` once its
libraries are imported; exits on EOF and (Linux) when the parent dies. Requests:
- `{"op": "leaf", "p": side, "g": side}`, side = `{"latex": str}` or `{"py": str}`: the project grader's check of
  two answers no structural rule decided (math_equiv): math-verify parses LaTeX (its own timeouts off: this process
  is the bound), sympy's `parse_expr` parses the sanitised plain form; numbers follow `numeric_policy`.
- `{"op": "paper", "a": str, "b": str}`: the reference grader's `symbolic_equal` decisions (paper_grader).
- `{"a": str, "b": str}` (no op): symbolic equality of two sanitised sympy-syntax expressions.

Run as a script; it imports nothing from the package (`numeric_policy` is read from this folder).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from fractions import Fraction

# The only names a plain expression may use besides single-letter symbols: no builtins, no sympify/S with strings
# (the parent also rejects quotes, dots after letters and `__`).
ALLOWED_NAMES = (
    "sqrt", "pi", "oo", "E", "I", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos",
    "atan", "log", "exp", "Abs", "binomial", "factorial", "floor", "ceiling", "Eq",
    "Integer", "Float", "Rational", "Symbol", "Function",
)
# what the paper grader's parse_expr may see: the reference calls sympy's parse_expr (an eval) on model output;
# the same decisions for every answer that is maths, but never code
_UNSAFE_PY = re.compile(r"__|\bimport\b|\blambda\b|\bexec\b|\beval\b|\bopen\b|[\"'`;@]|[A-Za-z_]\s*\.\s*[A-Za-z_]")


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def main() -> int:
    _die_with_parent()
    logging.disable(logging.CRITICAL)  # math-verify warns on every parse without its signal timeout
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    from numeric_policy import values_equal

    transformations = standard_transformations + (implicit_multiplication_application, convert_xor)
    namespace = {name: getattr(sympy, name) for name in ALLOWED_NAMES}
    namespace["__builtins__"] = {}

    def parse_py(text: str):
        if "=" in text:
            left, _, right = text.partition("=")
            return sympy.Eq(
                parse_expr(left, global_dict=dict(namespace), transformations=transformations),
                parse_expr(right, global_dict=dict(namespace), transformations=transformations),
                evaluate=False,
            )
        return parse_expr(text, global_dict=dict(namespace), transformations=transformations)

    # ------------------------------------------------------------------ legacy: two sympy-syntax expressions
    def legacy_equal(a: str, b: str) -> bool:
        x, y = parse_py(a), parse_py(b)
        if isinstance(x, sympy.Equality) != isinstance(y, sympy.Equality):
            return False
        if isinstance(x, sympy.Equality):
            dx, dy = x.lhs - x.rhs, y.lhs - y.rhs
            return any(sympy.simplify(d) == 0 for d in (dx - dy, dx + dy))
        return _same_value(x, y)

    # ------------------------------------------------------------------ project grader leaf
    try:
        from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

        latex_config = [LatexExtractionConfig(), ExprExtractionConfig()]
    except ImportError:  # math-verify missing (a pin not installed): LaTeX the plain parser can read still works
        parse = verify = None

    def parse_side(side: dict):
        if "py" in side:
            return parse_py(str(side["py"]))
        if parse is None:
            return parse_py(str(side["py_fallback"])) if side.get("py_fallback") else None
        found = parse("$" + str(side["latex"]) + "$", latex_config, parsing_timeout=None)
        return found[0] if found and isinstance(found[0], (sympy.Basic, sympy.MatrixBase)) else None

    def as_fraction(value) -> Fraction | None:
        if isinstance(value, sympy.Rational):
            return Fraction(int(value.p), int(value.q))
        number = sympy.N(value, 40)
        if not number.is_real:
            return None
        return Fraction(str(sympy.Float(number, 40)))

    # points where two expressions in free symbols are compared when simplify cannot decide: both signs, no
    # integers (so |x| vs x, or floor vs the identity, differ somewhere)
    identity_points = (0.37, -1.21, 2.03, -0.58, 1.73)

    def _numeric_identity(x, y) -> bool:
        symbols = sorted(x.free_symbols | y.free_symbols, key=str)
        if len(symbols) > 3:
            return False
        compared = 0
        for point in identity_points:
            values = {symbol: point + 0.11 * i for i, symbol in enumerate(symbols)}
            try:
                vx, vy = complex(sympy.N(x.subs(values), 30)), complex(sympy.N(y.subs(values), 30))
            except Exception:
                continue
            if not all(map(math.isfinite, (vx.real, vx.imag, vy.real, vy.imag))):
                continue
            if abs(vx - vy) > 1e-9 * max(1.0, abs(vx), abs(vy)):
                return False
            compared += 1
        return compared >= 3

    def _same_value(x, y, x_places: int | None = None, y_places: int | None = None) -> bool:
        """Numbers by numeric_policy (decimals only within tolerance); expressions symbolically."""
        if not isinstance(x, sympy.Expr) or not isinstance(y, sympy.Expr):
            return False
        x, y = x.doit(), y.doit()  # math-verify leaves products such as 1*5*2**2010 unevaluated
        # one symbol per name: math-verify's symbols carry assumptions, parse_expr's do not
        x, y = (v.xreplace({symbol: sympy.Symbol(symbol.name) for symbol in v.free_symbols}) for v in (x, y))
        if x.free_symbols or y.free_symbols:
            return sympy.simplify(x - y) == 0 or _numeric_identity(x, y)
        if any(v.has(sympy.oo, sympy.zoo, sympy.nan) for v in (x, y)):
            return x == y  # infinities: no arithmetic on them
        x_decimal, y_decimal = x.has(sympy.Float), y.has(sympy.Float)
        if not x_decimal and not y_decimal:
            if x == y:
                return True
            if x.is_rational and y.is_rational:
                return sympy.simplify(x - y) == 0  # exact, whatever the size (2^2023 + 1 is not 2^2023)
            if sympy.simplify(x - y) == 0:
                return True
            # equal radicals simplify cannot prove: equal to 60 digits
            diff = sympy.N(x - y, 60)
            scale = max(abs(sympy.N(x, 60)), abs(sympy.N(y, 60)), 1)
            return bool(diff.is_number and abs(diff) <= scale * sympy.Float("1e-50"))
        fx, fy = as_fraction(x), as_fraction(y)
        if fx is None or fy is None:
            return False
        # a decimal whose places the parent could not tell: treat it as precise as a double
        x_places = (15 if x_places is None else x_places) if x_decimal else None
        y_places = (15 if y_places is None else y_places) if y_decimal else None
        return values_equal(fx, fy, x_places, y_places)

    def leaf_equal(pred_side: dict, gold_side: dict) -> bool:
        pred, gold = parse_side(pred_side), parse_side(gold_side)
        if pred is None or gold is None:
            return False
        places = (pred_side.get("places"), gold_side.get("places"))
        if isinstance(pred, sympy.Expr) and isinstance(gold, sympy.Expr) and not pred.free_symbols and not gold.free_symbols:
            return _same_value(pred, gold, *places)  # numbers: the project's tolerance, not math-verify's rounding
        if verify is not None and verify(gold, pred, timeout_seconds=None):
            return True
        return _same_value(pred, gold, *places)

    # ------------------------------------------------------------------ the reference grader's symbolic_equal
    def unavailable(_text: str):
        raise ValueError("parser not installed")

    try:
        from latex2sympy2_extended import latex2sympy
    except ImportError:
        latex2sympy = unavailable
    try:  # sympy's LaTeX parser needs antlr4-python3-runtime 4.11 (pinned); without it, as the reference's own
        from sympy.parsing.latex import parse_latex  # fallback order goes: parse_expr, then latex2sympy
    except ImportError:
        parse_latex = unavailable

    def paper_parse_expr(text: str):
        if _UNSAFE_PY.search(text):
            raise ValueError("not an expression")
        return parse_expr(text)

    def paper_parse(text: str):
        # the reference tries each parser on the text with `\\` made `\`, then on the text as it is
        for parser in (parse_latex, paper_parse_expr, latex2sympy):
            for candidate in (text.replace("\\\\", "\\"), text):
                try:
                    return parser(candidate)
                except Exception:
                    pass
        return text

    def paper_numeric_equal(x: float, y: float) -> bool:
        return math.isclose(y, x, rel_tol=1e-4)

    def exact_floats(value):
        """Every Float as the exact binary fraction it holds: sympy 1.12 (the reference's pin) said
        Float(1.5) == Rational(3, 2) and Float(0.6) != Rational(3, 5); sympy 1.13+ says no to both."""
        value = sympy.sympify(value)  # parse_expr returns plain tuples for "(1.5, -13)"
        return value.xreplace({f: sympy.Rational(f) for f in value.atoms(sympy.Float)})

    def paper_symbolic_equal(a: str, b: str) -> bool:
        x, y = paper_parse(a), paper_parse(b)
        checks = (
            lambda: str(x) == str(y) or x == y,
            # 1.12 compared numbers by value at the top level and inside tuples, not inside sets and intervals
            lambda: all(isinstance(v, (tuple, sympy.Tuple, sympy.Number)) for v in (x, y))
            and exact_floats(x) == exact_floats(y),
            lambda: x.equals(y) or sympy.simplify(x - y) == 0,
            lambda: abs(x.lhs - x.rhs).equals(abs(y.lhs - y.rhs)),
            lambda: paper_numeric_equal(float(sympy.N(x)), float(sympy.N(y))),
            lambda: x.shape == y.shape
            and x.applyfunc(lambda v: round(v, 3)).equals(y.applyfunc(lambda v: round(v, 3))),
        )
        for check in checks:
            try:
                if check():
                    return True
            except Exception:
                pass
        return False

    # the first LaTeX parse of a process loads the antlr parsers (about a second): do it before "ready", so it is
    # start-up (not counted against a caller's deadline), not the first check's time
    try:
        leaf_equal({"latex": "\\frac{1}{2}", "places": None}, {"py": "1/2", "places": None})
        paper_symbolic_equal("\\frac{1}{2}", "x+1")
    except Exception:
        pass
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "leaf":
                result = bool(leaf_equal(request["p"], request["g"]))
            elif op == "paper":
                result = bool(paper_symbolic_equal(str(request["a"]), str(request["b"])))
            else:
                result = bool(legacy_equal(str(request["a"]), str(request["b"])))
        except Exception:
            result = False
        sys.stdout.write(json.dumps({"eq": result}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
