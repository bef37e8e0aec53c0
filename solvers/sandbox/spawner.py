"""Host side of a sandbox whose main process is the worker in spawner mode (`worker.py --serve FD` under bwrap,
`worker.py --listen PATH` in a container): every interpreter, exec, read_file or write_file is one connection to
its Unix socket. Subclasses only start, stop and describe the sandbox (`start`, `stop`, `running`); the inspect
API, the channel to the worker and the restart after code killed every process are here, once.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import logging
import uuid
from typing import Any, Literal, Union, overload

from inspect_ai.util import ExecResult as InspectExecResult
from inspect_ai.util import SandboxEnvironment
from agentdistill.core.inspect_compat import SandboxEnvironmentConfigType

from agentdistill.solvers.sandbox.client import Channel

logger = logging.getLogger(__name__)

SANDBOX_WORKDIR = "/workspace"
WORKER_PATH_IN_SANDBOX = "/opt/agentdistill/worker.py"


async def unix_channel(path: str) -> Channel:
    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 26)
    return Channel(reader, writer)


async def ping(path: str, timeout: float) -> dict:
    """Connect to a spawner's socket and ask it for a pong (raises OSError while nothing listens yet)."""
    chan = await unix_channel(path)
    try:
        await chan.send({"op": "ping"})
        return await asyncio.wait_for(chan.recv(), timeout)
    finally:
        await chan.close()


def raise_file_error(reply: dict, file: str) -> None:
    if "error" not in reply:
        return
    kind = reply.get("error")
    message = reply.get("message") or kind
    code = reply.get("errno") or 0
    if kind == "FileNotFoundError":
        raise FileNotFoundError(code or errno.ENOENT, message, file)
    if kind == "IsADirectoryError":
        raise IsADirectoryError(code or errno.EISDIR, message, file)
    if kind == "PermissionError":
        raise PermissionError(code or errno.EACCES, message, file)
    raise OSError(code, message, file)


class SpawnerSandbox(SandboxEnvironment):
    """One sandbox per sample, reached through the worker's Unix socket at `socket_path`."""

    kind = "sandbox"  # for messages and channel labels

    def __init__(self) -> None:
        super().__init__()
        self.socket_path: str | None = None
        self.name = f"agentdistill-{uuid.uuid4().hex[:12]}"

    # what a subclass provides -------------------------------------------------------------------------------------
    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self, close_interpreter: bool = True) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def pids_current(self) -> int | None:
        """Processes now in the sandbox, where a pids limit bounds them (None: no such limit here)."""
        return None

    def cpu_ms(self) -> float | None:
        """CPU time used so far by every process of the sandbox (None when not measurable)."""
        return None

    @classmethod
    def for_config(cls, config: SandboxEnvironmentConfigType | None) -> "SpawnerSandbox":
        return cls()

    # inspect lifecycle ---------------------------------------------------------------------------------------------
    @classmethod
    async def sample_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None,
                          metadata: dict[str, str]) -> dict[str, SandboxEnvironment]:
        env = cls.for_config(config)
        await env.start()
        return {"default": env}

    @classmethod
    async def sample_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None,
                             environments: dict[str, SandboxEnvironment], interrupted: bool) -> None:
        for env in environments.values():
            env = getattr(env, "_sandbox", env)
            if isinstance(env, SpawnerSandbox):
                await env.stop()

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> Any:
        return config

    # channel ------------------------------------------------------------------------------------------------------
    async def _restart(self) -> None:
        logger.warning("%s sandbox %s had died (code killed its processes); starting a fresh one", self.kind,
                       self.name)
        await self.stop(close_interpreter=False)  # keeps the sample's interpreter attached: it reconnects
        await self.start()

    async def _connect(self) -> Channel:
        if not self.running:
            await self._restart()
        try:
            assert self.socket_path is not None
            return await unix_channel(self.socket_path)
        except (ConnectionRefusedError, FileNotFoundError):  # the worker is gone: nothing listens on its socket
            await self._restart()
            return await unix_channel(self.socket_path)

    async def open_channel(self) -> Channel:
        return await self._connect()

    async def _request(self, msg: dict, timeout: float | None = None) -> dict:
        chan = await self._connect()
        try:
            await chan.send(msg)
            return await asyncio.wait_for(chan.recv(), timeout)
        finally:
            await chan.close()

    # inspect SandboxEnvironment API -----------------------------------------------------------------------------
    def _path(self, file: str) -> str:
        return file if file.startswith("/") else f"{SANDBOX_WORKDIR}/{file}"

    async def exec(self, cmd: list[str], input: str | bytes | None = None, cwd: str | None = None,
                   env: dict[str, str] | None = None, user: str | None = None, timeout: int | None = None,
                   timeout_retry: bool = True, concurrency: bool = True) -> InspectExecResult[str]:
        if user not in (None, "root", "0"):
            from inspect_ai.util import SandboxUserUnsupportedError

            raise SandboxUserUnsupportedError(f"the {self.kind} sandbox cannot run commands as {user!r}")
        data = input.encode() if isinstance(input, str) else input
        reply = await self._request({
            "op": "exec", "cmd": list(cmd), "cwd": self._path(cwd) if cwd else SANDBOX_WORKDIR, "env": env or {},
            "timeout": timeout, "input": base64.b64encode(data).decode() if data is not None else None,
        }, None if timeout is None else timeout + 10)
        if reply.get("timeout"):
            raise TimeoutError(f"command timed out after {timeout} s: {cmd}")
        stdout = base64.b64decode(reply.get("stdout") or "").decode("utf-8", "replace")
        stderr = base64.b64decode(reply.get("stderr") or "").decode("utf-8", "replace")
        code = int(reply.get("returncode", 1))
        return InspectExecResult(success=code == 0, returncode=code, stdout=stdout, stderr=stderr)

    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode("utf-8") if isinstance(contents, str) else contents
        path = self._path(file)
        reply = await self._request({"op": "write_file", "path": path, "data": base64.b64encode(data).decode()}, 60)
        raise_file_error(reply, path)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> Union[str, bytes]:
        path = self._path(file)
        reply = await self._request({"op": "read_file", "path": path}, 60)
        raise_file_error(reply, path)
        data = base64.b64decode(reply["data"])
        return data.decode("utf-8") if text else data
