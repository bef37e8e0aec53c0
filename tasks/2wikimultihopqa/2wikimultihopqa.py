"""2WikiMultihopQA dev: compositional, comparison, bridge-comparison and inference questions.

Task arguments (-T): solver, source, judge, sandbox, plus solver arguments; see README.md.
"""

from inspect_ai import Task, task

from agentdistill.tasks._core import benchmark_task


@task(name="2wikimultihopqa")
def twowikimultihopqa(
    solver: str = "cot", source: str = "local", judge: str = "auto", sandbox: str | None = "auto", **solver_args
) -> Task:
    return benchmark_task("2wikimultihopqa", solver, source, judge, sandbox, **solver_args)
