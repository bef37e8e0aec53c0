"""MATH500: 500 MATH test problems (levels 1-5, seven subjects).

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task
from agentdistill.tasks._core.data import math_level


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    return {"level": math_level(record.get("level"))}


BENCHMARK = Benchmark(
    "math500",
    Path(__file__).parent,
    hub=HubSpec("HuggingFaceH4/MATH-500", None, "test"),
    metadata=_metadata,
)


@task
def math500(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
