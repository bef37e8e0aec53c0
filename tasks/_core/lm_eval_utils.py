"""lm-eval twins of the benchmark tasks: the functions `tasks/<name>/<name>.yaml` point at.

Each YAML (lm-eval 0.4.13, `output_type: generate_until`) reads its data, builds its prompt and scores its answers
here, through the same code the inspect task uses, so the two harnesses cannot drift apart:

- data: `load(task=<name>)` is the YAML's `custom_dataset`: the task's committed data file through `agentdistill.tasks._core.data.load_samples`, which verifies the manifest's sha256 and
  every row, so the docs are exactly the inspect task's samples (same ids, same golds, same order);
- prompt: `doc_to_text` is the user turn of the `cot` solver (`agentdistill.tasks._core.prompts.cot_messages`: the
  reference's CoT prompt, so the bare question), and each doc carries the solver's system prompt in its `system` field, which the YAML names as `description` (lm-eval puts the
  description in the system turn when `--apply_chat_template` is given);
- scoring: `process_results` extracts the answer with `answers.extract_answer` and scores it with
  `answers.math_equal` (math: `acc`) or exact match / token F1 / cover-EM (factual: `em`, `f1`, `cover_em`);
  every task also reports `score` (math: `acc`, factual: `em`), the metric the group YAMLs average.

The paper's factual metric is an LLM judge; lm-eval cannot call a judge model from a task, so the factual twins report
EM/F1/cover-EM only (the inspect task reports the judge as well when a grader is configured).

Run from the repository root:
  lm_eval --include_path tasks --tasks math500 --model hf \\
      --model_args pretrained=<dir>[,peft=<adapter>],dtype=float32 --apply_chat_template
(`agentdistill prepare-model` prints the embedded model's folder; see CONTRIBUTING.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentdistill.core.answers import cover_em, exact_match, extract_answer, math_equal, token_f1
from agentdistill.tasks._core.data import load_samples
from agentdistill.tasks._core.prompts import cot_messages

# Names a YAML may use as `!function agentdistill.tasks._core.lm_eval_utils.<name>`.
__all__ = ["load", "doc_to_text", "doc_to_target", "process_results", "doc_of", "score_completion"]

SPLIT = "test"


def doc_of(sample: Any) -> dict[str, Any]:
    """The lm-eval doc of one inspect Sample (plain JSON types only: datasets stores it)."""
    metadata = sample.metadata or {}
    domain = str(metadata.get("domain"))
    golds = sample.target if isinstance(sample.target, list) else [sample.target]
    system, _user = cot_messages(str(sample.input), domain)
    return {
        "id": str(sample.id),
        "task": str(metadata.get("task")),
        "domain": domain,
        "question": str(sample.input),
        "golds": [str(g) for g in golds],
        "system": system.text,
    }


def load(task: str | None = None, **_metadata: Any) -> dict[str, Any]:
    """`custom_dataset` of the YAMLs: {"test": Dataset} of the task's checked samples.

    lm-eval calls it with the YAML's `dataset_kwargs` (`task: <name>`) plus the task metadata (ignored).
    """
    import datasets

    if not task:
        raise ValueError("lm_eval_utils.load: the YAML must set dataset_kwargs: {task: <name>}")
    tasks_dir = os.environ.get("AGENTDISTILL_TASKS_DIR")  # a tasks folder outside the repo (CONTRIBUTING.md)
    data_dir = Path(tasks_dir) / task / "data" if tasks_dir and (Path(tasks_dir) / task).is_dir() else None
    docs = [doc_of(sample) for sample in load_samples(task, data_dir=data_dir)]
    return datasets.DatasetDict({SPLIT: datasets.Dataset.from_list(docs)})


def doc_to_text(doc: dict[str, Any]) -> str:
    """The user turn of the CoT prompt (the same text the inspect `cot` solver sends)."""
    return cot_messages(doc["question"], doc["domain"])[1].text


def doc_to_target(doc: dict[str, Any]) -> str:
    return doc["golds"][0]


def score_completion(completion: str, golds: list[str], domain: str) -> dict[str, Any]:
    """The extracted answer and its scores, as the inspect scorers decide them."""
    pred = extract_answer(completion or "", domain)
    if domain == "math":
        acc = float(pred is not None and any(math_equal(pred, gold) for gold in golds))
        return {"answer": pred, "acc": acc, "score": acc}
    em = exact_match(pred, golds)
    return {"answer": pred, "em": em, "f1": token_f1(pred, golds), "cover_em": cover_em(pred, golds), "score": em}


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """lm-eval's per-doc metrics (math: acc, score; factual: em, f1, cover_em, score)."""
    scores = score_completion(results[0] if results else "", doc["golds"], doc["domain"])
    scores.pop("answer")
    return scores
