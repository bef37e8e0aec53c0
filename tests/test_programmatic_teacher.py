"""The bignum family and `programmatic/teacher` (the labelled stand-in for the 32B teacher, issue 16)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

from agentdistill.distill import trajectories
from agentdistill.models.programmatic import cot_completion, is_agent_request, observed_value

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PROMPTS = Path("/work/shared/reference/agent-distillation/src/smolagents/prompts")
AGENT_TURN = re.compile(r"^Thought: .+\nCode:\n```py\n.+\n```<end_code>$", re.DOTALL)


def _generator():
    spec = importlib.util.spec_from_file_location("bignum_generate", ROOT / "tasks" / "bignum" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generator_rebuilds_the_committed_files_and_every_step_is_exact():
    gen = _generator()
    test, train = gen.generate()
    for rows, folder in ((test, "bignum"), (train, "bignum_train")):
        manifest = json.loads((ROOT / "tasks" / folder / "data" / "manifest.json").read_text())
        text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
        assert hashlib.sha256(text.encode()).hexdigest() == manifest["sha256"], f"{folder}: generator output drifted"
        assert len(rows) == manifest["items"]
    assert not {r["question"] for r in test} & {r["question"] for r in train}
    for row in test + train:
        comp = row["computation"]
        values = {q["name"]: q["value"] for q in comp["quantities"]}
        assert any(10_000 <= v for v in values.values()), row["id"]  # at least one 5-7 digit operand
        for step in comp["steps"]:
            values[step["name"]] = eval(step["expr"], {"__builtins__": {}}, dict(values))  # noqa: S307
            assert values[step["name"]] == step["value"] >= 0, (row["id"], step)
        assert str(values[comp["result"]]) == row["answer"]


def test_agent_or_cot_is_read_from_the_request_with_the_reference_prompts_too():
    agent_short = "You solve tasks with code.\nCall final_answer(answer) when you know the answer."
    assert is_agent_request([ChatMessageSystem(content=agent_short), ChatMessageUser(content="Task: 2+2")])
    assert not is_agent_request([ChatMessageSystem(content="Reason step by step."), ChatMessageUser(content="2+2?")])
    if REFERENCE_PROMPTS.is_dir():  # the prompts the other sessions are switching to
        import yaml

        code_agent = yaml.safe_load((REFERENCE_PROMPTS / "code_agent.yaml").read_text())
        teacher_model = yaml.safe_load((REFERENCE_PROMPTS / "teacher_model.yaml").read_text())
        assert is_agent_request([ChatMessageSystem(content=code_agent["system_prompt_short"])])
        assert is_agent_request([ChatMessageSystem(content=code_agent["system_prompt"])])
        assert not is_agent_request([ChatMessageSystem(content=teacher_model["system_prompt"]),
                                     ChatMessageUser(content="What is 3 * 4?")])
    # an assistant turn mentioning final_answer does not turn a CoT request into an agent one
    assert not is_agent_request([ChatMessageUser(content="2+2?"), ChatMessageAssistant(content="final_answer")])


def test_observation_reading():
    assert observed_value("Observation: Execution logs:\n14403911\nLast output from code snippet:\nNone") == "14403911"
    assert observed_value("Observation: Error: NameError: name 'x' is not defined\nNow try again") is None
    assert observed_value("Observation: Execution logs:\n\nLast output from code snippet:\n5") is None


def test_cot_completion_shows_every_intermediate_value():
    comp = {"quantities": [{"name": "a", "value": 123456, "what": "a"}, {"name": "b", "value": 78, "what": "b"}],
            "steps": [{"name": "p", "expr": "a * b", "value": 9629568, "what": "the product"},
                      {"name": "t", "expr": "p - a", "value": 9506112, "what": "the rest"}], "result": "t"}
    text = cot_completion(comp)
    assert "123456 * 78 = 9629568" in text and "9629568 - 123456 = 9506112" in text
    assert text.endswith("<answer>\\boxed{9506112}</answer>")


@pytest.mark.parametrize("solver", ["agent", "cot"])
def test_trajectories_command_keeps_every_teacher_trajectory_in_the_reference_format(tmp_path, solver):
    out = tmp_path / f"{solver}.jsonl"
    code = trajectories.main(["run", "--model", "programmatic/teacher", "--tasks", "bignum_train", "--solver", solver,
                              "--limit", "3", "--log-dir", str(tmp_path / "logs"), "--out", str(out),
                              "--display", "none"])
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["kept"] == summary["samples"] == 3
    for record in records:
        assert record["provenance"]["teacher"] == "programmatic/teacher"
        turns = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
        if solver == "agent":
            assert len(turns) == 2 and all(AGENT_TURN.match(t) for t in turns), turns
            observation = record["messages"][3]["content"]
            assert "\nObservation:\n" in observation and record["target"] in observation  # the sandbox printed it
            assert f'final_answer("\\\\boxed{{{record["target"]}}}")' in turns[1]
        else:
            assert len(turns) == 1 and turns[0].endswith(f"<answer>\\boxed{{{record['target']}}}</answer>")


def test_teacher_refuses_a_sample_without_its_computation(tmp_path):
    from inspect_ai import eval as inspect_eval

    from agentdistill.tasks._core.benchmark import task_ref

    log = inspect_eval(task_ref("gsm_hard"), model="programmatic/teacher", limit=1, display="none",
                       log_dir=str(tmp_path))[0]
    assert log.status == "error" and log.error is not None
    assert "sample '1309' has no metadata['computation']" in log.error.message
