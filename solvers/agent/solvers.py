"""The agent solvers: `agent` (greedy CodeAct), `agent_sag` (self-consistent action generation), `agent_ftp`
(teacher with the first-thought prefix). All three run `loop.run_agent`; only the action chooser differs.

Defaults reproduce the paper's code (prompts, turns, parser, executor allow-list and error texts, SAG vote, greedy
temperature 0). The project's variants are named options; a run using any of them records them in
`metadata["agent"]["options"]` and `reproduction: false`.

    inspect eval tasks/hotpotqa --solver agent_sag -S n=4 -S temperature=0.6 -S max_steps=3
"""

from __future__ import annotations

from inspect_ai.solver import Generate, Solver, TaskState, solver

from agentdistill.core import args as check
from agentdistill.solvers.agent.choosers import GreedyChooser, SAGChooser
from agentdistill.solvers.agent.loop import ActionChooser, AgentSettings, run_agent
from agentdistill.solvers.agent.parse import PARSERS
from agentdistill.solvers.retrieval.tool import check_spec


def _check(owner: str, name: str, value: object) -> object:
    """One agent argument checked and converted (-S values arrive as YAML scalars); None keeps the default."""
    if value is None:
        return None
    if name == "prompt":
        return check.choice(owner, name, value, ("teacher", "student"))
    if name == "ftp":
        return check.boolean(owner, name, value)
    if name == "retriever":
        return check_spec(str(value))
    if name == "timeout":
        return check.number(owner, name, value, lo=0, lo_open=True)
    if name == "temperature":
        return check.number(owner, name, value, lo=0)
    if name == "parser":
        return check.choice(owner, name, value, PARSERS)
    if name == "imports":
        return check.choice(owner, name, value, ("reference", "any"))
    if name == "errors":
        return check.choice(owner, name, value, ("reference", "traceback"))
    if name == "seed":
        return check.number(owner, name, value, integer=True)
    return check.number(owner, name, value, integer=True, lo=1)  # max_steps, k, max_tokens


_SOLVER_ARGS = ("max_steps", "prompt", "ftp", "retriever", "k", "max_tokens", "temperature", "seed", "timeout",
                "parser", "imports", "errors")
_NULLABLE = ("prompt", "retriever", "max_tokens", "timeout", "temperature")


def _settings(owner: str = "solver agent", also_valid: tuple[str, ...] = (), **args: object) -> AgentSettings:
    """Check and convert solver arguments into `AgentSettings`; a bad one is refused before any sample runs."""
    check.known(owner, args, (*_SOLVER_ARGS, *also_valid))
    values = {key: _check(owner, key, value) for key, value in args.items()}
    return AgentSettings(**{key: value for key, value in values.items() if value is not None or key in _NULLABLE})


def _agent_solver(chooser: ActionChooser, settings: AgentSettings) -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await run_agent(state, chooser, settings)

    return solve


@solver
def agent(
    max_steps: int = 5,
    prompt: str | None = None,
    ftp: bool = False,
    retriever: str | None = None,
    k: int = 3,
    max_tokens: int | None = 1024,
    temperature: float | None = 0.0,
    seed: int = 0,
    timeout: float | None = None,
    parser: str = "reference",
    imports: str = "reference",
    errors: str = "reference",
) -> Solver:
    """CodeAct agent, one greedy action per step.

    Args:
      max_steps: steps before the reference's "stuck" call answers from the memory.
      prompt: "teacher" (code_agent.yaml system_prompt) or "student" (system_prompt_short); default: student for an
        adapter made by `agentdistill train` (its provenance file), teacher otherwise.
      ftp: first-thought prefix: open the first Thought with the first paragraph of a greedy CoT answer.
      retriever: retriever spec for `web_search` (every domain): bm25 (default), dense, wiki18:<dir>, http://...
      k: passages per search.
      max_tokens: generation limit per step.
      temperature: of the steps, FTP's CoT call and the stuck call (the reference: 0); None: the model's own.
      seed: seeds the per-sample random choices.
      timeout: seconds per code action in the sandbox (default: the sandbox's, 10 s).
      parser: "reference" (parse_code_blobs) or "lenient" (also ```py3, unclosed blocks, <code> tags).
      imports: "reference" (the executor's allow-list: base modules + numpy, sympy) or "any" (every installed module).
      errors: "reference" (the executor's error texts and last output) or "traceback" (CPython's traceback, repr).
    """
    return _agent_solver(
        GreedyChooser(),
        _settings(max_steps=max_steps, prompt=prompt, ftp=ftp, retriever=retriever, k=k, max_tokens=max_tokens,
                  temperature=temperature, seed=seed, timeout=timeout, parser=parser, imports=imports, errors=errors),
    )


@solver
def agent_sag(n: int = 8, temperature: float = 0.4, top_p: float = 0.8, vote: str = "logs",
              prompt: str | None = "student", **agent_args) -> Solver:
    """CodeAct agent with self-consistent action generation: N candidates per step, run from the same state, voted.

    Args:
      n: candidates per step (and samples of the stuck call, of which the first is kept).
      temperature: sampling temperature of the candidates.
      top_p: nucleus sampling of the candidates.
      vote: "logs" (the reference: majority over what candidates printed) or "answer" (observation / final answer).
      prompt: "student" (default: SAG is the students' test-time method), "teacher", or None (automatic).
      **agent_args: as for `agent`: max_steps, ftp, retriever, k, max_tokens, seed, parser, imports, errors.
    """
    owner = "solver agent_sag"
    n = check.number(owner, "n", n, integer=True, lo=1)
    temperature = check.number(owner, "temperature", temperature, lo=0)
    top_p = check.number(owner, "top_p", top_p, lo=0, hi=1, lo_open=True)
    vote = check.choice(owner, "vote", vote, ("logs", "answer"))
    chooser = SAGChooser(n=n, temperature=temperature, top_p=top_p, vote=vote)
    return _agent_solver(chooser, _settings(owner, ("n", "top_p", "vote"), prompt=prompt, **agent_args))


@solver
def agent_ftp(**agent_args) -> Solver:
    """The teacher agent with the first-thought prefix (`agent` with ftp=true); arguments as for `agent`."""
    agent_args.setdefault("ftp", True)
    return _agent_solver(GreedyChooser(), _settings("solver agent_ftp", **agent_args))
