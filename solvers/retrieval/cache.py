"""On-disk index cache: keyed by corpus fingerprint + backend + encoder + parameters.

An entry is a folder `<cache_dir>/indexes/<kind>-<key>/` holding the index files and a
`manifest.json` written LAST, listing every file with its size and sha256. An entry is
built in a private temporary folder and moved into place with one atomic rename, so a
crash mid-build leaves only a temporary folder (ignored), never a half entry. On load the
manifest and every checksum are verified; a missing, partial or corrupt entry is removed
and rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

from agentdistill.core.paths import cache_dir

from agentdistill.core.paths import sha256_file

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def cache_key(parts: dict[str, Any]) -> str:
    blob = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class IndexCache:
    def __init__(self, kind: str, key_parts: dict[str, Any], root: Path | None = None):
        self.kind = kind
        self.key_parts = key_parts
        self.key = cache_key(key_parts)
        self.root = Path(root) if root is not None else cache_dir("indexes")
        self.dir = self.root / f"{kind}-{self.key}"

    # -- verification -------------------------------------------------------------------
    def verify(self, path: Path | None = None) -> str | None:
        """None when the entry is complete and intact, else the reason it is not."""
        path = path or self.dir
        manifest_path = path / MANIFEST
        if not path.is_dir():
            return "missing"
        if not manifest_path.is_file():
            return "no manifest (partial build)"
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable manifest ({exc})"
        if manifest.get("key") != self.key:
            return "manifest key mismatch"
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            return "manifest lists no files"
        for name, info in files.items():
            file = path / name
            if not file.is_file():
                return f"missing file {name}"
            if file.stat().st_size != info.get("size"):
                return f"size mismatch for {name}"
            if sha256_file(file) != info.get("sha256"):
                return f"checksum mismatch for {name}"
        return None

    def load(self) -> Path | None:
        """The entry's folder when valid; a present but invalid entry is deleted."""
        if not self.dir.exists():
            return None
        problem = self.verify()
        if problem is None:
            return self.dir
        log.warning("index cache %s is invalid (%s): rebuilding", self.dir, problem)
        shutil.rmtree(self.dir, ignore_errors=True)
        return None

    # -- building -----------------------------------------------------------------------
    def build(self, writer: Callable[[Path], None]) -> Path:
        """Run `writer(tmp_dir)`, checksum what it wrote, write the manifest, rename into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{self.kind}-{self.key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            writer(tmp)
            files = {
                str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": sha256_file(p)}
                for p in sorted(tmp.rglob("*")) if p.is_file()
            }
            manifest = {"key": self.key, "kind": self.kind, "parts": self.key_parts, "files": files}
            part = tmp / (MANIFEST + ".part")
            part.write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
            os.replace(part, tmp / MANIFEST)
            try:
                os.rename(tmp, self.dir)
            except OSError:
                # Another process finished first: keep theirs when valid, else replace it.
                if self.verify() is None:
                    shutil.rmtree(tmp, ignore_errors=True)
                    return self.dir
                shutil.rmtree(self.dir, ignore_errors=True)
                os.rename(tmp, self.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.dir

    def get_or_build(self, writer: Callable[[Path], None]) -> tuple[Path, bool]:
        """(folder, built_now)."""
        found = self.load()
        if found is not None:
            return found, False
        return self.build(writer), True
