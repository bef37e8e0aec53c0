"""OlymMATH English: 100 easy + 100 hard olympiad problems. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    """Level (easy/hard) from the upstream unique id joined into the shipped file."""
    unique_id = record.get("_unique_id") or record.get("unique_id")
    if not unique_id:
        return {}
    return {"level": "hard" if "HARD" in str(unique_id).upper() else "easy", "unique_id": str(unique_id)}


BENCHMARK = Benchmark(
    "olymmath",
    Path(__file__).parent,
    hub=HubSpec("RUC-AIBOX/OlymMATH", ["en-easy", "en-hard"], "test"),
    metadata=_metadata,
)


@task
def olymmath(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
