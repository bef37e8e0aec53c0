"""Write synthetic eval logs (headers with results, no samples) for tests and demos of the leaderboard.

The logs are real inspect `EvalLog` objects written with `write_eval_log`, so they go
through the same reader as logs of real runs.
"""

from __future__ import annotations

import hashlib
import math
import os
from datetime import datetime, timedelta, timezone
from typing import Any

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalMetric,
    EvalResults,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)

from agentdistill.leaderboard.table import FACTUAL_TASKS

_T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _score(name: str, scorer: str, value: float, n: int, metric: str = "mean", stderr: bool = True) -> EvalScore:
    metrics = {metric: EvalMetric(name=metric, value=value)}
    if stderr:
        se = math.sqrt(max(value * (1 - value), 0.0) / (n - 1)) if n > 1 else 0.0
        metrics["stderr"] = EvalMetric(name="stderr", value=se)
    return EvalScore(name=name, scorer=scorer, scored_samples=n, metrics=metrics)


def synthetic_log(
    task: str,
    model: str,
    score: float,
    *,
    solver: str | None = "agentdistill/cot",
    solver_args: dict[str, Any] | None = None,
    task_args: dict[str, Any] | None = None,
    n: int = 20,
    total: int | None = None,
    dataset_samples: int = 500,
    status: str = "success",
    minutes: int = 0,
    metadata: dict[str, Any] | None = None,
    stats: dict[str, float] | None = None,
    judge: bool = True,
) -> EvalLog:
    """One run's header: `score` is the headline fraction; `n` samples completed of `total` (default n)."""
    total = n if total is None else total
    created = (_T0 + timedelta(minutes=minutes)).isoformat()
    if task in FACTUAL_TASKS:
        scores = [_score("em", "factual_scorer", max(score - 0.1, 0.0), n), _score("f1", "factual_scorer", score, n)]
        if judge:
            scores.insert(0, _score("judge", "factual_scorer", score, n))
    else:
        scores = [_score("math_scorer", "math_scorer", score, n, metric="accuracy")]
    for key, value in (stats or {}).items():
        scores.append(_score(key, "run_stats", value, n, stderr=False))
    results = EvalResults(total_samples=total, completed_samples=n, scores=scores) if status != "error" or n else None
    spec = EvalSpec(
        created=created,
        task=f"agentdistill/{task}",
        task_args=task_args or {"solver": "cot"},
        solver=solver,
        solver_args=solver_args or {},
        dataset=EvalDataset(name=task, samples=dataset_samples),
        model=model,
        config=EvalConfig(limit=total),
        metadata=metadata,
    )
    error = EvalError(message="RuntimeError: synthetic failure", traceback="", traceback_ansi="") if status == "error" else None
    return EvalLog(
        eval=spec,
        status=status,
        results=results,
        stats=EvalStats(started_at=created, completed_at=created),
        error=error,
    )


def write_log(log_dir: str | os.PathLike, log: EvalLog, name: str | None = None) -> str:
    """Write `log` as an .eval file in `log_dir`; returns its path."""
    os.makedirs(log_dir, exist_ok=True)
    stamp = log.eval.created.replace(":", "-")
    key = repr((log.eval.model, log.eval.solver, log.eval.solver_args, log.eval.task_args, log.eval.metadata, log.status))
    name = name or f"{stamp}_{log.eval.task.split('/')[-1]}_{hashlib.sha1(key.encode()).hexdigest()[:10]}.eval"
    path = os.path.join(str(log_dir), name)
    write_eval_log(log, path)
    return path
