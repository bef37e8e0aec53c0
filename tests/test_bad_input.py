"""Bad input never costs work or produces a wrong score (issue 17).

Every case: the input, the exit code (2: refused before any work; the `agentdistill` commands), the message (names
the argument or file, what was expected, the valid names) and that nothing already there was lost. The scripted
model (models/scripted.py) stands in for a real one; no case generates with the embedded model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentdistill.cli import main as agentdistill
from agentdistill.tasks._core.benchmark import TASKS_DIR

REPO = TASKS_DIR.parent
INSPECT = str(Path(sys.executable).with_name("inspect"))
ANSWER_SCRIPT = [{"reply": "Reasoning done. <answer>{{target}}</answer> \\boxed{ {{target}} }"}]


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    """An `agentdistill` command in-process: (exit code, stdout + stderr)."""
    code = agentdistill(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def write_script(path: Path, script=ANSWER_SCRIPT) -> Path:
    path.write_text(json.dumps(script))
    return path


def inspect_eval(cwd: Path, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """`inspect eval` as a user runs it (its own process: inspect's error printing is part of what is tested)."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.update(HF_HUB_OFFLINE="1", INSPECT_LOG_LEVEL="warning", NO_COLOR="1", COLUMNS="400")
    return subprocess.run([INSPECT, "eval", *args, "--display", "plain"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes (to show that nothing was changed or lost)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the five bad cases


@pytest.mark.parametrize("tasks, hint", [("nosuchtask", ""), ("gsm-hard", "did you mean 'gsm_hard'?")])
def test_regress_refuses_an_unknown_task_without_running_anything(capsys, monkeypatch, tasks, hint):
    """Before: nothing matched the baseline, then inspect_eval([]) ran every task of the working folder in full."""
    import inspect_ai

    def must_not_run(*args, **kwargs):
        raise AssertionError(f"inspect eval ran with {args!r}")

    monkeypatch.setattr(inspect_ai, "eval", must_not_run)
    code, out = run_cli(capsys, "regress", "--tasks", tasks)
    assert code == 2
    assert f"--tasks: unknown task {tasks!r}; valid: 2wikimultihopqa, aime, bamboogle, gsm_hard" in out
    assert hint in out and "Traceback" not in out


def test_regress_refuses_a_task_missing_from_the_baseline(capsys, tmp_path):
    (tmp_path / "cot.json").write_text(json.dumps({"format": 1, "config": {}, "tasks": {"aime": {"sample_ids": ["1"]}}}))
    code, out = run_cli(capsys, "regress", "--tasks", "gsm_hard", "--baseline-dir", str(tmp_path))
    assert code == 2 and "no baseline for task(s) gsm_hard (it has aime); add them with --update-baseline" in out


GRID = """\
log_dir: {log_dir}
tasks: [gsm_hard]
limit: 3
sample_shuffle: 0
models:
  - {{name: scripted/grid, args: {{script: {script}}}}}
methods: [cot]
eval: {{retry_attempts: 0, display: none}}
"""


def test_grid_with_sample_shuffle_0_resumes_on_the_same_items(tmp_path, capsys):
    """Before: the first run took items 0,1,2, the retry (inspect's retry path reads 0 as seed 0) 419,459,130."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    from agentdistill.tasks._core import load_samples

    script = write_script(tmp_path / "script.json", {"rules": []})  # no rule matches: every sample errors ("a kill")
    config = tmp_path / "grid.yaml"
    config.write_text(GRID.format(log_dir=tmp_path / "logs", script=script))
    assert agentdistill(["grid", str(config)]) == 1  # incomplete
    write_script(script)  # the model works again: the same command resumes (a new process, as after a kill)
    resumed = subprocess.run([str(Path(sys.executable).with_name("agentdistill")), "grid", str(config)],
                             env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    logs = [read_eval_log(info) for info in list_eval_logs(str(tmp_path / "logs"), recursive=True)]
    done = [log for log in logs if log.status == "success"]
    assert len(done) == 1
    first_three = [str(s.id) for s in load_samples("gsm_hard")[:3]]
    assert sorted(str(s.id) for s in done[0].samples) == sorted(first_three)
    assert "sample_shuffle 0 is read as 'no shuffle'" in resumed.stderr
