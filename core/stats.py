"""Per-sample run measurements (steps, tool calls, errors, tokens), logged and aggregated.

Solvers add counters with `record(state, ...)`; the `run_stats` scorer copies them into
the sample's score so inspect aggregates them as metrics in the eval results (the paper's
Figures 6-8, which its reference code never logs). Every task attaches `run_stats`, so a
CoT run reports its tokens the same way an agent run reports its steps.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.scorer import Score, Target, mean, scorer
from inspect_ai.solver import TaskState

STATS_KEY = "agentdistill_stats"

# Keys every sample reports (0 when the solver never touched them), so the eval-level
# means are over all samples, not only those that happened to set a key.
STAT_KEYS = (
    "steps",
    "web_search_calls",
    "parse_errors",
    "exec_errors",
    "tokens_generated",
    "max_steps_hit",
    "sag_valid_candidates",
)


def record(state: TaskState, **values: float) -> None:
    """Add to counters (numbers accumulate) in the sample's metadata."""
    stats: dict[str, Any] = state.metadata.setdefault(STATS_KEY, {})
    for key, value in values.items():
        stats[key] = stats.get(key, 0) + value


def set_stat(state: TaskState, **values: float) -> None:
    """Overwrite counters (for values that are not sums, e.g. a per-step mean)."""
    state.metadata.setdefault(STATS_KEY, {}).update(values)


def stats_of(state: TaskState) -> dict[str, float]:
    stats = dict.fromkeys(STAT_KEYS, 0.0)
    for key, value in (state.metadata.get(STATS_KEY) or {}).items():
        if isinstance(value, (int, float)):  # bool included
            stats[key] = float(value)
    return stats


@scorer(metrics={key: [mean()] for key in STAT_KEYS})
def run_stats():
    """Not a correctness score: exposes the sample's run measurements as metrics."""

    async def score(state: TaskState, target: Target) -> Score:
        stats = stats_of(state)
        return Score(value={k: stats[k] for k in STAT_KEYS}, explanation="run measurements")

    return score
