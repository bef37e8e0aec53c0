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

PACKAGE = "agentdistill"


def _add_bare_solver_aliases() -> None:
    """Let `--solver agent_sag` work as well as `--solver agentdistill/agent_sag`.

    inspect namespaces solvers of installed packages and resolves a bare name only when
    it is registered bare, so add a second key pointing at the same object (its registry
    info, and so the name in logs, stays `agentdistill/<name>`).
    """
    prefix = f"solver:{PACKAGE}/"
    for key, obj in list(_inspect_registry._registry.items()):
        if key.startswith(prefix):
            bare = "solver:" + key[len(prefix):]
            _inspect_registry._registry.setdefault(bare, obj)


_add_bare_solver_aliases()
