"""Host side of the sandbox: `Interpreter` (async run / run_candidates / commit / discard / close) and
the per-sample cache `close_sample_interpreter` clears (acquisition: `acquire.py`).

The host talks to the worker (`worker.py`, running inside the sandbox) over one framed byte stream (a Unix socket
into bwrap, a `docker exec -i` pipe, or a local pipe): no `sandbox().exec` per action. Host tools (`web_search`) are
async callables run here when code inside the sandbox calls them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

logger = logging.getLogger(__name__)

HEADER = struct.Struct(">I")
Tool = Callable[..., Awaitable[Any]]

DEFAULT_CONFIG: dict[str, Any] = {
    "timeout": 10.0,  # soft timeout per action (seconds): a readable ExecutionTimeout inside the code
    "grace": 2.0,  # then the candidate's process group is killed
    "memory_mb": 2048,  # RLIMIT_AS per process
    "file_size_mb": 64,  # RLIMIT_FSIZE
    "max_procs": 1024,  # RLIMIT_NPROC: binds non-root uids only (counted per uid); bwrap adds a pids cgroup, docker
    # pids_limit
    "output_cap": 32768,  # bytes kept of stdout and of stderr per action
    "value_cap": 8192,  # characters kept of the last expression's repr
}
TOOL_TIMEOUT_S = 120.0
# the host gives up on a silent worker this long after the action's own hard limit
WATCHDOG_SLACK_S = 30.0


@dataclass
class ExecResult:
    """What one action (or one candidate) gave."""

    stdout: str = ""
    stderr: str = ""
    value: str | None = None  # repr of the last expression, None when absent or None
    error: str | None = None  # traceback trimmed to the user's code, or a readable sandbox error
    wall_ms: float = 0.0
    truncated: bool = False  # stdout/stderr (or the repr) were cut at the cap
    final_answer_called: bool = False
    final_answer: Any = None
    timed_out: bool = False
    committable: bool = True  # ran to the end and is alive: commit() can make its state the current one
    tool_calls: dict[str, int] = field(default_factory=dict)  # host tools this candidate called, counted on the host
    notice: str | None = None  # e.g. "the interpreter was restarted and its variables are lost"
    last_output: str | None = None  # with reference_errors: str() of the reference's "last output" (capped)
    refused_before_running: bool = False  # with reference_errors: a check before running refused the code

    @classmethod
    def from_wire(cls, data: dict) -> "ExecResult":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class SandboxError(RuntimeError):
    """The sandbox worker could not be reached or broke the protocol."""


class Channel:
    """One framed duplex stream to a worker (length-prefixed JSON)."""

    def __init__(self, reader: asyncio.StreamReader, writer: Any, closer: Callable[[], Awaitable[None]] | None = None):
        self.reader = reader
        self.writer = writer
        self._closer = closer
        self.closed = False

    async def send(self, msg: dict) -> None:
        data = json.dumps(msg, default=str).encode("utf-8")
        self.writer.write(HEADER.pack(len(data)) + data)
        await self.writer.drain()

    async def recv(self) -> dict:
        try:
            head = await self.reader.readexactly(HEADER.size)
            (n,) = HEADER.unpack(head)
            return json.loads(await self.reader.readexactly(n))
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            raise SandboxError("the sandbox worker closed the connection") from e

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001
            pass
        if self._closer is not None:
            try:
                await self._closer()
            except Exception:  # noqa: BLE001
                logger.debug("sandbox channel closer failed", exc_info=True)


ChannelFactory = Callable[[], Awaitable[Channel]]


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


class Interpreter:
    """A stateful Python interpreter living in a sandbox.

    - `await run(code)`: one action; its state is kept unless it timed out or was killed (then the state is exactly
      what it was before).
    - `await run_candidates([code, ...])`: every candidate forked from the same current state, run concurrently;
      then `await commit(i)` (candidate i's process becomes the state: nothing is re-run) or `await discard()`.
    """

    def __init__(self, factory: ChannelFactory, tools: dict[str, Tool] | None = None, *, label: str = "sandbox",
                 **config: Any):
        self._factory = factory
        self.tools: dict[str, Tool] = dict(tools or {})
        self.config = {**DEFAULT_CONFIG, **{k: v for k, v in config.items() if v is not None}}
        self.label = label
        self._chan: Channel | None = None
        self._lock = asyncio.Lock()
        self._tool_tasks: set[asyncio.Task] = set()
        self._tool_calls: dict[int, Counter[str]] = {}  # per candidate of the request in flight
        self.closed = False
        self.restarts = 0

    # lifecycle ---------------------------------------------------------------------------------------------------
    async def start(self) -> "Interpreter":
        self._chan = await self._factory()
        await self._chan.send({"op": "init", "config": {**self.config, "tools": sorted(self.tools)}})
        msg = await asyncio.wait_for(self._chan.recv(), 60)
        if msg.get("op") != "ready":
            raise SandboxError(f"unexpected first message from the worker: {msg}")
        return self

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        chan, self._chan = self._chan, None
        if chan is not None:
            try:
                await asyncio.wait_for(chan.send({"op": "close"}), 2)
            except Exception:  # noqa: BLE001
                pass
            await chan.close()
        for task in list(self._tool_tasks):
            task.cancel()

    async def _restart(self, why: str) -> str:
        if self._chan is not None:
            await self._chan.close()
            self._chan = None
        self.restarts += 1
        for attempt in range(5):  # a sandbox whose processes were all killed takes a moment to be seen dead
            try:
                await self.start()
                break
            except (SandboxError, OSError, asyncio.TimeoutError):
                if self._chan is not None:
                    await self._chan.close()
                    self._chan = None
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        return f"{why}; a fresh interpreter was started and its variables are lost"

    # protocol ----------------------------------------------------------------------------------------------------
    async def _request(self, msg: dict, limit_s: float) -> dict:
        if self.closed:
            raise SandboxError("the interpreter is closed")
        if self._chan is None:
            await self.start()
        chan = self._chan
        try:
            await chan.send(msg)
            while True:
                reply = await asyncio.wait_for(chan.recv(), limit_s)
                if reply.get("op") == "tool":
                    task = asyncio.create_task(self._run_tool(chan, reply))
                    self._tool_tasks.add(task)
                    task.add_done_callback(self._tool_tasks.discard)
                    continue
                if reply.get("op") == "error":
                    raise SandboxError(f"sandbox worker error: {reply.get('error')}")
                return reply
        except asyncio.CancelledError:
            # cancelled mid-request (sample timeout, eval interrupted): the stream is out of step; drop it (the worker
            # sees EOF and kills its processes) so a later request starts a fresh session
            if self._chan is chan:
                self._chan = None
            try:
                chan.writer.close()
            except Exception:  # noqa: BLE001
                pass
            raise

    async def _run_tool(self, chan: Channel, req: dict) -> None:
        name = req.get("name")
        if isinstance(req.get("cand"), int) and isinstance(name, str):
            self._tool_calls.setdefault(req["cand"], Counter())[name] += 1
        fn = self.tools.get(name)
        value, error = None, None
        if fn is None:
            error = f"unknown tool {name!r}"
        else:
            try:
                value = _jsonable(await asyncio.wait_for(fn(*(req.get("args") or []), **(req.get("kwargs") or {})),
                                                         TOOL_TIMEOUT_S))
            except asyncio.TimeoutError:
                error = f"{name}() took longer than {TOOL_TIMEOUT_S:g} s"
            except Exception as e:  # noqa: BLE001  (a tool's failure is the code's observation)
                error = f"{type(e).__name__}: {e}"
        try:
            await chan.send({"op": "tool_result", "cand": req.get("cand"), "value": value, "error": error})
        except Exception:  # noqa: BLE001
            pass

    def _limit(self, timeout: float | None) -> float:
        return float(timeout or self.config["timeout"]) + float(self.config["grace"]) + WATCHDOG_SLACK_S

    async def _guarded(self, msg: dict, limit_s: float) -> tuple[dict | None, str | None]:
        """Send a request; on a dead or silent worker restart it and say so instead of raising."""
        try:
            return await self._request(msg, limit_s), None
        except (SandboxError, asyncio.TimeoutError, OSError) as e:
            if self.closed:
                raise SandboxError("the interpreter is closed") from e
            why = "the sandbox worker stopped answering" if isinstance(e, asyncio.TimeoutError) else \
                f"the sandbox worker died ({e})"
            logger.warning("%s: %s", self.label, why)
            return None, await self._restart(why)

    # agent API ---------------------------------------------------------------------------------------------------
    async def run_candidates(self, codes: list[str], timeout: float | None = None) -> list[ExecResult]:
        async with self._lock:
            self._tool_calls = {}
            reply, notice = await self._guarded({"op": "run", "codes": list(codes), "timeout": timeout},
                                                self._limit(timeout))
            calls, self._tool_calls = self._tool_calls, {}
        if reply is None:
            return [ExecResult(error=f"InterpreterError: {notice}", committable=False, notice=notice) for _ in codes]
        results = [ExecResult.from_wire(r) for r in reply["results"]]
        for index, result in enumerate(results):
            result.tool_calls = dict(calls.get(index, {}))
        return results

    async def commit(self, index: int) -> bool:
        """Make candidate `index` the current state. False (state unchanged) when it cannot be committed
        (it timed out, was killed or exited)."""
        async with self._lock:
            reply, _notice = await self._guarded({"op": "commit", "index": int(index)}, 60)
        return bool(reply and reply.get("committed"))

    async def discard(self) -> None:
        """Drop every candidate; the state stays what it was before them."""
        async with self._lock:
            await self._guarded({"op": "discard"}, 60)

    async def run(self, code: str, timeout: float | None = None) -> ExecResult:
        result = (await self.run_candidates([code], timeout))[0]
        if result.committable:
            await self.commit(0)
        else:
            async with self._lock:
                reply, notice = await self._guarded({"op": "discard"}, 60)
            notice = notice or (reply or {}).get("notice")
            if notice and not result.notice:
                result.notice = notice
        return result


# ------------------------------------------------------------------------------------------------ per sample
_ATTR = "_agentdistill_interpreter"


async def close_sample_interpreter(env: Any) -> None:
    interp: Interpreter | None = getattr(env, _ATTR, None)
    if interp is not None:
        await interp.close()
