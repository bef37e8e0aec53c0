"""`paper_accuracy`: the paper's math grading decisions, written afresh (issue 12, deliverable 3).

The reference scores a math run with `score_answers.evaluate_math_answer`: when the model's answer contains
"boxed" it is extracted (`paper_extract_answer`), otherwise it is used as it is; then Qwen2.5-Math's `math_equal`
(`math_utils/qwen_math_grader.py`) compares it with the raw gold. That comparison, decision by decision:
1. equal after `strip().lower()`; a gold that is a letter A-E against the prediction's last standalone letter;
2. both numbers (commas dropped, `float()`, a trailing `%` divides by 100): equal within relative 1e-4 to the gold,
   the gold / 100 or the gold x 100, so "1" equals "100" (this decides, nothing else is tried);
3. empty prediction: False; a prediction with `pmatrix` turns `{a,b}` groups in the gold into pmatrices;
4. equal once `\\left`, `\\right`, `\\text`, braces, parentheses (outer brackets when the other side opens with a
   compatible one) and spaces are dropped;
5. both open with a bracket: the comma-separated parts pairwise (recursively, from step 1);
6. both pmatrix/bmatrix: the rows and cells pairwise;
7. one `=` on each side: `lhs - (rhs)` symbolically equal, either sign; one `=` in the prediction after at most two
   characters (`x=`): its right side against the gold (recursively); the same for the gold;
8. symbolic equality (sympy's LaTeX parser, then `parse_expr`, then latex2sympy; equal strings, `equals`,
   `simplify`, equations up to sign, numeric values within 1e-4, matrices rounded to 3 places) with a 1 second
   limit at the top level (a check that runs out is False, as in the reference).
Deliberate differences: every symbolic check (the reference bounds only the last) runs in the worker pool, so the
whole comparison stops at `timeout_s` and never raises; `parse_expr` is not given text that looks like code (the
reference evaluates model output with it).
"""

from __future__ import annotations

import math
import re
import time

from agentdistill.core.answers.paper_parser import paper_extract_answer
from agentdistill.core.answers.sympy_pool import worker_equal

# the reference's call_with_timeout default for its final symbolic check
TOP_LEVEL_SYMBOLIC_S = 1.0
_CHOICES = ("A", "B", "C", "D", "E")


class _OutOfTime(Exception):
    pass


def paper_extract(completion: object, cot: bool = False) -> str:
    """The answer the reference grades for one model output.

    Agent runs (`cot=False`): the final answer is extracted only when it contains "boxed", else kept whole.
    CoT runs (`cot=True`): the `<answer>` tag content (else the whole text); a single-paragraph answer is wrapped
    the way the reference wraps it (a literal backspace + "oxed{...}", since its "\\boxed" is not a raw string) and
    extracted, a longer one extracted as it is; the result then goes through the agent rule above.
    """
    try:
        text = completion if isinstance(completion, str) else str(completion)
        if cot:
            tag = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
            answer = tag.group(1).strip() if tag else text
            if "\boxed" not in answer and len(answer.split("\n\n")) == 1:
                answer = "\boxed{" + answer + "}"
            text = paper_extract_answer(answer)
        return paper_extract_answer(text) if "boxed" in text else text
    except Exception:
        return ""


def _choice_clean(pred: str) -> str:
    pred = pred.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = re.findall(r"\b(A|B|C|D|E)\b", pred.upper())
    pred = letters[-1] if letters else pred.strip().strip(".")
    return pred.rstrip(".").rstrip("/")


def _number(text: str) -> float | None:
    text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        pass
    if text.endswith("%"):
        text = text[:-1]
        if text.endswith("\\"):
            text = text[:-1]
        try:
            return float(text) / 100
        except ValueError:
            pass
    return None


def _close(pred: float, ref: float) -> bool:
    try:
        return math.isclose(ref, pred, rel_tol=1e-4)
    except Exception:
        return False


def _gold_as_pmatrix(reference: str) -> str:
    groups = re.findall(r"\{.*,.*\}", reference.strip())
    return ", ".join(
        "\\begin{pmatrix}" + group.strip("{}").replace(",", "\\") + "\\end{pmatrix}" for group in groups
    )


_MATRIX_OPEN = ("\\begin{pmatrix}", "\\begin{bmatrix}")
_MATRIX_CLOSE = ("\\end{pmatrix}", "\\end{bmatrix}")


def _matrix_rows(matrix: str) -> list[str]:
    inner = matrix[len("\\begin{pmatrix}") : -len("\\end{pmatrix}")]
    return [line.strip() for line in inner.split("\\\\") if line.strip()]


def _symbolic(a: str, b: str, deadline: float, limit_s: float | None = None) -> bool:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _OutOfTime
    return worker_equal({"op": "paper", "a": a, "b": b}, min(remaining, limit_s) if limit_s else remaining)


def _equal(prediction: str, reference: str, deadline: float, top: bool) -> bool:
    if prediction.strip().lower() == reference.strip().lower():
        return True
    if reference in _CHOICES and _choice_clean(prediction) == reference:
        return True
    pred_number, ref_number = _number(prediction), _number(reference)
    if pred_number is not None and ref_number is not None:
        return any(_close(pred_number, ref) for ref in (ref_number / 100, ref_number, ref_number * 100))
    if not prediction:
        return False

    reference, prediction = reference.strip(), prediction.strip()
    if "pmatrix" in prediction and "pmatrix" not in reference:
        reference = _gold_as_pmatrix(reference)

    pred_str, ref_str = prediction, reference
    for command in ("\\left", "\\right", "\\text"):
        pred_str, ref_str = pred_str.replace(command, ""), ref_str.replace(command, "")
    if (prediction.startswith("[") and prediction.endswith("]") and not reference.startswith("(")) or (
        prediction.startswith("(") and prediction.endswith(")") and not reference.startswith("[")
    ):
        pred_str, ref_str = pred_str.strip("[]()"), ref_str.strip("[]()")
    for char in "{}()":
        pred_str, ref_str = pred_str.replace(char, ""), ref_str.replace(char, "")
    if "".join(pred_str.split(" ")).lower() == "".join(ref_str.split(" ")).lower():
        return True

    bracketed = re.compile(r"(\(|\[).+(\)|\])")
    if bracketed.match(prediction) and bracketed.match(reference):
        pred_parts, ref_parts = prediction[1:-1].split(","), reference[1:-1].split(",")
        if len(pred_parts) == len(ref_parts) and all(
            _equal(p, r, deadline, False) for p, r in zip(pred_parts, ref_parts)
        ):
            return True

    if (prediction.startswith(_MATRIX_OPEN) and prediction.endswith(_MATRIX_CLOSE)
            and reference.startswith(_MATRIX_OPEN) and reference.endswith(_MATRIX_CLOSE)):
        pred_rows, ref_rows = _matrix_rows(prediction), _matrix_rows(reference)
        if len(pred_rows) == len(ref_rows) and all(
            len(p.split("&")) == len(r.split("&"))
            and all(_equal(pc, rc, deadline, False) for pc, rc in zip(p.split("&"), r.split("&")))
            for p, r in zip(pred_rows, ref_rows)
        ):
            return True

    if prediction.count("=") == 1 and reference.count("=") == 1:
        pl, pr = prediction.split("=")
        rl, rr = reference.split("=")
        pred_diff, ref_diff = f"{pl.strip()} - ({pr.strip()})", f"{rl.strip()} - ({rr.strip()})"
        if _symbolic(pred_diff, ref_diff, deadline) or _symbolic(f"-({pred_diff})", ref_diff, deadline):
            return True
    elif prediction.count("=") == 1 and len(prediction.split("=")[0].strip()) <= 2 and "=" not in reference:
        if _equal(prediction.split("=")[1], reference, deadline, False):
            return True
    elif reference.count("=") == 1 and len(reference.split("=")[0].strip()) <= 2 and "=" not in prediction:
        if _equal(prediction, reference.split("=")[1], deadline, False):
            return True

    return _symbolic(prediction, reference, deadline, TOP_LEVEL_SYMBOLIC_S if top else None)


def paper_math_equal(pred: object, gold: object, timeout_s: float = 10.0) -> bool:
    """The reference grader's decision on an extracted prediction against the raw gold. Never raises; stops (False)
    at timeout_s."""
    try:
        if pred is None or gold is None:
            return False
        return _equal(str(pred), str(gold), time.monotonic() + float(timeout_s), True)
    except Exception:
        return False


def paper_score(completion: object, gold: object, cot: bool = False, timeout_s: float = 10.0) -> bool:
    """`paper_extract` then `paper_math_equal`: the reference's math score for one sample."""
    return paper_math_equal(paper_extract(completion, cot=cot), gold, timeout_s=timeout_s)
