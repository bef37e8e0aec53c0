"""Distillation teaches: a reduced `agentdistill reproduce micro` (issue 16).

The programmatic stand-in teacher writes agent trajectories on bignum_train; the embedded SmolLM2-135M gets a LoRA
adapter with the paper's settings (a few optimizer steps) and is evaluated with the agent solver on held-out bignum
items beside the untrained base model. After training the student must (1) fail to parse far less often than the
base model and (2) be right far more often, by a margin of several standard errors. A wrong label mask, a template
mismatch between training and inference, an adapter that does not load or a prompt that differs between trajectories
and evaluation each make one of these fail.

Status (issue 16 session): at these settings (10 optimizer steps) the test FAILS: the student's format-error rate
fell from 100% to 56% but it solved none of 16 items (README "What distillation does, in one hour on a laptop").
More steps are needed; the broken-mask counter-check has not been run to completion yet.

Slow (36 min on two shared CPU cores: most of it is the training steps).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from agentdistill.distill.reproduce import Settings, run_micro

# slow, and longer than the suite's 900 s per-test timeout on a shared 2-core machine (training steps of 1-4 min)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(5400),
    # Opt-in: about 40 min of CPU here, and at these settings it does not pass yet (the student learns the format,
    # not yet the answers: leaderboard/results/micro/README.md). CI lists it as skipped with this reason.
    pytest.mark.skipif(not os.environ.get("AGENTDISTILL_MICRO"),
                       reason="opt-in learning test (~40 min CPU; set AGENTDISTILL_MICRO=1); not passing yet at its "
                              "committed settings, see leaderboard/results/micro/README.md"),
]

# Reduced settings: enough optimizer steps to learn the format and the template -> code mapping, few test items.
REDUCED = Settings(
    train_items=80,
    test_items=16,
    ood_items=0,  # in-domain only
    max_steps=10,
    max_samples=16,
    methods=("base-agent", "agent-distilled"),
)


def _row(rows: list[dict], method: str, task: str = "bignum") -> dict:
    return next(r for r in rows if r["method"] == method and r["task"] == task)


def test_agent_distillation_teaches_on_held_out_items(tmp_path: Path):
    import json

    paths = run_micro(REDUCED, tmp_path / "work", tmp_path / "out", "pytest tests/test_micro_distill.py")
    rows = json.loads(Path(paths["json"]).read_text())["rows"]
    base, student = _row(rows, "base-agent"), _row(rows, "agent-distilled")
    assert base["n"] == student["n"] == REDUCED.test_items

    # format: the untrained model rarely writes a parsable Thought/Code step; the student almost always does
    assert base["format errors"] >= 0.5, base
    assert student["format errors"] <= base["format errors"] / 4, (base, student)

    # accuracy on held-out items: above the base by several standard errors of the difference
    gap = student["accuracy"] - base["accuracy"]
    se = math.sqrt(student["accuracy se"] ** 2 + base["accuracy se"] ** 2)
    se = max(se, 1 / REDUCED.test_items)  # both all-equal (se 0): no finer than one item
    assert gap >= 3 * se, f"accuracy {student['accuracy']:.2f} vs base {base['accuracy']:.2f}, se {se:.3f}"
