"""`benchmark_task()`: the one place that turns a task name into an inspect `Task`.

Task files stay declarative (`return benchmark_task("gsm_hard", solver=solver, ...)`). The
solver is resolved by registry name when the task is created, so task files never import
agent code: `solver="cot"` finds `agentdistill/cot` (registered by the package's inspect
entry point) or any solver registered under that name; extra task arguments go to the
solver (`-T solver=cot_sc -T k=8`).
"""

from __future__ import annotations

import difflib
import inspect as pyinspect
import os
import sys
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import Solver

from agentdistill.core.args import choice
from agentdistill.core.errors import InputError, valid_names
from agentdistill.core.inspect_compat import create_solver, find_registered, registered_names
from agentdistill.core.sandbox_spec import sandbox_spec
from agentdistill.core.stats import run_stats
from agentdistill.tasks._core.benchmark import Benchmark
from agentdistill.tasks._core.data import load_samples, resolve_benchmark
from agentdistill.tasks._core.scorers import check_judge, factual_scorer, headline_metrics, math_scorer, paper_math_scorer

PACKAGE = "agentdistill"

# Solvers that run model-written code (they need a sandbox); everything else runs without one.
CODE_SOLVER_PREFIX = "agent"

# inspect passes these to every task function; they are not solver arguments.
_NOT_SOLVER_ARGS = ("model",)
# the task's own arguments (every benchmark task takes them; the rest go to the solver)
TASK_ARGS = ("solver", "source", "judge", "sandbox", "data_dir")
SOURCES = ("local", "hub")


def sandbox_for(name: str | None = None) -> Any:
    """The inspect sandbox spec for a provider name (default: the package's, bwrap).

    Goes through the sandbox room's `sandbox_spec`, which attaches the shipped compose file so
    that a `--sandbox docker` override (or `-T sandbox=docker`) runs the project's image.
    """
    return sandbox_spec(name)


def default_sandbox() -> Any:
    """The sandbox the agent solvers use unless `--sandbox`/`sandbox=` says otherwise."""
    return sandbox_for(None)


def _solver_candidates(solver: str) -> list[str]:
    return [solver] if "/" in solver else [f"{PACKAGE}/{solver}", solver]


def registered_solver(solver: str) -> str | None:
    """The registry name a solver name resolves to (a bare name tries `agentdistill/<name>` first), or None."""
    return next((name for name in _solver_candidates(solver) if find_registered("solver", name) is not None), None)


def _check_solver_args(name: str, args: dict[str, Any]) -> None:
    """Refuse arguments the solver does not take (listing those it does), before it is created. A solver taking
    **kwargs checks its own (the agent solvers do)."""
    params = pyinspect.signature(find_registered("solver", name)).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    valid = [p for p in params if p not in _NOT_SOLVER_ARGS]
    short = name.split("/")[-1]
    unknown = sorted(set(args) - set(valid))
    if unknown:
        bad = unknown[0]
        close = difflib.get_close_matches(bad, [*TASK_ARGS[:-1], *valid], n=1)
        raise InputError(
            f"task argument {bad}={args[bad]!r}: not an argument of the task or of its solver {short}; "
            f"valid: {', '.join(TASK_ARGS[:-1])} (the task's) and {', '.join(valid) or 'none'} (solver {short}'s)"
            + (f" (did you mean {close[0]!r}?)" if close else "")
        )


def resolve_solver(solver: str | Solver, solver_args: dict[str, Any] | None = None) -> Solver:
    """A Solver from a registered name (bare or `agentdistill/<name>`) or a Solver object."""
    args = {k: v for k, v in (solver_args or {}).items() if k not in _NOT_SOLVER_ARGS}
    if not isinstance(solver, str):
        if args:
            raise InputError(f"solver arguments {sorted(args)} given with a solver object")
        return solver
    name = registered_solver(solver)
    if name is None:
        raise InputError(
            f"solver {solver!r} is not registered (looked for {', '.join(_solver_candidates(solver))}); "
            f"{valid_names(solver, registered_names('solver', PACKAGE))}"
        )
    _check_solver_args(name, args)
    return create_solver(name, **args)


def solver_replaced_on_command_line() -> str | None:
    """The `--solver` given to `inspect eval` (which replaces the task's solver after the task is built), or None.

    inspect applies the override when the eval runs, so the task cannot see it; the command line and inspect's
    INSPECT_EVAL_SOLVER variable are the only places it shows beforehand.
    """
    argv = sys.argv
    if not argv or not (Path(argv[0]).name == "inspect" or argv[0].endswith("inspect_ai/__main__.py")):
        return None  # not inspect's command line (Python callers pass their solver to eval() themselves)
    for i, arg in enumerate(argv):
        if arg == "--solver" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--solver="):
            return arg.split("=", 1)[1]
    return os.environ.get("INSPECT_EVAL_SOLVER") or None


def check_sandbox(name: str) -> None:
    """Refuse a sandbox provider inspect does not know (it would fail only when the first sample starts)."""
    kind = name.split(":", 1)[0].strip()
    if find_registered("sandboxenv", kind) is None and find_registered("sandboxenv", f"{PACKAGE}/{kind}") is None:
        valid = sorted({"auto", "none", "docker", "local", *registered_names("sandboxenv", PACKAGE)})
        raise InputError(f"task argument sandbox={name!r}: unknown sandbox; valid: {', '.join(valid)}")


def _solver_name(solver: str | Solver) -> str:
    if isinstance(solver, str):
        return solver.split("/")[-1]
    return getattr(solver, "__name__", type(solver).__name__)


def benchmark_task(
    benchmark: Benchmark | str,
    solver: str | Solver = "cot",
    source: str = "local",
    judge: str | None = "auto",
    sandbox: str | tuple[str, str] | None = "auto",
    data_dir: str | Path | None = None,
    **solver_args: Any,
) -> Task:
    """An inspect Task for a benchmark declared by a task folder.

    Args:
      benchmark: the folder's `BENCHMARK` (or a task name: the folder's declaration is looked up).
      solver: registered solver name (default "cot") or a Solver.
      source: "local" (the sampled set shipped in the folder's data/) or "hub" (upstream, declared by `hub=`).
      judge: factual tasks only: "auto", "off" or a judge model name (see factual_scorer).
      sandbox: "auto" = the package's default sandbox for code-running solvers (agent*),
        none otherwise; None/"none" = no sandbox; anything else is passed to inspect.
        `inspect eval ... --sandbox X` overrides it.
      data_dir: other data for the same benchmark (a folder with `<name>.jsonl` and `manifest.json`).
      **solver_args: passed to the solver (e.g. k=8 for cot_sc).
    """
    choice("task", "source", source, SOURCES)
    args = {k: v for k, v in solver_args.items() if k not in _NOT_SOLVER_ARGS}
    override = solver_replaced_on_command_line()
    if override and ".py" not in override and registered_solver(override) is None:
        # inspect would fail on it later with a long traceback and no list of the valid names
        raise InputError(f"--solver {override}: not a registered solver; "
                         f"{valid_names(override, registered_names('solver', PACKAGE))}")
    if override and args:
        # the task's solver (and with it these arguments) would be dropped silently by the override
        given = " ".join(f"-T {k}={v}" for k, v in args.items())
        raise InputError(
            f"{given}: solver arguments given as task arguments go to the task's own solver ({_solver_name(solver)}), "
            f"which --solver {override} replaces, so they would be ignored; pass them with -S instead "
            f"({' '.join(f'-S {k}={v}' for k, v in args.items())}) or use -T solver={override.split('/')[-1]}"
        )
    bench = resolve_benchmark(benchmark, data_dir)
    domain = bench.domain
    if sandbox == "auto":
        sandbox = default_sandbox() if _solver_name(solver).startswith(CODE_SOLVER_PREFIX) else None
    elif sandbox in ("none", "None", ""):
        sandbox = None
    elif isinstance(sandbox, str):
        check_sandbox(sandbox)
        sandbox = sandbox_for(sandbox)
    if domain != "math":
        check_judge(judge)
    metrics = None if domain == "math" else headline_metrics(bench.name, judge)  # None: the scorer's own
    # math: the project's grader and, beside it, the paper's (reference) grader as `paper_accuracy`
    scorers = [math_scorer(), paper_math_scorer()] if domain == "math" else [factual_scorer(judge=judge, judge_aggregated=metrics is None)]
    return Task(
        dataset=MemoryDataset(load_samples(bench, source), name=bench.name, location=str(bench.data_file)),
        solver=resolve_solver(solver, solver_args),
        scorer=[*scorers, run_stats()],
        metrics=metrics,
        sandbox=sandbox,
        version=bench.version,
        metadata={"benchmark": bench.name, "domain": domain, "source": source},
    )
