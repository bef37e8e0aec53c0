"""`rag`: the paper's RAG baseline: retrieve top-k for the question, then the CoT prompt with the user turn
`documents + "\n" + question` (`cot_messages(question, domain, passages=...)`), generate once.

The documents are `Doc i(Title: t) text` lines (`rag_documents`, the goldens' format), and are recorded in
`state.metadata["retrieved_passages"]` (rank, id, score, contents) so every RAG answer can be read against what it
was given. A retrieval failure does not lose the sample: the model gets an empty documents string (the user turn
is then "\n" + question, as the reference sends for an empty entry) and the error is recorded as
`retrieval_error`. (The reference reads documents retrieved beforehand from a file, so it never meets a failure.)
"""

from __future__ import annotations

from inspect_ai.solver import Generate, Solver, TaskState, solver

from agentdistill.core import stats
from agentdistill.solvers.cot import record_tokens
from agentdistill.core import args as check
from agentdistill.solvers.retrieval import DEFAULT_K, asearch
from agentdistill.solvers.retrieval.tool import check_spec, resolve_spec
from agentdistill.tasks._core.prompts import COT_MAX_TOKENS, cot_messages, rag_documents

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
            documents = rag_documents([hit.contents for hit in hits])
            state.metadata[RETRIEVED_KEY] = [
                {"rank": rank, "id": hit.id, "score": hit.score, "contents": hit.contents}
                for rank, hit in enumerate(hits)
            ]
        except Exception as exc:  # noqa: BLE001 - answer without documents rather than lose the sample
            documents = ""
            state.metadata[RETRIEVED_KEY] = []
            state.metadata["retrieval_error"] = f"{type(exc).__name__}: {exc}"
        state.metadata["retriever"] = resolve_spec(retriever)
        stats.record(state, web_search_calls=1)
        state.messages = cot_messages(question, domain, passages=documents)
        state = await generate(state, max_tokens=max_tokens or COT_MAX_TOKENS, temperature=temperature)
        record_tokens(state, state.output)
        return state

    return solve
