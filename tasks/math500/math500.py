"""MATH500: 500 MATH test problems (levels 1-5, seven subjects).

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md.
"""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def math500(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args
) -> Task:
    return benchmark_task("math500", solver, source, judge, sandbox, **solver_args)
