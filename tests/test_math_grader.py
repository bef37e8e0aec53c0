"""The math grader against hand labels, one test per policy row (tasks/README.md, "Math grading policy"), and the
paper grader against decisions taken from the reference grader itself (tests/tools/reference_math_grader.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agentdistill.core.answers import extract_answer, math_equal
from agentdistill.core.answers.numeric_policy import decimal_places, values_equal
from agentdistill.core.answers.paper_grader import paper_extract, paper_math_equal, paper_score
from agentdistill.core.answers.paper_parser import paper_extract_answer

HERE = Path(__file__).resolve().parent
PAIRS = [json.loads(line) for line in (HERE / "data" / "math_pairs.jsonl").read_text().splitlines() if line.strip()]
GOLDENS = HERE / "goldens" / "reference_math_grader_pairs.jsonl"


def _project(row: dict) -> bool:
    pred = extract_answer(row["prediction"], "math") if row.get("completion") else row["prediction"]
    return math_equal(pred, row["gold"])


def test_pair_set_zero_false_accepts_and_agreement():
    decisions = [_project(row) for row in PAIRS]
    false_accepts = [r for r, d in zip(PAIRS, decisions) if d and not r["label"]]
    agreement = sum(d == r["label"] for r, d in zip(PAIRS, decisions)) / len(PAIRS)
    assert not false_accepts, [(r["prediction"], r["gold"], r["reason"]) for r in false_accepts]
    assert agreement >= 0.98, [(r["prediction"], r["gold"]) for r, d in zip(PAIRS, decisions) if d != r["label"]]


def test_pair_set_is_real_and_covers_every_kind():
    golds: dict[tuple[str, str], set[str]] = {}
    for task in {row["task"] for row in PAIRS}:
        for line in (HERE.parent / "tasks" / task / "data" / f"{task}.jsonl").read_text().splitlines():
            golds.setdefault((task, str(json.loads(line)["answer"])), set())
    assert all((row["task"], row["gold"]) in golds for row in PAIRS)
    kinds = {row["kind"] for row in PAIRS}
    assert {"mixed_number", "thousands_separator", "currency", "integer_tolerance", "float_gold", "percent",
            "interval_inequality", "union", "set_unordered", "pm_roots", "base_subscript", "unbraced_exponent",
            "cdot_times", "units", "trig_identity", "factored_form", "extraction"} <= kinds
    assert all(row["reason"] for row in PAIRS) and len(PAIRS) >= 300
    assert sum(not row["label"] for row in PAIRS) >= 200  # near-misses that must be rejected


# one row per policy line: (prediction, gold, decision)
POLICY = {
    "integers are exact": [("32348", "32,348", True), ("32347", "32,348", False), ("13138980", "13138980.0", True),
                           ("13140000", "13138980.0", False), ("13138980.4", "13138980.0", False)],
    "float golds": [("561161.7", "561161.7000000001", True), ("561162", "561161.7000000001", False),
                    ("5031.98", "5031.9785714286", True), ("5031.97", "5031.9785714286", False),
                    ("\\frac{7}{3}", "2.3333333333333335", True), ("19827120.5", "19827119.5", False)],
    "decimals for exact values": [("38.5714", "\\frac{270}{7}", True), ("3.14159", "\\pi", True), ("3.14", "\\pi", False)],
    "percent": [("10", "10\\%", True), ("0.1", "10\\%", True), ("10\\%", "0.1", True), ("1000", "10\\%", False),
                ("1", "100", False), ("0.78", "78", False)],
    "units": [("864", "864 \\mbox{ inches}^2", True), ("864^2", "864 \\mbox{ inches}^2", False),
              ("4319", "4319 \\text{ dollars}", True), ("7", "7\\text{ hours}.", True)],
    "degrees": [("90", "90^\\circ", True), ("2-\\sqrt{3}", "\\tan 15^\\circ", True), ("\\sqrt{3}", "\\tan 15^\\circ", False)],
    "thousands separators": [("10080", "10{,}080", True), ("10080", "10,\\!080", True), ("10081", "10,\\!080", False),
                             ("45,135,225,315", "45^\\circ, 135^\\circ, 225^\\circ, 315^\\circ", True)],
    "mixed numbers": [("\\frac{14}{3}", "4\\frac{2}{3}", True), ("137.5", "137 \\frac{1}{2}", True),
                      ("68.5", "137 \\frac{1}{2}", False), ("4 2/3", "\\frac{14}{3}", True)],
    "intervals vs inequalities": [("3 < x \\le 4", "(3,4]", True), ("3 \\le x \\le 4", "(3,4]", False),
                                  ("-2 \\le x \\le 7", "x \\in [-2,7]", True), ("x > 2", "(2,\\infty)", True)],
    "unions": [("x<2 \\text{ or } x>3", "(-\\infty, 2) \\cup (3, \\infty)", True),
               ("(3,\\infty)\\cup(-\\infty,2)", "(-\\infty, 2) \\cup (3, \\infty)", True),
               ("(-\\infty,2]\\cup[3,\\infty)", "(-\\infty, 2) \\cup (3, \\infty)", False)],
    "sets and lists": [("-2,1", "1,-2", True), ("\\{1,-2\\}", "1,-2", True), ("1", "1,-2", False),
                       ("1,-2,3", "1,-2", False)],
    "plus-minus": [("1+\\sqrt{19}, 1-\\sqrt{19}", "1 \\pm \\sqrt{19}", True), ("1+\\sqrt{19}", "1 \\pm \\sqrt{19}", False)],
    "tuples and matrices": [("(1,-2)", "(-2,1)", False), ("(-1/3, 2/3, 5/3)", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True)],
    "base subscripts": [("52_{8}", "52_8", True), ("52", "52_8", True), ("42", "52_8", False)],
    "exponents and products": [("2^{2023}", "2^2023", True), ("2^{2022}", "2^2023", False),
                               ("4\\cdot 3^{2010}-5\\cdot 2^{2010}+1", "4\\times 3^{2010}-5\\times 2^{2010}+1", True),
                               ("4 \\times 3^{2010} - 5 \\times 2^{2010} - 1", "4\\times 3^{2010}-5\\times 2^{2010}+1", False)],
    "text and choices": [("evelyn", "\\text{Evelyn}", True), ("Emily", "\\text{Evelyn}", False), ("C", "\\text{(C)}", True),
                         ("D", "\\text{(C)}", False)],
    "prefixes": [("x = 116", "116", True), ("\\boxed{116}", "116", True)],
    "expressions": [("(x-1)(x^4+x^2+1)", "x^5 - x^4 + x^3 - x^2 + x - 1", True), ("\\frac{1}{\\tan x}", "\\cot x", True),
                    ("x", "|x|", False), ("q-p", "p - q", False)],
}


@pytest.mark.parametrize("row,pred,gold,expected", [(row, *case) for row, cases in POLICY.items() for case in cases])
def test_policy_row(row, pred, gold, expected):
    assert math_equal(pred, gold) is expected, row


def test_numeric_policy_directly():
    from fractions import Fraction

    assert decimal_places("4.46752e-05") == 10 and decimal_places("1.50") == 2 and decimal_places("12") is None
    assert not values_equal(Fraction(32347), Fraction(32348), None, None)
    assert not values_equal(Fraction(13140000), Fraction("13138980.0"), None, 1)  # never two different integers
    assert values_equal(Fraction("13138980.000000002"), Fraction(13138980), 9, None)  # float artefact


def test_minerva_final_answer_line_is_extracted():
    text = "So it is 3/4.\nFinal Answer: The final answer is $\\frac{3}{4}$. I hope it is correct."
    assert extract_answer(text, "math") == "\\frac{3}{4}"
    assert extract_answer("The final answer is 5. I hope it is correct.", "math") == "5"


def test_symbolic_time_is_bounded_and_never_raises():
    start = time.monotonic()
    assert math_equal("x^{10^{10^{10}}}+1", "x^{10^{10^{10}}}", timeout_s=1.0) is False
    assert time.monotonic() - start < 1.0 + 10  # the bound plus a worker start-up
    assert math_equal("\\frac{\\cos x}{\\sin x}", "\\cot x") is True  # the pool recovered
    assert paper_math_equal("\\frac{", "\\sqrt{") in (True, False)


# ------------------------------------------------------------------ paper grader: the reference's own decisions
# (prediction, gold, decision of qwen_math_grader.math_equal(pred, gold, timeout=True), run with
# tests/tools/reference_math_grader.py)
REFERENCE_DECISIONS = [
    ("1", "100\\%", True), ("1", "100", True), ("100", "1", True), ("0.1", "10", True),  # x100 forms always
    ("32347", "\\$32,\\!348", True), ("13140000", "13138980.0", True), ("561162", "561161.7000000001", True),  # 1e-4
    ("1", "2\\frac{1}{2}", True), ("9/5", "1\\frac{4}{5}", False),  # a mixed number is a product
    ("Evelyn", "\\text{Evelyn}", True), ("C", "C", True), ("(C)", "\\text{(C)}", True), ("D", "C", False),
    ("(3,4)", "(3,4]", True), ("[3,4]", "(3,4]", True), ("3 < x \\le 4", "(3,4]", False),  # brackets stripped
    ("-2,1", "1,-2", False), ("x=5", "5", True), ("116", "116", True), ("117", "116", False), ("", "5", False),
    ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True), ("2-\\sqrt{3}", "\\tan 15^\\circ", False),
    ("(6,-1,31)", "(6,31,-1)", False), ("52", "52_8", False), ("42", "52_8", False),
]


@pytest.mark.parametrize("pred,gold,expected", REFERENCE_DECISIONS)
def test_paper_math_equal_decides_as_the_reference(pred, gold, expected):
    assert paper_math_equal(pred, gold) is expected


# (completion, reference extract_answer) from the reference's qwen_math_parser
REFERENCE_EXTRACTIONS = [
    ("The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
    ("so \\boxed{10,\\!080} dollars", "10,080"), ("\\boxed{5 \\text{ cm}}", "5"),
    ("\\boxed{\\frac{a}{b}}", "\\frac{}{b}"),  # the unit list deletes a lone "a"
    ("\\boxed{x=3}", "3"), ("\\boxed{two}", "2"), ("\\boxed{0.50}", "0.50"), ("\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}"),
    ("the answer is 7 apples.", "7"), ("\\boxed{3/4}", "\\frac{3}{4}"), ("\\boxed{\\{1,2\\}}", "{1,2}"),
    ("Result: 12 and 13", "13"), ("\\boxed{\\text{Evelyn}}", "Evelyn"), ("\\boxed{j+1}", "i+1"),
]


@pytest.mark.parametrize("completion,expected", REFERENCE_EXTRACTIONS)
def test_paper_extract_answer_as_the_reference(completion, expected):
    assert paper_extract_answer(completion) == expected


def test_paper_extract_is_boxed_only_for_agent_answers():
    assert paper_extract("no box here: 42") == "no box here: 42"  # used as it is, as score_answers does
    assert paper_extract("it is \\boxed{42}.") == "42"
    assert paper_extract(42) == "42"
    # CoT: the <answer> content, wrapped and extracted the way reasoning.py does it
    assert paper_extract("think...\n<answer>x = 3</answer>", cot=True) == "3"
    assert paper_score("so \\boxed{100}", "1") is True  # the x100 quirk, end to end
    assert paper_score("so \\boxed{117}", "116") is False


def test_paper_grader_matches_reference_goldens():
    """Decisions of the reference grader itself on the pair set (tests/goldens/, written by
    `tests/tools/reference_math_grader.py 10 < tests/data/math_pairs.jsonl`: the final check's 1 s limit raised to
    10 s, so that this machine's load does not flip time-bound checks; with 1 s, one pair, the interval
    `[\\pi^2/8, 5\\pi^2/4]`, flips between runs): the rewrite must decide the same on all but the documented pairs."""
    goldens = [json.loads(line) for line in GOLDENS.read_text().splitlines() if line.strip()]
    mismatches = [
        (row["prediction"], row["gold"], row["eq"]) for row in goldens
        if paper_math_equal(paper_extract(row["prediction"]), row["gold"]) != row["eq"]
    ]
    assert len(mismatches) <= KNOWN_PARITY_GAPS, mismatches


# pairs allowed to differ from the reference (none today; sympy 1.14 vs the reference's 1.12 could add some: the
# worker emulates 1.12's Float == Rational for numbers and tuples)
KNOWN_PARITY_GAPS = 0
