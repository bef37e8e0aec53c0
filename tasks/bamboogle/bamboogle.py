"""Bamboogle: 125 hand-written 2-hop questions whose answers are not on one Wikipedia page.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md.
"""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def bamboogle(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args
) -> Task:
    return benchmark_task("bamboogle", solver, source, judge, sandbox, **solver_args)
