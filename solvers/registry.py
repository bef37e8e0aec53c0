"""What the `inspect_ai` entry point loads: every solver, model API and sandbox of the package.

Each room adds its import here once its module exists. Importing a module runs its
`@solver` / `@modelapi` / `@sandboxenv` decorators, which is all registration needs.
"""

from inspect_ai._util import registry as _inspect_registry

# --- rooms (one import line each) ---
from agentdistill.distill import model_api  # noqa: F401  (agentdistill/<model>, scripted/<script>)
from agentdistill.solvers import cot  # noqa: F401  (cot, cot_sc)
from agentdistill.solvers import rag  # noqa: F401  (rag)
from agentdistill.solvers.agent import solvers as _agent  # noqa: F401  (agent, agent_sag, agent_ftp)
from agentdistill.solvers.sandbox import providers as _sandboxes  # noqa: F401  (bwrap; docker/local transports)
from agentdistill.solvers.sandbox import container as _container  # noqa: F401  (agentdistill_docker)

PACKAGE = "agentdistill"


def _add_solver_aliases() -> None:
    """Let `--solver agent_sag` work as well as `--solver agentdistill/agent_sag`.

    inspect namespaces the solvers of an installed package (`agentdistill/cot`) and
    resolves a bare name only when it is registered bare; in some setups (an editable
    install seen through a stray egg-info on sys.path) it registers them bare instead.
    Register the missing spelling as a second key for the same object, so both work
    everywhere; the registry info (the name written to logs) is left as it is.
    """
    registry = _inspect_registry._registry
    for key, obj in list(registry.items()):
        if not key.startswith("solver:"):
            continue
        module = getattr(obj, "__module__", "") or ""
        if not module.startswith(f"{PACKAGE}."):
            continue
        name = key[len("solver:"):]
        bare = name.split("/", 1)[1] if name.startswith(f"{PACKAGE}/") else name
        registry.setdefault(f"solver:{bare}", obj)
        registry.setdefault(f"solver:{PACKAGE}/{bare}", obj)


_add_solver_aliases()
