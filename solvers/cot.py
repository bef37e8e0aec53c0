"""Chain-of-thought baselines: `cot` (greedy, one answer) and `cot_sc` (self-consistency).

The prompt is the paper's CoT baseline as the reference sends it (`tasks/_core/prompts.py`): the
`teacher_model.yaml` system prompt (reason, then the final answer in `<answer></answer>` tags, math in
`\\boxed{}`) and the bare question as the user turn; greedy decoding sent as temperature 0, up to 4096 new
tokens. `cot_messages()` builds the conversation and is reused by the RAG solver (which passes retrieved
documents) and by the agent's first-thought prefix.

`cot_sc` sends the same prompt, draws k samples (default 5) in one request (`num_choices`), extracts and
normalises each sample's answer with `agentdistill.core.answers`, and takes the majority; ties go to the answer
whose first sample came first (deterministic). It sets `state.metadata["final_answer"]` and records every sample,
its answer and the vote counts in `state.metadata["cot_sc"]`.
"""

from __future__ import annotations

from collections import Counter
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelOutput,
    get_model,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver

from agentdistill.core import args as check
from agentdistill.core.answers import extract_answer, normalize_answer
from agentdistill.core.stats import record
from agentdistill.tasks._core.prompts import COT_MAX_TOKENS, cot_messages

COT_SC_DEFAULT_K = 5
COT_SC_DEFAULT_TEMPERATURE = 0.7
COT_SC_DEFAULT_TOP_P = 0.95


def _domain(state: TaskState) -> str:
    return str(state.metadata.get("domain") or "math")


def record_tokens(state: TaskState, output: ModelOutput) -> None:
    """Count the output's generated tokens in the run stats (also used by the RAG solver)."""
    tokens = output.usage.output_tokens if output.usage is not None else 0
    record(state, tokens_generated=tokens)


@solver
def cot(max_tokens: int = COT_MAX_TOKENS, temperature: float = 0.0) -> Solver:
    """The paper's CoT baseline: one greedy generation with the CoT prompt.

    Args:
        max_tokens: the generation limit (paper: 4096).
        temperature: 0 is greedy (the paper's setting).
    """
    max_tokens = check.number("solver cot", "max_tokens", max_tokens, integer=True, lo=1)
    temperature = check.number("solver cot", "temperature", temperature, lo=0)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages = cot_messages(state.input_text, _domain(state))
        state = await generate(state, max_tokens=max_tokens, temperature=temperature)
        record_tokens(state, state.output)
        return state

    return solve


def majority_vote(answers: list[str | None], domain: str) -> tuple[int | None, dict[str, int], list[str | None]]:
    """Index of the winning sample, vote counts by normalised key, and each sample's key.

    Samples without an extracted answer do not vote. The winner is the key with the most
    votes; a tie goes to the key whose first sample came first. Returns (None, {}, keys)
    when no sample has an answer.
    """
    keys = [normalize_answer(a, domain) if a is not None and a.strip() else None for a in answers]
    counts = Counter(k for k in keys if k)
    if not counts:
        return None, {}, keys
    first = {k: keys.index(k) for k in counts}
    best = max(counts, key=lambda k: (counts[k], -first[k]))
    return first[best], dict(counts), keys


async def _sample(messages: list[ChatMessage], k: int, config: GenerateConfig) -> ModelOutput:
    """k choices, in one request when the provider honours num_choices, else topped up
    with further requests."""
    model = get_model()
    output = await model.generate(messages, config=config.merge(GenerateConfig(num_choices=k)))
    choices = list(output.choices)
    usage = output.usage
    while len(choices) < k:
        more = await model.generate(messages, config=config.merge(GenerateConfig(num_choices=k - len(choices))))
        if not more.choices:
            break
        choices.extend(more.choices)
        if usage is not None and more.usage is not None:
            usage = usage + more.usage
    output.choices = choices[:k]
    output.usage = usage
    return output


@solver
def cot_sc(
    k: int = COT_SC_DEFAULT_K,
    temperature: float = COT_SC_DEFAULT_TEMPERATURE,
    top_p: float = COT_SC_DEFAULT_TOP_P,
    max_tokens: int = COT_MAX_TOKENS,
) -> Solver:
    """CoT self-consistency: k sampled CoT answers, majority vote over normalised answers.

    Args:
        k: number of samples (default 5; the paper compares SAG against CoT-SC at equal budget).
        temperature: sampling temperature.
        top_p: nucleus sampling.
        max_tokens: the generation limit per sample.
    """
    # checked here, before any sample runs: k=0 would vote on nothing, and out-of-range sampling settings are
    # either rejected by the provider mid-run or silently clamped
    k = check.number("solver cot_sc", "k", k, integer=True, lo=1)
    temperature = check.number("solver cot_sc", "temperature", temperature, lo=0)
    top_p = check.number("solver cot_sc", "top_p", top_p, lo=0, hi=1, lo_open=True)
    max_tokens = check.number("solver cot_sc", "max_tokens", max_tokens, integer=True, lo=1)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        domain = _domain(state)
        state.messages = cot_messages(state.input_text, domain)
        config = GenerateConfig(temperature=temperature, top_p=top_p, max_tokens=max_tokens)
        output = await _sample(state.messages, k, config)
        texts = [choice.message.text for choice in output.choices]
        answers = [extract_answer(text, domain) for text in texts]
        winner, votes, keys = majority_vote(answers, domain)
        chosen = winner if winner is not None else 0
        if output.choices:
            # the winner first, so output.completion is the chosen sample's text
            output.choices = [output.choices[chosen]] + [c for i, c in enumerate(output.choices) if i != chosen]
            output.completion = output.choices[0].message.text
            state.messages.append(output.choices[0].message)
        state.output = output
        if winner is not None:
            state.metadata["final_answer"] = str(answers[winner])
        else:  # no sample voted: the scorer must not extract an answer from a completion the vote never chose
            state.metadata["no_answer"] = True
        state.metadata["cot_sc"] = {
            "k": k,
            "temperature": temperature,
            "samples": [
                {"index": i, "text": t, "answer": a, "key": key} for i, (t, a, key) in enumerate(zip(texts, answers, keys))
            ],
            "votes": votes,
            "winner_index": winner,
            "winner_key": keys[winner] if winner is not None else None,
        }
        record_tokens(state, output)
        return state

    return solve

