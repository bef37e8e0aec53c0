"""MuSiQue answerable dev: 3-hop composed questions.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md.
"""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def musique(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args
) -> Task:
    return benchmark_task("musique", solver, source, judge, sandbox, **solver_args)
