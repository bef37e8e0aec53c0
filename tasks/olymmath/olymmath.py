"""OlymMATH English: 100 easy + 100 hard olympiad problems. Task arguments: see README.md in this folder."""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def olymmath(solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args) -> Task:
    return benchmark_task("olymmath", solver=solver, source=source, judge=judge, sandbox=sandbox, **solver_args)
