"""The CodeAct loop: one mechanism for every agent solver; how each step's action is chosen is an `ActionChooser`.

Each step the chooser produces the next action (greedy: one generation, one run; SAG: N candidates run from the same
interpreter state, voted, the winner's state committed). The loop records the chosen turn and its observation in
`state.messages` as a real chat (system, user task, assistant turn, user "Observation: ...", ...), so distillation can
read trajectories from logs, keeps every candidate in `state.metadata["agent"]`, and counts the run measurements.
`final_answer(x)` ends the episode; when the steps run out, one more call without tools asks for the final answer.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelOutput,
    ModelUsage,
    get_model,
)
from inspect_ai.solver import TaskState

from agentdistill.core import stats
from agentdistill.core.answers import extract_answer
from agentdistill.solvers.agent import prompts
from agentdistill.solvers.agent.parse import ParseError, normalize_turn, parse_action
from agentdistill.solvers.retrieval import make_web_search
from agentdistill.solvers.sandbox.acquire import acquire_interpreter, release_interpreter
from agentdistill.tasks._core.prompts import cot_messages

logger = logging.getLogger(__name__)

AGENT_KEY = "agent"
class Interpreter(Protocol):
    """What the loop needs of the sandbox client (`agentdistill.solvers.sandbox`)."""

    async def run(self, code: str, timeout: float | None = None) -> Any: ...
    async def run_candidates(self, codes: list[str], timeout: float | None = None) -> list[Any]: ...
    async def commit(self, index: int) -> bool: ...
    async def discard(self) -> None: ...


InterpreterFactory = Callable[[dict[str, Callable[..., Awaitable[str]]]], Awaitable[Interpreter]]


@dataclass
class Candidate:
    """One proposed action and what running it gave."""

    index: int
    text: str  # the assistant turn as recorded (prefill + completion, closed with ```<end_code>)
    thought: str = ""
    code: str | None = None
    parse_error: str | None = None  # the message sent back to the model
    result: Any = None  # ExecResult
    observation: str = ""
    final: bool = False
    final_answer: str | None = None
    stop_reason: str | None = None

    @property
    def exec_error(self) -> str | None:
        return None if self.result is None else self.result.error

    @property
    def valid(self) -> bool:
        return self.parse_error is None and self.result is not None and self.result.error is None

    def record(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "text": self.text,
            "valid": self.valid,
            "parse_error": self.parse_error,
            "error": self.exec_error,
            "observation": self.observation,
            "final_answer": self.final_answer,
            "wall_ms": getattr(self.result, "wall_ms", None),
            "stop_reason": self.stop_reason,
        }


@dataclass
class StepOutcome:
    chosen: Candidate
    candidates: list[Candidate]
    votes: dict[str, int] | None = None
    tokens: int = 0
    committed: bool | None = None  # SAG: whether the winner's state became the interpreter's state


@dataclass
class StepContext:
    """Everything a chooser needs to produce one step's action."""

    model: Model
    messages: list[ChatMessage]  # the conversation so far (without the prefill)
    prefill: str | None  # text the assistant turn must start with (FTP), or None
    interp: Interpreter
    domain: str
    config: GenerateConfig  # stop sequences, max tokens (the chooser adds its sampling settings)
    seed: int  # deterministic per sample, epoch and step
    timeout: float | None = None  # per action in the sandbox


class ActionChooser(Protocol):
    name: str
    samples_candidates: bool  # several candidates per step (SAG): the loop reports valid candidates per step

    async def choose(self, ctx: StepContext) -> StepOutcome: ...


# --- candidates -------------------------------------------------------------------------------------------------


def make_candidate(index: int, completion: str, prefill: str | None, stop_reason: str | None = None) -> Candidate:
    """Parse a completion (continuing `prefill`, if any) into a candidate; a parse failure is kept, not raised."""
    text = normalize_turn((prefill or "") + completion)
    candidate = Candidate(index=index, text=text, stop_reason=stop_reason)
    try:
        action = parse_action(text)
    except ParseError as err:
        candidate.parse_error = str(err)
        candidate.observation = str(err)
    else:
        candidate.thought, candidate.code = action.thought, action.code
    return candidate


def observe(candidate: Candidate, result: Any) -> Candidate:
    """Attach an execution result and build the observation text the model will read."""
    candidate.result = result
    logs = (result.stdout or "") + (result.stderr or "")
    if result.truncated:
        logs = logs.rstrip("\n") + "\n" + prompts.OBSERVATION_TRUNCATED_NOTE
    if getattr(result, "notice", None):  # e.g. the interpreter was restarted and its variables are lost
        logs = logs.rstrip("\n") + "\n" + f"Note: {result.notice}"
    if result.error:
        shown = f"Execution logs:\n{logs.rstrip()}\n" if logs.strip() else ""
        candidate.observation = prompts.OBSERVATION_ERROR.format(logs=shown, error=str(result.error).strip())
    elif getattr(result, "final_answer_called", False):
        candidate.final = True
        candidate.final_answer = str(result.final_answer)
        candidate.observation = prompts.OBSERVATION_FINAL.format(answer=candidate.final_answer)
    else:
        candidate.observation = prompts.OBSERVATION_SUCCESS.format(logs=logs.rstrip("\n"), value=result.value)
    return candidate


def completion_texts(output: ModelOutput) -> list[tuple[str, str | None]]:
    return [(choice.message.text, choice.stop_reason) for choice in output.choices]


def output_tokens(output: ModelOutput) -> int:
    return output.usage.output_tokens if output.usage is not None else 0


def generation_input(ctx: StepContext) -> list[ChatMessage]:
    if ctx.prefill:
        return [*ctx.messages, ChatMessageAssistant(content=ctx.prefill, model=str(ctx.model))]
    return list(ctx.messages)


# --- prompts ------------------------------------------------------------------------------------------------------


def system_prompt(variant: str, domain: str) -> str:
    factual = domain == "factual"
    tools = prompts.TOOLS_FACTUAL if factual else prompts.TOOLS_MATH
    if variant == "student":
        return prompts.STUDENT_SYSTEM_PROMPT.format(tools=tools)
    if variant != "teacher":
        raise ValueError(f"agent: prompt must be 'teacher' or 'student', got {variant!r}")
    examples = prompts.TEACHER_EXAMPLES_FACTUAL if factual else prompts.TEACHER_EXAMPLES_MATH
    return prompts.TEACHER_SYSTEM_PROMPT.format(tools=tools, examples=examples)


def user_turn(question: str, domain: str) -> str:
    instruction = prompts.USER_INSTRUCTION_MATH if domain == "math" else prompts.USER_INSTRUCTION
    return prompts.USER_TURN_TEMPLATE.format(question=question, instruction=instruction)


def first_paragraph(text: str) -> str:
    """The text before the first blank line (FTP), stripped and bounded."""
    stripped = text.strip()
    for separator in ("\n\n", "\r\n\r\n"):
        stripped = stripped.split(separator, 1)[0]
    return stripped.strip()[: prompts.FTP_MAX_CHARS]


# --- the loop -----------------------------------------------------------------------------------------------------


@dataclass
class AgentSettings:
    max_steps: int = 5
    prompt: str = "teacher"
    ftp: bool = False
    retriever: str | None = None
    k: int = 3
    max_tokens: int | None = 1024
    seed: int = 0
    timeout: float | None = None  # seconds per action in the sandbox (None: the sandbox's default)
    tools: dict[str, Callable[..., Awaitable[str]]] | None = None  # overrides the default tools (tests)


def _sample_seed(state: TaskState, seed: int) -> int:
    return zlib.crc32(f"{state.sample_id}|{state.epoch}|{seed}".encode())


def default_tools(domain: str, settings: AgentSettings) -> dict[str, Callable[..., Awaitable[str]]]:
    if settings.tools is not None:
        return dict(settings.tools)
    if domain != "factual":
        return {}
    return {"web_search": make_web_search(settings.retriever, k=settings.k)}


async def ftp_prefix(model: Model, state: TaskState, domain: str, max_tokens: int | None) -> tuple[str | None, int]:
    """Run the CoT prompt and return (the first-thought prefill, tokens generated)."""
    # Only the first paragraph is used: stop at the first blank line (a leading blank line cannot stop it, as
    # providers apply stop strings to generated text and the model rarely opens with one; if it does, no prefix).
    output = await model.generate(
        cot_messages(state.input_text, domain), config=GenerateConfig(stop_seqs=["\n\n"], max_tokens=max_tokens)
    )
    paragraph = first_paragraph(output.completion)
    if not paragraph:
        return None, output_tokens(output)
    if paragraph.lower().startswith("thought:"):
        paragraph = paragraph[len("thought:") :].lstrip()
    return prompts.FTP_THOUGHT_PREFIX + paragraph, output_tokens(output)


async def final_answer_fallback(model: Model, state: TaskState, domain: str, max_tokens: int | None) -> int:
    """Steps ran out: one more call, without tools, for a final answer from the transcript."""
    fmt = prompts.FINAL_ANSWER_FORMAT_MATH if domain == "math" else prompts.FINAL_ANSWER_FORMAT_FACTUAL
    ask = ChatMessageUser(content=prompts.FINAL_ANSWER_PROMPT.format(question=state.input_text, format_instruction=fmt))
    output = await model.generate([*state.messages, ask], config=GenerateConfig(max_tokens=max_tokens))
    state.messages.append(ask)
    state.messages.append(ChatMessageAssistant(content=output.completion, model=str(model), source="generate"))
    answer = extract_answer(output.completion, domain)
    if answer:
        state.metadata["final_answer"] = str(answer)
    state.output = output
    return output_tokens(output)


async def run_agent(
    state: TaskState,
    chooser: ActionChooser,
    settings: AgentSettings,
    interpreter_factory: InterpreterFactory | None = None,
) -> TaskState:
    domain = state.metadata.get("domain") or "math"
    tools = default_tools(domain, settings)
    interp = await (interpreter_factory or acquire_interpreter)(tools)
    try:
        return await _episode(state, chooser, settings, interp, domain, sorted(tools))
    finally:
        await release_interpreter(interp)


async def _episode(
    state: TaskState, chooser: ActionChooser, settings: AgentSettings, interp: Interpreter, domain: str, tools: list[str]
) -> TaskState:
    model = get_model()
    question = state.input_text
    state.messages = [
        ChatMessageSystem(content=system_prompt(settings.prompt, domain)),
        ChatMessageUser(content=user_turn(question, domain)),
    ]
    log: dict[str, Any] = {"chooser": chooser.name, "prompt": settings.prompt, "ftp_prefix": None, "steps": []}
    state.metadata[AGENT_KEY] = log
    stats.record(state, **dict.fromkeys(stats.STAT_KEYS, 0))

    tokens = 0
    prefill = None
    if settings.ftp:
        prefill, used = await ftp_prefix(model, state, domain, settings.max_tokens)
        tokens += used
        log["ftp_prefix"] = prefill

    config = GenerateConfig(stop_seqs=list(prompts.STOP_SEQUENCES), max_tokens=settings.max_tokens)
    base_seed = _sample_seed(state, settings.seed)
    valid_counts: list[int] = []
    final: Candidate | None = None
    for step in range(settings.max_steps):
        ctx = StepContext(
            model=model,
            messages=list(state.messages),
            prefill=prefill,
            interp=interp,
            domain=domain,
            config=config,
            seed=base_seed + step,
            timeout=settings.timeout,
        )
        outcome = await chooser.choose(ctx)
        prefill = None
        chosen = outcome.chosen
        tokens += outcome.tokens
        valid_counts.append(sum(c.valid for c in outcome.candidates))
        stats.record(
            state,
            steps=1,
            parse_errors=int(chosen.parse_error is not None),
            exec_errors=int(chosen.exec_error is not None),
            # counted on the host as the sandbox relays each call, for the chosen candidate only
            web_search_calls=int(getattr(chosen.result, "tool_calls", {}).get("web_search", 0)),
        )
        log["steps"].append(
            {
                "step": step,
                "chosen": chosen.index,
                "votes": outcome.votes,
                "committed": outcome.committed,
                "candidates": [c.record() for c in outcome.candidates],
            }
        )
        if len(outcome.candidates) > 1:
            transcript().info(
                {"agent_step": step, "chosen": chosen.index, "valid": valid_counts[-1], "votes": outcome.votes},
                source="agent_sag",
            )
        state.messages.append(ChatMessageAssistant(content=chosen.text, model=str(model), source="generate"))
        if chosen.final:
            final = chosen
            break
        state.messages.append(ChatMessageUser(content=prompts.OBSERVATION_TEMPLATE.format(observation=chosen.observation)))

    if final is not None:
        state.metadata["final_answer"] = final.final_answer
        state.output = ModelOutput.from_content(model=str(model), content=final.final_answer or "")
        log["fallback"] = False
    else:
        stats.record(state, max_steps_hit=1)
        log["fallback"] = True
        tokens += await final_answer_fallback(model, state, domain, settings.max_tokens)
    state.output.usage = ModelUsage(output_tokens=tokens, total_tokens=tokens)
    stats.record(state, tokens_generated=tokens)
    if chooser.samples_candidates:
        stats.set_stat(state, sag_valid_candidates=sum(valid_counts) / max(len(valid_counts), 1))
    return state
