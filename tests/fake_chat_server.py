"""A local stand-in for an OpenAI-compatible chat server (vLLM, OpenAI): records the JSON body of every
`POST /v1/chat/completions` and answers with scripted texts, so tests see exactly what a provider puts on the wire.

Loopback only, one thread per request, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeChatServer:
    url: str  # base URL including /v1
    reply: Callable[[dict[str, Any]], list[str]]  # request body -> the choices' texts
    requests: list[dict[str, Any]] = field(default_factory=list)


def _completion(body: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{len(texts)}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
            for i, text in enumerate(texts)
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
    }


@contextmanager
def fake_chat_server(reply: Callable[[dict[str, Any]], list[str]], models: tuple[str, ...] = ()) -> Iterator[FakeChatServer]:
    """Serve on a free loopback port until the block ends; `models` are listed by `GET /v1/models`."""
    server_state: FakeChatServer

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/").endswith("/v1/models"):
                data = [{"id": m, "object": "model", "owned_by": "fake", "max_model_len": 32768} for m in models]
                self._send(200, {"object": "list", "data": data})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            server_state.requests.append(body)
            try:
                texts = server_state.reply(body)
            except Exception as ex:  # the test's script has no answer: say so to the client
                self._send(500, {"error": {"message": f"fake server: {type(ex).__name__}: {ex}"}})
                return
            self._send(200, _completion(body, texts))

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state = FakeChatServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", reply=reply)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
