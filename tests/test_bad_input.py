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


TRAJECTORY = {"messages": [{"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "5"}]}


def finished_adapter(folder: Path, data: Path) -> Path:
    """A folder as `agentdistill train` leaves it after an older run (weights are stand-ins: never loaded here)."""
    (folder / "checkpoint-8").mkdir(parents=True)
    (folder / "checkpoint-8" / "adapter_model.safetensors").write_bytes(b"old run, step 8")
    (folder / "adapter_config.json").write_text(json.dumps({"r": 64, "base_model_name_or_path": "x"}))
    (folder / "adapter_model.safetensors").write_bytes(b"old finished weights")
    (folder / "agentdistill_train.json").write_text(json.dumps({"dataset": {"path": str(data)}}))
    return folder


@pytest.mark.parametrize("flags, message", [
    ((), "already holds a finished adapter (adapter_config.json, adapter_model.safetensors, agentdistill_train.json); "
         "pass --resume to continue that run, --overwrite to replace it, or choose another folder"),
    (("--resume",), "--resume: {out} holds checkpoint-8 but no agentdistill_run.json saying which run wrote it, so it "
                    "may be a previous run's; pass --overwrite to start over there"),
    (("--resume", "--overwrite"), "--resume and --overwrite: give one"),
])
def test_train_never_replaces_a_finished_adapter_or_resumes_a_stale_checkpoint(capsys, tmp_path, flags, message):
    """Before: training over a finished adapter replaced it, left the old checkpoints beside the new ones, and a later
    --resume picked the old run's highest-numbered checkpoint and wrote its weights as the new adapter."""
    data = tmp_path / "traj.jsonl"
    data.write_text(json.dumps(TRAJECTORY) + "\n")
    out = finished_adapter(tmp_path / "adapter", data)
    before = snapshot(out)
    code, text = run_cli(capsys, "train", "--data", str(data), "--output-dir", str(out), *flags)
    assert code == 2 and message.format(out=out) in text and "Traceback" not in text
    assert snapshot(out) == before  # nothing lost, nothing added


def test_train_resume_refuses_another_runs_checkpoint_and_other_data(capsys, tmp_path):
    from agentdistill.distill import train_output

    data = tmp_path / "traj.jsonl"
    data.write_text(json.dumps(TRAJECTORY) + "\n")
    out = tmp_path / "adapter"
    args = ["--data", str(data), "--output-dir", str(out)]
    from agentdistill.distill.train import build_parser

    marker = train_output.prepare_output(out, build_parser().parse_args(args))  # this run's marker, no checkpoint yet
    assert train_output.run_checkpoint(out, marker) is None
    (out / "checkpoint-3").mkdir()
    (out / "checkpoint-3" / train_output.RUN_FILE).write_text(json.dumps({**marker, "run_id": "an-older-run"}))
    with pytest.raises(Exception, match="checkpoint-3 was not saved by the run in"):
        train_output.run_checkpoint(out, marker)
    (out / "checkpoint-3" / train_output.RUN_FILE).write_text(json.dumps(marker))
    assert train_output.run_checkpoint(out, marker).endswith("checkpoint-3")  # its own checkpoint: resumed
    data.write_text(json.dumps(TRAJECTORY) + "\n" + json.dumps(TRAJECTORY) + "\n")  # other data, same folder
    code, text = run_cli(capsys, "train", *args, "--resume")
    assert code == 2 and "--resume: the run in" in text and "data_sha256" in text


def test_cot_sc_arguments_are_refused_before_work_and_no_votes_is_never_correct(tmp_path):
    """Before: `-T solver=cot_sc -T k=0` ran and scored 100% on a sample it never voted on; k, temperature=-1 and
    top_p=5 were accepted unchecked."""
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample

    import agentdistill.registry  # noqa: F401
    from agentdistill.core.errors import InputError
    from agentdistill.solvers.cot import cot_sc
    from agentdistill.tasks._core.scorers import math_scorer

    for args, message in [({"k": 0}, "argument k=0: expected an integer >= 1"),
                          ({"temperature": -1}, "argument temperature=-1: expected a number >= 0"),
                          ({"top_p": 5}, "argument top_p=5: expected a number in (0, 1]"),
                          ({"top_p": 0}, "argument top_p=0: expected a number in (0, 1]"),
                          ({"k": "abc"}, "argument k='abc': expected an integer >= 1")]:
        with pytest.raises(InputError, match=r"^solver cot_sc: " + message.replace("(", r"\(").replace("[", r"\[")
                           .replace("]", r"\]").replace(")", r"\)")):
            cot_sc(**args)
    # the scorer never falls back to the completion when the solver says no sample voted (k=0 scored its completion)
    from inspect_ai.model import ModelOutput
    from inspect_ai.solver import solver

    @solver
    def voted_nothing():
        async def solve(state, generate):
            state.output = ModelOutput.from_content("scripted/cot", "The answer is \\boxed{5}.")
            state.metadata.update(no_answer=True, cot_sc={"votes": {}})
            return state
        return solve

    task = Task(dataset=[Sample(id="1", input="2+3?", target="5", metadata={"domain": "math"})], solver=voted_nothing(),
                scorer=math_scorer())
    [log] = inspect_eval(task, model="scripted/cot", model_args={"script": ANSWER_SCRIPT}, log_dir=str(tmp_path),
                         display="none")
    [sample] = log.samples
    assert sample.output.completion == "The answer is \\boxed{5}."
    assert sample.scores["math_scorer"].value == "I" and sample.scores["math_scorer"].answer is None


def copy_task(tmp_path: Path, answer: str, checksum: bool) -> Path:
    """tasks/gsm_hard copied into a working folder, the first item's answer edited (and re-checksummed or not)."""
    from agentdistill.core.paths import sha256_file

    work = tmp_path / "work"
    shutil.copytree(TASKS_DIR / "gsm_hard", work / "gsm_hard", ignore=shutil.ignore_patterns("__pycache__"))
    data = work / "gsm_hard" / "data" / "gsm_hard.jsonl"
    rows = data.read_text().splitlines()
    first = json.loads(rows[0])
    first["answer"] = answer
    data.write_text("\n".join([json.dumps(first), *rows[1:]]) + "\n")
    if checksum:
        manifest_file = data.parent / "manifest.json"
        manifest = json.loads(manifest_file.read_text())
        manifest.update(sha256=sha256_file(data), bytes=data.stat().st_size)
        manifest_file.write_text(json.dumps(manifest, indent=1))
    return work


def test_a_copied_and_edited_task_folder_is_evaluated_against_its_own_data(tmp_path):
    """Before: a copied, edited folder was scored against the package's original data, silently."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    work = copy_task(tmp_path, "4242.0", checksum=True)
    script = write_script(tmp_path / "script.json", [{"reply": "So the answer is \\boxed{4242}."}])
    run = inspect_eval(work, "gsm_hard", "--model", "scripted/copy", "-M", f"script={script}", "--sample-id", "1309",
                       "--log-dir", str(tmp_path / "logs"))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    [info] = list_eval_logs(str(tmp_path / "logs"))
    [sample] = read_eval_log(info).samples
    assert sample.target == "4242.0" and sample.scores["math_scorer"].value == "C"  # its own (edited) gold


def test_an_edited_data_file_without_a_new_checksum_is_refused_naming_the_file(tmp_path):
    work = copy_task(tmp_path, "4242.0", checksum=False)
    script = write_script(tmp_path / "script.json")
    run = inspect_eval(work, "gsm_hard", "--model", "scripted/copy", "-M", f"script={script}", "--limit", "1",
                       "--log-dir", str(tmp_path / "logs"))
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "Traceback" not in out
    assert f"{work / 'gsm_hard' / 'data' / 'gsm_hard.jsonl'}: sha256 mismatch: expected 3f51d709" in out
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").iterdir())  # nothing ran
