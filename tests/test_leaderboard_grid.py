"""The grid runner: config parsing, and a resumable run (scripted model, toy tasks) that finishes only what failed."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from agentdistill.leaderboard.grid import load_config, main as grid_main, parse_config, plan
from agentdistill.tasks._core.benchmark import DataError, task_ref
from agentdistill.leaderboard.runs import read_runs
from agentdistill.leaderboard.table import build_table

TOY_TASKS = textwrap.dedent(
    '''
    import os
    from inspect_ai import Task, task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate, solver

    @solver
    def echo(fail_on: str = ""):
        """Generates; raises on the task named by fail_on while TOY_FAIL is set to it."""
        async def solve(state, gen):
            if fail_on and os.environ.get("TOY_FAIL") == fail_on == state.metadata["task"]:
                raise RuntimeError("toy failure")
            return await gen(state)
        return solve

    def _task(name):
        samples = [Sample(id=str(i), input=f"question {i}", target=str(i), metadata={"task": name}) for i in range(5)]
        return Task(dataset=samples, solver=generate(), scorer=match())

    @task
    def math500():
        return _task("math500")

    @task
    def aime():
        return _task("aime")
    '''
)


def test_parse_config_names_sizes_and_methods(tmp_path):
    adapter = tmp_path / "lora"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-1.5B-Instruct"}))
    config = parse_config(
        {
            "tasks": ["hotpotqa", "math500"],
            "models": ["agentdistill/smollm2-135m", {"name": "hf/x/phi-mini", "size": "3.8B"}, f"agentdistill/{adapter}"],
            "methods": ["cot", {"solver": "agent_sag", "args": {"n": 4}}, {"solver": "agent", "args": {"ftp": True}}, {"name": "sc8", "solver": "cot_sc", "args": {"n": 8}}],
            "limit": 3,
        }
    )
    assert [(m.size, m.distilled) for m in config.models] == [(0.135, False), (3.8, False), (1.5, True)]
    assert [m.name for m in config.methods] == ["cot", "agent+sag", "agent+ftp", "sc8"]
    assert config.methods[1].args == {"n": 4}
    with pytest.raises(ValueError, match="share a name"):
        parse_config({"tasks": ["a"], "models": ["m"], "methods": ["agent_ftp", {"solver": "agent", "args": {"ftp": True}}]})
    with pytest.raises(ValueError, match="unknown keys"):
        parse_config({"tasks": ["a"], "models": ["m"], "methods": ["cot"], "limits": 3})


def test_task_spec_finds_the_task_folders():
    spec = task_ref("hotpotqa")
    path, name = spec.rsplit("@", 1)
    assert name == "hotpotqa" and path.endswith(os.path.join("tasks", "hotpotqa", "hotpotqa.py")) and os.path.isfile(path)
    with pytest.raises(DataError, match=r"unknown task 'no_such_task'.*valid: .*hotpotqa"):
        task_ref("no_such_task")


def test_grid_resumes_only_what_is_missing(tmp_path, monkeypatch):
    toy = tmp_path / "toy.py"
    toy.write_text(TOY_TASKS)
    config = tmp_path / "grid.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            log_dir: {tmp_path / "logs"}
            tasks: ["{toy}@math500", "{toy}@aime"]
            limit: 3
            models:
              - {{name: scripted/echo-7b, args: {{script: [{{reply: "{{{{target}}}}"}}]}}}}
              - {{name: scripted/echo-0.5b, args: {{script: [{{reply: "wrong"}}]}}}}
            methods:
              - {{name: echo, solver: "{toy}@echo", args: {{fail_on: aime}}}}
            eval: {{retry_attempts: 0}}
            """
        )
    )
    monkeypatch.setenv("TOY_FAIL", "aime")
    assert grid_main([str(config)]) == 1  # aime fails for both models: incomplete

    cfg = load_config(str(config))
    assert [done for *_, done in plan(cfg)] == [["math500"], ["math500"]]
    math_logs = sorted(p for p in (tmp_path / "logs").rglob("*.eval") if "math500" in p.name)
    stamps = {p: p.stat().st_mtime_ns for p in math_logs}
    assert len(math_logs) == 2

    monkeypatch.delenv("TOY_FAIL")
    assert grid_main([str(config)]) == 0
    assert [done for *_, done in plan(cfg)] == [["aime", "math500"], ["aime", "math500"]]
    # the finished cells were not re-run: same files, untouched
    assert {p: p.stat().st_mtime_ns for p in math_logs} == stamps
    assert len(list((tmp_path / "logs").rglob("*math500*.eval"))) == 2

    # a third run has nothing left to do
    assert grid_main([str(config), "--dry-run"]) == 0

    runs = read_runs(tmp_path / "logs")
    assert {(r.size, r.method, r.task, r.status) for r in runs} == {
        (size, "echo", task, "success") for size in (7.0, 0.5) for task in ("math500", "aime")
    }
    table = build_table(runs, tasks=("math500", "aime"))
    assert [(r.size_label, round(r.cells["math500"].value, 2), r.cells["math500"].n) for r in table.rows] == [("0.5B", 0.0, 3), ("7B", 1.0, 3)]
    assert all(not r.cells["aime"].flags for r in table.rows)


def test_shipped_smoke_grid_config_parses():
    from agentdistill.leaderboard import grid

    config = load_config(os.path.join(os.path.dirname(grid.__file__), "grids", "smoke.yaml"))
    assert [m.name for m in config.methods] == ["cot", "agent+sag"]
    assert [(m.name, m.size) for m in config.models] == [("agentdistill/smollm2-135m", 0.135)]
    assert len(config.tasks) == 8 and all(task_ref(t) for t in config.tasks)
