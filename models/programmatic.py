"""`programmatic/teacher`: a PROGRAMMATIC STAND-IN for the paper's 32B teacher (not a language model).

It writes correct teacher completions for samples that carry their computation (`metadata["computation"]`, as the
bignum family does: quantities in question order, steps with expression and exact value), in the reference formats:

- agent prompt (the conversation mentions `final_answer` or `<end_code>`): first turn
  `Thought: ...\\nCode:\\n```py\\n<assignments and steps>\\nprint(result)\\n```<end_code>`; once the real sandbox's
  observation comes back, it reads the printed value from it and calls `final_answer("\\\\boxed{value}")`. An
  observation without a printed integer (an error) gets the code again.
- CoT prompt (anything else): one line per step with the exact intermediate values, then `<answer>\\boxed{N}</answer>`.

It never looks at the gold answer, only at the item's computation, so the trajectory filters (parse errors, max steps,
correctness) are real checks. The agent/CoT decision reads the request, not a prompt's exact wording, so it survives
prompt text changes. Token usage is counted in word pieces (as `scripted/`), so nothing is downloaded.

    agentdistill trajectories run --model programmatic/teacher --tasks bignum_train --solver agent ...
"""

from __future__ import annotations

import re
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput
from inspect_ai.tool import ToolChoice, ToolInfo

from agentdistill.core.inspect_compat import active_sample
from agentdistill.models.apis import build_output
from agentdistill.models.scripted import count_pieces, truncate_at_stop

TEACHER_NAME = "teacher"
# What marks a CodeAct request: the agent prompts name the final_answer tool and the code block's end marker.
AGENT_MARKERS = ("final_answer", "<end_code>")
_OBSERVED_VALUE = re.compile(r"-?\d+")


def is_agent_request(messages: list[ChatMessage]) -> bool:
    """Whether the request is a CodeAct step (system prompt or task turn names the agent's tool or code marker)."""
    opening = "\n".join(m.text for m in messages if m.role in ("system", "user"))
    return any(marker in opening for marker in AGENT_MARKERS)


def _substituted(expr: str, values: dict[str, int]) -> str:
    """An expression with its names replaced by their values (`per_trip * trips` -> `179 * 38`)."""
    return re.sub(r"[A-Za-z_]\w*", lambda m: str(values[m.group(0)]) if m.group(0) in values else m.group(0), expr)


def _values(computation: dict[str, Any]) -> dict[str, int]:
    values = {q["name"]: int(q["value"]) for q in computation["quantities"]}
    values.update({s["name"]: int(s["value"]) for s in computation["steps"]})
    return values


def cot_completion(computation: dict[str, Any]) -> str:
    values = _values(computation)
    lines = [
        f"Step {i}: {step['what'].capitalize()}: {_substituted(step['expr'], values)} = {step['value']}."
        for i, step in enumerate(computation["steps"], start=1)
    ]
    answer = values[computation["result"]]
    return "\n".join(lines) + f"\nSo the answer is {answer}.\n\n<answer>\\boxed{{{answer}}}</answer>"


def code_turn(computation: dict[str, Any]) -> str:
    steps = computation["steps"]
    plan = ", then ".join(step["what"] for step in steps)
    code = [f"{q['name']} = {q['value']}" for q in computation["quantities"]]
    code += [f"{step['name']} = {step['expr']}" for step in steps]
    code.append(f"print({computation['result']})")
    return (f"Thought: I will put the numbers from the task into variables and compute the {plan} exactly with "
            f"Python, then print the result.\nCode:\n```py\n" + "\n".join(code) + "\n```<end_code>")


def final_turn(observed: str) -> str:
    return (f"Thought: The code printed {observed}, so the answer is {observed}.\nCode:\n```py\n"
            f"final_answer(\"\\\\boxed{{{observed}}}\")\n```<end_code>")


def observed_value(observation: str) -> str | None:
    """The integer the code printed, read from an observation's execution logs (None on an error or no output)."""
    if "Error" in observation or "Execution logs:" not in observation:
        return None
    logs = observation.split("Execution logs:", 1)[1]
    logs = logs.split("Last output from code snippet:", 1)[0]
    found = _OBSERVED_VALUE.findall(logs)
    return found[-1] if found else None


def agent_completion(computation: dict[str, Any], messages: list[ChatMessage]) -> str:
    history = [m for m in messages if m.role != "system"]
    if not any(m.role == "assistant" for m in history):
        return code_turn(computation)
    last_user = next((m.text for m in reversed(history) if m.role == "user"), "")
    # an observation turn has an `Observation:` line (the reference's turn opens with `Call id: call_N`); the call made
    # when the steps run out carries the memory too, but then asks "Based on the above, ..." for the answer
    if not re.search(r"(?m)^Observation:", last_user) or "Based on the above" in last_user:
        # not an observation (e.g. the steps-ran-out call for a final answer): answer in the boxed form it asks for
        return f"The answer is \\boxed{{{_values(computation)[computation['result']]}}}."
    value = observed_value(last_user)
    return final_turn(value) if value is not None else code_turn(computation)


class ProgrammaticTeacherAPI(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if model_name != TEACHER_NAME:
            raise ValueError(f"programmatic model: the only model is programmatic/{TEACHER_NAME}, got {model_name!r}")
        if model_args:
            raise ValueError(f"programmatic/{TEACHER_NAME} takes no model arguments, got {sorted(model_args)}")

    def max_tokens(self) -> int | None:
        return None

    def max_connections(self) -> int:
        return 32

    async def generate(
        self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice, config: GenerateConfig
    ) -> ModelOutput:
        active = active_sample()
        sample = active.sample if active is not None else None
        computation = (sample.metadata or {}).get("computation") if sample is not None else None
        if not computation:
            where = f"sample {sample.id!r}" if sample is not None else "a call outside an eval sample"
            raise ValueError(
                f"programmatic/{TEACHER_NAME}: {where} has no metadata['computation'] (the stand-in teacher only "
                "answers tasks that store each item's computation, e.g. bignum, bignum_train)"
            )
        prefill = input[-1].text if input and input[-1].role == "assistant" else None
        history = input[:-1] if prefill is not None else input
        if is_agent_request(history):
            text = agent_completion(computation, history)
            if prefill:  # first-thought prefix: continue after it with the turn's own reasoning
                text = " " + text.removeprefix("Thought: ")
        else:
            text = cot_completion(computation)
        text, _ = truncate_at_stop(text, config.stop_seqs)
        rows = [(text, "stop")] * (config.num_choices or 1)
        in_tokens = sum(count_pieces(m.text) for m in input)
        return build_output(self.model_name, rows, in_tokens, count_pieces(text) * len(rows))
