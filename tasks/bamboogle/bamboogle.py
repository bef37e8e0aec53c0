"""Bamboogle: 125 hand-written 2-hop questions whose answers are not on one Wikipedia page.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    return {"hop_kind": "2hop"}


BENCHMARK = Benchmark(
    "bamboogle",
    Path(__file__).parent,
    hub=HubSpec("chiayewken/bamboogle", None, "test"),
    metadata=_metadata,
)


@task
def bamboogle(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
