"""CoT and CoT self-consistency with the scripted model; one slow CLI smoke run on the embedded model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import get_model

from agentdistill.solvers.cot import cot, cot_sc, majority_vote
from agentdistill.tasks._core.prompts import COT_SYSTEM_PROMPT, cot_messages, rag_documents
from agentdistill.core.stats import STATS_KEY
from agentdistill.tasks._core.scorers import math_scorer

REPO = Path(__file__).resolve().parents[1]

# GSM-Hard style item (the gold is a float, as in the benchmark)
GSM = Sample(
    id="gsm-1",
    input="Janet has 3 boxes with 1528 apples each. How many apples does she have?",
    target="4584.0",
    metadata={"domain": "math", "task": "gsm_hard"},
)
FACTUAL = Sample(
    id="hq-1",
    input="Which city is the capital of the country where the Eiffel Tower stands?",
    target="Paris",
    metadata={"domain": "factual", "task": "hotpotqa"},
)


def run_task(solver, script, samples=(GSM,), log_dir=None):
    model = get_model("scripted/cot", script=script, memoize=False)
    task = Task(dataset=list(samples), solver=solver, scorer=math_scorer())
    [log] = eval(task, model=model, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    return log, model.api.calls


def test_cot_messages_prompts_and_passages():
    """The reference's prompt: its system prompt, the bare question (not stripped), one prompt for every domain;
    RAG: documents + "\n" + question (byte parity with the goldens: tests/test_reference_parity_cot.py)."""
    math = cot_messages("What is 1+1?", "math")
    assert [m.role for m in math] == ["system", "user"]
    assert math[0].text == COT_SYSTEM_PROMPT
    assert "<answer> </answer>" in COT_SYSTEM_PROMPT and "\\boxed{}" in COT_SYSTEM_PROMPT
    assert math[1].text == "What is 1+1?"
    assert [m.text for m in cot_messages("What is 1+1?", "factual")] == [m.text for m in math]
    docs = rag_documents(['"Hamlet"\nHamlet is a tragedy by William Shakespeare.', '"Globe Theatre"\nA theatre.'])
    assert docs == ('Doc 1(Title: "Hamlet") Hamlet is a tragedy by William Shakespeare.\n'
                    'Doc 2(Title: "Globe Theatre") A theatre.\n')
    factual = cot_messages("  Who wrote Hamlet? ", "factual", passages=docs)
    assert factual[1].text == docs + "\n" + "  Who wrote Hamlet? "
    assert rag_documents([]) == "" and rag_documents(["no title line"]) == "Doc 1(Title: no title line) \n"


def test_cot_is_greedy_with_4096_tokens_and_scores_extracted_answer(log_dir):
    log, calls = run_task(cot(), [{"match": "^Janet has 3 boxes", "reply": "3 * 1528 = 4584.\n<answer>\\boxed{4584}</answer>"}], log_dir=log_dir)
    [call] = calls
    assert call["config"]["temperature"] == 0.0 and call["config"]["max_tokens"] == 4096
    assert "num_choices" not in call["config"]
    [sample] = log.samples
    assert sample.scores["math_scorer"].value == "C"
    assert sample.metadata[STATS_KEY]["tokens_generated"] == sample.output.usage.output_tokens > 0
    assert sample.messages[0].role == "system" and sample.messages[-1].role == "assistant"


def test_cot_wrong_answer_scores_incorrect(log_dir):
    log, _ = run_task(cot(), ["I think it is <answer>\\boxed{4585}</answer>"], log_dir=log_dir)
    assert log.samples[0].scores["math_scorer"].value == "I"


def test_majority_vote_normalises_and_breaks_ties_by_first_sample():
    # 4584, 4584.0 and 4,584 are one answer; None does not vote
    winner, votes, keys = majority_vote(["4584", "12", "4584.0", None, "12", "4,584"], "math")
    assert winner == 0 and votes == {"4584": 3, "12": 2}
    assert keys[3] is None
    # tie: the answer whose first sample came first wins, in either order
    assert majority_vote(["\\frac{1}{2}", "3", "0.5", "3"], "math")[0] == 0
    assert majority_vote(["3", "\\frac{1}{2}", "0.5", "3"], "math")[0] == 0
    assert majority_vote(["7", "3", "3", "7"], "math")[0] == 0
    assert majority_vote([None, None], "math") == (None, {}, [None, None])
    # factual: case and punctuation normalised
    assert majority_vote(["paris", "Lyon", "Paris."], "factual")[1] == {"paris": 2, "lyon": 1}


def test_cot_sc_majority_in_one_request(log_dir):
    samples = [
        "3 boxes of 1528 is 4584. <answer>\\boxed{4584}</answer>",
        "1528 + 3 = 1531 <answer>\\boxed{1531}</answer>",
        "<answer>\\boxed{4584.0}</answer>",
        "<answer>\\boxed{1531}</answer>",
        "so the total is 4,584 apples. <answer>\\boxed{4,584}</answer>",
    ]
    log, calls = run_task(cot_sc(k=5, temperature=0.6), [{"reply": samples}], log_dir=log_dir)
    [call] = calls  # all k samples in one request
    assert call["config"]["num_choices"] == 5 and call["config"]["temperature"] == 0.6
    [sample] = log.samples
    assert sample.metadata["final_answer"] == "4584"
    record = sample.metadata["cot_sc"]
    assert record["votes"] == {"4584": 3, "1531": 2}
    assert record["winner_index"] == 0 and [s["answer"] for s in record["samples"]][1] == "1531"
    assert len(record["samples"]) == 5
    assert sample.output.completion == samples[0]
    assert sample.scores["math_scorer"].value == "C"
    assert sample.metadata[STATS_KEY]["tokens_generated"] == sample.output.usage.output_tokens


def test_cot_sc_minority_correct_answer_loses(log_dir):
    script = [{"reply": ["<answer>\\boxed{4584}</answer>", "<answer>\\boxed{17}</answer>", "<answer>\\boxed{17}</answer>"]}]
    log, _ = run_task(cot_sc(k=3), script, log_dir=log_dir)
    [sample] = log.samples
    assert sample.metadata["final_answer"] == "17"
    # the chosen sample's text becomes the output, the scorer uses final_answer
    assert sample.output.completion.endswith("\\boxed{17}</answer>")
    assert sample.scores["math_scorer"].value == "I"


def test_cot_sc_tie_is_deterministic(log_dir):
    for order, expected in ((["\\boxed{9}", "\\boxed{4584}"], "9"), (["\\boxed{4584}", "\\boxed{9}"], "4584")):
        log, _ = run_task(cot_sc(k=4), [{"reply": order}], log_dir=log_dir)
        record = log.samples[0].metadata["cot_sc"]
        assert record["votes"] == {"9": 2, "4584": 2}
        assert log.samples[0].metadata["final_answer"] == expected


def test_cot_sc_without_any_answer_sets_no_final_answer(log_dir):
    log, _ = run_task(cot_sc(k=2), [{"reply": ["I am not sure.", "No idea at all."]}], log_dir=log_dir)
    [sample] = log.samples
    assert "final_answer" not in sample.metadata
    assert sample.metadata["cot_sc"]["winner_index"] is None
    assert sample.scores["math_scorer"].value == "I"


def test_cot_sc_factual_uses_answer_tags(log_dir):
    script = [{"match": "Eiffel Tower", "reply": ["<answer>Paris</answer>", "<answer>Lyon</answer>", "<answer>paris.</answer>"]}]
    log, calls = run_task(cot_sc(k=3), script, samples=(FACTUAL,), log_dir=log_dir)
    assert calls[0]["last_user"] == FACTUAL.input  # the same prompt as cot: the bare question
    assert log.samples[0].metadata["final_answer"] == "Paris"


@pytest.mark.slow
def test_cli_cot_on_embedded_model_two_gsm_hard_items(tmp_path):
    """`inspect eval tasks/gsm_hard` with the real embedded model (2 items, short limit)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    cmd = [
        sys.executable, "-m", "inspect_ai", "eval", "tasks/gsm_hard",
        "--model", "agentdistill/smollm2-135m",
        "--limit", "2", "-T", "max_tokens=96",
        "--log-dir", str(tmp_path), "--display", "none",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    [info] = list_eval_logs(str(tmp_path))
    log = read_eval_log(info)
    assert log.status == "success"
    assert len(log.samples) == 2
    for sample in log.samples:
        assert sample.output.completion.strip()
        assert sample.scores["math_scorer"].value in ("C", "I")
        assert 0 < sample.metadata[STATS_KEY]["tokens_generated"] <= 2 * 97
    assert log.stats.model_usage["agentdistill/smollm2-135m"].output_tokens > 0
