"""GSM-Hard: GSM8K word problems with large numbers; float golds. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    return {"type": "gsm_hard", "gsmhardv2_row": int(sample_id) if sample_id.isdigit() else None}


BENCHMARK = Benchmark(
    "gsm_hard",
    Path(__file__).parent,
    hub=HubSpec("reasoning-machines/gsm-hard", None, "train"),
    metadata=_metadata,
)


@task
def gsm_hard(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
