"""GSM-Hard: GSM8K word problems with large numbers; float golds. Task arguments: see README.md in this folder."""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def gsm_hard(solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args) -> Task:
    return benchmark_task("gsm_hard", solver=solver, source=source, judge=judge, sandbox=sandbox, **solver_args)
