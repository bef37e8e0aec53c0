"""Every task file through inspect (Python API and CLI) with the scripted model: offline, no tiktoken."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai._util.registry import registry_params
from inspect_ai.model import get_model

from agentdistill.tasks._core import find_benchmark, load_samples, task_names
from agentdistill.tasks._core.factory import benchmark_task

ROOT = Path(__file__).resolve().parent.parent
TASK_NAMES = task_names()

# math answers boxed, factual answers in <answer> tags (the CoT output format)
SCRIPT = {
    "rules": [
        {"domain": "math", "reply": "Let me think step by step.\nSo the result is \\boxed{{{target}}}."},
        {"domain": "factual", "reply": "Reasoning about the question.\n<answer>{{target}}</answer>"},
    ]
}


def _metrics(log) -> dict[str, float]:
    return {f"{s.name}.{k}": m.value for s in log.results.scores for k, m in s.metrics.items()}


def test_every_task_end_to_end(log_dir, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(ROOT)
    logs = eval(
        [f"tasks/{name}" for name in TASK_NAMES],  # as `inspect eval tasks/<name>` from the repo root
        model=get_model("scripted/e2e", script=SCRIPT, memoize=False),
        limit=2,
        log_dir=str(log_dir),
        display="none",
    )
    assert sorted(log.eval.task for log in logs) == sorted(TASK_NAMES)
    for log in logs:
        name = log.eval.task
        assert log.status == "success", (name, log.error)
        # the default solver, resolved by name from the registry (CoT)
        assert [step.solver.split("/")[-1] for step in log.plan.steps] == ["cot"]
        expected_ids = [s.id for s in load_samples(name)[:2]]
        assert sorted(s.id for s in log.samples) == sorted(expected_ids), name
        metrics = _metrics(log)
        assert metrics["steps.mean"] == 0.0  # run_stats attached to every task
        for sample in log.samples:
            expected = {"math_scorer", "paper_accuracy"} if find_benchmark(name).domain == "math" else {"factual_scorer"}
            assert set(sample.scores) == expected | {"run_stats"}
            assert sample.metadata["task"] == name and sample.metadata["domain"] == find_benchmark(name).domain
        if find_benchmark(name).domain == "math":
            assert metrics["math_scorer.accuracy"] == 1.0, name
            assert all(s.scores["math_scorer"].metadata["decided_by"] == "math_equal" for s in log.samples)
        else:
            assert metrics["em.mean"] == metrics["f1.mean"] == metrics["cover_em.mean"] == 1.0, name
            # no grader configured: the judge is off, and the headline is exact match, not an all-NaN judge
            assert "judge.mean" not in metrics and metrics["em.mean"] == 1.0
            assert all(s.scores["factual_scorer"].metadata["judge"] == "off" for s in log.samples)
            logged = [e.message.message for s in log.samples for e in s.events if e.event == "logger"]
            assert any("judge off" in message for message in logged), name  # said once in the eval log


def test_cli_runs_the_digit_named_task(log_dir, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "inspect"), "eval", "tasks/2wikimultihopqa", "--model", "scripted/cli",
         "-M", f"script={script}", "-T", "solver=generate", "--limit", "2", "--display", "plain",
         "--log-dir", str(log_dir), "--log-format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [log_file] = list(log_dir.glob("*.json"))
    log = json.loads(log_file.read_text())
    assert log["eval"]["task"] == "2wikimultihopqa" and log["status"] == "success"
    em = next(s for s in log["results"]["scores"] if s["name"] == "em")
    assert em["metrics"]["mean"]["value"] == 1.0


def test_sandbox_and_solver_arguments():
    from agentdistill.tasks._core.factory import default_sandbox

    agent_task = benchmark_task("aime", solver="agent_sag", n=4)
    assert agent_task.sandbox is not None and agent_task.sandbox.type == default_sandbox().type == "bwrap"
    assert registry_params(agent_task.solver)["n"] == 4  # solver arguments reach the solver
    assert benchmark_task("aime", solver="agent_sag", sandbox="none").sandbox is None
    assert benchmark_task("aime", solver="generate").sandbox is None  # no code, no sandbox
    docker = benchmark_task("aime", solver="generate", sandbox="docker").sandbox
    assert docker.type == "docker" and str(docker.config).endswith("compose.yaml")  # the shipped image
    with pytest.raises(ValueError, match="not registered"):
        benchmark_task("aime", solver="no_such_solver")
