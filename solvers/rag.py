"""`rag`: the paper's RAG baseline: retrieve top-k for the question, put the passages before the
question, then the CoT prompt (B's `cot_messages(question, domain, passages=...)`), generate once.

The passages go in as the `web_search` text the agent would see (same headers), and are
recorded in `state.metadata["retrieved_passages"]` (rank, id, score, contents) so every RAG
answer can be read against what it was given. A retrieval failure does not lose the sample:
the error text takes the passages' place and is recorded as `retrieval_error`.
"""

from __future__ import annotations

from inspect_ai.solver import Generate, Solver, TaskState, solver

from agentdistill.core import stats
from agentdistill.solvers.cot import record_tokens
from agentdistill.solvers.retrieval import DEFAULT_K, asearch, format_results
from agentdistill.core import args as check
from agentdistill.solvers.retrieval.tool import check_spec, error_observation, resolve_spec
from agentdistill.tasks._core.prompts import COT_MAX_TOKENS, cot_messages

RETRIEVED_KEY = "retrieved_passages"


@solver
def rag(retriever: str | None = None, k: int = DEFAULT_K, max_tokens: int | None = None,
        temperature: float = 0.0) -> Solver:
    """RAG baseline.

    Args:
      retriever: retriever spec: bm25 (default, or $AGENTDISTILL_RETRIEVER), dense, wiki18:<dir>,
        http://127.0.0.1:PORT.
      k: passages retrieved for the question (the paper: 3).
      max_tokens: generation limit (default: the CoT baseline's, the paper's 4096).
      temperature: 0 is greedy (the paper's setting).
    """
    check_spec(retriever)
    k = check.number("solver rag", "k", k, integer=True, lo=1)
    if max_tokens is not None:
        max_tokens = check.number("solver rag", "max_tokens", max_tokens, integer=True, lo=1)
    temperature = check.number("solver rag", "temperature", temperature, lo=0)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        question = state.input_text
        domain = state.metadata.get("domain", "factual")
        try:
            hits = await asearch(question, k=k, spec=retriever)
            passages = format_results(hits)
            state.metadata[RETRIEVED_KEY] = [
                {"rank": rank, "id": hit.id, "score": hit.score, "contents": hit.contents}
                for rank, hit in enumerate(hits)
            ]
        except Exception as exc:  # noqa: BLE001 - answer without passages rather than lose the sample
            passages = error_observation(exc)
            state.metadata[RETRIEVED_KEY] = []
            state.metadata["retrieval_error"] = f"{type(exc).__name__}: {exc}"
        state.metadata["retriever"] = resolve_spec(retriever)
        stats.record(state, web_search_calls=1)
        state.messages = cot_messages(question, domain, passages=passages)
        state = await generate(state, max_tokens=max_tokens or COT_MAX_TOKENS, temperature=temperature)
        record_tokens(state, state.output)
        return state

    return solve
