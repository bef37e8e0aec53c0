"""How a trajectory file was made, counted from its records' provenance (`agentdistill trajectories`).

`agentdistill train` stores this summary in `agentdistill_train.json` as `data_provenance`, so
the leaderboard can tell an agent-distilled model trained on first-thought-prefix trajectories
("+ ftp") from one trained without, and CoT distillation with retrieval ("Distill + RAG") from
plain CoT distillation, after the data file itself is gone.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def _record_flags(record: dict[str, Any]) -> tuple[str, bool, bool]:
    """(kind, made with ftp, made with retrieval) of one trajectory record of `agentdistill trajectories`."""
    prov = record.get("provenance") or {}
    solver = str(prov.get("solver") or "").split("/")[-1]
    args = prov.get("solver_args") or {}
    kind = record.get("kind") or ("agent" if solver.startswith("agent") else "cot")
    ftp = bool(prov.get("ftp_prefix")) or solver == "agent_ftp" or args.get("ftp") in (True, "true", "True", 1)
    rag = solver == "rag"
    return kind, ftp, rag


def summarize_records(path: str | Path) -> dict[str, Any]:
    """Counts over a trajectory JSONL: records per kind, made with ftp, made with retrieval; teachers and solvers."""
    kinds: Counter = Counter()
    ftp = rag = 0
    teachers: Counter = Counter()
    solvers: Counter = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            kind, with_ftp, with_rag = _record_flags(record)
            kinds[kind] += 1
            ftp += with_ftp
            rag += with_rag
            prov = record.get("provenance") or {}
            if prov.get("teacher"):
                teachers[str(prov["teacher"])] += 1
            if prov.get("solver"):
                solvers[str(prov["solver"])] += 1
    return {"records": sum(kinds.values()), "kinds": dict(kinds), "ftp_records": ftp, "rag_records": rag,
            "teachers": dict(teachers), "solvers": dict(solvers)}
