"""What a distilled model was trained on, read from its training provenance (never from inference flags).

`agentdistill train` writes `agentdistill_train.json` beside the adapter; its `data_provenance`
(written from `summarize_records` at training time) says how the training trajectories were
made: agent or CoT, with or without the first-thought prefix, with or without retrieval
(the `rag` solver: "Distill + RAG"). For an adapter trained before that field existed, the
training data file named in `dataset.path` is summarised instead when it is still there.

The paper's "+ ftp" rows are students trained on trajectories the teacher made with the
first-thought prefix; a student run with an inference-time prefix is a different method.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentdistill.core.data_provenance import summarize_records
from agentdistill.core.paths import TRAIN_INFO_FILE


def describe(summary: dict[str, Any], full_finetune: bool = False) -> dict[str, Any]:
    """The training facts the reproduction view needs, from a `summarize_records` summary.

    kind: "agent", "cot" or "mixed"; ftp / rag: True when every record of the dominant kind was
    made that way, False when none was, None when only some were (then no paper row matches).
    """
    kinds = summary.get("kinds") or {}
    total = int(summary.get("records") or 0)
    if not total or not kinds:
        return {"kind": None, "ftp": None, "rag": None, "full_finetune": full_finetune}
    kind = next(iter(kinds)) if len(kinds) == 1 else "mixed"

    def all_or_none(count: int) -> bool | None:
        return True if count == total else False if count == 0 else None

    return {"kind": kind, "ftp": all_or_none(int(summary.get("ftp_records") or 0)),
            "rag": all_or_none(int(summary.get("rag_records") or 0)), "full_finetune": full_finetune}


def adapter_dir(model: str) -> Path | None:
    """The trained model's folder of a model name: `agentdistill/<dir>` or `vllm/<base>:<adapter dir>`."""
    candidates = []
    if model.startswith("agentdistill/"):
        candidates.append(model.split("/", 1)[1])
    if ":" in model:
        candidates.append(model.rsplit(":", 1)[1])
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if (path / TRAIN_INFO_FILE).is_file():
            return path
    return None


def training_provenance(model: str) -> dict[str, Any] | None:
    """Training facts (see `describe`) of a model trained by `agentdistill train`, or None when none are found."""
    folder = adapter_dir(model)
    if folder is None:
        return None
    info = json.loads((folder / TRAIN_INFO_FILE).read_text())
    full = bool((info.get("args") or {}).get("full"))
    summary = info.get("data_provenance")
    if summary is None:
        data = Path(str((info.get("dataset") or {}).get("path") or ""))
        if not data.is_file():
            return {"kind": None, "ftp": None, "rag": None, "full_finetune": full,
                    "note": f"{folder / TRAIN_INFO_FILE} has no data_provenance and its dataset {data} is gone"}
        summary = summarize_records(data)
    out = describe(summary, full)
    out["learning_rate"] = (info.get("training_args") or {}).get("learning_rate")  # TRL's SFTConfig, as trained
    out["base_model"] = (info.get("base_model") or {}).get("name")
    return out
