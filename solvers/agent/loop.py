"""The CodeAct loop: one mechanism for every agent solver; how each step's action is chosen is an `ActionChooser`.

Each step the chooser produces the next action (greedy: one generation, one run; SAG: N candidates run from the same
interpreter state, voted, the winner's state committed). By default every turn is what the paper's runs sent
(`prompts`, `core/reference_texts`): system prompt, `New task:` user turn, the assistant turn with `<end_code>`, then
`Call id: call_N` observation / error turns as user turns (observation + error of one step in ONE user turn, as the
reference's server model merged them). `final_answer(x)` ends the episode; when the steps run out, the reference's
"stuck" call (its own system turn, the memory, "Based on the above...") gives the answer, recorded in
`state.metadata["agent"]["stuck_call"]` (a training example of its own). Every candidate is kept in
`state.metadata["agent"]`, with the options that differ from the reference (`options`, `reproduction`).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
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

from agentdistill.core import reference as reference_texts, stats
from agentdistill.core.answers import extract_answer
from agentdistill.core.paths import TRAIN_INFO_FILE
from agentdistill.solvers.agent import prompts
from agentdistill.solvers.agent.parse import ParseError, parse_turn
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
    text: str  # the assistant turn as recorded (prefill + completion, `<end_code>` after a closing fence, stripped)
    thought: str = ""
    code: str | None = None
    parse_error: str | None = None  # the error text sent back to the model
    result: Any = None  # ExecResult
    logs: str = ""  # what the code printed (the execution logs; SAG's vote key by default)
    observation: str = ""  # the user turn that follows this action (observation and/or error)
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
            "execution_logs": self.logs,
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
    config: GenerateConfig  # stop sequences, max tokens, greedy temperature (SAG sets its own sampling)
    seed: int  # deterministic per sample, epoch and step
    step_number: int = 1  # the reference's memory step number of this action (its call id): the first is 1
    parser: str = "reference"
    timeout: float | None = None  # per action in the sandbox


class ActionChooser(Protocol):
    name: str
    samples_candidates: bool  # several candidates per step (SAG): the loop reports valid candidates per step

    def final_config(self, base: GenerateConfig) -> GenerateConfig: ...

    async def choose(self, ctx: StepContext) -> StepOutcome: ...


# --- candidates -------------------------------------------------------------------------------------------------


def make_candidate(index: int, completion: str, prefill: str | None, stop_reason: str | None = None,
                   parser: str = "reference") -> Candidate:
    """Parse a completion (continuing `prefill`, if any) into a candidate; a parse failure is kept, not raised."""
    text, parsed = parse_turn((prefill or "") + completion, parser)
    candidate = Candidate(index=index, text=text, stop_reason=stop_reason)
    if isinstance(parsed, ParseError):
        candidate.parse_error = str(parsed)
        candidate.observation = prompts.observation_error(None, "", str(parsed))
    else:
        candidate.thought, candidate.code = parsed.thought, parsed.code
    return candidate


def observe(candidate: Candidate, result: Any, step_number: int = 1) -> Candidate:
    """Attach an execution result and build the turn the model will read next (memory.py's texts)."""
    candidate.result = result
    candidate.logs = result.stdout or ""
    extra = result.stderr or ""  # the reference's executor showed prints only; anything else is a note after them
    if result.truncated:
        extra += "\n[output truncated]"
    if getattr(result, "notice", None):  # e.g. the interpreter was restarted and its variables are lost
        extra += f"\nNote: {result.notice}"
    logs = candidate.logs + (extra.strip("\n") + "\n" if extra.strip() else "")
    if result.error:
        candidate.observation = prompts.observation_error(step_number, logs, str(result.error))
        return candidate
    last = result.last_output if getattr(result, "last_output", None) is not None else str(result.value)
    if getattr(result, "final_answer_called", False):
        candidate.final = True
        candidate.final_answer = str(result.final_answer)
    candidate.observation = prompts.observation_success(step_number, logs, last)
    return candidate


def _ran(candidate: Candidate) -> bool:
    result = candidate.result
    return result is not None and not getattr(result, "refused_before_running", False)


def print_container_after(candidates: list[Candidate], chosen: Candidate, previous: str) -> str:
    """What the reference's executor held as "print outputs" after a step: the chosen action's prints when it ran,
    else those of the last candidate that ran (SAG runs them in order in one interpreter), else the step before's."""
    if _ran(chosen):
        return chosen.logs
    ran = [c for c in candidates if _ran(c)]
    return ran[-1].logs if ran else previous


def refused_observation(chosen: Candidate, step_number: int, stale_logs: str) -> str:
    """A check before running refused the code: the reference reset its print outputs only when code ran, so its
    error turn showed the print outputs left from the last code that did run."""
    return prompts.observation_error(step_number, stale_logs, str(chosen.result.error))


def completion_texts(output: ModelOutput) -> list[tuple[str, str | None]]:
    return [(choice.message.text, choice.stop_reason) for choice in output.choices]


def output_tokens(output: ModelOutput) -> int:
    return output.usage.output_tokens if output.usage is not None else 0


def generation_input(ctx: StepContext) -> list[ChatMessage]:
    if ctx.prefill:
        return [*ctx.messages, ChatMessageAssistant(content=ctx.prefill, model=str(ctx.model))]
    return list(ctx.messages)


# --- prompts ------------------------------------------------------------------------------------------------------


def system_prompt(variant: str, domain: str | None = None) -> str:
    """The reference's teacher or student system prompt; the same in every domain (`domain` is accepted and unused)."""
    return prompts.system_prompt(variant)


def first_paragraph(text: str) -> str:
    """FTP: the CoT answer's text before its first blank line (the reference's `split("\\n\\n")[0]`, unstripped)."""
    return text.split(prompts.FTP_PARAGRAPH_END)[0]


def ftp_prefix_text(cot_completion: str) -> str:
    return prompts.FTP_THOUGHT_PREFIX + first_paragraph(cot_completion) + prompts.FTP_PARAGRAPH_END


def is_distilled_student(model: Model) -> bool:
    """Whether the model is an adapter made by `agentdistill train` (its folder holds the training provenance)."""
    name = str(getattr(model, "name", "") or model)
    candidates = {name, *name.split(":")}
    args = getattr(getattr(model, "api", None), "model_args", None) or {}
    candidates |= {str(v) for v in args.values() if isinstance(v, (str, Path))}
    for candidate in candidates:
        for path in (Path(candidate), *(Path(candidate.split("/", i)[-1]) for i in range(1, 3))):
            try:
                if (path / TRAIN_INFO_FILE).is_file():
                    return True
            except OSError:
                continue
    return False


# --- the loop -----------------------------------------------------------------------------------------------------


@dataclass
class AgentSettings:
    max_steps: int = 5
    prompt: str | None = None  # teacher | student; None: student for adapters made by `agentdistill train`
    ftp: bool = False
    retriever: str | None = None
    k: int = 3
    max_tokens: int | None = 1024
    temperature: float | None = 0.0  # greedy calls (steps, FTP's CoT call, the stuck call); None: the model's own
    seed: int = 0
    timeout: float | None = None  # seconds per action in the sandbox (None: the sandbox's default)
    parser: str = "reference"  # reference | lenient
    imports: str = "reference"  # reference (the executor's allow-list) | any
    errors: str = "reference"  # reference (its error texts and last output) | traceback (CPython's)
    tools: dict[str, Callable[..., Awaitable[str]]] | None = None  # overrides the default tools (tests)


# The reference's values of the options above: anything else is recorded as a non-reproduction setting.
REFERENCE_OPTIONS = {"max_steps": 5, "k": 3, "max_tokens": 1024, "temperature": 0.0, "parser": "reference",
                     "imports": "reference", "errors": "reference"}


def non_default_options(settings: AgentSettings, chooser: "ActionChooser") -> dict[str, Any]:
    options = {key: getattr(settings, key) for key, value in REFERENCE_OPTIONS.items()
               if getattr(settings, key) != value}
    options.update(getattr(chooser, "non_default_options", dict)())
    return options


def _sample_seed(state: TaskState, seed: int) -> int:
    return zlib.crc32(f"{state.sample_id}|{state.epoch}|{seed}".encode())


def default_tools(domain: str, settings: AgentSettings) -> dict[str, Callable[..., Awaitable[str]]]:
    """web_search in every domain, as the reference gives it (final_answer is the sandbox's own)."""
    if settings.tools is not None:
        return dict(settings.tools)
    return {"web_search": make_web_search(settings.retriever, k=settings.k)}


def interpreter_config(settings: AgentSettings) -> dict[str, Any]:
    if settings.imports not in ("reference", "any"):
        raise ValueError(f"agent: imports must be 'reference' or 'any', got {settings.imports!r}")
    if settings.errors not in ("reference", "traceback"):
        raise ValueError(f"agent: errors must be 'reference' or 'traceback', got {settings.errors!r}")
    reference = settings.errors == "reference"
    return {
        "authorized_imports": reference_texts.authorized_imports() if settings.imports == "reference" else None,
        "reference_errors": reference,
        # the reference kept the head and tail of long print outputs: keep enough bytes for the tail to survive
        "output_cap": REFERENCE_OUTPUT_CAP_BYTES if reference else None,
    }


REFERENCE_OUTPUT_CAP_BYTES = 1 << 20


def greedy_config(settings: AgentSettings, **extra: Any) -> GenerateConfig:
    return GenerateConfig(max_tokens=settings.max_tokens, temperature=settings.temperature, **extra)


async def ftp_prefix(model: Model, state: TaskState, domain: str, settings: AgentSettings) -> tuple[str, int]:
    """Run the CoT prompt (greedy, the CoT run's max tokens) and return (the first-thought prefill, tokens)."""
    config = GenerateConfig(max_tokens=prompts.FTP_COT_MAX_TOKENS, temperature=settings.temperature)
    output = await model.generate(cot_messages(state.input_text, domain), config=config)
    return ftp_prefix_text(output.completion), output_tokens(output)


def stuck_messages(messages: list[ChatMessage], question: str) -> list[ChatMessage]:
    """The reference's call when max steps run out: its own system turn, the memory without the system prompt, and
    "Based on the above..." merged into the last user turn (same-role turns are concatenated on the wire)."""
    ask = reference_texts.stuck_user_prompt(prompts.task_text(question))
    out: list[ChatMessage] = [ChatMessageSystem(content=reference_texts.stuck_system_prompt()), *messages[1:]]
    if out and isinstance(out[-1], ChatMessageUser):
        out[-1] = ChatMessageUser(content=out[-1].text + ask)
    else:
        out.append(ChatMessageUser(content=ask))
    return out


async def stuck_call(model: Model, state: TaskState, chooser: "ActionChooser", settings: AgentSettings,
                     domain: str) -> int:
    """Steps ran out: the stuck call; its raw text (first sample, as the reference keeps it) is the answer."""
    messages = stuck_messages(state.messages, state.input_text)
    output = await model.generate(messages, config=chooser.final_config(greedy_config(settings)))
    answer = output.choices[0].message.text if output.choices else ""
    state.metadata[AGENT_KEY]["stuck_call"] = {
        "messages": [{"role": m.role, "content": m.text} for m in messages],
        "completion": answer,
    }
    # the reference's answer is the raw text (state.output, metadata.agent.generated_answer); the project's scorers
    # read `final_answer` as an answer, so it is the answer found in that text (the raw text when none is found)
    state.metadata[AGENT_KEY]["generated_answer"] = answer
    state.metadata["final_answer"] = extract_answer(answer, domain) or answer
    state.output = ModelOutput.from_content(model=str(model), content=answer)
    return output_tokens(output)


async def run_agent(
    state: TaskState,
    chooser: ActionChooser,
    settings: AgentSettings,
    interpreter_factory: InterpreterFactory | None = None,
) -> TaskState:
    domain = state.metadata.get("domain") or "math"
    tools = default_tools(domain, settings)
    if interpreter_factory is not None:
        interp = await interpreter_factory(tools)
    else:
        interp = await acquire_interpreter(tools, **interpreter_config(settings))
    try:
        return await _episode(state, chooser, settings, interp, domain)
    finally:
        await release_interpreter(interp)


async def _episode(
    state: TaskState, chooser: ActionChooser, settings: AgentSettings, interp: Interpreter, domain: str
) -> TaskState:
    model = get_model()
    question = state.input_text
    variant = settings.prompt or ("student" if is_distilled_student(model) else "teacher")
    state.messages = [
        ChatMessageSystem(content=system_prompt(variant)),
        ChatMessageUser(content=prompts.user_turn(question)),
    ]
    options = non_default_options(settings, chooser)
    log: dict[str, Any] = {"chooser": chooser.name, "prompt": variant,
                           "prompt_chosen": "given" if settings.prompt else "automatic",
                           "options": options, "reproduction": not options, "ftp_prefix": None, "steps": []}
    state.metadata[AGENT_KEY] = log
    stats.record(state, **dict.fromkeys(stats.STAT_KEYS, 0))

    tokens = 0
    prefill = None
    if settings.ftp:
        prefill, used = await ftp_prefix(model, state, domain, settings)
        tokens += used
        log["ftp_prefix"] = prefill

    config = greedy_config(settings, stop_seqs=list(prompts.STOP_SEQUENCES))
    base_seed = _sample_seed(state, settings.seed)
    valid_counts: list[int] = []
    final: Candidate | None = None
    print_outputs = ""  # the reference executor's print container (see print_container_after)
    for step in range(settings.max_steps):
        ctx = StepContext(
            model=model,
            messages=list(state.messages),
            prefill=prefill,
            interp=interp,
            domain=domain,
            config=config,
            seed=base_seed + step,
            step_number=step + 1,
            parser=settings.parser,
            timeout=settings.timeout,
        )
        outcome = await chooser.choose(ctx)
        prefill = None
        chosen = outcome.chosen
        print_outputs = print_container_after(outcome.candidates, chosen, print_outputs)
        if getattr(chosen.result, "refused_before_running", False):
            chosen.observation = refused_observation(chosen, step + 1, print_outputs)
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
        state.messages.append(ChatMessageUser(content=chosen.observation))

    if final is not None:
        state.metadata["final_answer"] = final.final_answer
        log["generated_answer"] = final.final_answer
        state.output = ModelOutput.from_content(model=str(model), content=final.final_answer or "")
        log["fallback"] = False
    else:
        stats.record(state, max_steps_hit=1)
        log["fallback"] = True
        tokens += await stuck_call(model, state, chooser, settings, domain)
    state.output.usage = ModelUsage(output_tokens=tokens, total_tokens=tokens)
    stats.record(state, tokens_generated=tokens)
    if chooser.samples_candidates:
        stats.set_stat(state, sag_valid_candidates=sum(valid_counts) / max(len(valid_counts), 1))
    return state
