"""The reference goldens (tests/goldens, made by tests/reference/make_goldens.py) parse, cover every case of
issue 12 and agree with themselves and with the reference texts in core/reference_texts. Needs no ../shared."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GOLDENS = ROOT / "tests" / "goldens"
TEXTS = ROOT / "core" / "reference_texts"
FILES = ["system_prompts", "agent_correct", "agent_errors", "agent_max_steps", "agent_ftp", "agent_sag",
         "training_trajectory", "cot_rag_prompts", "math_grader", "judge"]
AGENT_FILES = ["agent_correct", "agent_errors", "agent_max_steps", "agent_ftp", "agent_sag"]
STEP_STOP = ["<end_code>", "Observation:", "Calling tools:"]


def load(name: str) -> dict:
    return json.loads((GOLDENS / f"{name}.json").read_text(encoding="utf-8"))


def cases(name: str) -> list[dict]:
    return load(name)["cases"]


def all_agent_cases() -> list[dict]:
    return [case for name in AGENT_FILES for case in cases(name)]


def text_of(content) -> str:
    """Content as sent: a string (VLLMServerModel flattens) or OpenAI-style parts (OpenAIServerModel)."""
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def render(template: str, prompts: dict) -> str:
    tools = {t["name"]: SimpleNamespace(**t) for t in prompts["tools"]}
    return jinja2.Template(template, undefined=jinja2.StrictUndefined).render(
        tools=tools, managed_agents={}, authorized_imports=prompts["authorized_imports_rendered"])


@pytest.mark.parametrize("name", FILES)
def test_every_golden_parses_and_names_its_source(name):
    golden = load(name)
    assert golden["golden"] == name
    assert golden["generated_with"]["reference"]["commit"] == "0f6cae3"
    assert (GOLDENS / "README.md").read_text().count(f"`{name}.json`") >= 1, f"{name}.json is not described in README.md"


def test_cases_of_issue_12_are_all_present():
    kinds = {(c["case"], c["domain"].split("_")[0]) for c in all_agent_cases()}
    for case in ("correct_teacher", "correct_student", "execution_error", "unauthorized_import", "max_steps", "ftp"):
        assert {(case, "math"), (case, "factual")} <= kinds, case
    assert ("parse_error", "math") in kinds
    assert {c["case"] for c in cases("agent_sag")} == {"sag_tie", "sag_majority", "sag_no_valid"}
    assert any(call["kind"] == "final_answer_after_max_steps" for c in cases("agent_max_steps") for call in c["calls"])
    sources = {c["item"]["source"].split("/")[1] for c in all_agent_cases()}
    assert {"gsm_hard", "math500", "hotpotqa"} <= sources
    cot = {(c["case"], c["domain"].split("_")[0]) for c in cases("cot_rag_prompts")}
    assert {("cot", "math"), ("cot", "factual"), ("rag", "math"), ("rag", "factual")} <= cot
    pairs = load("math_grader")["pairs"]
    assert len(pairs) >= 80
    assert {p["source"].split("/")[1] for p in pairs} == {"gsm_hard", "math500", "aime", "olymmath"}
    assert {p["path"] for p in pairs} == {"agent", "cot"}
    assert {True, False} == {p["decision"] for p in pairs}
    judge = load("judge")
    assert len(judge["prompts"]) == 3
    assert {True, False} == {r["ok"] for r in judge["reply_parsing"]}


def test_system_prompts_are_the_reference_yaml_rendered_with_the_tool_list():
    prompts = load("system_prompts")
    templates = yaml.safe_load((TEXTS / "code_agent.yaml").read_text())
    assert [t["name"] for t in prompts["tools"]] == ["web_search", "final_answer"]
    assert render(templates["system_prompt"], prompts) == prompts["teacher"]
    assert render(templates["system_prompt_short"], prompts) == prompts["student"]
    assert prompts["student_equals_preprocess"] and prompts["student_from_preprocess"] == prompts["student"]
    assert prompts["authorized_imports"] == sorted(prompts["authorized_imports"])
    assert prompts["agent_instruction"] == (TEXTS / "agent_instruction.txt").read_text()


def test_every_agent_call_is_what_the_model_kwargs_and_prompts_say():
    prompts = load("system_prompts")
    for case in all_agent_cases():
        where = f"{case['case']}/{case['domain']}"
        kwargs = case["model_kwargs"]
        system = prompts["student" if kwargs["fine_tuned"] else "teacher"]
        user = "New task:\n" + case["item"]["question"] + prompts["agent_instruction"]
        assert case["calls"], where
        for call in case["calls"]:
            body, messages = call["request_body"], call["request_body"]["messages"]
            assert messages[0]["role"] == "system", where
            assert [body[k] for k in ("temperature", "n", "top_p", "max_tokens", "seed")] == \
                [kwargs[k] for k in ("temperature", "n", "top_p", "max_tokens", "seed")], where
            assert body["model"] == ("finetune" if kwargs["fine_tuned"] else kwargs["model_id"]), where
            assert len(call["response_choices"]) == kwargs["n"], where
            assert text_of(messages[1]["content"]) == user, where
            if call["kind"] == "agent_step":
                assert text_of(messages[0]["content"]) == system, where
                assert body["stop"] == STEP_STOP, where
            else:  # the final call after max steps: no stop sequences, the 'stuck' system turn
                assert "stop" not in body and call["index"] == 5, where
            if case["model_class"] == "VLLMServerModel":
                roles = [m["role"] for m in messages]
                assert set(roles) <= {"system", "user", "assistant"}, where
                assert all(a != b for a, b in itertools.pairwise(roles)), f"{where}: same role twice in a row"
                assert body["chat_template_kwargs"] == {"enable_thinking": False}, where


def test_max_steps_final_call_asks_for_the_bare_task():
    for case in cases("agent_max_steps"):
        steps = [c for c in case["calls"] if c["kind"] == "agent_step"]
        final = [c for c in case["calls"] if c["kind"] == "final_answer_after_max_steps"]
        assert len(steps) == 5 and len(final) == 1
        last = final[0]["request_body"]["messages"][-1]["content"]
        tail = "Based on the above, please provide an answer to the following user task:\n" + case["item"]["question"]
        assert last.endswith(tail)
        assert case["generated_answer"] == final[0]["response_choices"][0]


def test_ftp_prefix_is_the_first_cot_paragraph_continued_by_the_model():
    cot_prompt = yaml.safe_load((TEXTS / "teacher_model.yaml").read_text())["system_prompt"]
    for case in cases("agent_ftp"):
        question = case["item"]["question"]
        cot = case["cot_call"]
        assert cot["request_body"]["messages"] == [{"role": "system", "content": cot_prompt},
                                                   {"role": "user", "content": question}]
        prefix = case["prefix_memory"][question]
        assert prefix == "Thought: " + cot["response_choices"][0].split("\n\n")[0] + "\n\n"
        first = case["calls"][0]["request_body"]
        assert first["messages"][-1] == {"role": "assistant", "content": prefix}
        assert first["continue_final_message"] is True and first["add_generation_prompt"] is False
        second = case["calls"][1]["request_body"]["messages"]
        assert second[2]["content"].startswith(prefix + case["calls"][0]["response_choices"][0])
        assert "continue_final_message" not in case["calls"][1]["request_body"]


def test_sag_pick_follows_the_logged_vote():
    for case in cases("agent_sag"):
        assert case["model_kwargs"]["n"] == 8 and case["model_kwargs"]["temperature"] == 0.4
        for step, call in zip(case["sag_steps"], case["calls"]):
            candidates = step["candidates"]
            assert [c["content"] for c in candidates] == call["response_choices"]
            assert 0 <= step["picked_index"] < len(candidates) == 8
            groups = step["valid_groups_by_logs"]
            assert sorted(i for g in groups for i in g["candidates"]) == [c["index"] for c in candidates if c["valid"]]
            if groups:  # largest group by execution logs, the earliest-formed one on a tie, its first member
                expected = max(groups, key=lambda g: len(g["candidates"]))["candidates"][0]
            else:
                expected = 0
            assert step["picked_index"] == expected, f"{case['case']} step {step['step']}"
    tie = next(c for c in cases("agent_sag") if c["case"] == "sag_tie")["sag_steps"][0]
    sizes = sorted(len(g["candidates"]) for g in tie["valid_groups_by_logs"])
    assert sizes[-1] == sizes[-2], "the tie case must have two largest groups of equal size"


def test_training_examples_mask_everything_but_the_assistant_turns():
    golden = load("training_trajectory")
    student = load("system_prompts")["student"]
    assert golden["examples"]
    for example in golden["examples"]:
        messages = example["messages"]
        assert example["loss_mask"] == [m["role"] == "assistant" for m in messages]
        assert messages[0]["role"] == "system" and messages[-1]["role"] == "assistant"
        if "original_memory" not in example["from"]:
            assert messages[0]["content"] == student
        assert all(m["role"] in {"system", "user", "assistant"} for m in messages)


def test_cot_and_rag_user_turns():
    golden = load("cot_rag_prompts")
    cot_prompt = yaml.safe_load((TEXTS / "teacher_model.yaml").read_text())["system_prompt"]
    assert golden["teacher_model_system_prompt"] == cot_prompt
    for case in golden["cases"]:
        messages = case["call"]["request_body"]["messages"]
        assert messages[0] == {"role": "system", "content": cot_prompt}
        question = case["item"]["question"]
        expected = question if case["case"] == "cot" else case["retrieved_documents"] + "\n" + question
        assert messages[1] == {"role": "user", "content": expected} and len(messages) == 2


def test_judge_prompt_is_the_reference_text_filled_in():
    template = (TEXTS / "judge_prompt.txt").read_text()
    for entry in load("judge")["prompts"]:
        body = entry["call"]["request_body"]
        assert body["model"] == "gpt-4o-mini" and "temperature" not in body
        assert body["messages"] == [{"role": "user", "content": template.format(
            question=entry["item"]["question"], predicted=entry["prediction"], gold=entry["item"]["answer"])}]
        assert body["response_format"]["json_schema"]["schema"]["required"] == ["explanation", "score"]


def test_grader_records_are_complete():
    for pair in load("math_grader")["pairs"]:
        assert isinstance(pair["decision"], bool) and isinstance(pair["extracted"], str)
        assert ("completion" in pair and "cot_generated_answer" in pair) == (pair["path"] == "cot")
        assert isinstance(pair["timed_symbolic_check"], bool)
