"""How an agent episode gets its interpreter: the sample's own (in the task's sandbox), or, with no sandbox
configured, a private bwrap sandbox owned and stopped by the episode. The agent loop calls `acquire_interpreter` and
`release_interpreter` and knows nothing of providers.
"""

from __future__ import annotations

import logging
from typing import Any

from inspect_ai.util import sandbox

from agentdistill.core.inspect_compat import unwrap_sandbox
from agentdistill.solvers.sandbox.client import _ATTR, Interpreter, SandboxError, Tool
from agentdistill.solvers.sandbox.providers import BwrapSandbox, channel_factory

logger = logging.getLogger(__name__)


async def open_interpreter(env: Any, tools: dict[str, Tool] | None = None, **config: Any) -> Interpreter:
    """A new interpreter inside the given inspect sandbox environment (bwrap, docker or local)."""
    factory, label = channel_factory(env)
    return await Interpreter(factory, tools, label=label, **config).start()


async def interpreter_for_sample(tools: dict[str, Tool] | None = None, **config: Any) -> Interpreter:
    """The current sample's interpreter (created on first use in the sample's default sandbox, cached, and closed at
    the sample's sandbox cleanup). Tools are the host functions exposed inside (e.g. {"web_search": fn})."""
    env = unwrap_sandbox(sandbox())
    interp: Interpreter | None = getattr(env, _ATTR, None)
    if interp is not None and not interp.closed:
        missing = set(tools or {}) - set(interp.tools)
        same_config = all(interp.config.get(key) == value for key, value in config.items() if value is not None)
        if not missing and same_config:
            interp.tools.update(tools or {})
            return interp
        await interp.close()  # new tool names or settings need a fresh namespace
    interp = await open_interpreter(env, tools, **config)
    setattr(env, _ATTR, interp)
    return interp



_NO_SANDBOX_WARNING = (
    "agent: the task has no sandbox (e.g. `--solver agent...` replaced a task created for a solver without one); "
    "running the code in a private bwrap sandbox per sample. Pass --sandbox bwrap|docker|local to choose."
)
_OWNED_ENV = "_agentdistill_agent_owned_env"
_OWNED_INTERP = "_agentdistill_agent_owned_interpreter"
_warned_no_sandbox = False


async def acquire_interpreter(tools: dict[str, Tool], **config: Any) -> Interpreter:
    """The sample's interpreter in the task's sandbox; with no sandbox configured, a bwrap one owned by the episode.
    `config`: worker settings (e.g. `authorized_imports`, `reference_errors`)."""
    global _warned_no_sandbox
    try:
        return await interpreter_for_sample(tools, **config)
    except SandboxError:
        # inspect hands solvers its event-logging proxy around the environment; open the worker in the environment
        # itself, owned (closed) by this episode
        env = sandbox()
        inner = unwrap_sandbox(env)
        if inner is env:
            raise
        interp = await open_interpreter(inner, tools, **config)
        setattr(interp, _OWNED_INTERP, True)
        return interp
    except ProcessLookupError:  # inspect: no sandbox environment for this sample
        if not _warned_no_sandbox:
            _warned_no_sandbox = True
            logger.warning(_NO_SANDBOX_WARNING)
        owned = BwrapSandbox()
        await owned.start()
        try:
            interp = await open_interpreter(owned, tools, **config)
        except BaseException:
            await owned.stop()
            raise
        setattr(interp, _OWNED_ENV, owned)
        return interp


async def release_interpreter(interp: Any) -> None:
    """Stop a sandbox the episode started itself (the task's own sandboxes are cleaned up by inspect)."""
    env = getattr(interp, _OWNED_ENV, None)
    if env is not None:
        await env.stop()  # closes the interpreter too
    elif getattr(interp, _OWNED_INTERP, False):
        await interp.close()
