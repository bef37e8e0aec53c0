"""Smoke run of `agent_sag` with the real embedded model (SmolLM2-135M) in bwrap, from the CLI as a user types it.

3 HotpotQA + 3 GSM-Hard items, kept short (n=4 candidates, 2 steps, 64 tokens a step). A 135M model solves little;
what is checked is that every sample runs the full protocol: real candidates recorded and voted, observations fed
back, measurements logged, a final answer or the fallback. `pytest -s` prints the per-sample metrics table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

from agentdistill.core.stats import STAT_KEYS

ROOT = Path(__file__).resolve().parents[1]
N, MAX_STEPS, MAX_TOKENS, LIMIT = 4, 2, 64, 3


@pytest.mark.slow
def test_agent_sag_smoke_embedded_model(tmp_path):
    inspect = Path(sys.executable).with_name("inspect")
    cmd = [
        str(inspect), "eval", "tasks/hotpotqa", "tasks/gsm_hard",
        "--solver", "agent_sag", "-S", f"n={N}", "-S", f"max_steps={MAX_STEPS}", "-S", f"max_tokens={MAX_TOKENS}",
        "--model", "agentdistill/smollm2-135m", "--sandbox", "bwrap", "--limit", str(LIMIT), "--max-tasks", "2",
        "--log-dir", str(tmp_path), "--display", "plain",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    logs = [read_eval_log(info) for info in list_eval_logs(str(tmp_path))]
    assert sorted(log.eval.task.split("/")[-1] for log in logs) == ["gsm_hard", "hotpotqa"]
    rows = []
    for log in logs:
        assert log.status == "success", log.error
        assert log.eval.solver.split("/")[-1] == "agent_sag"
        assert log.eval.solver_args.get("n") == N
        assert len(log.samples) == LIMIT
        aggregated = {score.name: score.metrics for score in log.results.scores}
        assert all("mean" in aggregated[key] for key in STAT_KEYS)  # every measurement aggregated in the results
        for sample in log.samples:
            assert sample.error is None
            agent = sample.metadata["agent"]
            stats = sample.metadata["agentdistill_stats"]
            assert 1 <= stats["steps"] <= MAX_STEPS and len(agent["steps"]) == stats["steps"]
            for step in agent["steps"]:
                assert len(step["candidates"]) == N  # every candidate recorded
                assert {"text", "valid", "observation"} <= set(step["candidates"][0])
            roles = [m.role for m in sample.messages]
            assert roles[:3] == ["system", "user", "assistant"]
            assert stats["max_steps_hit"] == (1 if agent["fallback"] else 0)
            assert stats["tokens_generated"] > 0
            rows.append((log.eval.task.split("/")[-1], str(sample.id)) + tuple(stats[k] for k in STAT_KEYS))

    header = ("task", "id") + STAT_KEYS
    print("\n" + " | ".join(header))
    for row in rows:
        print(" | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row))
