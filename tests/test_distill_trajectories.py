"""Teacher trajectories: real inspect runs of the agent on math_train with the scripted model (real sandbox),
converted to chat JSONL with the filters, and resumed after an errored sample."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import agentdistill.registry  # noqa: F401  (scripted model, solvers)
from agentdistill.distill import trajectories as tj

SAMPLES = ["hard-0", "hard-1", "hard-2", "hard-3", "hard-4"]


def code(body: str, thought: str) -> str:
    return f"Thought: {thought}\nCode:\n```py\n{body}\n```"


def script(second_run: bool) -> dict:
    rules = [
        # hard-0: a turn with no code block (parse error), then the right answer -> dropped: parse_error
        {"match_any": r"bx\+16", "turn": 0, "reply": "The answer is obvious, no code needed."},
        {"match_any": r"bx\+16", "reply": code('final_answer("{{target}}")', "Now with code.")},
        # hard-1: an execution error, recovery, the right answer -> kept (errors teach recovery)
        {"match_any": r"62 can be", "turn": 0, "reply": code("print(1/0)", "SECOND RUN" if second_run else "I divide.")},
        {"match_any": r"62 can be", "reply": code('final_answer("4")', "The base is 4.")},
        # hard-2: never answers -> max steps, then a wrong stuck-call answer -> dropped: incorrect
        {"match_any": r"frac\{5\}\{9\}", "reply": code("print(1)", "Still thinking.")},
        # hard-3: a wrong answer -> dropped: incorrect
        {"match_any": r"2\(x\^2", "reply": code('final_answer("0")', "It is zero.")},
    ]
    if second_run:  # hard-4 had no rule in the first run: the scripted model raised -> the sample errored
        rules.append({"match_any": r"Simplify", "reply": code('final_answer("-1-7z")', "Collect terms.")})
    return {"rules": rules}


def run_teacher(tmp_path: Path, second_run: bool) -> bool:
    script_file = tmp_path / "teacher.json"
    script_file.write_text(json.dumps(script(second_run)))
    return tj.run_teacher(
        model="scripted/teacher",
        model_args={"script": str(script_file)},
        tasks=["math_train"],
        log_dir=str(tmp_path / "logs"),
        solver="agent",
        max_steps=2,
        sample_id=SAMPLES,
        retry_attempts=0,
        display=os.environ.get("TJ_DISPLAY", "none"),
    )


def by_sample(path: Path) -> dict[str, dict]:
    return {r["provenance"]["sample_id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_teacher_run_filters_and_resume(tmp_path, capsys):
    out = tmp_path / "traj.jsonl"
    assert run_teacher(tmp_path, second_run=False) is False  # hard-4 errored: the task is not done

    summary = tj.finish(tj.convert_logs([tmp_path / "logs"]), out)
    assert summary["kept"] == 1
    # max steps is no drop reason by default (the reference keeps such runs when correct)
    assert summary["dropped"] == {"error": 1, "parse_error": 1, "max_steps": 0, "incorrect": 2, "no_assistant_turn": 0}
    assert summary["failing_each_filter"] == {"error": 1, "parse_error": 1, "max_steps": 0, "incorrect": 2, "no_assistant_turn": 0}
    assert "kept 1 of 5 samples; dropped (first failed filter): error 1, parse_error 1, max_steps 0, incorrect 2" in capsys.readouterr().out
    strict = tj.convert_logs([tmp_path / "logs"], drop_max_steps=True).summary()
    assert strict["dropped"]["max_steps"] == 1 and strict["failing_each_filter"]["incorrect"] == 2
    first = by_sample(out)
    assert set(first) == {"hard-1"}

    # re-run the same command (a new process: no memoized model instance holds the old script): only the errored
    # sample runs again (hard-1's new script text is never used)
    from inspect_ai.model import _model

    _model._models.clear()
    assert run_teacher(tmp_path, second_run=True) is True
    assert tj.main(["from-logs", str(tmp_path / "logs"), "--out", str(out)]) == 0
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["kept"] == 2 and summary["dropped"]["error"] == 0
    records = by_sample(out)
    assert set(records) == {"hard-1", "hard-4"}
    assert records["hard-1"]["messages"] == first["hard-1"]["messages"]
    assert "SECOND RUN" not in json.dumps(records["hard-1"])

    # the record: student system prompt, the teacher's user turn, assistant turns as generated, observations as user
    from agentdistill.solvers.agent.loop import system_prompt

    rec = records["hard-1"]
    roles = [m["role"] for m in rec["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert rec["messages"][0]["content"] == system_prompt("student", "math") != system_prompt("teacher", "math")
    assert rec["messages"][1]["content"].startswith("New task:\n") and "62 can be" in rec["messages"][1]["content"]
    assert "IMPORTANT: Always provide a 'Thought:' sequence" in rec["messages"][1]["content"]
    assert rec["messages"][2]["content"] == "Thought: I divide.\nCode:\n```py\nprint(1/0)\n```<end_code>"
    assert rec["messages"][3]["content"].startswith("Call id: call_1\nError:\nCode execution failed at line")
    assert "ZeroDivisionError" in rec["messages"][3]["content"]
    assert rec["messages"][4]["content"].endswith('final_answer("4")\n```<end_code>')
    prov = rec["provenance"]
    assert prov["teacher"] == "scripted/teacher" and prov["task"] == "math_train" and prov["solver"] == "agent"
    assert prov["solver_args"]["prompt"] == "teacher" and prov["solver_args"]["max_steps"] == 2
    assert prov["log_file"].endswith(".eval") and rec["final_answer"] == "4" and rec["kind"] == "agent"
    assert rec["stats"]["exec_errors"] == 1 and rec["stats"]["parse_errors"] == 0
    assert re.fullmatch(r"math_train:hard-1:1", rec["id"])

    # the same samples in several logs (copies, older retries) count once
    copy = tmp_path / "copy"
    copy.mkdir()
    for log in (tmp_path / "logs").glob("*.eval"):
        shutil.copy(log, copy / log.name)
    again = tj.convert_logs([tmp_path / "logs", copy])
    assert again.duplicates == 5 and len(again.records) == 2 and sum(again.dropped.values()) == 3


def test_correctness_rules():
    from inspect_ai.scorer import Score

    assert tj.is_correct({"math_scorer": Score(value="C"), "run_stats": Score(value={"steps": 1})}) is True
    assert tj.is_correct({"math_scorer": Score(value="I")}) is False
    nan = float("nan")
    factual = {"factual_scorer": Score(value={"judge": nan, "em": 0.0, "f1": 0.8, "cover_em": 1.0})}
    assert tj.is_correct(factual) is False  # no judge ran: exact match decides by default
    assert tj.is_correct(factual, factual_metric="cover_em") is True
    assert tj.is_correct({"factual_scorer": Score(value={"judge": 1.0, "em": 0.0})}) is True  # the judge wins
    assert tj.is_correct({}) is None


def test_prefill_and_continuation_are_one_turn():
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

    msgs = tj._plain_messages([ChatMessageUser(content="q"), ChatMessageAssistant(content="Thought: First, "),
                               ChatMessageAssistant(content="I add.\nCode:\n```py\nprint(1)\n```<end_code>")])
    assert msgs == [{"role": "user", "content": "q"},
                    {"role": "assistant", "content": "Thought: First, I add.\nCode:\n```py\nprint(1)\n```<end_code>"}]


def test_task_spec_points_at_the_shipped_task_file():
    spec = tj.task_ref("math_train")
    assert spec.endswith("math_train.py@math_train") and Path(spec.split("@")[0]).is_file()
    assert tj.task_ref("some/other_task.py") == "some/other_task.py"
    with pytest.raises(SystemExit):
        tj.teacher_task_args("cot", True, None, {})
    assert tj.teacher_task_args("agent", True, 3, {"k": 5}) == {"solver": "agent", "prompt": "teacher", "ftp": True, "max_steps": 3, "k": 5}


def test_cot_trajectories_keep_the_cot_conversation(tmp_path):
    """CoT distillation data: the logged CoT conversation (its prompt is also the student's at test time)."""
    script = tmp_path / "cot.json"
    script.write_text(json.dumps({"rules": [{"match": r"62 can be", "reply": "In base 4, 62 is 332.\n\nSo \\boxed{4}."}],
                                  "default": "I am not sure. \\boxed{0}"}))
    assert tj.run_teacher(model="scripted/cot", model_args={"script": str(script)}, tasks=["math_train"],
                          log_dir=str(tmp_path / "logs"), solver="cot", sample_id=["hard-1", "hard-4"],
                          retry_attempts=0, display="none")
    conv = tj.convert_logs([tmp_path / "logs"])
    assert dict(conv.dropped) == {"incorrect": 1} and len(conv.records) == 1
    [rec] = conv.records
    assert rec["kind"] == "cot" and rec["provenance"]["solver"] == "cot"
    assert [m["role"] for m in rec["messages"]][-2:] == ["user", "assistant"]
    assert "62 can be" in rec["messages"][-2]["content"]
    assert rec["messages"][-1]["content"] == "In base 4, 62 is 332.\n\nSo \\boxed{4}."
