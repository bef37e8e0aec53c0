"""Which sandbox a task declares: a provider name -> inspect `SandboxEnvironmentSpec`.

Tasks name their sandbox (they never import the sandbox code, which sits a layer above them); the providers
themselves (`bwrap`, `agentdistill_docker`, ...) are registered by `agentdistill.solvers.sandbox`. The shipped
compose file travels as the spec's config so that a `--sandbox docker` override runs the project's image.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from inspect_ai.util import SandboxEnvironmentSpec

# The sandbox image's files ship with the sandbox package; only their location is needed here.
DOCKER_DIR = Path(__file__).resolve().parent.parent / "solvers" / "sandbox" / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"

DEFAULT_SANDBOX = "bwrap"
UNSAFE_LOCAL_WARNING = (
    "agentdistill: the 'local' sandbox runs model-written code directly on this machine with no isolation "
    "(host files, host environment variables including API keys, network). Use 'bwrap' or 'docker' for anything "
    "but trusted debugging."
)


def sandbox_spec(name: str | None = None) -> SandboxEnvironmentSpec:
    """The inspect sandbox spec for a provider name.

    `bwrap` (default) and `docker` carry the shipped compose file as their config: bwrap ignores it, and inspect
    forwards a task's docker-compatible config to a `--sandbox docker` override, so `--sandbox docker` on the
    command line runs our image. `local` is the unsafe host sandbox.
    """
    name = (name or DEFAULT_SANDBOX).strip()
    if name == "local":
        warnings.warn(UNSAFE_LOCAL_WARNING, stacklevel=2)
        return SandboxEnvironmentSpec("local")
    if name in ("bwrap", "docker"):
        return SandboxEnvironmentSpec(name, str(COMPOSE_FILE))
    if ":" in name:
        kind, config = name.split(":", 1)
        return SandboxEnvironmentSpec(kind, config)
    return SandboxEnvironmentSpec(name)
