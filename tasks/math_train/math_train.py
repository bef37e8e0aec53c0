"""MATH train: 1000 level 4-5 + 1000 level 2-3 problems (teacher trajectories for distillation). Task arguments: see README.md in this folder."""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def math_train(solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args) -> Task:
    return benchmark_task("math_train", solver=solver, source=source, judge=judge, sandbox=sandbox, **solver_args)
