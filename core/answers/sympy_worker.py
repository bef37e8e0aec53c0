"""Symbolic equality worker: a separate process so a hanging simplification can be killed.

Protocol (one JSON object per line on stdin/stdout): request `{"a": str, "b": str}` with
two sympy-syntax expressions (already converted from LaTeX and sanitised by the parent,
see answers._to_sympy_syntax), answer `{"eq": bool}`. Prints `{"ready": true}` once
sympy is imported. Exits on EOF and (Linux) when the parent dies.

Run as a script (`python _sympy_worker.py`); it imports nothing from the package.
"""

from __future__ import annotations

import cmath
import json
import sys

# The only names an expression may use besides single-letter symbols: no builtins, no
# sympify/S with strings (the parent also rejects quotes, dots after letters and `__`).
ALLOWED_NAMES = (
    "sqrt", "pi", "oo", "E", "I", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos",
    "atan", "log", "exp", "Abs", "binomial", "factorial", "floor", "ceiling", "Eq",
    "Integer", "Float", "Rational", "Symbol", "Function",
)


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
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    transformations = standard_transformations + (implicit_multiplication_application, convert_xor)
    namespace = {name: getattr(sympy, name) for name in ALLOWED_NAMES}
    namespace["__builtins__"] = {}

    def parse(text: str):
        if "=" in text:
            left, _, right = text.partition("=")
            return parse_expr(left, global_dict=dict(namespace), transformations=transformations) - parse_expr(
                right, global_dict=dict(namespace), transformations=transformations
            ), True
        return parse_expr(text, global_dict=dict(namespace), transformations=transformations), False

    def numeric_close(x, y) -> bool:
        try:
            xv, yv = complex(sympy.N(x, 30)), complex(sympy.N(y, 30))
        except Exception:
            return False
        if not (cmath.isfinite(xv) and cmath.isfinite(yv)):  # a relative tolerance of inf accepts anything
            return xv == yv
        scale = max(abs(xv), abs(yv))
        return abs(xv - yv) <= 1e-4 * scale or abs(xv - yv) < 1e-12

    def equal(a: str, b: str) -> bool:
        x, x_eq = parse(a)
        y, y_eq = parse(b)
        if x_eq != y_eq:
            return False
        if not x_eq and not x.free_symbols and not y.free_symbols:
            return numeric_close(x, y)
        for diff in [x - y] + ([x + y] if x_eq else []):
            if sympy.simplify(diff) == 0:
                return True
        return False

    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            result = bool(equal(str(request["a"]), str(request["b"])))
        except Exception:
            result = False
        sys.stdout.write(json.dumps({"eq": result}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
