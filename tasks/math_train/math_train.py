"""MATH train: 1000 level 4-5 + 1000 level 2-3 problems (teacher trajectories for distillation). Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task
from agentdistill.tasks._core.data import math_level


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    return {"level": math_level(record.get("level"))}


def _id_prefix(record: dict[str, Any]) -> str:
    """The two source files both number their items 0-999 (manifest quirks)."""
    return "medium-" if str(record.get("_source", "")).startswith("math_medium") else "hard-"


# Golds the reference files lack (null or empty), by sample id; see the manifest's quirks.
ANSWER_FIXES = {"medium-124": ["2"], "medium-519": ["9"], "hard-174": ["(A)", "0"], "hard-499": ["(A)", "0"]}


BENCHMARK = Benchmark(
    "math_train",
    Path(__file__).parent,
    hub=HubSpec(
        "EleutherAI/hendrycks_math",
        ["algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory", "prealgebra",
         "precalculus"],
        "train",
        config_id_prefix=True,
    ),
    metadata=_metadata,
    id_prefix=_id_prefix,
    answer_fixes=ANSWER_FIXES,
)


@task
def math_train(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
