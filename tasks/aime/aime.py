"""AIME 2022-2024, I and II, 15 problems each; integer answers 0-999. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task
import re


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    """Year, contest and problem number from the AoPS wiki URL."""
    match = re.search(r"(\d{4})_AIME_(I+)_Problems/Problem_(\d+)", str(record.get("url") or ""))
    if not match:
        return {}
    return {"year": int(match.group(1)), "contest": f"AIME {match.group(2)}", "problem": int(match.group(3)),
            "type": "AIME"}


BENCHMARK = Benchmark(
    "aime",
    Path(__file__).parent,
    hub=HubSpec("AI-MO/aimo-validation-aime", None, "train"),
    metadata=_metadata,
)


@task
def aime(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
