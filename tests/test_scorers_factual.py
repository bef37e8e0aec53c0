"""Factual scoring on real HotpotQA / Bamboogle / MuSiQue golds: EM, F1, cover-EM and the judge."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.model._model import init_model_roles
from inspect_ai.scorer import Target
from inspect_ai.solver import TaskState, generate

from agentdistill.core.answers import cover_em, exact_match, extract_answer, normalize_answer, token_f1
from agentdistill.tasks._core.data import load_samples
from agentdistill.tasks._core.scorers import PAPER_JUDGE_MODEL, factual_scorer, parse_judge_reply

from fake_chat_server import fake_chat_server

TASKS = Path(__file__).resolve().parent.parent / "tasks"


def gold(task: str, sample_id: str) -> str:
    for line in (TASKS / task / "data" / f"{task}.jsonl").read_text().splitlines():
        row = json.loads(line)
        if str(row["id"]).strip() == sample_id:
            return row["answer"]
    raise KeyError(sample_id)


# real golds
MADISON = ("bamboogle", "0", "james madison")
WORMS = ("bamboogle", "9", "The Formation of Vegetable Mould Through the Action of Worms")
SPEED = ("bamboogle", "34", "320 km/h")
LARNELLE = ("hotpotqa", "5a774e9c55429972597f14f3", "Larnelle Harris")


@pytest.mark.parametrize("where", [MADISON, WORMS, SPEED, LARNELLE])
def test_golds_are_real(where):
    task, sample_id, text = where
    assert gold(task, sample_id) == text


def test_exact_match_is_squad_normalised():
    assert exact_match("James Madison", MADISON[2]) == 1.0
    assert exact_match("James Madison.", MADISON[2]) == 1.0
    assert exact_match("the formation of vegetable mould through the action of worms", WORMS[2]) == 1.0
    assert exact_match("James Monroe", MADISON[2]) == 0.0
    assert exact_match("320 km / h", SPEED[2]) == 0.0  # "km/h" loses its slash, "km / h" keeps a space
    assert exact_match("320 kmh", SPEED[2]) == 1.0
    assert exact_match(None, MADISON[2]) == 0.0


def test_yes_no_golds():
    yes_no = [s for s in load_samples("hotpotqa") if s.target in ("yes", "no")]
    assert len(yes_no) > 10
    sample = yes_no[0]
    other = "no" if sample.target == "yes" else "yes"
    assert exact_match(sample.target.capitalize() + ".", sample.target) == 1.0
    assert token_f1(other, sample.target) == 0.0
    # a yes/no gold is not covered by an answer that merely contains the word
    assert token_f1(f"{sample.target} and {other}", sample.target) == 0.0
    assert cover_em(f"{sample.target}, definitely", sample.target) == 1.0


def test_token_f1_and_cover_em():
    assert token_f1("Larnelle Harris", LARNELLE[2]) == 1.0
    assert token_f1("Harris", LARNELLE[2]) == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    # the gold has 8 tokens once its two "the" are dropped: precision 1, recall 2/8
    assert token_f1("Vegetable Mould", WORMS[2]) == pytest.approx(2 * 1.0 * (2 / 8) / (1 + 2 / 8))
    assert cover_em("It was President James Madison, the fourth president.", MADISON[2]) == 1.0
    assert cover_em("Madison", MADISON[2]) == 0.0
    assert cover_em("Harrisburg", "Harris") == 0.0  # whole tokens only


def test_aliases_any_counts():
    aliases = ["New York City", "NYC", "New York"]
    assert exact_match("nyc", aliases) == 1.0
    assert token_f1("New York", aliases) == 1.0
    assert cover_em("It is in New York.", aliases) == 1.0
    assert exact_match("Boston", aliases) == 0.0


def test_extract_answer_factual():
    assert extract_answer("Citibank: 1812, president Madison.\n<answer>James Madison</answer>", "factual") == "James Madison"
    assert extract_answer("<answer> yes", "factual") == "yes"
    assert extract_answer("Thought...\nFinal answer: Titan IIIE.", "factual") == "Titan IIIE"
    assert extract_answer("Some reasoning.\nLarnelle Harris", "factual") == "Larnelle Harris"
    assert extract_answer("", "factual") is None
    assert normalize_answer("The Beatles!", "factual") == normalize_answer("beatles", "factual")


# replies in the shape judges give without structured output (the reference's JSON answer, loosely wrapped);
# tests/test_reference_parity_cot.py checks the decisions on the reference goldens' replies
JUDGE_REPLIES = [
    ('{"explanation": "The prediction names James Madison, the same person.", "score": 1}', 1),
    ('{"explanation": "James Monroe is a different president.", "score": 0}', 0),
    ('Here is my evaluation:\n{"explanation": "Same rocket.", "score": 1}', 1),
    ('```json\n{"score": 0, "explanation": "Hedges between two people."}\n```', 0),
    ('{"score": "0", "explanation": "A string score."}', 0),
    ('{"score": 1}', 1),  # no explanation: the score still counts
    ('{"explanation": "Says 2.", "score": 2}', None),
    ('{"explanation": "A boolean.", "score": true}', None),
    ('{"explanation": "No score at all."}', None),
    ("Correct. VERDICT: 1", None),  # no JSON: a failure, never a guess
    ("", None),
]


@pytest.mark.parametrize("reply,verdict", JUDGE_REPLIES)
def test_parse_judge_reply(reply, verdict):
    parsed = parse_judge_reply(reply)
    assert parsed.score == verdict
    assert (parsed.failure is None) == (verdict is not None)


def _state(completion: str, question: str = "Who was president when Citibank was founded?") -> TaskState:
    return TaskState(
        model="scripted/under-test", sample_id="0", epoch=1, input=question, messages=[],
        output=ModelOutput.from_content("scripted/under-test", completion), metadata={},
    )


def test_judge_off_says_so(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    init_model_roles({})
    score = asyncio.run(factual_scorer()(_state("<answer>James Madison</answer>"), Target(MADISON[2])))
    assert math.isnan(score.value["judge"])
    assert score.value["em"] == 1.0 and score.value["f1"] == 1.0 and score.value["cover_em"] == 1.0
    assert score.metadata["judge"] == "off" and score.metadata["decided_by"] == "exact_match"
    assert "judge off" in score.explanation and "grader" in score.explanation
    off = asyncio.run(factual_scorer(judge="off")(_state("<answer>x</answer>"), Target(MADISON[2])))
    assert "judge=off" in off.explanation and math.isnan(off.value["judge"])


def test_judge_through_grader_role(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    grader = get_model(
        "scripted/judge",
        script=[
            {"match": r"Predicted answer: James Madison", "reply": '{"explanation": "Same person.", "score": 1}'},
            {"match": r"Predicted answer: the fourth US president", "reply": '{"explanation": "Never named.", "score": 0}'},
        ],
        memoize=False,
    )
    init_model_roles({"grader": grader})
    try:
        right = asyncio.run(factual_scorer()(_state("<answer>James Madison</answer>"), Target(MADISON[2])))
        verbose = asyncio.run(factual_scorer()(_state("<answer>the fourth US president</answer>"), Target(MADISON[2])))
    finally:
        init_model_roles({})
    assert right.value["judge"] == 1.0 and right.metadata["decided_by"] == "judge"
    assert "Same person" in right.explanation and right.metadata["judge"] == "on"
    assert verbose.value["judge"] == 0.0 and verbose.value["em"] == 0.0
    assert right.value["judge_failed"] == verbose.value["judge_failed"] == 0.0
    prompt = grader.api.calls[0]["last_user"]
    assert "\nGold answer: james madison\n" in prompt
    assert "Question: Who was president when Citibank was founded?\n" in prompt
    config = grader.api.calls[0]["config"]
    assert config["temperature"] == 0 and config["response_schema"]["name"] == "ResponseFormat"


def test_openai_key_selects_the_pinned_paper_judge(monkeypatch):
    """With OPENAI_API_KEY and no grader role, the dated gpt-4o-mini judges (here on a local fake server)."""
    reply = '{"explanation": "Same person.", "score": 1}'
    with fake_chat_server(lambda body: [reply]) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        init_model_roles({})
        score = asyncio.run(factual_scorer()(_state("<answer>James Madison</answer>"), Target(MADISON[2])))
        [body] = server.requests
    assert PAPER_JUDGE_MODEL == "openai/gpt-4o-mini-2024-07-18"
    assert body["model"] == "gpt-4o-mini-2024-07-18" and body["temperature"] == 0
    assert score.metadata["judge"] == "on" and score.value["judge"] == 1.0
    assert "gpt-4o-mini-2024-07-18" in score.explanation


def test_failing_judge_call_marks_only_that_sample(monkeypatch, log_dir):
    """End to end: the judge raises for one sample; the run succeeds and the others are judged."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    samples = load_samples("bamboogle")[:3]
    broken = str(samples[1].target)
    judge_script = {
        "rules": [{"match": "Predicted answer: " + s.target + "\n", "reply": '{"explanation": "Matches.", "score": 1}'}
                  for s in samples if s.target != broken],
    }  # no default: the judge call for the broken sample raises
    task = Task(dataset=MemoryDataset(samples), solver=generate(), scorer=factual_scorer())
    [log] = eval(
        task,
        model=get_model("scripted/under-test", script=[{"reply": "<answer>{{target}}</answer>"}], memoize=False),
        model_roles={"grader": get_model("scripted/judge", script=judge_script, memoize=False)},
        log_dir=str(log_dir), display="none", max_retries=0, fail_on_error=False,
    )
    assert log.status == "success"
    judged = {s.id: s.scores["factual_scorer"] for s in log.samples}
    for sample in samples:
        score = judged[sample.id]
        assert score.value["em"] == 1.0
        if sample.target == broken:
            assert score.metadata["judge"] == "error" and "judge error" in score.explanation
            # scored 0 and counted, never NaN: the judge's mean (the headline) stays a number
            assert score.value["judge"] == 0.0 and score.value["judge_failed"] == 1.0
            assert score.metadata["decided_by"] == "judge_failure"
        else:
            assert score.value["judge"] == 1.0 and score.metadata["decided_by"] == "judge"
    headline = log.results.scores[0]
    assert headline.metrics["mean"].value == (len(samples) - 1) / len(samples)  # the failed verdict counts as 0
    failed = next(m for s in log.results.scores for k, m in s.metrics.items() if s.name == "judge_failed")
    assert failed.value == 1 / len(samples)
