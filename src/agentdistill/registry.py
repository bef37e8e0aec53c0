"""The `inspect_ai` entry point: importing it registers every solver, model API and sandbox of the package.

Importing a module runs its `@solver` / `@modelapi` / `@sandboxenv` decorators, which is all registration needs. A new
room adds one import line here (CONTRIBUTING.md).
"""

from agentdistill.core.inspect_compat import register_bare_aliases

# --- rooms (one import line each) ---
from agentdistill.models import apis as _models  # noqa: F401  (agentdistill/<model>, scripted/<script>, programmatic/teacher)
from agentdistill.solvers import cot  # noqa: F401  (cot, cot_sc)
from agentdistill.solvers import rag  # noqa: F401  (rag)
from agentdistill.solvers.agent import solvers as _agent  # noqa: F401  (agent, agent_sag, agent_ftp)
from agentdistill.solvers.sandbox import providers as _sandboxes  # noqa: F401  (bwrap; docker/local transports)
from agentdistill.solvers.sandbox import container as _container  # noqa: F401  (agentdistill_docker)

PACKAGE = "agentdistill"

register_bare_aliases(PACKAGE)
