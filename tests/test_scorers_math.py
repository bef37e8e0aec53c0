"""Math answer extraction and equivalence on real golds of the shipped benchmarks."""

from __future__ import annotations

import asyncio
import json
import time
from functools import cache
from pathlib import Path

import pytest
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import CORRECT, INCORRECT, Target
from inspect_ai.solver import TaskState

from agentdistill.core.answers import extract_answer, math_equal, normalize_answer, strip_math
from agentdistill.tasks._core.scorers import math_scorer

TASKS = Path(__file__).resolve().parent.parent / "tasks"


@cache
def _golds(task: str) -> dict[str, str]:
    rows = [json.loads(line) for line in (TASKS / task / "data" / f"{task}.jsonl").read_text().splitlines()]
    prefix = {"math_1000_20250414.json": "hard-", "math_medium_1000_20250430.json": "medium-"}
    return {prefix.get(r["_source"], "") + str(r["id"]).strip(): str(r["answer"]) for r in rows}


def gold(task: str, sample_id: str) -> str:
    return _golds(task)[sample_id]


# (prediction, (task, id) of the real gold, expected gold text, expected decision)
CASES = [
    # tuples with pi, \left \right
    ("(3, \\frac{\\pi}{2})", ("math500", "0"), "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("(3, pi/2)", ("math500", "0"), "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("(3, \\pi)", ("math500", "0"), "\\left( 3, \\frac{\\pi}{2} \\right)", False),
    # symbolic
    ("-q + p", ("math500", "1"), "p - q", True),
    ("q - p", ("math500", "1"), "p - q", False),
    # degrees
    ("90", ("math500", "7"), "90^\\circ", True),
    ("90^{\\circ}", ("math500", "7"), "90^\\circ", True),
    ("\\frac{270}{7}", ("math500", "166"), "\\frac{270}7\\text{ degrees}", True),
    ("38.5714", ("math500", "166"), "\\frac{270}7\\text{ degrees}", True),
    # matrices and vectors, element-wise
    ("\\begin{pmatrix}-\\frac13\\\\ \\frac23\\\\ \\frac53\\end{pmatrix}", ("math500", "99"),
     "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True),
    ("(-1/3, 2/3, 5/3)", ("math500", "99"), "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True),
    ("(-1/3, 5/3, 2/3)", ("math500", "99"), "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", False),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", ("math500", "248"),
     "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", True),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & 1 \\end{pmatrix}", ("math500", "248"),
     "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", False),
    # intervals: openness matters
    ("(3, 4]", ("math500", "103"), "(3,4]", True),
    ("(3, 4)", ("math500", "103"), "(3,4]", False),
    ("(0.6, 8/3]", ("math500", "293"), "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", True),
    ("[-2, 7]", ("math500", "383"), "x \\in [-2,7]", True),
    ("(-\\infty, -8] \\cup [8, \\infty)", ("math_train", "hard-0"), "(-\\infty,-8]\\cup [8,\\infty)", True),
    ("(-\\infty, -8) \\cup (8, \\infty)", ("math_train", "hard-0"), "(-\\infty,-8]\\cup [8,\\infty)", False),
    # unordered solution lists
    ("-2, 1", ("math500", "25"), "1,-2", True),
    ("1", ("math500", "25"), "1,-2", False),
    # thousands separators, dollars
    ("10080", ("math500", "198"), "10,\\!080", True),
    ("32348", ("math500", "242"), "\\$32,\\!348", True),
    ("\\$32,348.00", ("math500", "242"), "\\$32,\\!348", True),
    # text answers and multiple choice
    ("Evelyn", ("math500", "4"), "\\text{Evelyn}", True),
    ("(C)", ("math500", "227"), "\\text{(C)}", True),
    ("D", ("math500", "227"), "\\text{(C)}", False),
    # radicals
    ("\\sqrt{242}", ("math500", "31"), "11\\sqrt2", True),
    ("15.5563", ("math500", "31"), "11\\sqrt2", True),
    ("\\dfrac{3\\sqrt3}{4}", ("math500", "73"), "\\frac{3\\sqrt{3}}{4}", True),
    ("-14+4\\sqrt{15}", ("olymmath", "1"), "4\\sqrt{15}-14", True),
    ("pi - acos(1/8)", ("olymmath", "5"), "\\pi -\\arccos \\frac{1}{8}", True),
    ("131072", ("olymmath", "9"), "2^{17}", True),
    ("[-1/8, 1/8]", ("olymmath", "8"), "\\left[ -\\frac{1}{8}, \\frac{1}{8} \\right]", True),
    # percent: x100 forms accepted only when a percent sign is involved
    ("237.5", ("math_train", "hard-310"), "237.5\\%", True),
    ("2.375", ("math_train", "hard-310"), "237.5\\%", True),
    ("10%", ("math_train", "medium-3"), "10\\%", True),
    ("0.1", ("math_train", "medium-3"), "10\\%", True),
    # GSM-Hard float golds, numeric with relative tolerance 1e-4
    ("13138980", ("gsm_hard", "1309"), "13138980.0", True),
    ("13,138,980", ("gsm_hard", "1309"), "13138980.0", True),
    ("13150000", ("gsm_hard", "1309"), "13138980.0", False),
    # the tolerance never makes two different integers equal (the paper's checker would accept this rounding)
    ("13140000", ("gsm_hard", "1309"), "13138980.0", False),
    ("561161.7", ("gsm_hard", "457"), "561161.7000000001", True),
    ("-7020321", ("gsm_hard", "178"), "-7020321.0", True),
    ("7020321", ("gsm_hard", "178"), "-7020321.0", False),
    ("0.0000446752", ("gsm_hard", "569"), "4.46752e-05", True),
    # AIME integers
    ("116", ("aime", "0"), "116", True),
    ("x = 116", ("aime", "0"), "116", True),
    ("117", ("aime", "0"), "116", False),
]


@pytest.mark.parametrize("pred,where,gold_text,expected", CASES)
def test_math_equal_on_real_golds(pred, where, gold_text, expected):
    assert gold(*where) == gold_text  # the case uses the real gold of that item
    assert math_equal(pred, gold_text) is expected


def test_percent_forms_need_a_percent_sign():
    # Qwen2.5-Math's checker would say 1 == 100 (x100 form); we do not
    assert math_equal("1", "100") is False
    assert math_equal("100", "1") is False
    assert math_equal("50\\%", "0.5") is True


BOXED = [
    ("We get $\\boxed{\\frac{3\\sqrt{3}}{4}}$.", "\\frac{3\\sqrt{3}}{4}"),
    ("first \\boxed{1} then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("nested \\boxed{\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}} done", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}"),
    ("so \\fbox{116}", "116"),
    ("\\boxed 5", "5"),
    ("<answer>\\boxed{13138980}</answer>", "13138980"),
    ("The reasoning...\n<answer>p - q</answer>", "p - q"),
    ("Hence the answer is $90^\\circ$.", "90^\\circ"),
    ("3 apples plus 4 gives 7 apples", "7"),
    ("It costs $1,234.50 in total", "1234.50"),
    ("<answer>42", "42"),  # cut at the </answer> stop sequence
]


@pytest.mark.parametrize("text,expected", BOXED)
def test_extract_answer_math(text, expected):
    assert extract_answer(text, "math") == expected


def test_unclosed_boxed_is_not_an_answer():
    assert extract_answer("so \\boxed{\\frac{1}{2}", "math") == "2"  # falls back to the last number
    assert extract_answer("no digits at all \\boxed{x", "math") is None


GARBAGE = [None, "", "   ", "}{", "\\boxed{", "\\frac{", "((((", "]]", "\\begin{pmatrix}", "x=", "=",
           "__import__('os').system('echo hi')", "1/0", "0/0", "\\sqrt{}", "nan", "inf", "-", "\x00\x01",
           "a" * 5000, "1" * 5000, "\\frac{1}{0}", "{{}}", "[1,", "(1,2", "\\text{", "∞", "1e999999"]


@pytest.mark.parametrize("junk", GARBAGE)
def test_garbage_never_raises(junk):
    assert math_equal(junk, "5") in (True, False)
    assert math_equal("5", junk) in (True, False)
    assert math_equal(junk, junk) in (True, False)
    extract_answer(junk, "math")
    extract_answer(junk, "factual")
    assert isinstance(normalize_answer(junk, "math"), str)
    assert isinstance(normalize_answer(junk, "factual"), str)


def test_code_injection_is_not_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    assert math_equal(f"open('{marker}', 'w')", "x") is False
    assert math_equal(f"__import__('pathlib').Path('{marker}').touch()", "1") is False
    assert not marker.exists()


def test_hanging_sympy_expression_is_bounded():
    start = time.monotonic()
    assert math_equal("x^{10^{10^{10}}}", "y^{2}", timeout_s=1.5) is False
    assert time.monotonic() - start < 1.5 + 10  # the bound plus worker start-up; never hangs
    # the killed worker is replaced: symbolic checks still work afterwards
    assert math_equal("x^2+2x+1", "(x+1)^2") is True


def test_normalize_answer_voting_keys():
    assert normalize_answer("\\frac{1}{2}", "math") == normalize_answer("0.5", "math") == "1/2"
    assert normalize_answer("13138980.0", "math") == normalize_answer("\\boxed{13,138,980}", "math")
    assert normalize_answer("x = 116", "math") == "116"
    assert normalize_answer("(1, \\frac{1}{2})", "math") == normalize_answer("\\left(1,0.5\\right)", "math")
    assert normalize_answer("90^\\circ", "math") == "90"
    assert normalize_answer("2, -1", "math") == normalize_answer("-1,2", "math")
    assert normalize_answer("(2, -1)", "math") != normalize_answer("(-1, 2)", "math")  # tuples keep order
    assert normalize_answer("116", "math") != normalize_answer("117", "math")
    assert strip_math("\\$32,\\!348")[0] == "32,348"


def _state(completion: str, metadata: dict | None = None) -> TaskState:
    return TaskState(
        model="scripted/test", sample_id="1", epoch=1, input="q", messages=[],
        output=ModelOutput.from_content("scripted/test", completion), metadata=metadata or {},
    )


def test_math_scorer_uses_final_answer_then_extraction():
    score = math_scorer()
    by_final = asyncio.run(score(_state("\\boxed{7}", {"final_answer": "13138980"}), Target("13138980.0")))
    assert by_final.value == CORRECT and by_final.metadata["answer_source"] == "final_answer"
    by_text = asyncio.run(score(_state("so \\boxed{\\frac{270}{7}}"), Target("\\frac{270}7\\text{ degrees}")))
    assert by_text.value == CORRECT and by_text.metadata["answer_source"] == "extracted"
    assert by_text.metadata["decided_by"] == "math_equal"
    wrong = asyncio.run(score(_state("I give up"), Target("116")))
    assert wrong.value == INCORRECT and wrong.answer is None
    # several golds (the fixed multiple-choice items): any one counts
    multi = asyncio.run(score(_state("\\boxed{0}"), Target(["(A)", "0"])))
    assert multi.value == CORRECT


def test_a_sympy_worker_killed_while_idle_is_replaced():
    # a worker killed from outside between two checks must not turn a true equality into False
    from agentdistill.core.answers import math_equal, sympy_pool

    pred, gold_text = "(3, pi/2)", r"\left( 3, \frac{\pi}{2} \right)"
    assert math_equal(pred, gold_text)
    for worker in list(sympy_pool._POOL._idle):
        worker.proc.kill()
        worker.proc.wait()
    assert math_equal(pred, gold_text)


def test_infinity_is_not_rewritten_twice():
    # "infinity" once became "\\inftyty" (the "inf" inside the inserted "\\infty" matched again)
    from agentdistill.core.answers import math_equal

    assert math_equal("infinity", r"\infty")
    assert math_equal("-infinity", r"-\infty")
    assert math_equal("inf", r"\infty")
    assert not math_equal("infinity", "0")
