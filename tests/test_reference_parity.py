"""Reference parity (issue 12): for the goldens' fixed model outputs, the project's agent solvers send exactly what
the paper's code sent (tests/goldens/README.md) and decide exactly as it decided.

A recording model answers each call with the golden's `response_choices` and keeps the messages + generate config
the project sent; they are turned into the body of an OpenAI-compatible chat request the way a vLLM/OpenAI server
request carries them (string content per message; `stop`, `temperature`, `max_tokens`, `n`, `top_p`) and compared
with the golden `request_body` byte for byte. Deliberate differences are asserted as such in
`KNOWN_DIFFERENCES` (each with its reason), never silently skipped.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)
from inspect_ai.solver import solver
from inspect_ai.tool import ToolChoice, ToolInfo

import agentdistill.registry  # noqa: F401
from agentdistill.core.stats import run_stats
from agentdistill.solvers.agent.choosers import GreedyChooser, SAGChooser
from agentdistill.solvers.agent.loop import AgentSettings
from agentdistill.solvers.agent.solvers import _agent_solver
from agentdistill.solvers.retrieval.base import Hit, format_results
from agentdistill.tasks._core.prompts import cot_messages

GOLDENS = Path(__file__).parent / "goldens"
SANDBOX = os.environ.get("AGENTDISTILL_TEST_SANDBOX", "bwrap")

# Request fields the project leaves to the run (inspect's --seed / --top-p), with the reason.
KNOWN_DIFFERENCES = {
    "seed": "the reference sends seed 42 on every request (run-script flag); the project sends the run's --seed",
    "top_p of greedy calls": "the reference also sends top_p 0.8 at temperature 0, where it changes nothing",
    "chat_template_kwargs": "vLLM-specific extra body of the reference's VLLMServerModel (enable_thinking false), "
    "a no-op for Qwen2.5; inspect's provider adds its own extra body",
    "add_generation_prompt/continue_final_message": "how inspect's vLLM provider continues a final assistant "
    "message (FTP) is the provider's; the messages (prefix as the last assistant turn) are compared",
    "close-match names": "the reference's AST interpreter silently reads the closest defined name (difflib) for an "
    "undefined one (`print(reslt)` printed `result`); the project runs CPython and reports the reference's "
    "'The variable `reslt` is not defined.' error (golden execution_error/factual_hotpotqa)",
    "SAG candidates forked": "the reference runs candidates one after another in ONE live interpreter (rejected "
    "candidates' side effects leak) and re-runs the winner; the project forks each candidate from the same state and "
    "commits the winner without re-running it (the paper's description). Seen in sag_tie's retriever_requests: "
    "the reference makes 5 searches (4 candidates + the re-run), the project 4",
}


def _load_golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDENS / f"{name}.json").read_text(encoding="utf-8"))


def _golden_passages() -> tuple[dict, list]:
    spec = importlib.util.spec_from_file_location("make_goldens", Path(__file__).parent / "reference" / "make_goldens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # stdlib-only at import time; nothing runs
    return module.PASSAGES, module.DEFAULT_PASSAGES


PASSAGES, DEFAULT_PASSAGES = _golden_passages()


async def golden_web_search(query: str) -> str:
    """The goldens' fixed retriever answers, formatted by the project's web_search formatter."""
    docs = PASSAGES.get(query, DEFAULT_PASSAGES)[:3]
    return format_results([Hit(row=i, id=str(i), contents=text, score=score) for i, (text, score) in enumerate(docs)])


# --- the recording model --------------------------------------------------------------------------------------


def wire_message(message: ChatMessage) -> dict[str, str]:
    """A chat message as an OpenAI-compatible request carries it (string content)."""
    return {"role": message.role, "content": message.text}


def wire_config(config: GenerateConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"max_tokens": config.max_tokens, "n": config.num_choices or 1,
                            "temperature": config.temperature}
    if config.top_p is not None:
        body["top_p"] = config.top_p
    if config.stop_seqs:
        body["stop"] = list(config.stop_seqs)
    return body


class RecordingAPI(ModelAPI):
    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig = GenerateConfig(), responses: list[list[str]] | None = None, **_: Any):
        super().__init__(model_name, base_url, api_key, [], config)
        self.responses = list(responses or [])
        self.requests: list[dict[str, Any]] = []

    async def generate(self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice,
                       config: GenerateConfig) -> ModelOutput:
        self.requests.append({"messages": [wire_message(m) for m in input], **wire_config(config)})
        if not self.responses:
            raise AssertionError(f"the project made more model calls than the golden ({len(self.requests)})")
        texts = self.responses.pop(0)
        choices = [ChatCompletionChoice(message=ChatMessageAssistant(content=t, model="recorder"), stop_reason="stop")
                   for t in texts]
        return ModelOutput(model="recorder", choices=choices, usage=ModelUsage(output_tokens=100, input_tokens=1000,
                                                                               total_tokens=1100))


modelapi(name="parity_recorder")(RecordingAPI)


def recorder(responses: list[list[str]]):
    model = get_model("parity_recorder/teacher", responses=responses, memoize=False)
    return model, model.api


SEARCH = {"web_search": golden_web_search}  # the tool the next run gets (a test may swap in a counting one)


@solver
def parity_agent(n: int = 1, prompt: str = "teacher", ftp: bool = False):
    """The project's agent loop with the goldens' retriever: greedy for n=1, SAG (reference settings) for n>1."""
    settings = AgentSettings(prompt=prompt, ftp=ftp, tools=dict(SEARCH))
    return _agent_solver(SAGChooser(n=n) if n > 1 else GreedyChooser(), settings)


def run_case(case: dict[str, Any], log_dir: Path, responses: list[list[str]], *, ftp: bool = False):
    kwargs = case["model_kwargs"]
    prompt = "student" if case["prompt"].startswith("student") else "teacher"
    domain = case["domain"].split("_")[0]
    sample = Sample(id=str(case["item"]["id"]), input=case["item"]["question"], target=str(case["item"]["answer"]),
                    metadata={"domain": domain, "task": case["domain"]})
    model, api = recorder(responses)
    task = Task(dataset=[sample], solver=parity_agent(n=kwargs["n"], prompt=prompt, ftp=ftp), scorer=run_stats(),
                sandbox=SANDBOX)
    [log] = eval(task, model=model, display="none", log_dir=str(log_dir), log_samples=True)
    assert log.status == "success", log.error
    assert not api.responses, f"{len(api.responses)} golden call(s) were never made"
    return log.samples[0], api.requests


def golden_request(call: dict[str, Any]) -> dict[str, Any]:
    body = call["request_body"]
    out = {"messages": body["messages"], "max_tokens": body["max_tokens"], "n": body["n"],
           "temperature": body["temperature"]}
    if body["temperature"] > 0:  # top_p only matters when sampling (KNOWN_DIFFERENCES)
        out["top_p"] = body["top_p"]
    if "stop" in body:
        out["stop"] = body["stop"]
    return out


def project_request(request: dict[str, Any]) -> dict[str, Any]:
    out = dict(request)
    if out["temperature"] == 0:
        out.pop("top_p", None)
    return out


_ALLOWED_LIST = re.compile(r"Authorized imports are: (\[[^\]]*\])")


def same_up_to_set_order(text: str) -> str:
    """The import error lists the allowed modules in a set's order (PYTHONHASHSEED): compare that list as a set."""
    return _ALLOWED_LIST.sub(lambda m: "Authorized imports are: " + str(sorted(ast.literal_eval(m.group(1)))), text)


def assert_same_requests(golden_calls: list[dict[str, Any]], requests: list[dict[str, Any]], label: str) -> None:
    assert len(requests) == len(golden_calls), f"{label}: {len(requests)} calls, golden {len(golden_calls)}"
    for i, (call, request) in enumerate(zip(golden_calls, requests)):
        expected, got = golden_request(call), project_request(request)
        for body in (expected, got):
            body["messages"] = [{**m, "content": same_up_to_set_order(m["content"])} for m in body["messages"]]
        for j, (m_exp, m_got) in enumerate(zip(expected["messages"], got["messages"])):
            assert m_got == m_exp, f"{label}: call {i}, message {j} differs"
        assert got == expected, f"{label}: call {i} differs"


def _cases(name: str, **match: str) -> list[dict[str, Any]]:
    return [c for c in _load_golden(name)["cases"] if all(c.get(k) == v for k, v in match.items())]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [f"{c['case']}-{c['domain']}-{c['item']['id']}-{c['prompt'].split()[0]}" for c in cases]


VLLM_CASES = (
    [c for c in _cases("agent_correct") if c["model_class"] == "VLLMServerModel"]
    + _cases("agent_errors") + _cases("agent_max_steps")
)


def _close_match_case(case: dict[str, Any]) -> bool:
    return case["case"] == "execution_error" and case["domain"] == "factual_hotpotqa"


@pytest.mark.parametrize("case", VLLM_CASES, ids=_ids(VLLM_CASES))
def test_agent_requests_match_the_reference(case, tmp_path):
    responses = [call["response_choices"] for call in case["calls"]]
    sample, requests = run_case(case, tmp_path, responses)
    if _close_match_case(case):  # KNOWN_DIFFERENCES["close-match names"]: only the first observation differs
        observation = requests[1]["messages"][-1]["content"]
        assert observation == ("Call id: call_1\nError:\nCode execution failed at line 'print(reslt)' due to: "
                               "InterpreterError: The variable `reslt` is not defined.\nNow let's retry: take care "
                               "not to repeat previous errors! If you have retried several times, try a completely "
                               "different approach.\n")
        assert case["calls"][1]["request_body"]["messages"][-1]["content"].startswith(
            "Call id: call_1\nObservation:\nExecution logs:\n\nRetrieved documents:")
        requests[1]["messages"][-1] = case["calls"][1]["request_body"]["messages"][-1]
    assert_same_requests(case["calls"], requests, case["case"])
    assert sample.metadata["agent"]["generated_answer"] == case["generated_answer"]


def test_the_openai_server_golden_differs_only_by_its_model_class():
    """`OpenAIServerModel` (not what the Qwen runs used) keeps tool-call turns and list contents: not reproduced."""
    [openai_case] = [c for c in _cases("agent_correct") if c["model_class"] == "OpenAIServerModel"]
    roles = [m["role"] for m in openai_case["calls"][-1]["request_body"]["messages"]]
    assert "tool-call" in roles or "assistant" in roles
    assert isinstance(openai_case["calls"][0]["request_body"]["messages"][0]["content"], list)


FTP_CASES = _cases("agent_ftp")


@pytest.mark.parametrize("case", FTP_CASES, ids=_ids(FTP_CASES))
def test_ftp_prefix_and_prefilled_step_match_the_reference(case, tmp_path):
    responses = [case["cot_call"]["response_choices"]] + [call["response_choices"] for call in case["calls"]]
    sample, requests = run_case(case, tmp_path, responses, ftp=True)
    [prefix] = case["prefix_memory"].values()
    assert sample.metadata["agent"]["ftp_prefix"] == prefix  # "Thought: " + first paragraph + "\n\n"
    assert_same_requests(case["calls"], requests[1:], case["case"])
    assert sample.metadata["agent"]["generated_answer"] == case["generated_answer"]
    # the CoT call: its settings are the agent's; its prompt TEXT comes from tasks._core.prompts.cot_messages
    cot_request, cot_golden = project_request(requests[0]), golden_request(case["cot_call"])
    assert {k: v for k, v in cot_request.items() if k != "messages"} == \
        {k: v for k, v in cot_golden.items() if k != "messages"}
    assert [wire_message(m) for m in cot_messages(case["item"]["question"], "math")] == cot_golden["messages"]
    assert cot_request["messages"] == cot_golden["messages"]


SAG_CASES = _cases("agent_sag")


@pytest.mark.parametrize("case", SAG_CASES, ids=_ids(SAG_CASES))
def test_sag_picks_what_the_reference_picks(case, tmp_path):
    responses = [call["response_choices"] for call in case["calls"]]
    sample, requests = run_case(case, tmp_path, responses)
    assert_same_requests(case["calls"], requests, case["case"])
    steps = sample.metadata["agent"]["steps"]
    assert len(steps) == len(case["sag_steps"])
    for golden_step, step in zip(case["sag_steps"], steps):
        assert step["chosen"] == golden_step["picked_index"], f"step {golden_step['step']}"
        for golden_candidate, candidate in zip(golden_step["candidates"], step["candidates"]):
            assert candidate["valid"] == golden_candidate["valid"], f"step {golden_step['step']} #{candidate['index']}"
            if golden_candidate["valid"]:
                assert candidate["execution_logs"] == golden_candidate["execution_logs"]
        groups = {g["execution_logs"]: len(g["candidates"]) for g in golden_step["valid_groups_by_logs"]}
        assert step["votes"] == groups
    assert sample.metadata["agent"]["generated_answer"] == case["generated_answer"]
    assert sample.metadata["agent"]["reproduction"] is True


def test_sag_candidates_are_forked_not_rerun(tmp_path):
    """KNOWN_DIFFERENCES["SAG candidates forked"]: the reference's extra search is its winner's re-run."""
    [case] = _cases("agent_sag", case="sag_tie")
    queries = [r["payload"]["queries"][0] for r in case["retriever_requests"]]
    searched: list[str] = []

    async def counting_search(query: str) -> str:
        searched.append(query)
        return await golden_web_search(query)

    SEARCH["web_search"] = counting_search
    try:
        run_case(case, tmp_path, [call["response_choices"] for call in case["calls"]])
    finally:
        SEARCH["web_search"] = golden_web_search
    assert sorted(searched) == sorted(queries[:-1])  # the 4 candidate searches; the re-run (the 5th) is not made
    assert queries[-1] == queries[0]  # the reference's 5th search repeats the winner's (candidate 2's) query


def test_system_prompts_and_instruction_are_the_reference_texts():
    from agentdistill.solvers.agent import prompts

    golden = _load_golden("system_prompts")
    assert prompts.system_prompt("teacher") == golden["teacher"]
    assert prompts.system_prompt("student") == golden["student"] == golden["student_from_preprocess"]
    assert prompts.task_text("Q") == "Q" + golden["agent_instruction"]


# --- training data ----------------------------------------------------------------------------------------------

TRAINING_RUNS = {  # training_trajectory.json label -> (golden file, case, domain)
    "correct_teacher/math_gsm_hard": ("agent_correct", "correct_teacher", "math_gsm_hard"),
    "correct_teacher/factual_hotpotqa": ("agent_correct", "correct_teacher", "factual_hotpotqa"),
    "max_steps/factual_hotpotqa": ("agent_max_steps", "max_steps", "factual_hotpotqa"),
    "ftp/math_gsm_hard": ("agent_ftp", "ftp", "math_gsm_hard"),
}


@pytest.mark.parametrize("label", list(TRAINING_RUNS))
def test_training_examples_match_the_reference_preprocessing(label, tmp_path):
    from agentdistill.distill.trajectories import _plain_messages, agent_examples

    golden = _load_golden("training_trajectory")
    name, case_name, domain = TRAINING_RUNS[label]
    [case] = [c for c in _cases(name, case=case_name, domain=domain) if c["model_class"] == "VLLMServerModel"][:1]
    responses = [call["response_choices"] for call in case["calls"]]
    if name == "agent_ftp":
        responses.insert(0, case["cot_call"]["response_choices"])
    sample, _ = run_case(case, tmp_path, responses, ftp=name == "agent_ftp")
    examples = agent_examples(_plain_messages(sample.messages), sample.metadata["agent"])
    expected = [e for e in golden["examples"] if e["from"].split(" (")[0] == label]
    assert len(examples) == len(expected)
    for ours, theirs in zip(examples, expected):
        assert ours == theirs["messages"]
        # the loss covers exactly the assistant turns (distill/train.py's template masks all other roles)
        assert theirs["loss_mask"] == [m["role"] == "assistant" for m in ours]


# --- the executor's checks before running (texts checked against the reference's own functions when written) ----

_WORKER = importlib.util.spec_from_file_location(
    "agentdistill_worker_for_tests", Path(__file__).resolve().parents[1] / "solvers" / "sandbox" / "worker.py")


LOOPS = "too many for loops - not running the code to prevent out-of-memory error"
SIZE_ESTIMATE = "estimate_len() missing 1 required positional argument: 'state'"  # its estimate always failed


CHECK_CASES = [
    ("for i in range(3):\n    for j in range(3):\n        pass", LOOPS),
    ("for i in range(3):\n    x = [j for j in range(i)]", LOOPS),  # a comprehension is a loop level
    ("x = [a for a in range(3) for b in range(2)]", LOOPS),
    ("def f():\n    for a in b:\n        while c:\n            pass", LOOPS),  # even in a function never called
    ("x = [a for a in range(3)]\nfor i in x:\n    pass", None),
    ("import itertools\nlist(itertools.product([1, 2], repeat=2))", SIZE_ESTIMATE),
    ("from itertools import permutations\np = permutations(range(4))", SIZE_ESTIMATE),
    ("from itertools import product as P\nP()", "itertools.product missing iterable \u2014 blocking for safety"),
    ("import itertools as it\nit.combinations([1, 2], 2)",
     "Usage of itertools.combinations is blocked as potentially dangerous"),
    ("combinations([1], 1)", None),  # imported in an earlier step: the check did not see it
    ("while True:\n    break", None),
]


@pytest.mark.parametrize(("code", "refusal"), CHECK_CASES, ids=[f"check{i}" for i in range(len(CHECK_CASES))])
def test_reference_executor_checks_before_running(code, refusal):
    worker = importlib.util.module_from_spec(_WORKER)
    _WORKER.loader.exec_module(worker)
    assert worker._reference_precheck(ast.parse(code)) == refusal
