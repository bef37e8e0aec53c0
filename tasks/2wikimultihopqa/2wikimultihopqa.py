"""2WikiMultihopQA dev: compositional, comparison, bridge-comparison and inference questions.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    kind = record.get("type")
    return {"hop_kind": None if kind is None else str(kind)}


BENCHMARK = Benchmark(
    "2wikimultihopqa",
    Path(__file__).parent,
    hub=HubSpec("framolfese/2WikiMultihopQA", None, "validation"),
    metadata=_metadata,
)


@task(name="2wikimultihopqa")
def twowikimultihopqa(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
