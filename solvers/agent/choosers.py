"""Action choosers: how one step's action is produced. The loop (`loop.run_agent`) is the same for all of them.

- `GreedyChooser`: one generation, one run in the interpreter.
- `SAGChooser` (self-consistent action generation): N candidates in one request (`num_choices`, topped up with
  concurrent generations when the model API returns fewer), all run from the same interpreter state in parallel
  (the sandbox forks them), parse failures and raised errors dropped, a vote over the observation (over the
  normalised answer for candidates that call `final_answer`), the earliest candidate of the largest group chosen
  (ties between groups go to the group whose first candidate came first), and the winner's state committed without
  running it again. When every candidate fails, one of them (seeded random) is kept and its error is the observation.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from inspect_ai.model import GenerateConfig

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
from agentdistill.core.answers import normalize_answer


class GreedyChooser:
    name = "greedy"
    samples_candidates = False

    def __init__(self, config: GenerateConfig | None = None):
        self.config = config or GenerateConfig()

    async def choose(self, ctx: StepContext) -> StepOutcome:
        output = await ctx.model.generate(generation_input(ctx), config=ctx.config.merge(self.config))
        (text, stop_reason), *_ = completion_texts(output) or [("", None)]
        candidate = make_candidate(0, text, ctx.prefill, stop_reason)
        if candidate.code is not None:
            observe(candidate, await ctx.interp.run(candidate.code, timeout=ctx.timeout))
        return StepOutcome(chosen=candidate, candidates=[candidate], tokens=output_tokens(output))


def vote_key(candidate: Candidate, domain: str) -> str:
    if candidate.final:
        return "final_answer: " + normalize_answer(candidate.final_answer or "", domain)  # never raises
    return "observation: " + candidate.observation


def elect(valid: list[Candidate], domain: str) -> tuple[Candidate, dict[str, int]]:
    """Majority vote; ties between groups go to the group whose first member came first; earliest member wins."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in sorted(valid, key=lambda c: c.index):
        groups.setdefault(vote_key(candidate, domain), []).append(candidate)
    best = max(groups.values(), key=lambda members: (len(members), -members[0].index))
    return best[0], {key: len(members) for key, members in groups.items()}


@dataclass
class SAGChooser:
    n: int = 8
    temperature: float = 0.4
    top_p: float = 0.8
    name: str = "sag"
    samples_candidates: bool = True

    async def sample(self, ctx: StepContext) -> tuple[list[tuple[str, str | None]], int]:
        config = ctx.config.merge(GenerateConfig(temperature=self.temperature, top_p=self.top_p, num_choices=self.n))
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
        candidates = [make_candidate(i, text, ctx.prefill, stop) for i, (text, stop) in enumerate(texts)]
        runnable = [c for c in candidates if c.code is not None]
        if runnable:
            results = await ctx.interp.run_candidates([c.code for c in runnable], timeout=ctx.timeout)
            for candidate, result in zip(runnable, results):
                observe(candidate, result)
        valid = [c for c in candidates if c.valid]
        committed = None
        if valid:
            chosen, votes = elect(valid, ctx.domain)
            committed = bool(await ctx.interp.commit(runnable.index(chosen)))
        else:
            if runnable:
                await ctx.interp.discard()
            chosen, votes = random.Random(ctx.seed).choice(candidates), {}
        return StepOutcome(chosen=chosen, candidates=candidates, votes=votes, tokens=tokens, committed=committed)
