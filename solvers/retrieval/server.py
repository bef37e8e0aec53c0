"""`agentdistill retrieval-server`: one index shared by many eval workers, on 127.0.0.1 only.

    agentdistill retrieval-server --retriever wiki18:/data/wiki18 --port 8005
    AGENTDISTILL_RETRIEVER=http://127.0.0.1:8005 inspect eval ...

Requests arriving within a few milliseconds of each other are answered by one
`search_batch` call (one encoder forward pass and one faiss search for the lot). The protocol is
Search-R1's /retrieve (see client.py), so the reference implementation's clients work too.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import socket
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .base import DEFAULT_K, Hit, Retriever, clean_query

log = logging.getLogger(__name__)

MAX_BATCH = 64
MAX_WAIT_S = 0.005


@dataclass
class _Job:
    queries: list[str]
    k: int
    future: asyncio.Future = field(repr=False)


class Batcher:
    """Collects concurrent requests and runs them as batches, off the event loop."""

    def __init__(self, retriever: Retriever, max_batch: int = MAX_BATCH, max_wait_s: float = MAX_WAIT_S):
        self.retriever = retriever
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.batches = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def submit(self, queries: list[str], k: int) -> list[list[Hit]]:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put(_Job(queries, k, future))
        return await future

    async def _run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0].queries)
            deadline = asyncio.get_running_loop().time() + self.max_wait_s
            while size < self.max_batch:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                jobs.append(job)
                size += len(job.queries)
            for k in sorted({job.k for job in jobs}):
                group = [job for job in jobs if job.k == k]
                flat = [q for job in group for q in job.queries]
                try:
                    results = await asyncio.to_thread(self.retriever.search_batch, flat, k)
                    self.batches += 1
                except Exception as exc:  # noqa: BLE001 - reported to each waiting request
                    for job in group:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    continue
                pos = 0
                for job in group:
                    if not job.future.done():
                        job.future.set_result(results[pos:pos + len(job.queries)])
                    pos += len(job.queries)


class RetrieveRequest(BaseModel):
    queries: list[str]
    topk: int = DEFAULT_K
    return_scores: bool = True


def hits_payload(hits: list[Hit], scores: bool) -> list[dict[str, Any]]:
    out = []
    for hit in hits:
        entry: dict[str, Any] = {"document": {"id": hit.id, "contents": hit.contents, "row": hit.row}}
        if scores:
            entry["score"] = hit.score
        out.append(entry)
    return out


def create_app(retriever: Retriever, max_batch: int = MAX_BATCH, max_wait_s: float = MAX_WAIT_S):
    from fastapi import FastAPI, HTTPException

    batcher = Batcher(retriever, max_batch=max_batch, max_wait_s=max_wait_s)

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="agentdistill retrieval", lifespan=lifespan)
    app.state.batcher = batcher

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "retriever": retriever.describe(), "batches": batcher.batches}

    @app.post("/retrieve")
    async def retrieve(request: RetrieveRequest) -> dict:
        if not 1 <= request.topk <= 100:
            raise HTTPException(status_code=422, detail="topk must be in 1..100")
        if len(request.queries) > 1024:
            raise HTTPException(status_code=422, detail="at most 1024 queries a request")
        queries = [clean_query(q) for q in request.queries]
        try:
            results = await batcher.submit(queries, request.topk)
        except Exception as exc:  # noqa: BLE001
            raise HTTPException(status_code=500, detail=f"{type(exc).__name__}: {exc}") from None
        return {"result": [hits_payload(hits, request.return_scores) for hits in results]}

    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentdistill retrieval-server",
                                     description="Serve a retriever over HTTP on the loopback interface.")
    parser.add_argument("--retriever", default=None,
                        help="spec: bm25 (default, or $AGENTDISTILL_RETRIEVER), dense, wiki18:<dir>")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8005)
    parser.add_argument("--max-batch", type=int, default=MAX_BATCH)
    parser.add_argument("--max-wait-ms", type=float, default=MAX_WAIT_S * 1000)
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(f"refusing to bind {args.host}: the server has no authentication; use 127.0.0.1 "
              "(and an SSH tunnel for remote workers)", file=sys.stderr)
        return 2
    from .tool import check_spec, get_retriever

    spec = check_spec(args.retriever)
    if spec.startswith(("http://", "https://")):
        print("a server cannot serve another server's spec", file=sys.stderr)
        return 2
    import uvicorn

    # bind first, so that "serving" is printed only once the port is ours (a taken port is refused, exit 2)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as ex:
        sock.close()
        print(f"agentdistill retrieval-server: error: cannot listen on {args.host}:{args.port} ({ex.strerror or ex}); "
              "is another server running there? choose another --port", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO)
    retriever = get_retriever(spec)
    print(f"serving {spec} on http://{args.host}:{args.port}  (AGENTDISTILL_RETRIEVER=http://{args.host}:{args.port})",
          flush=True)
    app = create_app(retriever, args.max_batch, args.max_wait_ms / 1000)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0
