"""Passage corpora: the embedded offline corpus and wiki-18-format jsonl files.

A corpus line is a JSON object with either `contents` (wiki-18: `"Title"\\ntext`) or
`title` + `text`, and optionally `id`. Lines that are not valid UTF-8 are decoded with
replacement characters (and counted), so one bad byte never loses the whole corpus nor
shifts the row numbering that a faiss index relies on.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import mmap
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from agentdistill.core.paths import sha256_file

log = logging.getLogger(__name__)

EMBEDDED_CORPUS = "offline_wiki_passages.jsonl.gz"


@dataclass(frozen=True)
class Passage:
    id: str
    contents: str  # `"Title"\ntext`, the form the agent sees

    @property
    def title(self) -> str:
        first = self.contents.split("\n", 1)[0].strip()
        return first[1:-1] if len(first) >= 2 and first[0] == first[-1] == '"' else first

    @property
    def text(self) -> str:
        parts = self.contents.split("\n", 1)
        return parts[1] if len(parts) == 2 else ""


def contents_of(title: str, text: str) -> str:
    return f'"{title}"\n{text}'


def decode_line(raw: bytes) -> tuple[str, bool]:
    """Decode one corpus line; returns (text, was_valid_utf8)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), False


def parse_record(line: str, row: int) -> Passage | None:
    """One jsonl line -> Passage (None when the line is not a usable JSON object)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    pid = str(obj.get("id", row))
    if isinstance(obj.get("contents"), str):
        return Passage(pid, obj["contents"])
    if isinstance(obj.get("text"), str):
        return Passage(pid, contents_of(str(obj.get("title", "")), obj["text"]))
    return None


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


class Corpus(Sequence[Passage]):
    """An in-memory corpus (the embedded one, or any small jsonl / list of passages)."""

    def __init__(self, passages: list[Passage], fingerprint: str, name: str = "corpus",
                 bad_utf8_lines: int = 0, skipped_lines: int = 0):
        self.passages = passages
        self.fingerprint = fingerprint
        self.name = name
        self.bad_utf8_lines = bad_utf8_lines
        self.skipped_lines = skipped_lines

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, i):  # type: ignore[override]
        return self.passages[i]

    def __iter__(self) -> Iterator[Passage]:
        return iter(self.passages)

    @classmethod
    def from_passages(cls, passages: list[Passage], name: str = "memory") -> "Corpus":
        digest = hashlib.sha256()
        for p in passages:
            digest.update(p.id.encode() + b"\0" + p.contents.encode("utf-8", "replace") + b"\0")
        return cls(list(passages), digest.hexdigest(), name=name)

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike) -> "Corpus":
        path = Path(path)
        passages: list[Passage] = []
        bad = skipped = 0
        with _open_binary(path) as f:
            for row, raw in enumerate(f):
                if not raw.strip():
                    continue
                line, ok = decode_line(raw)
                bad += not ok
                passage = parse_record(line, row)
                if passage is None:
                    skipped += 1
                    continue
                passages.append(passage)
        if bad or skipped:
            log.warning("%s: %d line(s) not valid UTF-8 (decoded with replacement), %d unusable line(s) skipped",
                        path, bad, skipped)
        return cls(passages, sha256_file(path), name=path.name, bad_utf8_lines=bad, skipped_lines=skipped)


def embedded_corpus_path() -> Path:
    return Path(str(resources.files("agentdistill.solvers.retrieval").joinpath("data", EMBEDDED_CORPUS)))


_EMBEDDED: Corpus | None = None


def embedded_corpus() -> Corpus:
    """The shipped 23,871-passage corpus (loaded once per process)."""
    global _EMBEDDED
    if _EMBEDDED is None:
        _EMBEDDED = Corpus.from_jsonl(embedded_corpus_path())
        _EMBEDDED.name = "embedded"
    return _EMBEDDED


class LineOffsetCorpus(Sequence[Passage]):
    """A large uncompressed jsonl corpus (wiki-18, 21M lines) read lazily through mmap.

    Row i is line i (the row numbering of the faiss index); line byte offsets are kept in
    a numpy array (8 bytes a passage) saved beside the corpus as `<name>.offsets.npy`.
    """

    def __init__(self, path: str | os.PathLike, offsets: np.ndarray, fingerprint: str):
        self.path = Path(path)
        self.offsets = offsets
        self.fingerprint = fingerprint
        self.name = self.path.name
        self._file = open(self.path, "rb")
        self._mmap = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        raw = self._mmap[int(self.offsets[i]):int(self.offsets[i + 1])]
        line, _ = decode_line(raw)
        return parse_record(line, i) or Passage(str(i), "")

    def __iter__(self) -> Iterator[Passage]:
        for i in range(len(self)):
            yield self[i]

    @staticmethod
    def build_offsets(path: str | os.PathLike) -> np.ndarray:
        offsets = [0]
        with open(path, "rb") as f:
            pos = 0
            for raw in f:
                pos += len(raw)
                offsets.append(pos)
        return np.asarray(offsets, dtype=np.uint64)

    @classmethod
    def open(cls, path: str | os.PathLike) -> "LineOffsetCorpus":
        """Open (building and saving the offsets on first use; rebuilt when stale)."""
        path = Path(path)
        offsets_path = path.with_name(path.name + ".offsets.npy")
        stat = path.stat()
        fingerprint = f"{path.name}:{stat.st_size}:{quick_fingerprint(path)}"
        meta_path = path.with_name(path.name + ".offsets.json")
        offsets = None
        if offsets_path.exists() and meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text())
                if meta.get("fingerprint") == fingerprint:
                    offsets = np.load(offsets_path)
                    if int(offsets[-1]) != stat.st_size:
                        offsets = None
            except (OSError, ValueError):
                offsets = None
        if offsets is None:
            offsets = cls.build_offsets(path)
            tmp = offsets_path.with_name(offsets_path.name + ".tmp.npy")
            np.save(tmp, offsets)
            os.replace(tmp, offsets_path)
            meta_path.write_text(json.dumps({"fingerprint": fingerprint, "lines": len(offsets) - 1}))
        return cls(path, offsets, fingerprint)


def quick_fingerprint(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """sha256 of size + first and last MiB: cheap enough for a 64 GB index, catches swaps and truncation."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(block))
        if size > block:
            f.seek(max(block, size - block))
            digest.update(f.read(block))
    return digest.hexdigest()
