"""`benchmark_task()`: the one place that turns a task name into an inspect `Task`.

Task files stay declarative (`return benchmark_task("gsm_hard", solver=solver, ...)`). The
solver is resolved by registry name when the task is created, so task files never import
agent code: `solver="cot"` finds `agentdistill/cot` (registered by the package's inspect
entry point) or any solver registered under that name; extra task arguments go to the
solver (`-T solver=cot_sc -T k=8`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import Solver

from agentdistill.core.inspect_compat import create_solver, find_registered
from agentdistill.core.sandbox_spec import sandbox_spec
from agentdistill.core.stats import run_stats
from agentdistill.tasks._core.benchmark import Benchmark
from agentdistill.tasks._core.data import load_samples, resolve_benchmark
from agentdistill.tasks._core.scorers import factual_scorer, math_scorer

PACKAGE = "agentdistill"

# Solvers that run model-written code (they need a sandbox); everything else runs without one.
CODE_SOLVER_PREFIX = "agent"

# inspect passes these to every task function; they are not solver arguments.
_NOT_SOLVER_ARGS = ("model",)


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


def resolve_solver(solver: str | Solver, solver_args: dict[str, Any] | None = None) -> Solver:
    """A Solver from a registered name (bare or `agentdistill/<name>`) or a Solver object."""
    args = {k: v for k, v in (solver_args or {}).items() if k not in _NOT_SOLVER_ARGS}
    if not isinstance(solver, str):
        if args:
            raise ValueError(f"solver arguments {sorted(args)} given with a solver object")
        return solver
    name = registered_solver(solver)
    if name is not None:
        return create_solver(name, **args)
    raise ValueError(
        f"solver {solver!r} is not registered (looked for {', '.join(_solver_candidates(solver))}); "
        "is the agentdistill package installed and its module listed in src/agentdistill/registry.py?"
    )


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
    bench = resolve_benchmark(benchmark, data_dir)
    domain = bench.domain
    if sandbox == "auto":
        sandbox = default_sandbox() if _solver_name(solver).startswith(CODE_SOLVER_PREFIX) else None
    elif sandbox in ("none", "None", ""):
        sandbox = None
    elif isinstance(sandbox, str):
        sandbox = sandbox_for(sandbox)
    scorer = math_scorer() if domain == "math" else factual_scorer(judge=judge)
    return Task(
        dataset=MemoryDataset(load_samples(bench, source), name=bench.name, location=str(bench.data_file)),
        solver=resolve_solver(solver, solver_args),
        scorer=[scorer, run_stats()],
        sandbox=sandbox,
        version=bench.version,
        metadata={"benchmark": bench.name, "domain": domain, "source": source},
    )
