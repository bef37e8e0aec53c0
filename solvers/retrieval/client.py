"""Client for a retrieval server (spec `http://127.0.0.1:PORT`).

Speaks the Search-R1 `/retrieve` protocol that `agentdistill retrieval-server` serves (and that
the reference implementation's server speaks): POST {"queries", "topk", "return_scores": true}
-> {"result": [[{"document": {"id", "contents"}, "score"}, ...], ...]}.

Every request has a timeout; connection errors, timeouts, 5xx/429 replies and malformed bodies
are retried with exponential backoff (0.5 s doubling, at most 2 s apart) for `retry_for` seconds
(default 12 s, or `$AGENTDISTILL_RETRIEVER_RETRY_S`): long enough to ride out a server restart
(about 3 s here). Then one `RetrievalServerError` says what happened; web_search turns it into an
observation saying plainly that search was unavailable, so the sample goes on instead of being lost.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Sequence

import httpx

from .base import DEFAULT_K, Hit, Retriever, clean_query
from agentdistill.core.errors import InputError


RETRY_ENV = "AGENTDISTILL_RETRIEVER_RETRY_S"
DEFAULT_RETRY_FOR = 12.0  # seconds: covers a server restart (~3 s measured) with room to spare


class RetrievalServerError(RuntimeError):
    """The retrieval server did not answer within the retry budget (or refused the request)."""


def default_retry_for() -> float:
    text = os.environ.get(RETRY_ENV)
    if not text:
        return DEFAULT_RETRY_FOR
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise InputError(f"${RETRY_ENV}={text!r}: expected seconds (a number >= 0)")
    return value


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

    def __init__(self, url: str, timeout: float = 10.0, retries: int | None = None, backoff: float = 0.5,
                 max_backoff: float = 2.0, retry_for: float | None = None):
        """`retry_for`: seconds to keep retrying (default `default_retry_for()`); `retries`: at most this many
        attempts (default: as many as fit in `retry_for`)."""
        self.url = url.rstrip("/")
        self.endpoint = self.url if self.url.endswith("/retrieve") else self.url + "/retrieve"
        self.timeout = timeout
        self.retries = None if retries is None else max(1, retries)
        self.retry_for = default_retry_for() if retry_for is None else retry_for
        self.backoff = backoff
        self.max_backoff = max_backoff

    def _again(self, attempt: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None when the attempt cap or the time budget is spent."""
        if self.retries is not None and attempt >= self.retries:
            return None
        delay = self._delay(attempt - 1)
        if time.monotonic() - started + delay > self.retry_for and (self.retries is None or attempt > 1):
            return None
        return delay

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

    def _fail(self, attempts: int, started: float, exc: BaseException) -> RetrievalServerError:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return RetrievalServerError(f"retrieval server {self.url} did not answer after {attempts} attempt(s) over "
                                    f"{time.monotonic() - started:.1f} s ({detail})")

    async def asearch_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        texts = [clean_query(q) for q in queries]
        started, attempt = time.monotonic(), 0
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                attempt += 1
                try:
                    response = await client.post(self.endpoint, json=self._payload(texts, k))
                    return self._check(response, len(texts))
                except _Permanent as exc:
                    raise self._fail(attempt, started, exc) from None
                except (httpx.HTTPError, ValueError) as exc:
                    delay = self._again(attempt, started)
                    if delay is None:
                        raise self._fail(attempt, started, exc) from None
                await asyncio.sleep(delay)

    def search_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        texts = [clean_query(q) for q in queries]
        started, attempt = time.monotonic(), 0
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                attempt += 1
                try:
                    return self._check(client.post(self.endpoint, json=self._payload(texts, k)), len(texts))
                except _Permanent as exc:
                    raise self._fail(attempt, started, exc) from None
                except (httpx.HTTPError, ValueError) as exc:
                    delay = self._again(attempt, started)
                    if delay is None:
                        raise self._fail(attempt, started, exc) from None
                time.sleep(delay)

    def describe(self) -> dict:
        return {"name": self.name, "url": self.url, "timeout": self.timeout, "retries": self.retries,
                "retry_for": self.retry_for}
