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
    assert f"--tasks: unknown task {tasks!r}; valid: 2wikimultihopqa, aime, bamboogle, bignum, bignum_train, gsm_hard" in out
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


def test_grid_with_sample_shuffle_0_resumes_on_the_same_items(tmp_path):
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
    code, text = run_cli(capsys, "train", "--data", str(data), "--output_dir", str(out), *flags)
    assert code == 2 and message.format(out=out) in text and "Traceback" not in text
    assert snapshot(out) == before  # nothing lost, nothing added


def test_train_resume_refuses_another_runs_checkpoint_and_other_data(capsys, tmp_path):
    from agentdistill.core.errors import InputError
    from agentdistill.distill import train_output

    data = tmp_path / "traj.jsonl"
    data.write_text(json.dumps(TRAJECTORY) + "\n")
    out = tmp_path / "adapter"
    args = ["--data", str(data), "--output_dir", str(out)]
    from agentdistill.distill.train import parse_args

    _, model_args, options = parse_args(args)
    marker = train_output.prepare_output(out, train_output.run_identity(options.data, model_args, 10240), resume=False,
                                         overwrite=False)  # this run's marker, no checkpoint yet
    assert train_output.run_checkpoint(out, marker) is None
    (out / "checkpoint-3").mkdir()
    (out / "checkpoint-3" / train_output.RUN_FILE).write_text(json.dumps({**marker, "run_id": "an-older-run"}))
    with pytest.raises(InputError, match="checkpoint-3 was not saved by the run in"):
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


# --------------------------------------------------------------------------- one rule for every entry point

# task arguments (`-T`) and solver arguments: (arguments, words the one-line message must hold)
TASK_ARGUMENT_CASES = [
    ({"foo": 1}, "task argument foo=1: not an argument of the task or of its solver cot; valid: solver, source, judge, "
                 "sandbox (the task's) and max_tokens, temperature (solver cot's)"),
    ({"max_tokns": 5}, "(did you mean 'max_tokens'?)"),
    ({"solver": "nosuch"}, "solver 'nosuch' is not registered (looked for agentdistill/nosuch, nosuch); valid: agent, "
                           "agent_ftp, agent_sag, cot, cot_sc, rag"),
    ({"solver": "agent_sagg"}, "(did you mean 'agent_sag'?)"),
    ({"source": "web"}, "task: argument source='web': expected one of local, hub"),
    ({"solver": "cot", "temperature": -0.5}, "solver cot: argument temperature=-0.5: expected a number >= 0"),
    ({"solver": "cot_sc", "k": 0}, "solver cot_sc: argument k=0: expected an integer >= 1"),
    ({"solver": "cot_sc", "temperature": -1}, "solver cot_sc: argument temperature=-1: expected a number >= 0"),
    ({"solver": "cot_sc", "top_p": 5}, "solver cot_sc: argument top_p=5: expected a number in (0, 1]"),
    ({"solver": "cot_sc", "n": 8}, "task argument n=8: not an argument of the task or of its solver cot_sc"),
    ({"solver": "agent_sag", "temperature": "abc"}, "solver agent_sag: argument temperature='abc': expected a number >= 0"),
    ({"solver": "agent_sag", "n": 0}, "solver agent_sag: argument n=0: expected an integer >= 1"),
    ({"solver": "agent_sag", "maxsteps": 2}, "solver agent_sag: unknown argument 'maxsteps'; valid: errors, ftp, "
                                             "imports, k, max_steps, max_tokens, n, parser, prompt, retriever, seed, "
                                             "temperature, timeout, top_p, vote"),
    ({"solver": "agent", "prompt": "teachr"}, "solver agent: argument prompt='teachr': expected one of teacher, student"),
    ({"solver": "agent", "max_steps": 0}, "solver agent: argument max_steps=0: expected an integer >= 1"),
    ({"solver": "agent", "ftp": "maybe"}, "solver agent: argument ftp='maybe': expected true or false"),
    ({"solver": "rag", "retriever": "nosuch"}, "retriever 'nosuch': unknown retriever; expected bm25, dense[:<encoder>], "
                                               "wiki18:<dir> or http://127.0.0.1:PORT"),
    ({"solver": "agent", "retriever": "wiki18:/no/such/dir"}, "retriever 'wiki18:/no/such/dir': no such folder"),
    ({"solver": "agent", "sandbox": "nosuch"}, "task argument sandbox='nosuch': unknown sandbox; valid: "
                                               "agentdistill_compose, agentdistill_docker, auto, bwrap, docker, local, none"),
    ({"task": "bamboogle", "judge": "of"}, "task argument judge='of': expected auto, off, or a judge model such as "
                                           "openai/gpt-4o-mini-2024-07-18"),
    ({"source": "hub"}, "task gsm_hard: source=hub: could not load reasoning-machines/gsm-hard, split train "
                        "(HF_HUB_OFFLINE is set)"),
]


@pytest.mark.parametrize("args, message", TASK_ARGUMENT_CASES, ids=[str(a) for a, _ in TASK_ARGUMENT_CASES])
def test_task_and_solver_arguments_are_refused_with_one_message(monkeypatch, args, message):
    import agentdistill.registry  # noqa: F401
    from agentdistill.core.errors import InputError
    from agentdistill.tasks._core.factory import benchmark_task

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    args = dict(args)
    with pytest.raises(InputError) as info:
        benchmark_task(args.pop("task", "gsm_hard"), **args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_solver_settings_given_as_task_arguments_are_refused_when_solver_replaces_the_task_solver(monkeypatch):
    """Before: `--solver agent_sag -T max_tokens=256` dropped max_tokens silently (4096 tokens per call instead)."""
    import agentdistill.registry  # noqa: F401
    from agentdistill.core.errors import InputError
    from agentdistill.tasks._core.factory import benchmark_task

    monkeypatch.setattr(sys, "argv", ["/x/.venv/bin/inspect", "eval", "tasks/gsm_hard", "--solver", "agent_sag", "-T",
                                      "max_tokens=256"])
    with pytest.raises(InputError, match=r"^-T max_tokens=256: solver arguments given as task arguments go to the "
                                         r"task's own solver \(cot\), which --solver agent_sag replaces"):
        benchmark_task("gsm_hard", max_tokens=256)
    benchmark_task("gsm_hard", judge="off")  # task arguments of the task itself are fine with --solver
    monkeypatch.setattr(sys, "argv", ["/x/.venv/bin/inspect", "eval", "tasks/gsm_hard", "--solver=agent_sagg"])
    with pytest.raises(InputError, match=r"^--solver agent_sagg: not a registered solver; valid: agent, agent_ftp, "
                                         r"agent_sag, cot, cot_sc, rag \(did you mean 'agent_sag'\?\)"):
        benchmark_task("gsm_hard")


MODEL_CASES = [
    ("agentdistill/./no/such/folder", {}, "model agentdistill/./no/such/folder: no such folder './no/such/folder'"),
    ("agentdistill/smollm2-135m", {"thread": 2}, "unknown model argument(s) ['thread'] (-M); valid: device, dtype, threads"),
    ("scripted/x", {"script": [{"match": "([a-", "reply": "x"}]}, "rule 0: match '([a-' is not a valid regex"),
    ("scripted/x", {"script": "/no/such/script.json"}, "scripted model: script file not found: /no/such/script.json"),
]


@pytest.mark.parametrize("model, args, message", MODEL_CASES, ids=[m + str(a)[:20] for m, a, _ in MODEL_CASES])
def test_model_names_and_arguments_are_refused_with_one_message(model, args, message):
    from inspect_ai.model import get_model

    import agentdistill.registry  # noqa: F401
    from agentdistill.core.errors import InputError

    with pytest.raises(InputError) as info:
        get_model(model, **args)
    assert message in str(info.value)


def test_a_corrupt_script_line_is_named(tmp_path):
    from agentdistill.core.errors import InputError
    from agentdistill.models.scripted import load_script

    script = tmp_path / "script.jsonl"
    script.write_text('{"reply": "a"}\n\n{"reply": \n')
    with pytest.raises(InputError, match=f"^{script}: line 3: not valid JSON"):
        load_script(str(script))


@pytest.mark.parametrize("args, message", [
    (["-T", "foo=1"], "task argument foo=1: not an argument of the task or of its solver cot"),
    (["--solver", "agent_sag", "-S", "temperature=abc"], "solver agent_sag: argument temperature='abc': expected a "
                                                         "number >= 0"),
])
def test_inspect_prints_one_message_not_an_exception_group(tmp_path, args, message):
    """Before: 200-300 lines of ExceptionGroup traceback with the useful line last."""
    script = write_script(tmp_path / "script.json")
    run = inspect_eval(REPO, "tasks/gsm_hard", "--model", "scripted/x", "-M", f"script={script}", "--limit", "1",
                       "--log-dir", str(tmp_path / "logs"), *args)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and message in out
    assert "Traceback" not in out and "ExceptionGroup" not in out and len(out.strip().splitlines()) <= 6


def _grid(tmp_path: Path, **changes: str) -> Path:
    text = GRID.format(log_dir=tmp_path / "logs", script=tmp_path / "script.json")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def _train_config(tmp_path: Path, extra: str) -> Path:
    """An `agentdistill train --config` YAML with the two required options and `extra`."""
    path = tmp_path / "train.yaml"
    path.write_text(f"data: {tmp_path / 'good.jsonl'}\noutput_dir: {tmp_path / 'out'}\n{extra}")
    return path


def _baseline(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cot.json").write_text(text)
    return tmp_path


# `agentdistill` commands: (name, set-up returning argv (paths in tmp_path), words of the message, a file or folder
# whose content must be left as it was)
COMMAND_CASES = [
    ("unknown command", lambda t: ["regres"], "agentdistill: error: unknown command 'regres'; valid: coverage, grid, "
                                              "leaderboard, prepare-model", None),
    ("regress unknown solver", lambda t: ["regress", "--solvers", "cott"], "--solvers: unknown solver 'cott'; valid: "
                                                                           "agent, agent_ftp, agent_sag, cot", None),
    ("regress corrupt baseline", lambda t: ["regress", "--tasks", "aime", "--baseline-dir",
                                            str(_baseline(t, '{"format": 1,\n "config": {,\n}'))],
     "cot.json: line 2: not valid JSON", "cot.json"),
    ("regress not a baseline", lambda t: ["regress", "--baseline-dir", str(_baseline(t, "[]"))],
     "cot.json: not a regression baseline of format 1", "cot.json"),
    ("regress bad --solver-args", lambda t: ["regress", "--solver-args", "[1]"], "--solver-args '[1]': expected a JSON "
                                                                                 "object", None),
    ("grid unknown solver (dry run)", lambda t: ["grid", str(_grid(t, **{"[cot]": "[agent_sagg]"})), "--dry-run"],
     "solver 'agent_sagg' is not registered (looked for agentdistill/agent_sagg, agent_sagg); valid: agent, agent_ftp, "
     "agent_sag, cot, cot_sc, rag (did you mean 'agent_sag'?)", None),
    ("grid bad solver argument (dry run)",
     lambda t: ["grid", str(_grid(t, **{"methods: [cot]": "methods: [{solver: cot_sc, args: {k: 0}}]"})), "--dry-run"],
     "grid config: method 'cot_sc': solver cot_sc: argument k=0: expected an integer >= 1", None),
    ("grid unknown task", lambda t: ["grid", str(_grid(t, **{"[gsm_hard]": "[gsm-hard]"})), "--dry-run"],
     "tasks: unknown task 'gsm-hard'", None),
    ("grid corrupt YAML", lambda t: ["grid", str(_grid(t, **{"[gsm_hard]": "[gsm_hard"}))], "grid.yaml: line 3: not "
                                                                                             "valid YAML", None),
    ("grid unknown key", lambda t: ["grid", str(_grid(t, **{"limit: 3": "limits: 3"}))], "unknown keys ['limits']", None),
    ("grid random shuffle", lambda t: ["grid", str(_grid(t, **{"sample_shuffle: 0": "sample_shuffle: true"}))],
     "sample_shuffle true draws a new random order on every run", None),
    ("grid missing file", lambda t: ["grid", str(t / "nope.yaml")], "nope.yaml: cannot be read", None),
    ("leaderboard empty folder", lambda t: ["leaderboard", str(t / "logs"), "--out", str(t / "board")],
     "no inspect eval logs (.eval or .json) under this folder; nothing written", None),
    ("leaderboard bad size", lambda t: ["leaderboard", str(t), "--size", "m=big"], "--size m=big: expected a size", None),
    ("trajectories empty folder", lambda t: ["trajectories", "from-logs", str(t / "logs"), "--out", str(t / "out.jsonl")],
     "no inspect eval logs (.eval or .json) in", "out.jsonl"),
    ("trajectories corrupt log", lambda t: ["trajectories", "from-logs", str(t / "bad"), "--out", str(t / "out.jsonl")],
     "2026-01-01T00-00-00-00-00_x_abc.eval: not a readable inspect eval log", "out.jsonl"),
    ("trajectories missing path", lambda t: ["trajectories", "from-logs", str(t / "nope"), "--out", str(t / "out.jsonl")],
     "nope: no such eval log file or folder", "out.jsonl"),
    ("train missing data", lambda t: ["train", "--data", str(t / "nope.jsonl"), "--output_dir", str(t / "out")],
     "--data " + "{t}/nope.jsonl: cannot be read (No such file or directory)", None),
    ("train corrupt data line", lambda t: ["train", "--data", str(t / "traj.jsonl"), "--output_dir", str(t / "out")],
     "traj.jsonl: line 2: not valid JSON", "traj.jsonl"),
    ("train missing base folder", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                             "--model_name_or_path", "./no/such/model"],
     "--model_name_or_path ./no/such/model: no such model folder", None),
    ("train bad batch", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                   "--effective_batch_size", "3", "--per_device_train_batch_size", "2"],
     "--effective_batch_size 3: expected a multiple of --per_device_train_batch_size 2", None),
    ("train batch disagreement", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                            "--gradient_accumulation_steps", "4"],
     "--gradient_accumulation_steps 4 disagrees with --effective_batch_size 8 (which needs 8)", None),
    # TRL's parser: a bad value, an unknown option (the old spelling --epochs), a missing one: one line, not the usage
    ("train bad value", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                   "--learning_rate", "fast"],
     "argument --learning_rate/--learning-rate: invalid float value: 'fast' (see `agentdistill train --help`)", None),
    ("train unknown option", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                        "--epochs", "2"],
     "Some specified arguments are not used by the HfArgumentParser: ['--epochs', '2']", None),
    ("train no output dir", lambda t: ["train", "--data", str(t / "good.jsonl")],
     "the following arguments are required: --output_dir/--output-dir", None),
    ("train unservable adapter", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                            "--lora_r", "128"],
     "--lora_* options: the adapter would not be servable by vLLM (rank 128 > 64)", None),
    ("train resume_from_checkpoint", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir", str(t / "out"),
                                                "--resume_from_checkpoint", str(t / "old" / "checkpoint-3")],
     "use --resume (it continues only checkpoints of the run in --output_dir)", None),
    ("train missing config", lambda t: ["train", "--config", str(t / "nope.yaml")],
     "--config " + "{t}/nope.yaml: cannot be read (No such file or directory)", None),
    ("train config unknown key", lambda t: ["train", "--config", str(_train_config(t, "epochs: 2\n"))],
     "Unknown arguments from config file: ['--epochs', '2']", None),
    ("train config not YAML", lambda t: ["train", "--config", str(_train_config(t, "lora_r: [64\n"))],
     "--config: not valid YAML (while parsing a flow sequence", None),
    ("train template from a tokenizer", lambda t: ["train", "--data", str(t / "good.jsonl"), "--output_dir",
                                                   str(t / "out"), "--chat_template_path", "Qwen/Qwen2.5-0.5B-Instruct"],
     "--chat_template_path Qwen/Qwen2.5-0.5B-Instruct: no such file (a Jinja chat template file is expected", None),
    ("coverage unknown task", lambda t: ["coverage", "--tasks", "gsm_hard"], "unknown factual task 'gsm_hard'", None),
    ("retrieval-server unknown spec", lambda t: ["retrieval-server", "--retriever", "bm26"], "retriever 'bm26': unknown "
                                                                                            "retriever", None),
]


@pytest.mark.parametrize("name, argv, message, kept", COMMAND_CASES, ids=[c[0] for c in COMMAND_CASES])
def test_commands_refuse_bad_input_with_exit_2_and_lose_nothing(capsys, tmp_path, name, argv, message, kept):
    (tmp_path / "logs").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "2026-01-01T00-00-00-00-00_x_abc.eval").write_text("not a zip")
    (tmp_path / "out.jsonl").write_text('{"messages": "an earlier conversion"}\n')
    (tmp_path / "traj.jsonl").write_text(json.dumps(TRAJECTORY) + "\n{broken\n")
    (tmp_path / "good.jsonl").write_text(json.dumps(TRAJECTORY) + "\n")
    args = argv(tmp_path)
    before = snapshot(tmp_path)
    code, out = run_cli(capsys, *args)
    assert code == 2, out
    assert message.format(t=tmp_path) in out and "Traceback" not in out
    assert out.strip().count("\n") == 0, out  # one line
    if kept is not None:
        assert (tmp_path / kept).read_bytes() == before[kept]
    assert not (tmp_path / "out").exists() and not (tmp_path / "board").exists()  # no output folder started


def test_traceback_flag_shows_the_traceback(capsys):
    code, out = run_cli(capsys, "--traceback", "regress", "--tasks", "nosuchtask")
    assert code == 2 and "Traceback" in out and "unknown task 'nosuchtask'" in out
    os.environ.pop("AGENTDISTILL_TRACEBACK", None)


# --------------------------------------------------------------------------- the headline of a factual task


@pytest.mark.parametrize("judge, grader, headline", [("off", False, "em"), ("auto", False, "em"), ("auto", True, "judge")])
def test_the_factual_headline_is_a_real_score_named_for_what_it_is(tmp_path, monkeypatch, caplog, judge, grader,
                                                                    headline):
    """Before: with no judge the first metric printed and logged was `factual_scorer mean nan`."""
    import math

    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    import agentdistill.registry  # noqa: F401
    from agentdistill.tasks._core.benchmark import task_ref

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    roles = {"grader": get_model("scripted/judge", script=[{"reply": "{\"explanation\": \"Same entity.\", \"score\": 1}"}])} if grader else None
    with caplog.at_level("WARNING"):  # the task is built inside the eval, as `inspect eval` does
        [log] = inspect_eval(task_ref("bamboogle"), task_args={"judge": judge}, model="scripted/answer",
                             model_args={"script": ANSWER_SCRIPT}, model_roles=roles, limit=2,
                             log_dir=str(tmp_path / "logs"), display="none")
    first = log.results.scores[0]
    assert first.name == headline and first.metrics["mean"].value == 1.0 and not math.isnan(first.metrics["mean"].value)
    if headline == "em":
        assert "judge" not in [s.name for s in log.results.scores]  # no all-NaN judge column to mistake for a score
        assert any("the headline score is exact match (em), not the LLM judge; turn the judge on with --model-role "
                   "grader=" in r.getMessage() for r in caplog.records)


def test_trajectories_never_replace_an_output_with_fewer_records(tmp_path, capsys):
    """Before: converting an empty or wrong folder exited 0 and overwrote the output with an empty file."""
    from inspect_ai import eval as inspect_eval

    import agentdistill.registry  # noqa: F401
    from agentdistill.tasks._core.factory import benchmark_task

    wrong = [{"reply": "So the answer is \\boxed{-1}."}]
    inspect_eval(benchmark_task("gsm_hard"), model="scripted/teacher", model_args={"script": wrong}, limit=1,
                 log_dir=str(tmp_path / "logs"), display="none")  # one incorrect sample: no trajectory kept
    out = tmp_path / "out.jsonl"
    out.write_text('{"messages": "kept from an earlier run"}\n')
    code, text = run_cli(capsys, "trajectories", "from-logs", str(tmp_path / "logs"), "--out", str(out))
    assert code == 2 and "holds 1 trajectories and this conversion found 0; kept as it is: pass --overwrite" in text
    assert out.read_text() == '{"messages": "kept from an earlier run"}\n'
    code, text = run_cli(capsys, "trajectories", "from-logs", str(tmp_path / "logs"), "--out", str(out), "--overwrite")
    assert code == 0 and out.read_text() == ""


def test_retrieval_server_refuses_a_taken_port_before_saying_serving(capsys):
    """Before: it printed "serving ..." and then failed to bind."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code, out = run_cli(capsys, "retrieval-server", "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port} (Address already in use)" in out and "serving" not in out
