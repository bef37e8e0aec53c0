"""Where agentdistill keeps what it builds once and reuses (converted models, indexes), and how files are hashed.

`cache_dir()` is `$AGENTDISTILL_CACHE` when set, else `~/.cache/agentdistill`; never
inside the repository, never committed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_ENV = "AGENTDISTILL_CACHE"


def cache_dir(*parts: str, create: bool = True) -> Path:
    """The cache root (or a sub-path of it), created on demand."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "agentdistill")
    path = Path(root).expanduser().joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks (data manifests, index caches, adapters' datasets)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a file so that a reader (or a crash) never sees it half-written: a temporary file beside it, then an
    atomic rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def looks_like_path(name: str) -> bool:
    """A model or data name meant as a local folder (a hub id is exactly `owner/name`)."""
    return name.startswith(("/", ".", "~")) or name.endswith("/") or name.count("/") > 1


# Written by `agentdistill train` into every adapter folder it makes: the adapter's provenance (data, base, args).
# The agent solvers read it to give a distilled student the student prompt it was trained with.
TRAIN_INFO_FILE = "agentdistill_train.json"
