"""Shared machinery of the benchmark tasks: data loading, answer checking, scorers, task factory.

Import what you need from the submodules (`answers`, `data`, `scorers`, `factory`); the
names below are re-exported for convenience and are imported lazily so that
`agentdistill.tasks._core.answers` stays cheap to import (solvers use it for voting).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "benchmark_task",
    "extract_answer",
    "normalize_answer",
    "math_equal",
    "load_samples",
    "math_scorer",
    "factual_scorer",
]

_LAZY = {
    "benchmark_task": "factory",
    "extract_answer": "answers",
    "normalize_answer": "answers",
    "math_equal": "answers",
    "load_samples": "data",
    "math_scorer": "scorers",
    "factual_scorer": "scorers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(name)
