"""MuSiQue answerable dev: 3-hop composed questions.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md. Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, HubSpec, benchmark_task
import re


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    """Hop kind from the id ("3hop1__..."), else from the number of sub-question ids."""
    match = re.match(r"(\dhop\d?)__", sample_id)
    hops = len(sample_id.split("__", 1)[-1].split("_"))
    return {"hop_kind": match.group(1) if match else f"{hops}hop"}


BENCHMARK = Benchmark(
    "musique",
    Path(__file__).parent,
    hub=HubSpec("dgslibisey/MuSiQue", None, "validation"),
    metadata=_metadata,
)


@task
def musique(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
