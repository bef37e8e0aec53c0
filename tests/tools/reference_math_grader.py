"""Runs the paper authors' own math grader on pairs (JSON lines on stdin -> one JSON decision per line on stdout).

Not project code: it imports the reference from ../shared/reference/agent-distillation and must run under a
throwaway interpreter that has the reference's dependencies, e.g.

    python3.11 -m venv /tmp/refgrader
    /tmp/refgrader/bin/pip install sympy==1.12 antlr4-python3-runtime==4.11.1 regex word2number \
        latex2sympy2_extended==1.11.0 --no-deps
    /tmp/refgrader/bin/python tests/tools/reference_math_grader.py < pairs.jsonl

Each input line: {"prediction": str, "gold": str}. An optional argument replaces the 1 s limit of the final check. The decision is the reference's `evaluate_math_answer`
(score_answers.py): `extract_answer` only when the prediction contains "boxed", then
`qwen_math_grader.math_equal(pred, gold, timeout=True)`.
latex2sympy2 from PyPI is generated for antlr 4.7.2 and cannot load beside sympy 1.12's antlr 4.11.1 (the
reference's pin); the Qwen2.5-Math setup the reference follows ships its own antlr-4.11 build of it, and
latex2sympy2_extended is that fork on PyPI, so it stands in under the name `latex2sympy2`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the main checkout (a worktree sits one level deeper); AGENTDISTILL_REFERENCE overrides
_CANDIDATES = [Path(os.environ["AGENTDISTILL_REFERENCE"])] if "AGENTDISTILL_REFERENCE" in os.environ else [
    base / "shared" / "reference" / "agent-distillation" for base in (_ROOT, _ROOT.parent, _ROOT.parent.parent)
]
REFERENCE = next((path for path in _CANDIDATES if path.is_dir()), _CANDIDATES[0])


def main() -> int:
    try:
        import latex2sympy2  # noqa: F401
    except Exception:
        import latex2sympy2_extended

        sys.modules["latex2sympy2"] = latex2sympy2_extended
    sys.path.insert(0, str(REFERENCE / "exps_research" / "unified_framework"))
    from math_utils import qwen_math_grader
    from math_utils.qwen_math_grader import math_equal, symbolic_equal
    from math_utils.qwen_math_parser import extract_answer

    # The reference forks a child per final symbolic check with a 1 s limit. A long grading run has parsed LaTeX in
    # the parent already, so its children start warm; a cold child spends most of that second loading the antlr
    # parser and times out on a loaded machine. Warm the parent once, as a long run would be.
    symbolic_equal("\\frac{1}{2}", "x+1")
    if len(sys.argv) > 1:  # optional: another limit for the final check, e.g. to see which decisions are time-bound
        qwen_math_grader.call_with_timeout.__kwdefaults__ = {"timeout": float(sys.argv[1])}

    for line in sys.stdin:
        row = json.loads(line)
        pred, gold = row["prediction"], str(row["gold"])
        try:
            answer = extract_answer(pred) if isinstance(pred, str) and "boxed" in pred else str(pred)
            decision = bool(math_equal(answer, gold, timeout=True))
        except Exception as error:  # the reference raises on some inputs; its caller then records no score
            answer, decision = f"<raised {type(error).__name__}>", False
        sys.stdout.write(json.dumps({"answer": answer, "eq": decision}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
