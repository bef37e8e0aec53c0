"""Retrieval: the agent's `web_search` tool, the RAG baseline's passages, and their indexes.

    from agentdistill.solvers.retrieval import make_web_search
    web_search = make_web_search()          # spec: arg, else $AGENTDISTILL_RETRIEVER, else "bm25"
    text = await web_search("Milhouse Simpsons named after")

Backends share one interface (`Retriever.search(query, k) -> list[Hit]`): BM25 (bm25s) and
dense (transformers encoder + faiss) over the embedded corpus, the paper's wiki-18 e5 index
(`agentdistill prepare-wiki18`), or a retrieval server (`agentdistill retrieval-server`).
"""

from .base import DEFAULT_K, Hit, Retriever, format_results
from .tool import ENV_VAR, QUERY_CACHE, asearch, get_retriever, make_web_search, resolve_spec

__all__ = [
    "DEFAULT_K",
    "ENV_VAR",
    "Hit",
    "QUERY_CACHE",
    "Retriever",
    "asearch",
    "format_results",
    "get_retriever",
    "make_web_search",
    "resolve_spec",
]
