"""End to end on CPU: scripted teacher -> trajectories -> LoRA steps on SmolLM2-135M (checkpoint, resume) ->
adapter served back as `agentdistill/<adapter>` -> `inspect eval tasks/gsm_hard --solver agent_sag`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentdistill.registry  # noqa: F401
from agentdistill.distill import train as tr
from agentdistill.tasks._core.data import sha256_file
from agentdistill.distill import trajectories as tj

REPO = Path(__file__).resolve().parents[1]
TEACHER = {
    "rules": [
        {"turn": 0, "reply": "Thought: I check my arithmetic first.\nCode:\n```py\nx = 6 * 7\nprint(x)\n```"},
        {"reply": "Thought: I know the answer.\nCode:\n```py\nfinal_answer(\"{{target}}\")\n```"},
    ]
}


@pytest.mark.slow
def test_scripted_teacher_to_adapter_to_agent_sag_eval(tmp_path):
    # 1. teacher trajectories (3 correct ones)
    script = tmp_path / "teacher.json"
    script.write_text(json.dumps(TEACHER))
    assert tj.run_teacher(model="scripted/teacher", model_args={"script": str(script)}, tasks=["math_train"],
                          log_dir=str(tmp_path / "teacher_logs"), solver="agent", sample_id=["hard-1", "hard-4", "hard-5"],
                          retry_attempts=0, display="none")
    data = tmp_path / "traj.jsonl"
    summary = tj.finish(tj.convert_logs([tmp_path / "teacher_logs"]), data)
    assert summary["kept"] == 3

    # 2. LoRA training on the real SmolLM2-135M (checkpoints and --resume: tests/test_distill_train.py)
    adapter = tmp_path / "adapter"
    # 1024: the reference student prompt alone is about 400 tokens
    assert tr.main(["--data", str(data), "--output_dir", str(adapter), "--max_length", "1024", "--effective_batch_size", "2",
                    "--per_device_train_batch_size", "2", "--max_steps", "1", "--save_steps", "100", "--disable_tqdm", "true",
                    "--threads", "1"]) == 0  # 1 thread: this CPU is shared; more threads oversubscribe it
    info = json.loads((adapter / tr.TRAIN_INFO_FILE).read_text())
    assert info["dataset"]["sha256"] == sha256_file(data) and info["dataset"]["records"] == 3
    assert info["training_args"]["assistant_only_loss"] is True and info["chat_template_family"] == "chatml"
    config = tr.check_vllm_servable(adapter)
    assert config["r"] == 64 and config["lora_alpha"] == 128 and config["base_model_name_or_path"] == tr.EMBEDDED_HUB_ID
    assert sorted(config["target_modules"]) == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]

    # 3. the adapter as an inspect model, with the student's test-time solver (bounded for CPU)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [str(Path(sys.executable).parent / "inspect"), "eval", "tasks/gsm_hard", "--solver", "agent_sag",
           "--model", f"agentdistill/{adapter}", "--limit", "3", "-S", "n=2", "-S", "max_steps=1", "-S", "max_tokens=24",
           "--log-dir", str(tmp_path / "student_logs"), "--display", "none"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    [info_log] = list_eval_logs(str(tmp_path / "student_logs"))
    log = read_eval_log(info_log.name)
    assert log.status == "success" and len(log.samples) == 3
    assert log.eval.model == f"agentdistill/{adapter}" and log.plan.steps[0].solver.endswith("agent_sag")
    assert all(m.role == "system" for m in log.samples[0].messages[:1])
    assert all(s.metadata["agentdistill_stats"]["steps"] >= 1 for s in log.samples)
