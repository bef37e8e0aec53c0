"""Read the paper authors' prompt and judge texts shipped verbatim in `core/reference_texts/` (Apache-2.0, see
NOTICE.md there): exact bytes as UTF-8, never stripped or re-indented, since the project must send models exactly
what the paper's runs sent."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

FOLDER = "reference_texts"


@functools.cache
def reference_text(name: str) -> str:
    """The file `core/reference_texts/<name>` as text, byte for byte (no newline translation)."""
    path = resources.files("agentdistill.core").joinpath(FOLDER, name)
    if not path.is_file():
        raise FileNotFoundError(f"reference text {name!r} is missing from agentdistill/core/{FOLDER}/")
    return path.read_bytes().decode("utf-8")


def reference_yaml(name: str, key: str) -> Any:
    """One top-level key of a YAML reference text (e.g. `teacher_model.yaml`'s `system_prompt`)."""
    data = yaml.safe_load(reference_text(name))
    if not isinstance(data, dict) or key not in data:
        raise KeyError(f"reference text {name!r} has no top-level key {key!r}")
    return data[key]
