"""HotpotQA train: the first 1000 hard questions (teacher trajectories for distillation). Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    kind = record.get("type")
    return {"hop_kind": kind if kind in ("bridge", "comparison") else "2hop"}


BENCHMARK = Benchmark(
    "hotpotqa_train",
    Path(__file__).parent,
    hub=HubSpec("hotpotqa/hotpot_qa", "distractor", "train"),
    metadata=_metadata,
)


@task
def hotpotqa_train(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
