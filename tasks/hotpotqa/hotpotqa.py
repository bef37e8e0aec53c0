"""HotpotQA dev (distractor) items 100-599, 2-hop Wikipedia questions.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md.
"""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task
def hotpotqa(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args
) -> Task:
    return benchmark_task("hotpotqa", solver, source, judge, sandbox, **solver_args)
