"""Action choosers: how one step's action is produced. The loop (`loop.run_agent`) is the same for all of them.

- `GreedyChooser`: one generation (temperature 0 by default), one run in the interpreter.
- `SAGChooser` (self-consistent action generation): N candidates in one request (`num_choices`, topped up with
  concurrent generations when the model API returns fewer), all run from the same interpreter state (the sandbox
  forks them), candidates that fail to parse or raise dropped, then a vote:
  - `vote="logs"` (the reference, `agents.py`): the key is the candidate's execution logs (what it printed); the
    largest group wins, ties go to the group formed first, its first member is taken (candidates that only call
    `final_answer` print nothing and all tie);
  - `vote="answer"` (the project's): the key is the observation, or the normalised final answer for candidates
    that call `final_answer`; same tie rule.
  The winner's state is committed without running it again. With no valid candidate, candidate 0 is kept (its
  error is the observation; its state up to the error is kept, as re-running it in the reference left it). The
  stuck call after max steps samples with the same settings and keeps the first sample, as the reference does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from inspect_ai.model import GenerateConfig

from agentdistill.core.answers import normalize_answer
from agentdistill.solvers.agent.loop import (
    Candidate,
    StepContext,
    StepOutcome,
    completion_texts,
    generation_input,
    make_candidate,
    observe,
    output_tokens,
)

VOTES = ("logs", "answer")


class GreedyChooser:
    name = "greedy"
    samples_candidates = False

    def __init__(self, config: GenerateConfig | None = None):
        self.config = config or GenerateConfig()

    def final_config(self, base: GenerateConfig) -> GenerateConfig:
        return base.merge(self.config)

    async def choose(self, ctx: StepContext) -> StepOutcome:
        output = await ctx.model.generate(generation_input(ctx), config=ctx.config.merge(self.config))
        (text, stop_reason), *_ = completion_texts(output) or [("", None)]
        candidate = make_candidate(0, text, ctx.prefill, stop_reason, ctx.parser)
        if candidate.code is not None:
            observe(candidate, await ctx.interp.run(candidate.code, timeout=ctx.timeout), ctx.step_number)
        return StepOutcome(chosen=candidate, candidates=[candidate], tokens=output_tokens(output))


def vote_key(candidate: Candidate, domain: str, vote: str = "logs") -> str:
    if vote == "logs":
        return candidate.logs
    if candidate.final:
        return "final_answer: " + normalize_answer(candidate.final_answer or "", domain)  # never raises
    return "observation: " + candidate.observation.split("\n", 1)[-1]  # without the call id (the same for all)


def elect(valid: list[Candidate], domain: str, vote: str = "logs") -> tuple[Candidate, dict[str, int]]:
    """Majority vote; ties between groups go to the group formed first; the group's first member wins."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in sorted(valid, key=lambda c: c.index):
        groups.setdefault(vote_key(candidate, domain, vote), []).append(candidate)
    best = max(groups.values(), key=lambda members: (len(members), -members[0].index))
    return best[0], {key: len(members) for key, members in groups.items()}


@dataclass
class SAGChooser:
    n: int = 8
    temperature: float = 0.4
    top_p: float = 0.8
    vote: str = "logs"
    name: str = "sag"
    samples_candidates: bool = True

    def __post_init__(self) -> None:
        if self.vote not in VOTES:
            raise ValueError(f"agent_sag: vote must be one of {VOTES}, got {self.vote!r}")

    def non_default_options(self) -> dict[str, Any]:
        reference = {"n": 8, "temperature": 0.4, "top_p": 0.8, "vote": "logs"}
        return {key: getattr(self, key) for key, value in reference.items() if getattr(self, key) != value}

    def sampling(self) -> GenerateConfig:
        return GenerateConfig(temperature=self.temperature, top_p=self.top_p, num_choices=self.n)

    def final_config(self, base: GenerateConfig) -> GenerateConfig:
        return base.merge(self.sampling())

    async def sample(self, ctx: StepContext) -> tuple[list[tuple[str, str | None]], int]:
        config = ctx.config.merge(self.sampling())
        messages = generation_input(ctx)
        output = await ctx.model.generate(messages, config=config)
        texts, tokens = completion_texts(output)[: self.n], output_tokens(output)
        missing = self.n - len(texts)
        if missing > 0:  # the model API ignores num_choices: top up with concurrent single generations
            single = config.model_copy(update={"num_choices": None})
            extra = await asyncio.gather(
                *(
                    ctx.model.generate(
                        messages,
                        config=single if single.seed is None else single.model_copy(update={"seed": single.seed + i + 1}),
                    )
                    for i in range(missing)
                )
            )
            for out in extra:
                texts.extend(completion_texts(out)[:1])
                tokens += output_tokens(out)
        return texts, tokens

    async def choose(self, ctx: StepContext) -> StepOutcome:
        texts, tokens = await self.sample(ctx)
        candidates = [make_candidate(i, text, ctx.prefill, stop, ctx.parser) for i, (text, stop) in enumerate(texts)]
        runnable = [c for c in candidates if c.code is not None]
        if runnable:
            results = await ctx.interp.run_candidates([c.code for c in runnable], timeout=ctx.timeout)
            for candidate, result in zip(runnable, results):
                observe(candidate, result, ctx.step_number)
        valid = [c for c in candidates if c.valid]
        if valid:
            chosen, votes = elect(valid, ctx.domain, self.vote)
        else:
            chosen, votes = candidates[0], {}
        committed = None
        if chosen in runnable:
            committed = bool(await ctx.interp.commit(runnable.index(chosen)))
        elif runnable:
            await ctx.interp.discard()
        return StepOutcome(chosen=chosen, candidates=candidates, votes=votes, tokens=tokens, committed=committed)
