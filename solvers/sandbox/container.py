"""`agentdistill_docker`: one container per sample, run through the Docker SDK for Python (no `docker compose`).

The container gets exactly the settings of the shipped compose file (`container_settings` translates every key and
refuses one it does not know, so the two cannot drift apart): no network, read-only root, tmpfs /workspace and /tmp,
non-root user, pids/memory/CPU limits, every capability dropped, no-new-privileges, an init as PID 1. Its main
process is the worker in spawner mode (`worker.py --listen`), like bwrap's: the host reaches it on a Unix socket in a
private host directory mounted into the container (the only host path the container sees besides the read-only
worker.py; made read-only once the socket exists). Everything else (inspect's exec/read_file/write_file, the
interpreter channel, the restart after code killed every process) is SpawnerSandbox's, shared with bwrap.

Needs an engine on this machine (bind mounts and the socket are local paths) and the image `image:` of the compose
file: `python solvers/sandbox/docker/build_image.py` builds it with no registry. Engines without these, or with
`docker compose` v2, can use inspect's compose path instead (`--sandbox docker`, see providers.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from inspect_ai.util import sandboxenv
from agentdistill.core.inspect_compat import SandboxEnvironmentConfigType

from agentdistill.solvers.sandbox.client import close_sample_interpreter
from agentdistill.solvers.sandbox.providers import COMPOSE_FILE, DOCKER_DIR, WORKER_FILE
from agentdistill.solvers.sandbox.spawner import WORKER_PATH_IN_SANDBOX, SpawnerSandbox, ping

logger = logging.getLogger(__name__)

BUILD_SCRIPT = DOCKER_DIR / "build_image.py"
SOCKET_DIR_IN_SANDBOX = "/run/agentdistill"
LABEL = "org.agentdistill.sandbox"
HOST_PID_LABEL = "org.agentdistill.host-pid"
HOST_LABEL = "org.agentdistill.host"
START_TIMEOUT_S = 60.0


def _tmpfs(entries: list[str]) -> dict[str, str]:
    return dict((e.split(":", 1) if ":" in e else (e, "")) for e in entries)


# compose key -> (Docker SDK `containers.run` keyword, conversion); None: handled by the provider itself
COMPOSE_TO_SDK: dict[str, tuple[str, Any] | None] = {
    "image": None,  # the image run (built by build_image.py, or by `docker compose build`)
    "build": None,  # how compose builds that image; this provider never builds
    "command": None,  # compose keeps the container idle (`tail -f /dev/null`); here the worker is the main process
    "init": ("init", bool),
    "working_dir": ("working_dir", str),
    "user": ("user", str),
    "network_mode": ("network_mode", str),
    "mem_limit": ("mem_limit", str),
    "memswap_limit": ("memswap_limit", str),
    "cpus": ("nano_cpus", lambda v: int(float(v) * 1e9)),
    "pids_limit": ("pids_limit", int),
    "read_only": ("read_only", bool),
    "tmpfs": ("tmpfs", _tmpfs),
    "cap_drop": ("cap_drop", list),
    "security_opt": ("security_opt", list),
}


@dataclass(frozen=True)
class ContainerSettings:
    image: str
    kwargs: dict[str, Any] = field(default_factory=dict)  # Docker SDK `containers.run` keywords


def container_settings(compose_file: str | Path = COMPOSE_FILE) -> ContainerSettings:
    """The `default` service of a compose file as Docker SDK arguments; a key with no translation is an error."""
    data = yaml.safe_load(Path(compose_file).read_text())
    try:
        service = data["services"]["default"]
    except (KeyError, TypeError) as e:
        raise ValueError(f"{compose_file}: no `services: default:` entry") from e
    if "image" not in service:
        raise ValueError(f"{compose_file}: the default service names no `image:`")
    kwargs: dict[str, Any] = {}
    for key, value in service.items():
        if key not in COMPOSE_TO_SDK:
            raise ValueError(f"{compose_file}: compose key {key!r} has no translation for the agentdistill_docker "
                             f"provider (container.COMPOSE_TO_SDK); add one, or use --sandbox docker (compose v2)")
        target = COMPOSE_TO_SDK[key]
        if target is not None:
            kwargs[target[0]] = target[1](value)
    return ContainerSettings(image=str(service["image"]), kwargs=kwargs)


def _compose_file(config: SandboxEnvironmentConfigType | None) -> Path:
    if config is None:
        return COMPOSE_FILE
    if isinstance(config, (str, Path)):
        return Path(config)
    raise TypeError(f"agentdistill_docker takes a compose file path as its config, not {type(config).__name__}")


_CLIENT = None


def docker_client():
    """The Docker SDK client for the engine of DOCKER_HOST (else the default socket); a clear error when none answers."""
    global _CLIENT
    if _CLIENT is None:
        try:
            import docker
        except ImportError as e:
            raise RuntimeError("the agentdistill_docker sandbox needs the Docker SDK for Python: "
                               "pip install docker==7.2.0") from e
        try:
            client = docker.from_env(max_pool_size=64)
            client.ping()
        except docker.errors.DockerException as e:
            raise RuntimeError(
                f"the agentdistill_docker sandbox needs a Docker engine and none answers "
                f"(DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unset: the default socket')}): {e}. "
                "Start one, or use --sandbox bwrap") from e
        _CLIENT = client
    return _CLIENT


def engine_available() -> bool:
    try:
        docker_client()
        return True
    except RuntimeError:
        return False


def ensure_image(quiet: bool = True) -> str:
    """Build the sandbox image with build_image.py unless it is there with the current content (then seconds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("agentdistill_build_image", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(quiet=quiet)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(container) -> None:
    import docker

    try:
        container.remove(force=True)  # kills every process in it
    except docker.errors.NotFound:
        pass


def remove_containers(only_this_process: bool) -> int:
    """Remove our containers left by this host's evals that died (or, at task end, this process's own)."""
    client = docker_client()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": [LABEL, f"{HOST_LABEL}={socket.gethostname()}"]}):
        try:
            pid = int(container.labels.get(HOST_PID_LABEL, "0"))
        except ValueError:
            continue
        if (pid == os.getpid()) if only_this_process else (pid != os.getpid() and not _pid_alive(pid)):
            _remove(container)
            removed += 1
    return removed


@sandboxenv(name="agentdistill_docker")
class ContainerSandbox(SpawnerSandbox):
    """A container per sample with the compose file's settings (see the module docstring)."""

    kind = "docker"
    _swept = False

    def __init__(self, compose_file: str | Path = COMPOSE_FILE, pids_max: int | None = None):
        super().__init__()
        self.settings = container_settings(compose_file)
        self.pids_max = pids_max  # overrides the compose file's pids_limit (tests of the fork bomb use a small one)
        self.container = None
        self.tmpdir: str | None = None

    @classmethod
    def for_config(cls, config: SandboxEnvironmentConfigType | None) -> "ContainerSandbox":
        return cls(_compose_file(config))

    # inspect lifecycle ---------------------------------------------------------------------------------------------
    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        import docker

        settings = container_settings(_compose_file(config))
        client = await asyncio.to_thread(docker_client)
        try:
            await asyncio.to_thread(client.images.get, settings.image)
        except docker.errors.ImageNotFound:
            raise RuntimeError(
                f"the sandbox image {settings.image} is not in the Docker engine: build it with "
                f"`python {BUILD_SCRIPT}` (no registry needed) or `docker compose -f {COMPOSE_FILE} build`") from None
        if not cls._swept:
            cls._swept = True
            removed = await asyncio.to_thread(remove_containers, False)
            if removed:
                logger.warning("agentdistill_docker: removed %d containers left by evals that died", removed)

    @classmethod
    async def task_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None, cleanup: bool) -> None:
        if cleanup:  # samples clean up after themselves; this catches those an interrupted eval left
            await asyncio.to_thread(remove_containers, True)

    # container ---------------------------------------------------------------------------------------------------
    def run_arguments(self, socket_dir: str) -> dict[str, Any]:
        """The Docker SDK `containers.run` arguments (public for tests)."""
        from docker.types import Mount

        kwargs = dict(self.settings.kwargs)
        if self.pids_max is not None:
            kwargs["pids_limit"] = self.pids_max
        return dict(
            image=self.settings.image, detach=True, name=self.name,
            command=["python3", "-s", WORKER_PATH_IN_SANDBOX, "--listen", f"{SOCKET_DIR_IN_SANDBOX}/worker.sock"],
            mounts=[Mount(WORKER_PATH_IN_SANDBOX, str(WORKER_FILE), type="bind", read_only=True),
                    Mount(SOCKET_DIR_IN_SANDBOX, socket_dir, type="bind")],
            labels={LABEL: "1", HOST_PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()},
            **kwargs)

    async def start(self) -> None:
        client = await asyncio.to_thread(docker_client)
        self.tmpdir = tempfile.mkdtemp(prefix="agentdistill-docker-")  # 0700: only this host user gets in
        socket_dir = os.path.join(self.tmpdir, "socket")
        os.mkdir(socket_dir)
        os.chmod(socket_dir, 0o777)  # the container's user creates the worker's socket here
        self.socket_path = os.path.join(socket_dir, "worker.sock")
        try:
            self.container = await asyncio.to_thread(client.containers.run, **self.run_arguments(socket_dir))
            await self._wait_for_worker()
        except BaseException:
            await self.stop(close_interpreter=False)
            raise
        # from now on the container cannot create files in this host directory (it is not its owner; no
        # capabilities), so the socket is the only thing there
        os.chmod(socket_dir, 0o555)

    async def _wait_for_worker(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        next_check = 0.0
        while True:
            try:
                reply = await ping(self.socket_path, 30)
                if reply.get("op") != "pong":
                    raise RuntimeError(f"container sandbox: unexpected reply {reply}")
                return
            except (FileNotFoundError, ConnectionRefusedError):
                pass  # the worker has not created or opened its socket yet
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 0.5
                await asyncio.to_thread(self.container.reload)
                if self.container.status in ("exited", "dead"):
                    logs = await asyncio.to_thread(self.container.logs)
                    raise RuntimeError(f"container sandbox {self.name} exited at start "
                                       f"({self.container.attrs['State'].get('ExitCode')}): "
                                       f"{logs.decode(errors='replace')[-2000:]}")
            if now > deadline:
                raise RuntimeError(f"container sandbox {self.name}: the worker did not answer in "
                                   f"{START_TIMEOUT_S:g} s")
            await asyncio.sleep(0.02)

    @property
    def running(self) -> bool:
        # a container whose worker died shows up as a refused connection (SpawnerSandbox._connect restarts it)
        return self.container is not None

    async def stop(self, close_interpreter: bool = True) -> None:
        """Remove the container (every process in it dies) and the host directory of its socket."""
        if close_interpreter:
            await close_sample_interpreter(self)
        container, self.container = self.container, None
        if container is not None:
            await asyncio.to_thread(_remove, container)
        if self.tmpdir:
            for path, _dirs, _files in os.walk(self.tmpdir):
                os.chmod(path, 0o700)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def _stats(self) -> dict:
        if self.container is None:
            return {}
        return docker_client().api.stats(self.container.id, stream=False, one_shot=True)

    def pids_current(self) -> int | None:
        return (self._stats().get("pids_stats") or {}).get("current")

    def cpu_ms(self) -> float | None:
        usage = ((self._stats().get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
        return usage / 1e6 if usage is not None else None
