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


# Written by `agentdistill train` into every adapter folder it makes: the adapter's provenance (data, base, args).
# The agent solvers read it to give a distilled student the student prompt it was trained with.
TRAIN_INFO_FILE = "agentdistill_train.json"
