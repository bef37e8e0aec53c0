"""Maintainers' tool: rebuild the ten shipped task folders' data files and manifests from the originals in
`../shared/data` (not part of the package: it needs files outside the repository).

    .venv/bin/python tests/tools/build_task_data.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agentdistill.core.paths import sha256_file
from agentdistill.tasks._core.benchmark import TASKS_DIR, DataError

UPSTREAM_REPO = "Nardien/agent-distillation@0f6cae3df6da51eaaf3f3b08dbc1ba120af64459"

# task -> original files under shared/data, in the order their records are shipped
ORIGINALS: dict[str, tuple[str, ...]] = {
    "hotpotqa": ("hotpotqa/official/hotpotqa_500_20250422.json",),
    "bamboogle": ("bamboogle/official/bamboogle_125_20250507.json",),
    "musique": ("musique/official/musique_500_20250504.json",),
    "2wikimultihopqa": ("2wikimultihopqa/official/2wikimultihopqa_500_20250511.json",),
    "math500": ("math500/official/math_500_20250414.json",),
    "gsm_hard": ("gsm_hard/official/gsm_hard_500_20250507.json",),
    "aime": ("aime/official/aime_90_20250504.json",),
    "olymmath": ("olymmath/official/olymath_200_20250511.json",),
    "hotpotqa_train": ("hotpotqa_train/official/hotpotqa_1000_20250402.json",),
    "math_train": ("math_train/official/math_1000_20250414.json", "math_train/official/math_medium_1000_20250430.json"),
}


def _olymmath_unique_ids(shared: Path) -> dict[str, str]:
    ids = {}
    for level in ("EASY", "HARD"):
        for line in (shared / f"olymmath/source/OlymMATH-EN-{level}.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                ids[row["problem"].strip()] = row["unique_id"]
    return ids


def build(shared: Path, tasks_dir: Path = TASKS_DIR) -> None:
    """Rewrite every shipped task's data file and manifest from the originals (licence, description, hub and quirks
    are kept from the current manifest, the one place for them)."""
    shared_manifest = {entry["path"]: entry for entry in json.loads((shared / "MANIFEST.json").read_text())}
    for name, originals in ORIGINALS.items():
        old = json.loads((tasks_dir / name / "data" / "manifest.json").read_text())
        out_dir = tasks_dir / name / "data"
        out_dir.mkdir(parents=True, exist_ok=True)
        rows: list[dict[str, Any]] = []
        sources = []
        extra = _olymmath_unique_ids(shared) if name == "olymmath" else {}
        for original in originals:
            path = shared / original
            content = json.loads(path.read_text())
            entry = shared_manifest.get(original, {})
            sha = sha256_file(path)
            if entry.get("sha256") and entry["sha256"] != sha:
                raise DataError(f"{path}: sha256 {sha} differs from shared MANIFEST.json {entry['sha256']}")
            examples = content["examples"]
            for example in examples:
                row = dict(example)
                row["_source"] = Path(original).name
                if extra:
                    row["_unique_id"] = extra[example["question"].strip()]
                rows.append(row)
            sources.append({
                "file": Path(original).name,
                "upstream": entry.get("source", f"{UPSTREAM_REPO}:data_processor/{original}"),
                "license": entry.get("license", old["license"]),
                "items": len(examples),
                "sha256": sha,
                "metadata": content.get("metadata"),
            })
        target = out_dir / f"{name}.jsonl"
        with open(target, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        manifest = {
            "task": name,
            "file": target.name,
            "sha256": sha256_file(target),
            "items": len(rows),
            "bytes": target.stat().st_size,
            "domain": old["domain"],
            "license": old["license"],
            "description": old["description"],
            "format": "JSONL: the original records unchanged, plus `_source` (original file name)"
            + (" and `_unique_id` (joined from the upstream EN files)" if extra else ""),
            "sources": sources,
            "hub": old.get("hub"),
            "quirks": old.get("quirks", []),
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} items -> {target}")



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=TASKS_DIR.parent / ".." / "shared" / "data")
    parser.add_argument("--tasks-dir", type=Path, default=TASKS_DIR)
    args = parser.parse_args()
    build(args.shared.resolve(), args.tasks_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
