"""The one home for inspect-ai internals the project relies on (pinned: inspect-ai 0.3.285).

Everything else in the project uses inspect's public API only. Each helper here says why no public API serves, and
`tests/test_inspect_compat.py` checks every one against the installed inspect, so an upgrade that moves an internal
fails there first, with the name of what moved.
"""

from __future__ import annotations

from typing import Any

from inspect_ai._util import registry as _registry  # registry lookups without creating objects
from inspect_ai._util.error import PrerequisiteError  # inspect's CLI prints these as one message, no traceback
from inspect_ai.log import _samples  # the sample being evaluated (no public accessor)
from inspect_ai.util import registry_create
from inspect_ai.util._sandbox import environment as _sandbox_environment
from inspect_ai.util._sandbox.docker.docker import DockerSandboxEnvironment
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

# The config a sandbox provider receives (a compose file path, a pydantic config, or None).
SandboxEnvironmentConfigType = _sandbox_environment.SandboxEnvironmentConfigType

__all__ = [
    "DockerSandboxEnvironment",
    "PrerequisiteError",
    "LocalSandboxEnvironment",
    "SandboxEnvironmentConfigType",
    "active_sample",
    "create_solver",
    "find_registered",
    "register_bare_aliases",
    "sandbox_working_dir",
    "unwrap_sandbox",
]


def find_registered(kind: str, name: str) -> object | None:
    """The registered object of a kind ("solver", "task", ...) under `name`, loading the package's entry point for a
    namespaced name (`agentdistill/cot`); None when unknown. inspect's public API can only create, not look up."""
    return _registry.registry_lookup(kind, name)  # type: ignore[arg-type]


def create_solver(name: str, **args: Any) -> Any:
    """A solver from its registered name with arguments (public API)."""
    return registry_create("solver", name, **args)


def registered_names(kind: str, package: str) -> list[str]:
    """Registered names of one kind that belong to a package (for 'valid names are ...' messages)."""
    found = _registry.registry_find(lambda info: info.type == kind and info.name.startswith(f"{package}/"))
    return sorted({_registry.registry_info(o).name.split("/", 1)[1] for o in found})


def register_bare_aliases(package: str, kind: str = "solver") -> None:
    """Let `--solver agent_sag` work as well as `--solver agentdistill/agent_sag`.

    inspect registers an installed package's solvers namespaced (`agentdistill/agent_sag`) and resolves a bare CLI
    name only when an object is registered under it; the project's documented commands use bare names. This adds the
    bare key for the package's own objects (never replacing a key inspect or another package owns); the registry
    info written to logs stays the namespaced name.
    """
    prefix = f"{package}/"
    for key, obj in list(_registry._registry.items()):
        name = key.split(":", 1)[1] if key.startswith(f"{kind}:") else None
        if name is not None and name.startswith(prefix):
            _registry._registry.setdefault(f"{kind}:{name[len(prefix):]}", obj)


def active_sample() -> Any | None:
    """inspect's record of the sample being evaluated in this task (`.sample`, `.id`, `.eval_id`), or None outside
    one. Model APIs and scorers need it for per-sample behaviour (the scripted test model's `{target}`); inspect
    exposes no public accessor."""
    return _samples.sample_active()


def unwrap_sandbox(env: Any) -> Any:
    """The provider's own environment object behind inspect's event-logging proxy (the sandbox client keeps its
    per-sample interpreter on it, and needs its provider type to open a channel)."""
    return getattr(env, "_sandbox", env)


def sandbox_working_dir(env: Any) -> str | None:
    """The working directory inspect's docker environment runs commands in (not public)."""
    return getattr(env, "_working_dir", None)
