"""`agentdistill reproduce micro`'s machinery, fast: stage markers (resume, refusal of changed settings) and one real
evaluation stage (`inspect eval-set` in its own process) read back by the report, with the programmatic teacher
standing in for a trained student. The experiment itself, with training, is tests/test_micro_distill.py (opt-in)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from agentdistill.distill import reproduce as rp
from agentdistill.distill.micro_report import read_cell, write_report


def test_a_finished_stage_is_skipped_and_changed_settings_are_refused(tmp_path: Path):
    stages = rp.Stages(tmp_path)
    calls = []
    rp.run_stage(stages, "train-agent", {"steps": 20}, lambda: calls.append(1) or "20 steps")
    rp.run_stage(stages, "train-agent", {"steps": 20}, lambda: calls.append(2))
    assert calls == [1]
    assert stages.all()["train-agent"]["note"] == "20 steps"
    with pytest.raises(SystemExit, match=r"stage 'train-agent' .* finished with other settings \(\{'steps': 20\}\)"):
        rp.run_stage(stages, "train-agent", {"steps": 12}, lambda: calls.append(3))
    assert calls == [1]


def test_an_unknown_method_is_refused_before_any_work(tmp_path: Path):
    with pytest.raises(SystemExit, match=r"unknown method\(s\) \['agent-distiled'\]"):
        rp.run_micro(rp.Settings(methods=("agent-distiled",)), tmp_path / "work", tmp_path / "out", "test")
    assert not (tmp_path / "work").exists()


def test_an_eval_stage_runs_inspect_eval_set_and_the_report_reads_it(tmp_path: Path):
    method = rp.Method("teacher-agent", None, "agent", "agent")
    settings = rp.Settings(test_items=2, max_samples=2)
    params = rp.eval_params(method, rp.TEST_TASK, settings, tmp_path)
    assert params["task_args"] == {"solver": "agent", "prompt": "student", "max_steps": 3, "max_tokens": 160}
    params["model"] = rp.TEACHER  # the programmatic stand-in answers correctly without a language model
    log_dir = tmp_path / "logs"
    rp.eval_stage(params, log_dir, settings)
    cell = read_cell(rp.finished_log(log_dir), method.name, method.kind)
    assert cell.n == 2
    assert cell.correct == [1.0, 1.0] and cell.exact == [1.0, 1.0]
    assert cell.format_errors == [0.0, 0.0] and cell.exec_errors == [0.0, 0.0]
    assert cell.steps == [2.0, 2.0]  # the teacher computes, then answers

    # the report states the run's own training settings, not the paper's defaults
    run_info = {"command": "agentdistill reproduce micro", "settings": asdict(settings), "machine": "test",
                "total_wall_s": 1.0, "stages": {"eval-teacher-agent-bignum": {"wall_s": 1.0, "note": ""}}}
    paths = write_report([cell], tmp_path / "out", run_info, "micro test")
    text = Path(paths["markdown"]).read_text()
    assert f"effective batch {settings.effective_batch_size}." in text
    assert "| bignum | teacher-agent | 2 | 100.0 ± 0.0 | 100.0 ± 0.0 | 0.0 ± 0.0 | 0.0 ± 0.0 | 2.0 ± 0.0 |" in text
    assert Path(paths["figure"]).stat().st_size > 0


def test_an_effective_batch_that_the_per_device_batch_does_not_divide_is_refused_before_any_work(tmp_path: Path):
    settings = rp.Settings(effective_batch_size=3, per_device_batch_size=2)
    with pytest.raises(SystemExit, match=r"--effective-batch-size 3: expected a multiple of --per-device-batch-size 2"):
        rp.run_micro(settings, tmp_path / "work", tmp_path / "out", "test")
    assert not (tmp_path / "work").exists()


def test_a_failed_training_ends_with_a_resume_hint(tmp_path: Path):
    data = tmp_path / "work" / "data" / "agent.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text("{not json\n")  # train refuses it (exit 2) before loading any model
    with pytest.raises(SystemExit, match=r"training the agent adapter did not finish .* run the same command again"):
        rp.train_stage(tmp_path / "work", "agent", rp.Settings())
