"""Read eval log headers into `Run` records: which model, size, method and task a log is, and its scores.

Only headers are read (`read_eval_log(header_only=True)`), never the samples, so a
leaderboard over thousands of samples loads in a second.

Naming rules (documented in leaderboard/README.md):
- task: `eval.task` without a package prefix (`agentdistill/hotpotqa` -> `hotpotqa`).
- method: from the solver and its arguments. The solver is `eval.solver` (an `--solver`
  override, recorded with `solver_args`) or else the task's own `solver` task argument.
  The task's other arguments except source/judge/sandbox are the solver's.
  `agent_sag` -> `agent+sag`, `agent_ftp` -> `agent+ftp`, and boolean modifier arguments
  that are true (`ftp=True`, `sag=True`) or a `chooser="sag"` add `+ftp` / `+sag` in that
  order. Other solvers keep their name (`cot`, `cot_sc`, `rag`). A grid run can name the
  method itself (`eval.metadata["agentdistill_grid"]["method"]`), which wins.
- size: grid metadata `size`, else a given mapping, else parsed from the model name
  (`Qwen2.5-7B-Instruct` -> 7B, `smollm2-135m` -> 0.135B), for a LoRA adapter from its
  base model's name; unknown sizes sort last as `?`.
- distilled: grid metadata `distilled`, else a model `agentdistill/<dir>` whose dir holds
  `adapter_config.json`. Distilled rows get the method suffix ` [distilled]`.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

GRID_METADATA_KEY = "agentdistill_grid"
STATS_SCORER = "run_stats"
# Arguments of the benchmark task functions that are not solver arguments.
TASK_OWN_ARGS = ("source", "judge", "sandbox", "model")

# Arguments that turn a base agent into a variant, in the order they appear in a method name.
AGENT_MODIFIERS = ("ftp", "sag")

# Score names preferred as a task's headline metric, first present wins. The factual scorer
# reports judge/em/f1/cover_em as separate scores; the math scorer reports a single one.
DEFAULT_METRIC_PREFERENCE = ("judge", "em", "cover_em", "math_scorer", "accuracy")


@dataclass
class Metric:
    name: str  # the score's name (e.g. "judge", "math_scorer")
    value: float  # in [0, 1] for correctness scores
    stderr: float | None
    n: int


@dataclass
class Run:
    path: str
    task: str
    model: str
    method: str
    size: float | None  # billions of parameters
    distilled: bool
    status: str  # inspect's: success | error | cancelled | started
    created: str  # ISO timestamp of the eval
    total_samples: int  # samples the eval was asked to run
    completed_samples: int
    dataset_samples: int | None  # samples in the task's dataset
    scores: dict[str, Metric] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)  # run_stats means
    error: str | None = None
    training: dict[str, Any] | None = None  # grid metadata: the model's training provenance (leaderboard/provenance.py)
    generate: dict[str, Any] = field(default_factory=dict)  # the eval's generation config (temperature, seed, ...)
    solver_args: dict[str, Any] = field(default_factory=dict)  # e.g. n / k of the sampling solvers, temperature
    solver_method: str = ""  # the method derived from the solver that ran (a grid may label it otherwise)
    grid: dict[str, Any] = field(default_factory=dict)  # the grid's metadata (seed, ...)

    @property
    def model_label(self) -> str:
        return short_model_name(self.model)

    @property
    def ok(self) -> bool:
        return self.status == "success" and self.completed_samples >= self.total_samples > 0

    def headline(self, preference: Iterable[str] = DEFAULT_METRIC_PREFERENCE) -> Metric | None:
        for name in preference:
            metric = self.scores.get(name)
            if metric is not None and not math.isnan(metric.value):
                return metric
        for name, metric in self.scores.items():  # any correctness score at all
            if not math.isnan(metric.value):
                return metric
        return None


def short_model_name(model: str) -> str:
    """`agentdistill/smollm2-135m` -> `smollm2-135m`; `agentdistill//abs/path/adapter` -> `adapter`."""
    name = model.split("/", 1)[1] if "/" in model else model
    return Path(name.rstrip("/")).name or name


_SIZE_RE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", re.IGNORECASE)


def parse_size(name: str) -> float | None:
    """Billions of parameters from a model name: the last `<number>B` / `<number>M` token."""
    matches = _SIZE_RE.findall(name.replace("_", "-"))
    if not matches:
        return None
    number, unit = matches[-1]
    value = float(number)
    return value / 1000.0 if unit.lower() == "m" else value


def format_size(size: float | None) -> str:
    if size is None:
        return "?"
    return f"{size:g}B"


def parse_size_text(text: str | float | int) -> float:
    """A size from a mapping or config: 7, "7B", "135M", "0.135B"."""
    if isinstance(text, (int, float)):
        return float(text)
    parsed = parse_size(str(text))
    if parsed is None:
        return float(str(text).strip())
    return parsed


def adapter_base(model: str) -> str | None:
    """Base model name of `agentdistill/<adapter-dir>` when that dir is a LoRA adapter here."""
    if not model.startswith("agentdistill/"):
        return None
    path = Path(model.split("/", 1)[1]).expanduser()
    config = path / "adapter_config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("base_model_name_or_path") or "")


def size_from_name(model: str, base: str | None = None) -> float | None:
    """Size parsed from a LoRA adapter's base model name (`base`, from `adapter_base`), else from the model name."""
    size = parse_size(base) if base else None
    return size if size is not None else parse_size(short_model_name(model))


# The agent solvers' options whose reference default makes a run a reproduction of the paper; any other value is the
# project's own variant and is written into the method name, so it is never mistaken for a reproduction.
NON_REFERENCE_OPTIONS = {"vote": "logs", "imports": "reference", "parser": "reference", "errors": "reference"}


def method_name(solver: str | None, args: dict[str, Any] | None = None) -> str:
    """`agentdistill/agent_sag` -> `agent+sag`; `agent` with `ftp=True` -> `agent+ftp`; `cot` -> `cot`; a
    non-reference option is named: `agent+sag [vote=answer]`."""
    base = (solver or "cot").split("/")[-1].split("@")[-1]
    args = dict(args or {})
    mods: set[str] = set()
    if base.startswith("agent"):
        parts = base.split("_")
        base = parts[0]
        mods.update(p for p in parts[1:] if p in AGENT_MODIFIERS)
        for key, value in args.items():
            if key in AGENT_MODIFIERS and isinstance(value, bool):
                (mods.add if value else mods.discard)(key)
        name = "+".join([base, *[m for m in AGENT_MODIFIERS if m in mods]])
        variants = [f"{key}={args[key]}" for key, default in NON_REFERENCE_OPTIONS.items()
                    if key in args and args[key] is not None and str(args[key]) != default]
        return name + (f" [{', '.join(variants)}]" if variants else "")
    return base


def _solver_of(spec: Any) -> tuple[str | None, dict[str, Any]]:
    if spec.solver:
        return spec.solver, dict(spec.solver_args or {})
    # the benchmark tasks take `solver` as a task argument; their other arguments go to the solver
    task_args = dict(spec.task_args or {})
    solver = task_args.pop("solver", None)
    if isinstance(solver, str) and solver:
        return solver, {k: v for k, v in task_args.items() if k not in TASK_OWN_ARGS}
    return None, {}


def run_from_log(log: Any, size_map: dict[str, float] | None = None) -> Run:
    """A `Run` from an EvalLog header."""
    spec = log.eval
    grid = dict((spec.metadata or {}).get(GRID_METADATA_KEY) or {})
    model = spec.model
    solver, args = _solver_of(spec)
    method = grid.get("method") or method_name(solver, args)

    base = adapter_base(model)
    distilled = bool(grid["distilled"]) if "distilled" in grid else base is not None
    size: float | None = None
    if grid.get("size") is not None:
        size = parse_size_text(grid["size"])
    elif size_map and (model in size_map or short_model_name(model) in size_map):
        size = size_map.get(model, size_map.get(short_model_name(model)))
    else:
        size = size_from_name(model, base)
    if distilled and not method.endswith("[distilled]"):
        method = f"{method} [distilled]"

    results = log.results
    total = results.total_samples if results else 0
    completed = results.completed_samples if results else 0
    scores: dict[str, Metric] = {}
    stats: dict[str, float] = {}
    for score in (results.scores if results else []) or []:
        metrics = score.metrics or {}
        if score.scorer == STATS_SCORER:
            if "mean" in metrics:
                stats[score.name] = float(metrics["mean"].value)
            continue
        value = None
        for key in ("accuracy", "mean"):
            if key in metrics:
                value = float(metrics[key].value)
                break
        if value is None:
            continue
        err = metrics.get("stderr")
        scores[score.name] = Metric(
            name=score.name,
            value=value,
            stderr=float(err.value) if err is not None else None,
            n=int(score.scored_samples if score.scored_samples is not None else completed),
        )

    dataset = spec.dataset.samples if spec.dataset else None
    error = None
    if log.error is not None:
        error = (log.error.message or "").strip().splitlines()[-1:] or [""]
        error = error[0][:200]
    return Run(
        path=str(log.location or "").removeprefix("file://"),
        task=spec.task.split("/")[-1],
        model=model,
        method=method,
        size=size,
        distilled=distilled,
        status=str(log.status),
        created=str(spec.created),
        total_samples=int(total or 0),
        completed_samples=int(completed or 0),
        dataset_samples=int(dataset) if dataset is not None else None,
        scores=scores,
        stats=stats,
        error=error,
        training=grid.get("training"),
        solver_args=args,
        solver_method=method_name(solver, args),
        grid=grid,
        generate=spec.model_generate_config.model_dump(exclude_none=True) if getattr(spec, "model_generate_config", None) else {},
    )


def read_runs(log_dir: str | os.PathLike, size_map: dict[str, float] | None = None) -> list[Run]:
    """Every eval log under `log_dir` (recursively), headers only."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    runs = []
    for info in list_eval_logs(str(log_dir), recursive=True):
        try:
            log = read_eval_log(info, header_only=True)
        except Exception as exc:  # an unreadable file is reported, not fatal
            print(f"leaderboard: skipping unreadable log {info.name}: {exc}")
            continue
        runs.append(run_from_log(log, size_map))
    return runs
