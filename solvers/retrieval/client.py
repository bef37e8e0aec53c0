"""Client for a retrieval server (spec `http://127.0.0.1:PORT`).

Speaks the Search-R1 `/retrieve` protocol that `agentdistill retrieval-server` serves (and that
the reference implementation's server speaks): POST {"queries", "topk", "return_scores": true}
-> {"result": [[{"document": {"id", "contents"}, "score"}, ...], ...]}.

Every request has a timeout; connection errors, timeouts, 5xx/429 replies and malformed bodies
are retried a bounded number of times with exponential backoff, then raised as one
`RetrievalServerError` whose message says what happened (web_search turns it into the
observation, so the sample goes on instead of being lost).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Sequence

import httpx

from .base import DEFAULT_K, Hit, Retriever, clean_query


class RetrievalServerError(RuntimeError):
    pass


class _Permanent(Exception):
    """A reply that retrying cannot fix (4xx other than 429)."""


def parse_response(data: Any, n_queries: int) -> list[list[Hit]]:
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise ValueError("malformed response: no 'result' list")
    result = data["result"]
    if len(result) != n_queries:
        raise ValueError(f"malformed response: {len(result)} result lists for {n_queries} queries")
    out: list[list[Hit]] = []
    for docs in result:
        if not isinstance(docs, list):
            raise ValueError("malformed response: a result is not a list")
        hits = []
        for doc in docs:
            try:
                document = doc["document"]
                hits.append(Hit(int(document.get("row", -1)), str(document.get("id", "")),
                                str(document["contents"]), float(doc.get("score", 0.0))))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ValueError(f"malformed response: bad document entry ({exc})") from None
        out.append(hits)
    return out


class RemoteRetriever(Retriever):
    name = "http"

    def __init__(self, url: str, timeout: float = 10.0, retries: int = 3, backoff: float = 0.5,
                 max_backoff: float = 4.0):
        self.url = url.rstrip("/")
        self.endpoint = self.url if self.url.endswith("/retrieve") else self.url + "/retrieve"
        self.timeout = timeout
        self.retries = max(1, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff

    def _payload(self, queries: Sequence[str], k: int) -> dict:
        return {"queries": list(queries), "topk": k, "return_scores": True}

    def _delay(self, attempt: int) -> float:
        return min(self.backoff * (2 ** attempt), self.max_backoff)

    def _check(self, response: httpx.Response, n: int) -> list[list[Hit]]:
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise _Permanent(f"HTTP {response.status_code}: {response.text[:200]}")
        response.raise_for_status()
        try:
            data = response.json()
        except ValueError:
            raise ValueError(f"malformed response: not JSON ({response.text[:80]!r})") from None
        return parse_response(data, n)

    def _fail(self, attempts: int, exc: BaseException) -> RetrievalServerError:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return RetrievalServerError(f"retrieval server {self.url} did not answer after {attempts} attempt(s) "
                                    f"({detail})")

    async def asearch_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        texts = [clean_query(q) for q in queries]
        last: BaseException | None = None
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(self.retries):
                try:
                    response = await client.post(self.endpoint, json=self._payload(texts, k))
                    return self._check(response, len(texts))
                except _Permanent as exc:
                    raise self._fail(attempt + 1, exc) from None
                except (httpx.HTTPError, ValueError) as exc:
                    last = exc
                if attempt + 1 < self.retries:
                    await asyncio.sleep(self._delay(attempt))
        raise self._fail(self.retries, last)  # type: ignore[arg-type]

    def search_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        texts = [clean_query(q) for q in queries]
        last: BaseException | None = None
        with httpx.Client(timeout=self.timeout) as client:
            for attempt in range(self.retries):
                try:
                    return self._check(client.post(self.endpoint, json=self._payload(texts, k)), len(texts))
                except _Permanent as exc:
                    raise self._fail(attempt + 1, exc) from None
                except (httpx.HTTPError, ValueError) as exc:
                    last = exc
                if attempt + 1 < self.retries:
                    time.sleep(self._delay(attempt))
        raise self._fail(self.retries, last)  # type: ignore[arg-type]

    def describe(self) -> dict:
        return {"name": self.name, "url": self.url, "timeout": self.timeout, "retries": self.retries}
