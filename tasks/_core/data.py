"""Benchmark data: the paper's sampled sets shipped in `tasks/<name>/data/`, and the hub path.

Each task folder holds one JSONL data file (`<name>.jsonl`: the original records of the
reference implementation's sampled set, one per line, unchanged except for provenance
fields starting with `_`) and `manifest.json` (source, license, item count, sha256 of the
shipped file and of the originals it was made from). `load_samples(name)` checks the
sha256 and every row, and builds `Sample`s with `record_to_sample`, which also maps the
upstream hub records (`source="hub"`), so both paths give the same kind of sample.

`python -m agentdistill.tasks._core.data build [--shared DIR]` rebuilds the data files and
manifests from `../shared/data` (the originals).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.dataset import Sample

from agentdistill.distill.paths import sha256_file  # noqa: F401  (also the loader's public name)
from agentdistill.tasks._core.answers import last_boxed

logger = logging.getLogger(__name__)

TASKS_DIR = Path(__file__).resolve().parent.parent
UPSTREAM_REPO = "Nardien/agent-distillation@0f6cae3df6da51eaaf3f3b08dbc1ba120af64459"


class DataError(ValueError):
    """A data file that fails its checksum or has a malformed row."""


@dataclass(frozen=True)
class HubSpec:
    """Where `source="hub"` loads the upstream set from (`datasets.load_dataset` arguments)."""

    path: str
    name: str | list[str] | None = None  # several configs are concatenated
    split: str = "test"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    domain: str  # "math" | "factual"
    originals: tuple[tuple[str, str], ...]  # (path under shared/data, id prefix "" for none)
    license: str
    description: str
    hub: HubSpec
    quirks: tuple[str, ...] = field(default=())


_R = f"{UPSTREAM_REPO}:data_processor"

SPECS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "hotpotqa", "factual", (("hotpotqa/official/hotpotqa_500_20250422.json", ""),),
            "repo Apache-2.0; HotpotQA CC BY-SA 4.0",
            "HotpotQA dev (distractor) items 100-599, 2-hop Wikipedia questions",
            HubSpec("hotpotqa/hotpot_qa", "distractor", "validation[100:600]"),
            ("the reference's 'test' file is HotpotQA dev-distractor items 100-599 (dev, not test)",),
        ),
        TaskSpec(
            "bamboogle", "factual", (("bamboogle/official/bamboogle_125_20250507.json", ""),),
            "repo Apache-2.0; Bamboogle (ofirpress/self-ask, MIT, not verified) via chiayewken/bamboogle",
            "Bamboogle: 125 hand-written 2-hop questions whose answers are not on one Wikipedia page",
            HubSpec("chiayewken/bamboogle", None, "test"),
        ),
        TaskSpec(
            "musique", "factual", (("musique/official/musique_500_20250504.json", ""),),
            "repo Apache-2.0; MuSiQue CC BY 4.0",
            "MuSiQue answerable dev: 3-hop composed questions",
            HubSpec("dgslibisey/MuSiQue", None, "validation"),
            (
                "the reference metadata says 4-hop; the items are 3-hop (3hop1/3hop2)",
                "id ' 1__804367_160713_77246' has a leading space: stripped to '1__804367_160713_77246' "
                "(original kept in metadata 'original_id'; hop_kind '3hop' from its three sub-question ids)",
                "one question appears twice (ids 3hop2__851134_326964_7713 and 3hop2__326964_851134_7713, "
                "same answer): both kept, metadata 'duplicate_of' names the other id",
            ),
        ),
        TaskSpec(
            "2wikimultihopqa", "factual", (("2wikimultihopqa/official/2wikimultihopqa_500_20250511.json", ""),),
            "repo Apache-2.0; 2WikiMultihopQA Apache-2.0",
            "2WikiMultihopQA dev: compositional, comparison, bridge-comparison and inference questions",
            HubSpec("framolfese/2WikiMultihopQA", None, "validation"),
            ("ids are integer row indices of an unknown 2Wiki dev copy (kept as strings)",),
        ),
        TaskSpec(
            "math500", "math", (("math500/official/math_500_20250414.json", ""),),
            "repo Apache-2.0; MATH MIT",
            "MATH500: 500 MATH test problems (levels 1-5, seven subjects)",
            HubSpec("HuggingFaceH4/MATH-500", None, "test"),
        ),
        TaskSpec(
            "gsm_hard", "math", (("gsm_hard/official/gsm_hard_500_20250507.json", ""),),
            "repo Apache-2.0; GSM-Hard (PAL) Apache-2.0 / GSM8K MIT",
            "GSM-Hard: GSM8K word problems with large numbers; float golds",
            HubSpec("reasoning-machines/gsm-hard", None, "train"),
            ("ids are row indices of PAL's gsmhardv2.jsonl (verified 500/500); golds are floats "
             "('13138980.0'), compared numerically",),
        ),
        TaskSpec(
            "aime", "math", (("aime/official/aime_90_20250504.json", ""),),
            "repo Apache-2.0; problems (c) MAA, solutions from the AoPS wiki",
            "AIME 2022-2024, I and II, 15 problems each; integer answers 0-999",
            HubSpec("AI-MO/aimo-validation-aime", None, "train"),
        ),
        TaskSpec(
            "olymmath", "math", (("olymmath/official/olymath_200_20250511.json", ""),),
            "repo Apache-2.0; OlymMATH MIT",
            "OlymMATH English: 100 easy + 100 hard olympiad problems",
            HubSpec("RUC-AIBOX/OlymMATH", ["en-easy", "en-hard"], "test"),
            ("level (easy/hard) and unique_id joined from RUCAIBox/OlymMATH's EN files by problem text",),
        ),
        TaskSpec(
            "hotpotqa_train", "factual", (("hotpotqa_train/official/hotpotqa_1000_20250402.json", ""),),
            "repo Apache-2.0; HotpotQA CC BY-SA 4.0",
            "HotpotQA train: the first 1000 hard questions (teacher trajectories for distillation)",
            HubSpec("hotpotqa/hotpot_qa", "distractor", "train"),
        ),
        TaskSpec(
            "math_train", "math",
            (
                ("math_train/official/math_1000_20250414.json", "hard-"),
                ("math_train/official/math_medium_1000_20250430.json", "medium-"),
            ),
            "repo Apache-2.0; MATH MIT",
            "MATH train: 1000 level 4-5 + 1000 level 2-3 problems (teacher trajectories for distillation)",
            HubSpec(
                "EleutherAI/hendrycks_math",
                ["algebra", "counting_and_probability", "geometry", "intermediate_algebra",
                 "number_theory", "prealgebra", "precalculus"],
                "train",
            ),
            (
                "the two source files both number their items 0-999: ids are 'hard-<id>' (level 4-5 file) "
                "and 'medium-<id>' (level 2-3 file)",
                "medium-124 and medium-519 have a null answer: filled by hand ('2': the roots of "
                "x/5 + 1/(5x) = 1/2 are 2 and 1/2; '9': (x+y)^2 - 2xy = 1 + 8), metadata 'answer_fixed'",
                "hard-174 and hard-499 have an empty answer (multiple choice, both option (A) = 0): "
                "golds set to '(A)' and '0', metadata 'answer_fixed'",
            ),
        ),
    )
}

# Golds the reference files lack (null or empty), keyed by (task, sample id).
ANSWER_FIXES: dict[tuple[str, str], list[str]] = {
    ("math_train", "medium-124"): ["2"],
    ("math_train", "medium-519"): ["9"],
    ("math_train", "hard-174"): ["(A)", "0"],
    ("math_train", "hard-499"): ["(A)", "0"],
}


def data_path(name: str, data_dir: Path | None = None) -> Path:
    return (data_dir or TASKS_DIR / name / "data") / f"{name}.jsonl"


def manifest_path(name: str, data_dir: Path | None = None) -> Path:
    return (data_dir or TASKS_DIR / name / "data") / "manifest.json"


# --------------------------------------------------------------------------- record -> Sample

def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in record and record[key] is not None:
            return record[key]
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _math_level(value: Any) -> str | None:
    if value is None:
        return None
    match = re.search(r"\d+", str(value))
    return match.group(0) if match else str(value)


def _gold_text(value: Any, domain: str) -> str:
    if isinstance(value, float) and value.is_integer() and domain == "math":
        return f"{value:.1f}"  # keep GSM-Hard's "13138980.0" form
    return str(value).strip()


def record_to_sample(
    task: str, record: dict[str, Any], row: int = 0, id_prefix: str = "", spec: TaskSpec | None = None
) -> Sample:
    """One Sample from a record of the shipped file or of the upstream hub set.

    Raises DataError naming the missing field (the caller adds file and row).
    """
    spec = spec or SPECS[task]
    question = _first(record, "question", "problem", "input", "Question")
    if not isinstance(question, str) or not question.strip():
        raise DataError("field 'question': missing or empty")

    raw_id = _first(record, "id", "_id", "unique_id", "qid")
    original_id = raw_id
    sample_id = id_prefix + (str(raw_id).strip() if raw_id is not None else str(row))

    answer = _first(record, "answer", "target", "Answer")
    no_answer_field = not any(key in record for key in ("answer", "target", "Answer"))
    if no_answer_field and "solution" in record:  # hendrycks MATH: the boxed answer of the solution
        answer = last_boxed(str(record["solution"]))
    golds: list[str]
    fixed = ANSWER_FIXES.get((task, sample_id))
    if fixed is not None and (answer is None or not str(answer).strip()):
        golds = list(fixed)
    elif answer is None or not str(answer).strip():
        raise DataError("field 'answer': missing or empty")
    else:
        golds = [_gold_text(answer, spec.domain)]
    for alias in record.get("answer_aliases") or []:
        if str(alias).strip() and str(alias).strip() not in golds:
            golds.append(str(alias).strip())

    metadata: dict[str, Any] = {
        "task": task,
        "domain": spec.domain,
        "level": None,
        "type": None,
        "subject": None,
        "hop_kind": None,
    }
    if fixed is not None and golds == fixed:
        metadata["answer_fixed"] = True
    if original_id is not None and str(original_id) != sample_id.removeprefix(id_prefix):
        metadata["original_id"] = str(original_id)
    if "_source" in record:
        metadata["source_file"] = record["_source"]

    kind = record.get("type")
    if spec.domain == "factual":
        metadata["level"] = _str_or_none(record.get("level"))
        metadata["type"] = _str_or_none(kind)
        if task in ("hotpotqa", "hotpotqa_train"):
            metadata["hop_kind"] = kind if kind in ("bridge", "comparison") else "2hop"
        elif task == "2wikimultihopqa":
            metadata["hop_kind"] = _str_or_none(kind)
        elif task == "musique":
            match = re.match(r"(\dhop\d?)__", sample_id)
            hops = len(sample_id.split("__", 1)[-1].split("_"))
            metadata["hop_kind"] = match.group(1) if match else f"{hops}hop"
        elif task == "bamboogle":
            metadata["hop_kind"] = "2hop"
    else:
        level = record.get("level")
        subject = _first(record, "subject", "type")
        unique_id = _first(record, "_unique_id", "unique_id")
        if task == "olymmath" and unique_id:
            level = "hard" if "HARD" in str(unique_id).upper() else "easy"
            metadata["unique_id"] = str(unique_id)
        metadata["level"] = _math_level(level) if task in ("math500", "math_train") else _str_or_none(level)
        metadata["subject"] = _str_or_none(subject)
        metadata["type"] = _str_or_none(record.get("type") or subject or task)
        if task == "aime" and record.get("url"):
            match = re.search(r"(\d{4})_AIME_(I+)_Problems/Problem_(\d+)", str(record["url"]))
            if match:
                metadata.update(year=int(match.group(1)), contest=f"AIME {match.group(2)}", problem=int(match.group(3)))
                metadata["type"] = "AIME"
        if task == "gsm_hard":
            metadata["type"] = "gsm_hard"
            metadata["gsmhardv2_row"] = int(sample_id) if sample_id.isdigit() else None
    return Sample(id=sample_id, input=question.strip(), target=golds if len(golds) > 1 else golds[0], metadata=metadata)


def _mark_duplicates(samples: list[Sample]) -> list[Sample]:
    by_question: dict[str, list[Sample]] = {}
    for sample in samples:
        by_question.setdefault(str(sample.input), []).append(sample)
    for group in by_question.values():
        if len(group) > 1:
            for sample in group:
                others = [str(s.id) for s in group if s is not sample]
                assert sample.metadata is not None
                sample.metadata["duplicate_of"] = others[0] if len(others) == 1 else others
    return samples


# --------------------------------------------------------------------------- local files

def read_manifest(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    path = manifest_path(name, data_dir)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: manifest missing (rebuild with `python -m agentdistill.tasks._core.data build`)")
    except json.JSONDecodeError as ex:
        raise DataError(f"{path}: manifest is not valid JSON: {ex}") from None


def verify_checksum(path: Path, expected: str) -> None:
    if not path.exists():
        raise DataError(f"{path}: data file missing")
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"{path}: sha256 mismatch: expected {expected} (from its manifest), got {actual}; "
            "the file was changed or corrupted: restore it from git or rebuild it"
        )


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as ex:
                raise DataError(f"{path}: row {number}: not valid JSON ({ex.msg} at column {ex.colno})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}: row {number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def _prefix_of(name: str, row: dict[str, Any]) -> str:
    if name not in SPECS:  # a folder task: ids as they are
        return ""
    source = row.get("_source")
    for original, prefix in SPECS[name].originals:
        if source is not None and Path(original).name == source:
            return prefix
    return SPECS[name].originals[0][1]


def task_spec(name: str, data_dir: Path | None = None) -> TaskSpec:
    """The spec of a shipped task (`SPECS`), or of a task folder added later, read from its
    manifest.json (`domain`: "math" | "factual", `license`, `description`); local data only."""
    if name in SPECS:
        return SPECS[name]
    manifest = read_manifest(name, data_dir)
    if manifest.get("domain") not in ("math", "factual"):
        raise DataError(
            f"{manifest_path(name, data_dir)}: field 'domain' must be 'math' or 'factual' for a task "
            f"not listed in data.SPECS, got {manifest.get('domain')!r}"
        )
    return TaskSpec(
        name, manifest["domain"], (), str(manifest.get("license", "")), str(manifest.get("description", "")),
        HubSpec(""),
    )


def load_local(name: str, data_dir: Path | None = None, verify: bool = True) -> list[Sample]:
    spec = task_spec(name, data_dir)
    manifest = read_manifest(name, data_dir)
    path = data_path(name, data_dir)
    if verify:
        verify_checksum(path, manifest["sha256"])
    samples = []
    for number, row in enumerate(read_rows(path), start=1):
        try:
            samples.append(record_to_sample(name, row, row=number - 1, id_prefix=_prefix_of(name, row), spec=spec))
        except DataError as ex:
            raise DataError(f"{path}: row {number}: {ex}") from None
    if len(samples) != manifest["items"]:
        raise DataError(f"{path}: {len(samples)} items, the manifest says {manifest['items']}")
    _check_unique(samples, str(path))
    return _mark_duplicates(samples)


def _check_unique(samples: list[Sample], where: str) -> None:
    seen: set[str] = set()
    for sample in samples:
        if str(sample.id) in seen:
            raise DataError(f"{where}: duplicate sample id {sample.id!r}")
        seen.add(str(sample.id))


# --------------------------------------------------------------------------- hub

HubLoader = Callable[..., Any]


def load_hub(name: str, loader: HubLoader | None = None, paper_ids: bool = True) -> list[Sample]:
    """The upstream set via `datasets.load_dataset` (needs the network the first time).

    Records go through the same `record_to_sample` as the shipped file. With paper_ids, only
    the items of the paper's sampled set are kept when the upstream ids match them (else all,
    with a warning). `loader` replaces `datasets.load_dataset` (tests use local files).
    """
    spec = SPECS[name].hub
    if loader is None:
        from datasets import load_dataset as loader  # type: ignore[no-redef]
    configs = spec.name if isinstance(spec.name, list) else [spec.name]
    samples: list[Sample] = []
    for config in configs:
        dataset = loader(spec.path, config, split=spec.split) if config else loader(spec.path, split=spec.split)
        prefix = f"{config}-" if isinstance(spec.name, list) and name == "math_train" else ""
        for index, record in enumerate(dataset):
            try:
                samples.append(record_to_sample(name, dict(record), row=index, id_prefix=prefix))
            except DataError as ex:
                raise DataError(f"{spec.path} ({config or 'default'}, {spec.split}): row {index + 1}: {ex}") from None
    if paper_ids:
        try:
            wanted = {str(s.id) for s in load_local(name, verify=False)}
        except DataError:
            wanted = set()
        kept = [s for s in samples if str(s.id) in wanted]
        if kept:
            samples = kept
        else:
            logger.warning("%s: upstream ids do not match the paper's sampled set; using all %d items", name, len(samples))
    _check_unique(samples, spec.path)
    return _mark_duplicates(samples)


def load_samples(name: str, source: str = "local", *, data_dir: Path | None = None, hub_loader: HubLoader | None = None) -> list[Sample]:
    """Samples of a task: `source="local"` (the shipped sampled set) or `"hub"` (upstream)."""
    if name not in SPECS and not manifest_path(name, data_dir).exists():
        raise ValueError(f"unknown task {name!r}; known: {', '.join(SPECS)} (or a folder with data/manifest.json)")
    if source == "local":
        return load_local(name, data_dir)
    if source == "hub":
        if name not in SPECS:
            raise ValueError(f"task {name!r}: source='hub' is for the tasks listed in data.SPECS")
        return load_hub(name, loader=hub_loader)
    raise ValueError(f"source must be 'local' or 'hub', not {source!r}")


# --------------------------------------------------------------------------- build from the originals

def _olymmath_unique_ids(shared: Path) -> dict[str, str]:
    ids = {}
    for level in ("EASY", "HARD"):
        for line in (shared / f"olymmath/source/OlymMATH-EN-{level}.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                ids[row["problem"].strip()] = row["unique_id"]
    return ids


def build(shared: Path, tasks_dir: Path = TASKS_DIR) -> None:
    shared_manifest = {entry["path"]: entry for entry in json.loads((shared / "MANIFEST.json").read_text())}
    for name, spec in SPECS.items():
        out_dir = tasks_dir / name / "data"
        out_dir.mkdir(parents=True, exist_ok=True)
        rows: list[dict[str, Any]] = []
        sources = []
        extra = _olymmath_unique_ids(shared) if name == "olymmath" else {}
        for original, _prefix in spec.originals:
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
                "upstream": entry.get("source", f"{_R}/{original}"),
                "license": entry.get("license", spec.license),
                "items": len(examples),
                "sha256": sha,
                "metadata": content.get("metadata"),
            })
        target = data_path(name, out_dir)
        with open(target, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        manifest = {
            "task": name,
            "file": target.name,
            "sha256": sha256_file(target),
            "items": len(rows),
            "bytes": target.stat().st_size,
            "license": spec.license,
            "description": spec.description,
            "format": "JSONL: the original records unchanged, plus `_source` (original file name)"
            + (" and `_unique_id` (joined from the upstream EN files)" if extra else ""),
            "sources": sources,
            "hub": {"path": spec.hub.path, "name": spec.hub.name, "split": spec.hub.split},
            "quirks": list(spec.quirks),
        }
        manifest_path(name, out_dir).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} items -> {target}")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m agentdistill.tasks._core.data")
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="rebuild tasks/<name>/data from the shared originals")
    build_parser.add_argument("--shared", type=Path, default=TASKS_DIR.parent.parent / "shared" / "data")
    sub.add_parser("check", help="verify every task's checksum and rows")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.shared)
    else:
        for name in SPECS:
            print(f"{name}: {len(load_local(name))} items ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
