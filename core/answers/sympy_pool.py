"""A small pool of worker processes for symbolic checks (sympy, math-verify): a check that hangs is killed at its
deadline (no signals, so it is safe inside inspect's async scoring and in threads)."""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time


_WORKER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sympy_worker.py")
_WORKER_START_TIMEOUT_S = 60.0
_MAX_WORKERS = 4


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", _WORKER_PATH],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"},
            start_new_session=True,
        )
        self._buffer = ""
        ready = self.read_line(time.monotonic() + _WORKER_START_TIMEOUT_S)
        if ready is None or not json.loads(ready).get("ready"):
            self.kill()
            raise RuntimeError("sympy worker did not start")

    def read_line(self, deadline: float) -> str | None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while "\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536).decode("utf-8", "replace")
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        return line

    def ask(self, request: dict, deadline: float) -> bool | None:
        """True/False, or None when the deadline passed (the caller then kills the worker)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.read_line(deadline)
        if line is None:
            return None
        return bool(json.loads(line).get("eq"))

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:
            pass


class _SympyPool:
    """Idle workers are reused; a worker that misses its deadline is killed and replaced later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy = 0
        self._available = threading.Condition(self._lock)

    def _acquire(self, deadline: float) -> _Worker | None:
        with self._available:
            while not self._idle and self._busy >= _MAX_WORKERS:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._available.wait(remaining):
                    return None
            self._busy += 1
            while self._idle:
                worker = self._idle.pop()
                if worker.proc.poll() is None:
                    return worker
                worker.kill()  # died while idle (killed from outside): replace it
        try:
            return _Worker()
        except Exception:
            with self._available:
                self._busy -= 1
                self._available.notify()
            return None

    def _release(self, worker: _Worker | None) -> None:
        with self._available:
            self._busy -= 1
            if worker is not None:
                self._idle.append(worker)
            self._available.notify()

    def equal(self, request: dict, timeout_s: float) -> bool:
        # worker start-up (importing sympy, bounded separately) does not eat the budget
        worker = self._acquire(time.monotonic() + max(timeout_s, 0.0) + _WORKER_START_TIMEOUT_S)
        if worker is None:
            return False
        deadline = time.monotonic() + max(timeout_s, 0.0)
        try:
            result = worker.ask(request, deadline)
        except Exception:
            # a broken pipe: the worker died under us, not a slow expression; one fresh try
            worker.kill()
            self._release(None)
            worker = self._acquire(deadline + _WORKER_START_TIMEOUT_S)
            if worker is None:
                return False
            try:
                result = worker.ask(request, deadline)
            except Exception:
                result = None
        if result is None:
            worker.kill()
            self._release(None)
            return False
        self._release(worker)
        return result

    def close(self) -> None:
        with self._available:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


_POOL = _SympyPool()


def shutdown_sympy_workers() -> None:
    _POOL.close()


atexit.register(shutdown_sympy_workers)


def sympy_equal(a: str, b: str, timeout_s: float) -> bool:
    """Whether two sympy-syntax expressions are symbolically equal; False when the check misses its deadline."""
    return _POOL.equal({"a": a, "b": b}, timeout_s)


def worker_equal(request: dict, timeout_s: float) -> bool:
    """A worker's answer to one request (see sympy_worker's protocol); False when it misses its deadline."""
    return _POOL.equal(request, timeout_s)
