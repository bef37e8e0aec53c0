"""Distillation teaches: a reduced `agentdistill reproduce micro` (issue 16).

The programmatic stand-in teacher writes agent trajectories on bignum_train; the embedded SmolLM2-135M gets a LoRA
adapter with the paper's settings and is evaluated with the agent solver on held-out bignum items beside the
untrained base model. After training the student must (1) fail to parse far less often than the base model and
(2) be right far more often, by a margin of several standard errors. A wrong label mask, a template mismatch
between training and inference, an adapter that does not load or a prompt that differs between trajectories and
evaluation each make one of these fail.

The counter-check trains the same adapter with the label mask inverted (loss on the system, task and observation
tokens, none on the assistant turns) and asserts that the same criterion then fails: the test can tell a pipeline
that teaches from one that does not.

Slow and opt-in (AGENTDISTILL_MICRO=1): each training is 80 LoRA updates of 2 trajectories (~820 tokens each),
about 20 min on two quiet CPU cores (45 min on one thread beside other jobs); the base model's evaluation (it
rambles to the token limit) is shared by both tests. CI runs the positive test (.ci/run); the counter-check was
proven by hand (its result below).

Measured (2026-11-30, one training thread, beside the full micro run): base agent format
errors 95%, 0 of 20 right; the student 0% format errors, 20 of 20 right (test passed); with the inverted mask
(78% of the tokens trained instead of 22%) the student had 100% format errors, 0 of 20 right: the criterion failed,
so the counter-check passed.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from agentdistill.core.paths import TRAIN_INFO_FILE
from agentdistill.distill.reproduce import Settings, run_micro

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(7200),
    pytest.mark.skipif(not os.environ.get("AGENTDISTILL_MICRO"),
                       reason="opt-in learning test (two LoRA trainings, ~1 h of two CPU cores; set AGENTDISTILL_MICRO=1)"),
]

# The full experiment's training (160 items, 1 epoch = 80 updates) on fewer held-out items; torch threads as the
# engine's (AGENTDISTILL_THREADS; 2 on a CI machine of its own, 1 beside other jobs).
REDUCED = Settings(test_items=20, ood_items=0, max_samples=20, threads=int(os.environ.get("AGENTDISTILL_THREADS", "2")))

# Inverts the label mask inside `agentdistill train` (a subprocess of the experiment) through sitecustomize, so the
# product's own template checks, which refuse a template whose markers miss the assistant turns, stay untouched.
BROKEN_MASK_SITECUSTOMIZE = textwrap.dedent('''
    import trl

    class InvertedMaskSFTTrainer(trl.SFTTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            def invert(row):
                return {"labels": [tok if lab == -100 else -100 for tok, lab in zip(row["input_ids"], row["labels"])]}
            self.train_dataset = self.train_dataset.map(invert)

    trl.SFTTrainer = InvertedMaskSFTTrainer
''')


def _rows(paths: dict[str, str]) -> list[dict]:
    return json.loads(Path(paths["json"]).read_text())["rows"]


def learning_failures(base: dict, student: dict) -> list[str]:
    """What the student fails of the learning criterion (empty: it learned)."""
    failures = []
    if base["format errors"] < 0.5:
        failures.append(f"the base model already parses: format errors {base['format errors']:.2f}")
    if student["format errors"] > base["format errors"] / 4:
        failures.append(f"format errors {student['format errors']:.2f} not far below the base's {base['format errors']:.2f}")
    gap = student["accuracy"] - base["accuracy"]
    se = math.sqrt(student["accuracy se"] ** 2 + base["accuracy se"] ** 2)
    se = max(se, 1 / student["n"])  # both all-equal (se 0): no finer than one item
    if gap < 3 * se:
        failures.append(f"accuracy {student['accuracy']:.2f} vs base {base['accuracy']:.2f}: gap {gap:.2f} < 3 x se {se:.3f}")
    return failures


@pytest.fixture(scope="module")
def base_row(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("micro-base")
    paths = run_micro(replace(REDUCED, methods=("base-agent",)), out / "work", out / "out", "pytest (base)")
    [row] = _rows(paths)
    assert row["n"] == REDUCED.test_items
    return row


def _student_row(tmp_path: Path) -> dict:
    paths = run_micro(replace(REDUCED, methods=("agent-distilled",)), tmp_path / "work", tmp_path / "out", "pytest")
    [row] = _rows(paths)
    assert row["n"] == REDUCED.test_items
    return row


def test_agent_distillation_teaches_on_held_out_items(base_row, tmp_path):
    student = _student_row(tmp_path)
    assert learning_failures(base_row, student) == [], (base_row, student)


def test_the_same_criterion_fails_with_a_broken_label_mask(base_row, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BROKEN_MASK_SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    student = _student_row(tmp_path)
    # the trainer really ran with the inverted mask: it trained more tokens than the assistant turns hold
    info = json.loads((tmp_path / "work" / "adapters" / "agent" / TRAIN_INFO_FILE).read_text())
    dataset = info["dataset"]
    assert dataset["trained_tokens_per_epoch"] > dataset["tokens_per_epoch"] / 2, dataset
    failures = learning_failures(base_row, student)
    assert failures, f"a student trained without its assistant turns passed the learning criterion: {student}"
