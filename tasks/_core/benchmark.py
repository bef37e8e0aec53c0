"""What a task folder declares about its benchmark, and how the rest of the project finds a task folder.

A task file (`tasks/<name>/<name>.py`) declares `BENCHMARK = Benchmark(...)` next to its `@task`: where its data is
(its own folder), its domain-specific record fields, its upstream hub copy and the golds its source files lack.
License, description, source and quirks live in the folder's `data/manifest.json`, the one place for them.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from agentdistill.core.errors import InputError, valid_names

TASKS_DIR = Path(__file__).resolve().parent.parent

# record, sample id -> extra sample metadata (the benchmark's own fields: level, subject, hop kind, ...)
MetadataFn = Callable[[dict[str, Any], str], dict[str, Any]]


class DataError(InputError):
    """A data file that fails its checksum or has a malformed row, or a task folder that cannot be loaded (an input
    error: inspect prints it as one message)."""


@dataclass(frozen=True)
class HubSpec:
    """Where `source="hub"` loads the upstream set from (`datasets.load_dataset` arguments)."""

    path: str
    name: str | list[str] | None = None  # several configs are concatenated
    split: str = "test"
    config_id_prefix: bool = False  # prefix ids with "<config>-" (configs whose ids overlap)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its name, its folder (data in `<folder>/data`), and what is particular about its records."""

    name: str
    folder: Path
    hub: HubSpec | None = None
    metadata: MetadataFn | None = None
    id_prefix: Callable[[dict[str, Any]], str] | None = None  # record -> sample id prefix (files with overlapping ids)
    answer_fixes: dict[str, list[str]] = field(default_factory=dict)  # sample id -> golds for a null/empty answer
    version: int = 1  # bump when items, golds or scoring change, so logs and baselines can tell versions apart
    data_folder: Path | None = None  # other data for the same benchmark (default: `<folder>/data`)

    @property
    def data_dir(self) -> Path:
        return self.data_folder or self.folder / "data"

    @property
    def data_file(self) -> Path:
        return self.data_dir / f"{self.name}.jsonl"

    @property
    def manifest_file(self) -> Path:
        return self.data_dir / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        path = self.manifest_file
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise DataError(f"{path}: manifest missing (see CONTRIBUTING.md, 'The manifest')") from None
        except json.JSONDecodeError as ex:
            raise DataError(f"{path}: manifest is not valid JSON: {ex}") from None
        if not isinstance(manifest, dict):
            raise DataError(f"{path}: manifest must be a JSON object")
        for key in ("sha256", "items", "domain"):
            if key not in manifest:
                raise DataError(f"{path}: manifest field {key!r} is missing")
        if manifest["domain"] not in ("math", "factual"):
            raise DataError(f"{path}: field 'domain' must be 'math' or 'factual', got {manifest['domain']!r}")
        return manifest

    @property
    def domain(self) -> str:
        return str(self.manifest()["domain"])


def task_file(name: str, tasks_dir: Path | None = None) -> Path:
    """`<tasks dir>/<name>/<name>.py` of a task name; raises naming the known tasks when there is none."""
    root = tasks_dir or TASKS_DIR
    path = root / name / f"{name}.py"
    if not path.is_file():
        raise DataError(f"unknown task {name!r} (no {path}); {valid_names(name, task_names(root))}")
    return path


def task_names(tasks_dir: Path | None = None) -> list[str]:
    """Every task folder (a folder `<name>/` holding `<name>.py`), sorted."""
    root = tasks_dir or TASKS_DIR
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.py").is_file())


def load_task_module(path: Path) -> ModuleType:
    """Import a task file by path (task folders are not packages: their names need not be identifiers)."""
    name = f"agentdistill_task_{path.parent.name}_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DataError(f"{path}: cannot be imported as a task file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def find_benchmark(name: str, tasks_dir: Path | None = None) -> Benchmark:
    """The `BENCHMARK` a task folder declares (a folder without one: its name, its folder, its manifest)."""
    path = task_file(name, tasks_dir)
    declared = getattr(load_task_module(path), "BENCHMARK", None)
    return declared if isinstance(declared, Benchmark) else Benchmark(name, path.parent)


def task_ref(name: str, tasks_dir: Path | None = None) -> str:
    """A task name -> `<task file>@<name>` for inspect; a path or `file.py@name` passes through to inspect."""
    if "/" in name or "@" in name or name.endswith(".py") or Path(name).exists():
        return name
    return f"{task_file(name, tasks_dir)}@{name}"
