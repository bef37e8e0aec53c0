"""HotpotQA train: the first 1000 hard questions (teacher trajectories for distillation). Task arguments: see README.md in this folder."""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def hotpotqa_train(solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args) -> Task:
    return benchmark_task("hotpotqa_train", solver=solver, source=source, judge=judge, sandbox=sandbox, **solver_args)
