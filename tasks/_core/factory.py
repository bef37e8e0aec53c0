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
from inspect_ai._util.registry import registry_lookup
from inspect_ai.dataset import MemoryDataset
from inspect_ai.solver import Solver
from inspect_ai.solver._solver import solver_create

from agentdistill.solvers.stats import run_stats
from agentdistill.tasks._core.data import load_samples, task_spec
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
    from agentdistill.solvers.sandbox import sandbox_spec  # owned by the sandbox room

    return sandbox_spec(name)


def default_sandbox() -> Any:
    """The sandbox the agent solvers use unless `--sandbox`/`sandbox=` says otherwise."""
    return sandbox_for(None)


def _solver_candidates(solver: str) -> list[str]:
    return [solver] if "/" in solver else [f"{PACKAGE}/{solver}", solver]


def registered_solver(solver: str) -> str | None:
    """The registry name a solver name resolves to (a bare name tries `agentdistill/<name>` first), or None."""
    return next((name for name in _solver_candidates(solver) if registry_lookup("solver", name) is not None), None)


def resolve_solver(solver: str | Solver, solver_args: dict[str, Any] | None = None) -> Solver:
    """A Solver from a registered name (bare or `agentdistill/<name>`) or a Solver object."""
    args = {k: v for k, v in (solver_args or {}).items() if k not in _NOT_SOLVER_ARGS}
    if not isinstance(solver, str):
        if args:
            raise ValueError(f"solver arguments {sorted(args)} given with a solver object")
        return solver
    name = registered_solver(solver)
    if name is not None:
        return solver_create(name, **args)
    raise ValueError(
        f"solver {solver!r} is not registered (looked for {', '.join(_solver_candidates(solver))}); "
        "is the agentdistill package installed and its module listed in solvers/registry.py?"
    )


def _solver_name(solver: str | Solver) -> str:
    if isinstance(solver, str):
        return solver.split("/")[-1]
    return getattr(solver, "__name__", type(solver).__name__)


def benchmark_task(
    name: str,
    solver: str | Solver = "cot",
    source: str = "local",
    judge: str | None = "auto",
    sandbox: str | tuple[str, str] | None = "auto",
    data_dir: str | Path | None = None,
    **solver_args: Any,
) -> Task:
    """An inspect Task for one of the ten benchmarks.

    Args:
      name: task name (a key of `data.SPECS`).
      solver: registered solver name (default "cot") or a Solver.
      source: "local" (the paper's sampled set shipped in tasks/<name>/data) or "hub".
      judge: factual tasks only: "auto", "off" or a judge model name (see factual_scorer).
      sandbox: "auto" = the package's default sandbox for code-running solvers (agent*),
        none otherwise; None/"none" = no sandbox; anything else is passed to inspect.
        `inspect eval ... --sandbox X` overrides it.
      data_dir: the folder holding `<name>.jsonl` and `manifest.json` (default
        tasks/<name>/data); a task folder added later passes its own (see CONTRIBUTING.md).
      **solver_args: passed to the solver (e.g. k=8 for cot_sc).
    """
    data_dir = Path(data_dir) if data_dir is not None else None
    spec = task_spec(name, data_dir)
    if sandbox == "auto":
        sandbox = default_sandbox() if _solver_name(solver).startswith(CODE_SOLVER_PREFIX) else None
    elif sandbox in ("none", "None", ""):
        sandbox = None
    elif isinstance(sandbox, str):
        sandbox = sandbox_for(sandbox)
    scorer = math_scorer() if spec.domain == "math" else factual_scorer(judge=judge)
    return Task(
        dataset=MemoryDataset(load_samples(name, source, data_dir=data_dir), name=name, location=f"tasks/{name}/data"),
        solver=resolve_solver(solver, solver_args),
        scorer=[scorer, run_stats()],
        sandbox=sandbox,
        metadata={"benchmark": name, "domain": spec.domain, "source": source},
    )
