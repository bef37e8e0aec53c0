"""The retriever interface, the paper's result text, and deterministic top-k."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_K = 3
# Longer queries are cut (a model sometimes pastes a whole passage into web_search).
MAX_QUERY_CHARS = 2000

# The reference implementation's web_search text (smolagents WikipediaRetrieverTool in
# Nardien/agent-distillation): a leading line, then per passage a header with its 0-based
# index and similarity (2 decimals) and the passage as `"Title"\ntext`.
RESULTS_PREFIX = "\nRetrieved documents:"
RESULT_HEADER = "\n\n===== Document {index}, similarity: {score:.2f} =====\n"
NO_RESULTS = "No documents found for this query. Try different keywords."
EMPTY_QUERY = "The search query was empty. Call web_search with a non-empty query string."


@dataclass(frozen=True)
class Hit:
    row: int  # position in the corpus (the index's row)
    id: str
    contents: str
    score: float


def format_results(hits: Sequence[Hit]) -> str:
    if not hits:
        return NO_RESULTS
    return RESULTS_PREFIX + "".join(
        RESULT_HEADER.format(index=i, score=hit.score) + hit.contents for i, hit in enumerate(hits)
    )


def clean_query(query: object) -> str:
    text = query if isinstance(query, str) else str(query)
    text = " ".join(text.split())
    return text[:MAX_QUERY_CHARS]


def topk_rows(scores: np.ndarray, k: int, min_score: float | None = None) -> np.ndarray:
    """Rows of the k best scores, ties broken by lower row first (deterministic).

    All rows tied with the k-th score are candidates, so the result never depends on
    the order a partial sort happened to leave them in.
    """
    if min_score is not None:
        pool = np.flatnonzero(scores > min_score)
        values = scores[pool]
    else:
        pool = np.arange(len(scores))
        values = scores
    n = len(values)
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        kth = np.partition(values, n - k)[n - k]
        cand = pool[values >= kth]
    else:
        cand = pool
    order = np.lexsort((cand, -scores[cand].astype(np.float64)))
    return cand[order][:k]


def order_hits(rows: Sequence[int], scores: Sequence[float], k: int) -> list[tuple[int, float]]:
    """Sort (row, score) pairs by score desc then row asc; drop faiss's -1 padding."""
    pairs = [(int(r), float(s)) for r, s in zip(rows, scores) if int(r) >= 0]
    pairs.sort(key=lambda rs: (-rs[1], rs[0]))
    return pairs[:k]


class Retriever(ABC):
    """search(query, k) -> ranked hits; search_batch for many queries at once."""

    name: str = "retriever"

    @abstractmethod
    def search_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        ...

    def search(self, query: str, k: int = DEFAULT_K) -> list[Hit]:
        return self.search_batch([query], k)[0]

    def describe(self) -> dict:
        return {"name": self.name}
