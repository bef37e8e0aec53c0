"""Benchmark data: the paper's sampled sets shipped in `tasks/<name>/data/`, and the upstream hub copies.

Each task folder holds one JSONL data file (`<name>.jsonl`: the original records of the reference implementation's
sampled set, one per line, unchanged except for provenance fields starting with `_`) and `manifest.json` (source,
license, item count, sha256 of the shipped file and of the originals it was made from). `load_samples(name)` checks
the sha256 and every row and builds `Sample`s with `record_to_sample`, which also maps the upstream hub records
(`source="hub"`), so both paths give the same kind of sample. What is particular to one benchmark (its metadata
fields, hub copy, answer fixes) is declared in its own task file (`Benchmark`, see `benchmark.py`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai.dataset import Sample

from agentdistill.core.answers import last_boxed
from agentdistill.core.paths import sha256_file
from agentdistill.tasks._core.benchmark import Benchmark, DataError, find_benchmark

logger = logging.getLogger(__name__)

__all__ = ["DataError", "load_samples", "read_rows", "record_to_sample", "sha256_file", "math_level"]


# --------------------------------------------------------------------------- record -> Sample

def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in record and record[key] is not None:
            return record[key]
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def math_level(value: Any) -> str | None:
    """MATH's "Level 4" (or 4) -> "4"."""
    if value is None:
        return None
    match = re.search(r"\d+", str(value))
    return match.group(0) if match else str(value)


def _gold_text(value: Any, domain: str) -> str:
    if isinstance(value, float) and value.is_integer() and domain == "math":
        return f"{value:.1f}"  # keep GSM-Hard's "13138980.0" form
    return str(value).strip()


def record_to_sample(bench: Benchmark, record: dict[str, Any], row: int = 0, id_prefix: str = "",
                     domain: str | None = None) -> Sample:
    """One Sample from a record of the shipped file or of the upstream hub set.

    Raises DataError naming the missing field (the caller adds file and row).
    """
    domain = domain or bench.domain
    question = _first(record, "question", "problem", "input", "Question")
    if not isinstance(question, str) or not question.strip():
        raise DataError("field 'question': missing or empty")

    raw_id = _first(record, "id", "_id", "unique_id", "qid")
    sample_id = id_prefix + (str(raw_id).strip() if raw_id is not None else str(row))

    answer = _first(record, "answer", "target", "Answer")
    no_answer_field = not any(key in record for key in ("answer", "target", "Answer"))
    if no_answer_field and "solution" in record:  # hendrycks MATH: the boxed answer of the solution
        answer = last_boxed(str(record["solution"]))
    fixed = bench.answer_fixes.get(sample_id)
    if fixed is not None and (answer is None or not str(answer).strip()):
        golds = list(fixed)
    elif answer is None or not str(answer).strip():
        raise DataError("field 'answer': missing or empty")
    else:
        golds = [_gold_text(answer, domain)]
    for alias in record.get("answer_aliases") or []:
        if str(alias).strip() and str(alias).strip() not in golds:
            golds.append(str(alias).strip())

    metadata: dict[str, Any] = {"task": bench.name, "domain": domain, "level": None, "type": None,
                                "subject": None, "hop_kind": None}
    if fixed is not None and golds == fixed:
        metadata["answer_fixed"] = True
    if raw_id is not None and str(raw_id) != sample_id.removeprefix(id_prefix):
        metadata["original_id"] = str(raw_id)
    if "_source" in record:
        metadata["source_file"] = record["_source"]
    if domain == "factual":
        metadata["level"] = _str_or_none(record.get("level"))
        metadata["type"] = _str_or_none(record.get("type"))
    else:
        subject = _first(record, "subject", "type")
        metadata["level"] = _str_or_none(record.get("level"))
        metadata["subject"] = _str_or_none(subject)
        metadata["type"] = _str_or_none(record.get("type") or subject or bench.name)
    if bench.metadata is not None:
        metadata.update(bench.metadata(record, sample_id))
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

def verify_checksum(path: Path, expected: str) -> None:
    if not path.exists():
        raise DataError(f"{path}: data file missing")
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"{path}: sha256 mismatch: expected {expected} (from its manifest), got {actual}; "
            "the file was changed or corrupted: restore it from git, or, for an intended edit, write the new sha256 "
            "into manifest.json"
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


def load_local(bench: Benchmark, verify: bool = True) -> list[Sample]:
    manifest = bench.manifest()
    path = bench.data_file
    if verify:
        verify_checksum(path, manifest["sha256"])
    domain = manifest["domain"]
    samples = []
    for number, row in enumerate(read_rows(path), start=1):
        try:
            prefix = bench.id_prefix(row) if bench.id_prefix else ""
            samples.append(record_to_sample(bench, row, row=number - 1, id_prefix=prefix, domain=domain))
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


def load_hub(bench: Benchmark, loader: HubLoader | None = None, paper_ids: bool = True) -> list[Sample]:
    """The upstream set via `datasets.load_dataset` (needs the network the first time).

    Records go through the same `record_to_sample` as the shipped file. With paper_ids, only
    the items of the paper's sampled set are kept when the upstream ids match them (else all,
    with a warning). `loader` replaces `datasets.load_dataset` (tests use local files).
    """
    spec = bench.hub
    if spec is None:
        raise DataError(f"task {bench.name!r} declares no hub copy (its task file has no `hub=`); use source='local'")
    if loader is None:
        from datasets import load_dataset as loader  # type: ignore[no-redef]  (heavy: only for source="hub")
    configs = spec.name if isinstance(spec.name, list) else [spec.name]
    samples: list[Sample] = []
    for config in configs:
        try:
            dataset = loader(spec.path, config, split=spec.split) if config else loader(spec.path, split=spec.split)
        except Exception as ex:  # offline, no such set, no access: one line, not the hub client's traceback
            detail = (str(ex).strip().splitlines() or [type(ex).__name__])[0][:300]
            offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") not in (None, "", "0") else ""
            raise DataError(f"task {bench.name}: source=hub: could not load {spec.path}"
                            f"{f' ({config})' if config else ''}, split {spec.split}{offline}: {detail}; "
                            "source=local uses the copy shipped in the task folder") from None
        prefix = f"{config}-" if spec.config_id_prefix else ""
        for index, record in enumerate(dataset):
            try:
                samples.append(record_to_sample(bench, dict(record), row=index, id_prefix=prefix))
            except DataError as ex:
                raise DataError(f"{spec.path} ({config or 'default'}, {spec.split}): row {index + 1}: {ex}") from None
    if paper_ids:
        try:
            wanted = {str(s.id) for s in load_local(bench, verify=False)}
        except DataError:
            wanted = set()
        kept = [s for s in samples if str(s.id) in wanted]
        if kept:
            samples = kept
        else:
            logger.warning("%s: upstream ids do not match the paper's sampled set; using all %d items", bench.name, len(samples))
    _check_unique(samples, spec.path)
    return _mark_duplicates(samples)


def resolve_benchmark(task: str | Benchmark, data_dir: Path | str | None = None) -> Benchmark:
    """A Benchmark from a task name (its folder's declaration) or as given; `data_dir` points it at other data
    (a folder holding `<name>.jsonl` and `manifest.json`)."""
    if isinstance(task, Benchmark):
        bench = task
    else:
        try:
            bench = find_benchmark(task)
        except DataError:
            if data_dir is None:
                raise
            bench = Benchmark(task, Path(data_dir).parent)  # a benchmark known only by its data folder
    if data_dir is not None:
        bench = dataclasses.replace(bench, data_folder=Path(data_dir))
    return bench


def load_samples(task: str | Benchmark, source: str = "local", *, data_dir: Path | str | None = None,
                 hub_loader: HubLoader | None = None) -> list[Sample]:
    """Samples of a task: `source="local"` (the sampled set shipped in its folder) or `"hub"` (upstream)."""
    if source not in ("local", "hub"):
        raise DataError(f"source must be 'local' or 'hub', not {source!r}")
    bench = resolve_benchmark(task, data_dir)
    if source == "local":
        return load_local(bench)
    return load_hub(bench, loader=hub_loader)
