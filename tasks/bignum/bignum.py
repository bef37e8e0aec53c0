"""bignum: generated GSM-Hard-style word problems with 5-7 digit operands (test split, 100 items). Task arguments: see README.md in this folder."""

from pathlib import Path
from typing import Any

from inspect_ai import Task, task

from agentdistill.tasks._core import Benchmark, benchmark_task


def _metadata(record: dict[str, Any], sample_id: str) -> dict[str, Any]:
    # the item's computation (quantities, steps with exact values) is what the programmatic teacher writes from
    return {"type": "bignum", "template": record.get("template"), "computation": record.get("computation")}


BENCHMARK = Benchmark("bignum", Path(__file__).parent, metadata=_metadata)


@task
def bignum(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args: Any
) -> Task:
    return benchmark_task(BENCHMARK, solver, source, judge, sandbox, **solver_args)
