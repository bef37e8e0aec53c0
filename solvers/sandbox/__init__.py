"""Code sandbox: a stateful CPython interpreter with forked candidates, isolated under bubblewrap or Docker.

Agent-facing API (client.py, acquire.py):
    interp = await interpreter_for_sample({"web_search": web_search})
    r = await interp.run(code)                      # ExecResult
    rs = await interp.run_candidates([c1, c2, ...]) # all forked from the same state, run in parallel
    await interp.commit(i)  /  await interp.discard()

Providers: `bwrap` (default, `DEFAULT_SANDBOX`, providers.py), `agentdistill_docker` (the compose file's container
through the Docker SDK, container.py), `docker` (inspect's compose path with our compose file, see `sandbox_spec`),
`local` (unsafe).
"""

from agentdistill.solvers.sandbox.acquire import (
    acquire_interpreter,
    interpreter_for_sample,
    open_interpreter,
    release_interpreter,
)
from agentdistill.solvers.sandbox.client import ExecResult, Interpreter, SandboxError
from agentdistill.solvers.sandbox.providers import (
    COMPOSE_FILE,
    DEFAULT_SANDBOX,
    BwrapSandbox,
    docker_worker_command,
    sandbox_spec,
)

__all__ = [
    "COMPOSE_FILE",
    "DEFAULT_SANDBOX",
    "BwrapSandbox",
    "ExecResult",
    "Interpreter",
    "SandboxError",
    "docker_worker_command",
    "acquire_interpreter",
    "interpreter_for_sample",
    "release_interpreter",
    "open_interpreter",
    "sandbox_spec",
]
