"""Sandbox providers: the bwrap command line and inspect API, the docker configuration (compose file, its
translation for the Docker SDK) and the `docker exec -i` worker command (no engine needed), the unsafe local
provider, an inspect eval end to end, and, when a Docker engine answers, the same eval and the CLI's
`--sandbox agentdistill_docker` in real containers."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import match
from inspect_ai.solver import TaskState, solver
from inspect_ai.util import SandboxConnection

import agentdistill.registry  # noqa: F401  (registers the providers)
from agentdistill.solvers.sandbox import (
    COMPOSE_FILE,
    DEFAULT_SANDBOX,
    BwrapSandbox,
    Interpreter,
    docker_worker_command,
    interpreter_for_sample,
    sandbox_spec,
)
from agentdistill.solvers.sandbox import container, providers
from agentdistill.solvers.sandbox.client import Channel

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
needs_engine = pytest.mark.skipif(not container.engine_available(),
                                  reason="no Docker engine answers (DOCKER_HOST or the default socket)")
ROOT = Path(__file__).resolve().parents[1]


def docker_compose_v2_available() -> bool:
    """inspect's docker provider runs `docker compose` (v2) against a running engine."""
    if shutil.which("docker") is None or not container.engine_available():
        return False
    try:
        out = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


# ------------------------------------------------------------------------------------------------ bwrap
def test_bwrap_command_line_isolates():
    env = BwrapSandbox()
    cmd = env.command(7)
    assert cmd[0] == "bwrap"
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in cmd
    assert cmd[-3:] == [providers.WORKER_PATH_IN_SANDBOX, "--serve", "7"]
    # every bind is read-only; the only writable places are the two tmpfs mounts
    binds = [(cmd[i], cmd[i + 1], cmd[i + 2]) for i, a in enumerate(cmd) if a.startswith("--") and "bind" in a]
    assert binds and all(kind == "--ro-bind" for kind, _src, _dst in binds)
    destinations = {dst for _k, _s, dst in binds}
    assert not any(d == "/" or d.startswith(("/root", "/home", "/work")) for d in destinations), destinations
    tmpfs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--tmpfs"]
    assert sorted(tmpfs) == ["/tmp", "/workspace"]
    assert cmd[cmd.index("--remount-ro") + 1] == "/"
    setenv = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--setenv"}
    assert set(setenv) <= {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "MPLBACKEND", "PYTHONPATH",
                           "LD_LIBRARY_PATH"}
    assert DEFAULT_SANDBOX == "bwrap"


@needs_bwrap
def test_bwrap_is_a_real_inspect_sandbox():
    async def main():
        env = BwrapSandbox()
        await env.start()
        try:
            r = await env.exec(["sh", "-c", "pwd; cat; echo err >&2; exit 3"], input="piped")
            assert (r.returncode, r.success, r.stdout, r.stderr) == (3, False, "/workspace\npiped", "err\n")
            r = await env.exec(["python3", "-c", "import numpy, sympy, os; print(os.environ.get('X'))"],
                               env={"X": "y"})
            assert r.success and r.stdout == "y\n", r
            await env.write_file("sub/dir/data.bin", b"\x00\x01")
            assert await env.read_file("sub/dir/data.bin", text=False) == b"\x00\x01"
            await env.write_file("/tmp/t.txt", "text")
            assert await env.read_file("/tmp/t.txt") == "text"
            with pytest.raises(FileNotFoundError):
                await env.read_file("missing.txt")
            with pytest.raises(IsADirectoryError):
                await env.read_file("sub")
            with pytest.raises(OSError):
                await env.write_file("/usr/nope.txt", "x")
            with pytest.raises(TimeoutError):
                await env.exec(["sleep", "30"], timeout=1)
            r = await env.exec(["no-such-program"])
            assert r.returncode == 127 and not r.success
        finally:
            await env.stop()
        assert not env.running and env.tmpdir is None

    asyncio.run(main())


# ------------------------------------------------------------------------------------------------ docker
def test_docker_compose_configuration():
    from inspect_ai.util._sandbox.compose import parse_compose_yaml

    config = parse_compose_yaml(str(COMPOSE_FILE))
    service = config.services["default"]
    assert service.network_mode == "none" and service.init is True and service.read_only is True
    assert service.user == "1000:1000" and service.working_dir == "/workspace"
    fields = {**service.model_dump(exclude_none=True), **(service.model_extra or {})}
    assert fields["pids_limit"] == 256 and fields["mem_limit"] == "2g" and float(fields["cpus"]) == 1.0
    assert fields["cap_drop"] == ["ALL"] and "no-new-privileges:true" in fields["security_opt"]
    dockerfile = (COMPOSE_FILE.parent / "Dockerfile").read_text()
    assert "ARG BASE=python:3.11-slim\nFROM ${BASE}" in dockerfile and "USER sandbox" in dockerfile
    assert "-r /tmp/build-context/requirements.txt" in dockerfile
    requirements = (COMPOSE_FILE.parent / "requirements.txt").read_text().split()
    assert "numpy>=1.26,<3" in requirements and "sympy==1.14.0" in requirements


def test_container_provider_applies_exactly_the_compose_settings(tmp_path):
    env = container.ContainerSandbox()
    args = env.run_arguments("/host/socket-dir")
    assert args["image"] == "agentdistill-sandbox:1"
    assert (args["network_mode"], args["read_only"], args["init"], args["user"]) == ("none", True, True, "1000:1000")
    assert (args["working_dir"], args["mem_limit"], args["memswap_limit"]) == ("/workspace", "2g", "2g")
    assert (args["nano_cpus"], args["pids_limit"], args["cap_drop"]) == (10**9, 256, ["ALL"])
    assert args["security_opt"] == ["no-new-privileges:true"]
    assert args["tmpfs"] == {"/tmp": "size=512m,mode=1777", "/workspace": "size=512m,uid=1000,gid=1000,mode=0755"}
    mounts = {m["Target"]: m for m in args["mounts"]}
    assert set(mounts) == {providers.WORKER_PATH_IN_SANDBOX, container.SOCKET_DIR_IN_SANDBOX}
    assert mounts[providers.WORKER_PATH_IN_SANDBOX]["ReadOnly"] is True
    assert mounts[container.SOCKET_DIR_IN_SANDBOX]["Source"] == "/host/socket-dir"
    assert args["command"][-2:] == ["--listen", f"{container.SOCKET_DIR_IN_SANDBOX}/worker.sock"]
    assert "environment" not in args  # nothing of the host's environment goes in
    assert container.ContainerSandbox(pids_max=64).run_arguments("/x")["pids_limit"] == 64
    # a compose key with no translation is refused, naming it, rather than silently dropped
    extra = tmp_path / "compose.yaml"
    extra.write_text(COMPOSE_FILE.read_text().replace("    init: true", "    init: true\n    privileged: true"))
    with pytest.raises(ValueError, match="'privileged'"):
        container.container_settings(extra)


def test_docker_worker_command_line():
    cmd = docker_worker_command("proj-default-1", "/workspace")
    assert cmd[:6] == ["docker", "exec", "-i", "--workdir", "/workspace", "proj-default-1"]
    assert cmd[6:9] == ["python3", "-u", "-c"] and cmd[9] == providers.BOOTSTRAP
    assert "-t" not in cmd  # no tty: the protocol is binary


def test_docker_transport_speaks_the_protocol_through_the_bootstrap():
    """Everything of the docker path except the engine: the bootstrap command `docker exec -i` runs, fed the worker
    source on stdin, then the framed protocol, with a host tool."""

    async def web_search(query: str) -> str:
        return f"found {query}"

    async def main():
        cmd = [sys.executable, "-u", "-c", providers.BOOTSTRAP]  # = docker_worker_command(...)[6:]

        async def factory() -> Channel:
            return await providers._process_channel(cmd, providers.worker_payload())

        interp = await Interpreter(factory, {"web_search": web_search}).start()
        try:
            r = await interp.run("def f(x):\n    return 1 / x\nf(0)")
            assert 'File "<code>"' in r.error and "agentdistill-worker" not in r.error, r.error
            r = await interp.run("print(web_search('x'))\nfinal_answer(7)")
            assert r.stdout == "found x\n" and r.final_answer == 7
        finally:
            await interp.close()

    asyncio.run(main())


def test_docker_channel_factory_uses_the_container_of_the_sample(monkeypatch):
    from inspect_ai.util._sandbox.docker.docker import DockerSandboxEnvironment

    env = DockerSandboxEnvironment.__new__(DockerSandboxEnvironment)
    env._working_dir = "/workspace"

    async def connection(*, user=None):
        return SandboxConnection(type="docker", command="", container="agentdistill-abc-default-1")

    seen = {}

    async def fake_process_channel(cmd, payload=None, cwd=None, env=None):
        seen["cmd"], seen["payload"] = cmd, payload
        raise RuntimeError("no engine here")

    env.connection = connection
    monkeypatch.setattr(providers, "_process_channel", fake_process_channel)
    factory, label = providers.channel_factory(env)
    assert label == "docker"
    with pytest.raises(RuntimeError, match="no engine"):
        asyncio.run(factory())
    assert seen["cmd"] == docker_worker_command("agentdistill-abc-default-1", "/workspace")
    assert seen["payload"].startswith(b"%010d" % len(providers.WORKER_FILE.read_bytes()))


def test_sandbox_docker_on_the_command_line_uses_our_compose_file():
    from inspect_ai._eval.loader import resolve_task_sandbox

    task = Task(dataset=[Sample(input="q", target="a")], sandbox=sandbox_spec())
    assert task.sandbox.type == "bwrap"
    resolved = resolve_task_sandbox(task, "docker")  # what `--sandbox docker` does
    assert (resolved.type, resolved.config) == ("docker", str(COMPOSE_FILE))
    assert resolve_task_sandbox(task, "bwrap").type == "bwrap"
    resolved = resolve_task_sandbox(Task(dataset=[Sample(input="q")], sandbox="bwrap"), "agentdistill_compose")
    assert resolved.type == "agentdistill_compose"
    assert providers.AgentdistillCompose._config(resolved.config) == str(COMPOSE_FILE)
    resolved = resolve_task_sandbox(Task(dataset=[Sample(input="q")], sandbox="bwrap"), "agentdistill_docker")
    assert resolved.type == "agentdistill_docker"
    assert container._compose_file(resolved.config) == COMPOSE_FILE
    assert sandbox_spec("docker").config == str(COMPOSE_FILE)
    assert sandbox_spec("docker:/x/compose.yaml").config == "/x/compose.yaml"


@pytest.mark.docker
@pytest.mark.skipif(not docker_compose_v2_available(), reason="no engine with `docker compose` v2 (inspect's path)")
def test_docker_compose_live(log_dir):
    [log] = eval(_interp_task(sandbox_spec("docker")), model="mockllm/model", log_dir=str(log_dir),
                 display="none")
    assert log.status == "success", log.error
    assert log.samples[0].metadata["observed"]["value"] == "2"


@pytest.mark.docker
@needs_engine
def test_container_provider_live(log_dir, docker_image, monkeypatch):
    started = []
    original_start = container.ContainerSandbox.start

    async def start(self):
        started.append(self)
        await original_start(self)

    monkeypatch.setattr(container.ContainerSandbox, "start", start)
    [log] = eval(_interp_task("agentdistill_docker"), model="mockllm/model", log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    for sample in log.samples:
        assert sample.metadata["observed"] == {"value": "2", "stdout": "[a]\n"}
    assert len(started) == 2  # one container per sample, removed at sample cleanup with its socket directory
    client = container.docker_client()
    for env in started:
        assert env.container is None and env.tmpdir is None
        assert not client.containers.list(all=True, filters={"name": env.name})


@pytest.mark.docker
@needs_engine
def test_cli_gsm_hard_agent_sag_in_containers(tmp_path, docker_image):
    """The issue's command: `inspect eval tasks/gsm_hard --solver agent_sag --sandbox agentdistill_docker` with the
    scripted model; each SAG candidate reports the sandbox's PID 1 (the container's init) and the answer."""
    import json

    from inspect_ai.log import list_eval_logs, read_eval_log

    def code(body: str) -> str:
        return f"Thought: I compute it.\nCode:\n```py\n{body}\n```<end_code>"

    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"turn": 0, "reply": code("import os, numpy as np\nanswer = float(np.float64('{{target}}'))\n"
                                  "print(open('/proc/1/cmdline').read().split(chr(0))[0], os.getuid(), answer)")},
        {"turn": 1, "reply": code("final_answer(answer)")},
    ]))  # fmt: skip
    client = container.docker_client()
    before = len(client.containers.list(all=True, filters={"label": container.LABEL}))
    cmd = [str(Path(sys.executable).with_name("inspect")), "eval", "tasks/gsm_hard", "--solver", "agent_sag",
           "--sandbox", "agentdistill_docker", "--model", "scripted/cli", "-M", f"script={script}", "--limit", "2",
           # the code probes the container itself (os, open): CPython's own imports and builtins, not the reference's
           "-S", "imports=any", "-S", "errors=traceback",
           "--log-dir", str(tmp_path / "logs"), "--display", "none"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [info] = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(info)
    assert log.status == "success" and log.eval.sandbox.type == "agentdistill_docker"
    assert len(log.samples) == 2
    for sample in log.samples:
        assert len(sample.metadata["agent"]["steps"][0]["candidates"]) == 8  # SAG's default N
        observation = next(m.text for m in sample.messages if m.role == "user" and "\nObservation:\n" in m.text)
        assert "/sbin/docker-init 1000 " in observation, observation  # ran in the container, as its non-root user
        assert sample.scores["math_scorer"].value == "C", sample.scores["math_scorer"]  # correct
    assert len(client.containers.list(all=True, filters={"label": container.LABEL})) == before  # all removed


# ------------------------------------------------------------------------------------------------ local
def test_local_provider_warns_and_works(tmp_path):
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

    async def main():
        env = LocalSandboxEnvironment()
        with pytest.warns(UserWarning, match="no isolation"):
            factory, label = providers.channel_factory(env)
        assert "unsafe" in label
        interp = await Interpreter(factory).start()
        try:
            r = await interp.run("import os\nos.getcwd()")
            assert r.value == repr(env.directory.name)
        finally:
            await interp.close()
            env.directory.cleanup()

    asyncio.run(main())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sandbox_spec("local").type == "local"
    assert any("no isolation" in str(w.message) for w in caught)


# ------------------------------------------------------------------------------------------------ inspect eval
@solver
def _interp_solver():
    async def solve(state: TaskState, generate) -> TaskState:
        async def web_search(query: str) -> str:
            return f"[{query}]"

        interp = await interpreter_for_sample({"web_search": web_search})
        assert await interpreter_for_sample({"web_search": web_search}) is interp  # cached per sample
        await interp.run("x = 1")
        results = await interp.run_candidates(["x += 1\nprint(web_search('a'))", "x += 10"])
        await interp.commit(0)
        r = await interp.run("x")
        state.metadata["observed"] = {"value": r.value, "stdout": results[0].stdout}
        state.output.completion = r.value or ""
        return state

    return solve


def _interp_task(sandbox) -> Task:
    return Task(dataset=[Sample(input="q", target="2", id=f"s{i}") for i in range(2)], solver=_interp_solver(),
                scorer=match(), sandbox=sandbox)


@needs_bwrap
def test_inspect_eval_with_the_bwrap_sandbox(log_dir, monkeypatch):
    started = []
    original_start = BwrapSandbox.start

    async def start(self):
        started.append(self)
        await original_start(self)

    monkeypatch.setattr(BwrapSandbox, "start", start)
    [log] = eval(_interp_task(sandbox_spec()), model="mockllm/model", log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    for sample in log.samples:
        assert sample.metadata["observed"] == {"value": "2", "stdout": "[a]\n"}
    assert len(started) == 2  # one sandbox per sample ...
    for env in started:  # ... each killed, with its interpreter closed, at sample cleanup
        assert env.proc.returncode is not None and env.tmpdir is None
        assert getattr(env, "_agentdistill_interpreter").closed
        assert not os.path.exists(f"/proc/{env.proc.pid}")
