"""HotpotQA dev (distractor) items 100-599, 2-hop Wikipedia questions.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    kind = record.get("type")
    return {"hop_kind": kind if kind in ("bridge", "comparison") else "2hop"}


BENCHMARK = Benchmark(
    "hotpotqa",
    Path(__file__).parent,
    hub=HubSpec("hotpotqa/hotpot_qa", "distractor", "validation[100:600]"),
    metadata=_metadata,
)


@task
def hotpotqa(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
