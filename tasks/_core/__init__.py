"""Shared machinery of the benchmark tasks: the benchmark declaration, data loading, scorers, the task factory.

A task file needs only `Benchmark`, `HubSpec` and `benchmark_task` (CONTRIBUTING.md).
"""

from agentdistill.tasks._core.benchmark import Benchmark, DataError, HubSpec, find_benchmark, task_file, task_names
from agentdistill.tasks._core.data import load_samples
from agentdistill.tasks._core.factory import benchmark_task

__all__ = ["Benchmark", "DataError", "HubSpec", "benchmark_task", "find_benchmark", "load_samples", "task_file",
           "task_names"]
