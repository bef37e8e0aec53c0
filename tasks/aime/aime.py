"""AIME 2022-2024, I and II, 15 problems each; integer answers 0-999. Task arguments: see README.md in this folder."""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def aime(solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args) -> Task:
    return benchmark_task("aime", solver=solver, source=source, judge=judge, sandbox=sandbox, **solver_args)
