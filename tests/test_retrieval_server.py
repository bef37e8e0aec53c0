"""Retrieval server + client: batching, the protocol, and failures that must become observations."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentdistill.solvers.retrieval import tool
from agentdistill.solvers.retrieval.bm25 import BM25Retriever
from agentdistill.solvers.retrieval.client import RemoteRetriever, RetrievalServerError, parse_response
from agentdistill.solvers.retrieval.corpus import Corpus, Passage
from agentdistill.solvers.retrieval.server import create_app, is_loopback, main as server_main

PASSAGES = [
    Passage("a", '"Milhouse Van Houten"\nMilhouse was named by Matt Groening after Richard Nixon.'),
    Passage("b", '"Mount Panorama Circuit"\nThe Bathurst 12 Hour is staged at Mount Panorama, 6.213 km long.'),
    Passage("c", '"Eiffel Tower"\nA lattice tower in Paris.'),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    import uvicorn

    retriever = BM25Retriever(Corpus.from_passages(PASSAGES), cache_root=tmp_path_factory.mktemp("cache"))
    app = create_app(retriever, max_wait_s=0.02)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", app, retriever
    server.should_exit = True
    thread.join(10)


class Scripted(BaseHTTPRequestHandler):
    behaviour = "garbage"
    requests = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        cls = type(self)
        cls.requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body, status = b"<html>oops</html>", 200
        if cls.behaviour == "slow":
            time.sleep(1.5)
        elif cls.behaviour == "wrong_shape":
            body = json.dumps({"result": "nope"}).encode()
        elif cls.behaviour == "flaky" and cls.requests == 1:
            status = 503
        elif cls.behaviour in ("flaky", "ok"):
            body = json.dumps({"result": [[{"document": {"id": "z", "contents": '"Z"\nzed'}, "score": 0.5}]]}).encode()
        elif cls.behaviour == "bad_request":
            status = 400
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


@pytest.fixture
def scripted_server():
    servers = []

    def start(behaviour: str) -> tuple[str, type]:
        handler = type("Handler", (Scripted,), {"behaviour": behaviour, "requests": 0})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", handler

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_server_answers_in_protocol_and_client_parses(live_server):
    url, _, retriever = live_server
    client = RemoteRetriever(url, timeout=5)
    hits = client.search("Who named Milhouse?", k=2)
    assert hits == retriever.search("Who named Milhouse?", k=2)
    assert hits[0].id == "a" and hits[0].contents.startswith('"Milhouse Van Houten"\n')
    import httpx

    raw = httpx.post(url + "/retrieve", json={"queries": ["Bathurst", ""], "topk": 1, "return_scores": True}).json()
    assert raw["result"][0][0]["document"]["id"] == "b" and isinstance(raw["result"][0][0]["score"], float)
    assert raw["result"][1] == []
    assert httpx.post(url + "/retrieve", json={"queries": ["x"], "topk": 0}).status_code == 422
    assert httpx.get(url + "/health").json()["status"] == "ok"


def test_concurrent_requests_are_batched(live_server):
    url, app, retriever = live_server
    client = RemoteRetriever(url, timeout=10)
    before = app.state.batcher.batches

    async def many():
        return await asyncio.gather(*(client.asearch_batch([f"Bathurst circuit {i}"], 1) for i in range(24)))

    results = asyncio.run(many())
    assert all(r[0][0].id == "b" for r in results)
    assert app.state.batcher.batches - before < 24  # requests shared search_batch calls


def test_web_search_over_http_spec(live_server):
    url, _, _ = live_server
    tool.QUERY_CACHE.clear()
    text = asyncio.run(tool.make_web_search(url, k=1)("Eiffel tower Paris"))
    assert text == '\nRetrieved documents:\n\n===== Document 0, similarity: ' + text.split("similarity: ")[1]
    assert '"Eiffel Tower"\nA lattice tower in Paris.' in text


def test_server_down_reports_after_bounded_retries(monkeypatch):
    monkeypatch.setenv("AGENTDISTILL_RETRIEVER_RETRY_S", "1")  # the web_search below: retry for 1 s, not the default 12
    url = f"http://127.0.0.1:{free_port()}"
    client = RemoteRetriever(url, timeout=1, retries=3, backoff=0.05)
    start = time.perf_counter()
    with pytest.raises(RetrievalServerError, match="after 3 attempt"):
        client.search("anything")
    assert time.perf_counter() - start < 5
    text = asyncio.run(tool.make_web_search(url)("anything"))
    assert text.startswith("web_search unavailable: the search service did not answer, so this query returned no results")


def test_a_server_restart_is_ridden_out_by_the_default_retries():
    """The server is down for 3 s (a restart measured here takes ~3 s): the default budget (12 s) waits it out."""
    port = free_port()
    handler = type("Handler", (Scripted,), {"behaviour": "ok", "requests": 0})
    servers = []

    def start_late():
        httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        servers.append(httpd)
        httpd.serve_forever()

    timer = threading.Timer(3.0, start_late)
    timer.daemon = True
    timer.start()
    started = time.perf_counter()
    try:
        hits = RemoteRetriever(f"http://127.0.0.1:{port}", timeout=2).search("q")
        elapsed = time.perf_counter() - started
    finally:
        timer.cancel()
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()
    assert hits[0].contents == '"Z"\nzed' and 3.0 <= elapsed < 8


def test_slow_server_times_out_then_reports(scripted_server):
    url, handler = scripted_server("slow")
    client = RemoteRetriever(url, timeout=0.3, retries=2, backoff=0.05)
    start = time.perf_counter()
    with pytest.raises(RetrievalServerError, match="Timeout"):
        asyncio.run(client.asearch_batch(["q"], 3))
    assert time.perf_counter() - start < 1.5
    assert handler.requests == 2


@pytest.mark.parametrize("behaviour", ["garbage", "wrong_shape"])
def test_garbage_is_retried_then_reported(scripted_server, behaviour):
    url, handler = scripted_server(behaviour)
    client = RemoteRetriever(url, timeout=2, retries=3, backoff=0.01)
    with pytest.raises(RetrievalServerError, match="malformed response"):
        client.search("q")
    assert handler.requests == 3


def test_transient_error_is_retried_to_success(scripted_server):
    url, handler = scripted_server("flaky")
    hits = asyncio.run(RemoteRetriever(url, timeout=2, retries=3, backoff=0.01).asearch_batch(["q"], 3))
    assert hits[0][0].contents == '"Z"\nzed' and handler.requests == 2


def test_client_error_is_not_retried(scripted_server):
    url, handler = scripted_server("bad_request")
    with pytest.raises(RetrievalServerError, match="HTTP 400"):
        RemoteRetriever(url, timeout=2, retries=3, backoff=0.01).search("q")
    assert handler.requests == 1


def test_parse_response_checks_counts():
    with pytest.raises(ValueError, match="2 result lists for 1"):
        parse_response({"result": [[], []]}, 1)
    with pytest.raises(ValueError, match="bad document"):
        parse_response({"result": [[{"score": 1.0}]]}, 1)


def test_server_refuses_non_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert server_main(["--host", "0.0.0.0", "--port", "1"]) == 2
