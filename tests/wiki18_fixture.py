"""Test helper: a corpus + faiss index in the published wiki-18 layout, small enough for a test."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import faiss
import numpy as np

from agentdistill.solvers.retrieval import wiki18


def write_wiki18_format(folder: Path, contents: list[str], vectors: np.ndarray, n_parts: int = 2) -> None:
    """Write a corpus + index in exactly the published layout (a tiny stand-in for the hub files):
    wiki-18.jsonl.gz and the Flat index split into part_aa, part_ab, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / wiki18.CORPUS_GZ, "wt", encoding="utf-8") as f:
        for i, text in enumerate(contents):
            f.write(json.dumps({"id": str(i), "contents": text}) + "\n")
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    blob = faiss.serialize_index(index).tobytes()
    size = -(-len(blob) // n_parts)
    for j in range(n_parts):
        (folder / f"{wiki18.PART_PREFIX}a{chr(ord('a') + j)}").write_bytes(blob[j * size:(j + 1) * size])
