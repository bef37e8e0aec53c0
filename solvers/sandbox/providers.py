"""Sandbox providers: `bwrap` (default), `agentdistill_docker`, inspect's `docker` with the shipped compose file,
and (unsafe) `local`.

- `bwrap`: one long-lived bubblewrap sandbox per sample: every namespace unshared (no network), read-only system
  binds, private tmpfs workspace and /tmp, empty environment, dies with its parent, in its own pids cgroup when the
  host allows it; everything is killed at sample cleanup. Its main process is the worker in spawner mode listening
  on a Unix socket passed in by the host: each interpreter, exec, read_file or write_file is one connection.
- `agentdistill_docker` (container.py): a container per sample through the Docker SDK for Python, with exactly the
  settings of `COMPOSE_FILE`; its main process is the worker in spawner mode, as under bwrap (one mechanism:
  spawner.py).
- `docker`: inspect's own Docker sandbox (needs `docker compose` v2); `COMPOSE_FILE` (Python + numpy + sympy,
  `network_mode: none`, memory, CPU and pids limits, `init: true`, non-root user) rides along as the config of the
  default sandbox spec so that `--sandbox docker` uses it (see `sandbox_spec`); `agentdistill_compose` is the same
  with the compose file as its default. The worker runs over a `docker exec -i` pipe.
- `local`: inspect's `local` sandbox: the worker runs on the host with no isolation at all. Unsafe; warns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from inspect_ai.util import SandboxEnvironment, sandboxenv

from agentdistill.core.inspect_compat import (
    DockerSandboxEnvironment,
    LocalSandboxEnvironment,
    SandboxEnvironmentConfigType,
    sandbox_working_dir,
    unwrap_sandbox,
)
from agentdistill.core.sandbox_spec import COMPOSE_FILE, DEFAULT_SANDBOX, DOCKER_DIR, UNSAFE_LOCAL_WARNING, sandbox_spec  # noqa: F401
from agentdistill.solvers.sandbox.client import Channel, ChannelFactory, SandboxError, close_sample_interpreter
from agentdistill.solvers.sandbox.spawner import SANDBOX_WORKDIR, WORKER_PATH_IN_SANDBOX, SpawnerSandbox, ping

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
WORKER_FILE = HERE / "worker.py"
PIDS_MAX = 256
TMPFS_BYTES = 512 * 1024 * 1024


# ------------------------------------------------------------------------------------------------ helpers
def _python_layout() -> dict[str, Any]:
    """Where the host's Python and its site-packages are, and where they appear inside the sandbox."""
    base = Path(sys.base_prefix).resolve()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    sites = []
    for key in ("purelib", "platlib"):
        p = Path(sysconfig.get_paths()[key]).resolve()
        if p.is_dir() and p not in sites and not str(p).startswith(str(base) + "/"):
            sites.append(p)
    if str(base) in ("/usr", "/usr/local") or str(base).startswith("/usr/"):
        return {"binds": [], "python": str(base / "bin" / version), "sites": sites, "libdir": None}
    return {"binds": [(base, "/opt/python")], "python": f"/opt/python/bin/{version}", "sites": sites,
            "libdir": "/opt/python/lib"}


class PidsCgroup:
    """A cgroup with a pids limit for one sandbox (v1 `pids` controller or v2 with pids enabled); None when the
    host does not let us create one (then fork bombs are bounded only by RLIMIT_NPROC, enforced for non-root)."""

    def __init__(self, path: Path):
        self.path = path
        self.cpuacct: Path | None = None  # v1 cpuacct group beside it, when available (CPU time, for benchmarks)

    _swept = False

    @classmethod
    def _sweep(cls, root: Path) -> None:
        """Remove empty groups left by evals that were killed (once per process; only groups older than a minute,
        so a group another sample just created and has not joined yet is left alone)."""
        if cls._swept:
            return
        cls._swept = True
        for path in list(root.glob("agentdistill-*")) + list(Path("/sys/fs/cgroup/cpuacct").glob("agentdistill-*")):
            try:
                if time.time() - path.stat().st_mtime > 60:
                    path.rmdir()  # fails (EBUSY) while any process is inside
            except OSError:
                pass

    @classmethod
    def create(cls, name: str, pids_max: int) -> "PidsCgroup | None":
        for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            if not (root / "cgroup.procs").exists():
                continue
            if root == Path("/sys/fs/cgroup") and "pids" not in _read(root / "cgroup.subtree_control"):
                continue
            cls._sweep(root)
            path = root / name
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(pids_max))
                group = cls(path)
                acct = Path("/sys/fs/cgroup/cpuacct") / name
                try:
                    acct.mkdir()
                    group.cpuacct = acct
                except OSError:
                    pass
                return group
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
        return None

    def join_fn(self):
        procs = str(self.path / "cgroup.procs")

        acct = str(self.cpuacct / "cgroup.procs") if self.cpuacct else None

        def join() -> None:
            for path in filter(None, (procs, acct)):
                with open(path, "w") as f:
                    f.write(str(os.getpid()))

        return join

    def kill_all(self) -> None:
        for _ in range(50):
            pids = [int(p) for p in _read(self.path / "cgroup.procs").split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)
        for path in filter(None, (self.path, self.cpuacct)):
            try:
                path.rmdir()
            except OSError:
                pass

    def cpu_ms(self) -> float | None:
        """CPU time used so far by every process of the sandbox (None without a cpuacct group)."""
        if self.cpuacct is None:
            return None
        try:
            return int(_read(self.cpuacct / "cpuacct.usage")) / 1e6
        except ValueError:
            return None

    def current(self) -> int:
        try:
            return int(_read(self.path / "pids.current") or 0)
        except ValueError:
            return 0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------------ bwrap
def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


@sandboxenv(name="bwrap")
class BwrapSandbox(SpawnerSandbox):
    """A bubblewrap sandbox, one per sample (see the module docstring)."""

    kind = "bwrap"

    def __init__(self, pids_max: int = PIDS_MAX, tmpfs_bytes: int = TMPFS_BYTES):
        super().__init__()
        self.pids_max = pids_max
        self.tmpfs_bytes = tmpfs_bytes
        self.proc: asyncio.subprocess.Process | None = None
        self.tmpdir: str | None = None
        self.cgroup: PidsCgroup | None = None

    # inspect lifecycle ---------------------------------------------------------------------------------------------
    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        if not bwrap_available():
            raise RuntimeError("the 'bwrap' sandbox needs bubblewrap (Debian/Ubuntu: apt-get install bubblewrap); "
                               "or run with --sandbox docker")

    # process ---------------------------------------------------------------------------------------------------
    def command(self, listen_fd: int) -> list[str]:
        """The bwrap command line (public for tests)."""
        layout = _python_layout()
        args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
        if os.geteuid() == 0:
            args += ["--cap-drop", "ALL"]
        args += ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for etc in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                    "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ssl", "/etc/mime.types"):
            if os.path.exists(etc):
                args += ["--ro-bind", etc, etc]
        for src, dst in layout["binds"]:
            args += ["--ro-bind", str(src), dst]
        pythonpath = []
        for i, site in enumerate(layout["sites"]):
            dst = f"/opt/site-packages{i or ''}"
            args += ["--ro-bind", str(site), dst]
            pythonpath.append(dst)
        args += ["--ro-bind", str(WORKER_FILE), WORKER_PATH_IN_SANDBOX]
        args += ["--dev", "/dev", "--proc", "/proc"]
        args += ["--size", str(self.tmpfs_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
        args += ["--size", str(self.tmpfs_bytes), "--tmpfs", SANDBOX_WORKDIR, "--chdir", SANDBOX_WORKDIR]
        args += ["--remount-ro", "/"]  # the sandbox's own root tmpfs: only /workspace and /tmp stay writable
        env = {"PATH": ("/opt/python/bin:" if layout["binds"] else "") + "/usr/local/bin:/usr/bin:/bin",
               "HOME": SANDBOX_WORKDIR, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
        if pythonpath:
            env["PYTHONPATH"] = ":".join(pythonpath)
        if layout["libdir"]:
            env["LD_LIBRARY_PATH"] = layout["libdir"]
        for k, v in env.items():
            args += ["--setenv", k, v]
        args += ["--", layout["python"], "-s", WORKER_PATH_IN_SANDBOX, "--serve", str(listen_fd)]
        return args

    async def start(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="agentdistill-bwrap-")
        os.chmod(self.tmpdir, 0o700)
        self.socket_path = os.path.join(self.tmpdir, "worker.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        listener.listen(64)
        self.cgroup = PidsCgroup.create(self.name, self.pids_max)
        if self.cgroup is None:
            logger.info("bwrap: no pids cgroup available; fork bombs are bounded by RLIMIT_NPROC only")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command(listener.fileno()), pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                preexec_fn=self.cgroup.join_fn() if self.cgroup else None)
        finally:
            listener.close()
        try:
            reply = await ping(self.socket_path, 30)
        except Exception as e:  # noqa: BLE001
            err = b""
            if self.proc.returncode is not None and self.proc.stderr is not None:
                err = await self.proc.stderr.read()
            await self.stop()
            raise RuntimeError(f"bwrap sandbox did not start: {e} {err.decode(errors='replace')}") from e
        if reply.get("op") != "pong":
            raise RuntimeError(f"bwrap sandbox: unexpected reply {reply}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, close_interpreter: bool = True) -> None:
        """Kill everything in the sandbox (and its interpreter's host side) and remove its temp dir."""
        if close_interpreter:
            await close_sample_interpreter(self)
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                logger.warning("bwrap sandbox %s did not exit", self.name)
        if self.cgroup is not None:
            await asyncio.to_thread(self.cgroup.kill_all)
            self.cgroup = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def pids_current(self) -> int | None:
        return self.cgroup.current() if self.cgroup is not None else None

    def cpu_ms(self) -> float | None:
        return self.cgroup.cpu_ms() if self.cgroup is not None else None


# ------------------------------------------------------------------------------------------------ docker, local
def _docker_base() -> type:
    return DockerSandboxEnvironment


@sandboxenv(name="agentdistill_compose")
class AgentdistillCompose(_docker_base()):  # type: ignore[misc]
    """inspect's docker sandbox (`docker compose` v2), defaulting to the shipped compose file
    (`--sandbox agentdistill_compose`). `agentdistill_docker` (container.py) runs the same settings without compose."""

    @classmethod
    def _config(cls, config: SandboxEnvironmentConfigType | None) -> SandboxEnvironmentConfigType:
        return config if config is not None else str(COMPOSE_FILE)

    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        await super().task_init(task_name, cls._config(config))

    @classmethod
    async def task_init_environment(cls, config: SandboxEnvironmentConfigType | None,
                                    metadata: dict[str, str]) -> dict[str, str]:
        return await super().task_init_environment(cls._config(config), metadata)

    @classmethod
    async def sample_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None,
                          metadata: dict[str, str]) -> dict[str, SandboxEnvironment]:
        return await super().sample_init(task_name, cls._config(config), metadata)

    @classmethod
    async def sample_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None,
                             environments: dict[str, SandboxEnvironment], interrupted: bool) -> None:
        await super().sample_cleanup(task_name, cls._config(config), environments, interrupted)

    @classmethod
    async def task_cleanup(cls, task_name: str, config: SandboxEnvironmentConfigType | None, cleanup: bool) -> None:
        await super().task_cleanup(task_name, cls._config(config), cleanup)


BOOTSTRAP = (
    "import os\n"
    "def r(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(0, n - len(b))\n"
    "        if not c: raise SystemExit(1)\n"
    "        b += c\n"
    "    return b\n"
    "src = r(int(r(10)))\n"
    "g = {'__name__': '__main__', '__file__': '/agentdistill-worker.py'}\n"
    "exec(compile(src, '/agentdistill-worker.py', 'exec'), g)\n"
)


def worker_payload() -> bytes:
    """What a bootstrapped worker reads first on stdin: 10-digit length + the worker's source."""
    src = WORKER_FILE.read_bytes()
    return f"{len(src):010d}".encode() + src


def docker_worker_command(container: str, workdir: str | None = None, python: str = "python3") -> list[str]:
    """The `docker exec -i` command line that starts a worker in a running container (stdio session)."""
    cmd = ["docker", "exec", "-i"]
    if workdir:
        cmd += ["--workdir", workdir]
    return cmd + [container, python, "-u", "-c", BOOTSTRAP]


async def _process_channel(cmd: list[str], payload: bytes | None = None, cwd: str | None = None,
                           env: dict[str, str] | None = None) -> Channel:
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=subprocess.DEVNULL, cwd=cwd, env=env,
                                                start_new_session=True, limit=1 << 26)
    if payload:
        proc.stdin.write(payload)

    async def closer() -> None:
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            await proc.wait()

    return Channel(proc.stdout, proc.stdin, closer)


def channel_factory(env: Any) -> tuple[ChannelFactory, str]:
    """How to open a worker channel into this inspect sandbox environment."""
    env = unwrap_sandbox(env)  # inspect hands out a SandboxEnvironmentProxy (event logging)
    if isinstance(env, SpawnerSandbox):  # bwrap, agentdistill_docker: the worker's socket
        return env.open_channel, f"{env.kind}:{env.name}"
    if isinstance(env, _docker_base()):
        async def docker_factory() -> Channel:
            connection = await env.connection()
            cmd = docker_worker_command(connection.container, sandbox_working_dir(env))
            return await _process_channel(cmd, worker_payload())

        return docker_factory, "docker"
    if isinstance(env, LocalSandboxEnvironment):
        warnings.warn(UNSAFE_LOCAL_WARNING, stacklevel=3)
        logger.warning(UNSAFE_LOCAL_WARNING)

        async def local_factory() -> Channel:
            return await _process_channel([sys.executable, "-s", str(WORKER_FILE)], cwd=env.directory.name)

        return local_factory, "local (unsafe)"
    raise SandboxError(f"no agentdistill worker transport for sandbox type {type(env).__name__}; "
                       "use bwrap, docker or local")
