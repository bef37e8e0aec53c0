"""The `rag` solver end to end with the scripted model: passages before the question, recorded in metadata."""

from __future__ import annotations

import pytest
from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.model import get_model

from agentdistill.solvers.retrieval import tool
from agentdistill.solvers.retrieval.bm25 import BM25Retriever
from agentdistill.solvers.retrieval.corpus import Corpus, Passage

pytest.importorskip("agentdistill.solvers.cot", reason="the cot solver module is missing")

from agentdistill.solvers.rag import RETRIEVED_KEY, rag  # noqa: E402

SPEC = "test-rag-small"


@pytest.fixture
def small_retriever(monkeypatch, tmp_path):
    corpus = Corpus.from_passages([
        Passage("m", '"Milhouse Van Houten"\nMatt Groening named Milhouse after Richard Nixon, whose middle name was Milhous.'),
        Passage("b", '"Mount Panorama Circuit"\nThe Bathurst 12 Hour is staged on the 6.213 km Mount Panorama Circuit.'),
        Passage("e", '"Eiffel Tower"\nA wrought-iron tower in Paris.'),
    ])
    monkeypatch.setitem(tool._RETRIEVERS, SPEC, BM25Retriever(corpus, cache_root=tmp_path))
    tool.QUERY_CACHE.clear()


def run_rag(samples, script, log_dir, **solver_args):
    model = get_model("scripted/rag", script=script)
    task = Task(dataset=samples, solver=rag(**solver_args))
    [log] = inspect_eval(task, model=model, log_dir=str(log_dir), display="none")
    assert log.status == "success", log.error
    return log


def test_rag_puts_passages_before_the_question(small_retriever, log_dir):
    script = {"rules": [{"match": r'^Doc 1\(Title: "Milhouse Van Houten"\) Matt Groening.*\n\nWho was Milhouse named after\?$',
                         "reply": "Milhouse was named after Nixon. <answer>Richard Nixon</answer>"}],
              "default": "<answer>unknown</answer>"}
    samples = [Sample(id="q1", input="Who was Milhouse named after?", target="Richard Nixon",
                      metadata={"task": "hotpotqa", "domain": "factual"})]
    log = run_rag(samples, script, log_dir, retriever=SPEC, k=2)
    sample = log.samples[0]
    assert "<answer>Richard Nixon</answer>" in sample.output.completion
    retrieved = sample.metadata[RETRIEVED_KEY]
    assert retrieved[0]["id"] == "m" and [p["rank"] for p in retrieved] == list(range(len(retrieved)))
    assert 1 <= len(retrieved) <= 2
    assert retrieved[0]["contents"].startswith('"Milhouse Van Houten"\n')
    [user] = [m.text for m in sample.messages if m.role == "user"]
    # the reference's RAG user turn: documents ("Doc i(Title: t) text" lines), "\n", the question
    documents = "".join(f'Doc {i}(Title: {p["contents"].partition(chr(10))[0]}) {p["contents"].partition(chr(10))[2]}\n'
                        for i, p in enumerate(retrieved, start=1))
    assert user == documents + "\n" + "Who was Milhouse named after?"
    assert sample.metadata["retriever"] == SPEC
    assert sample.metadata["agentdistill_stats"]["web_search_calls"] == 1


def test_rag_survives_a_retrieval_failure(monkeypatch, log_dir):
    class Down(tool.Retriever):
        def search_batch(self, queries, k=3):
            raise ConnectionError("index server unreachable")

    monkeypatch.setitem(tool._RETRIEVERS, "down", Down())
    samples = [Sample(id="q2", input="Where is the Eiffel Tower?", target="Paris",
                      metadata={"task": "hotpotqa", "domain": "factual"})]
    log = run_rag(samples, ["<answer>Paris</answer>"], log_dir, retriever="down")
    sample = log.samples[0]
    assert sample.metadata[RETRIEVED_KEY] == []
    assert "ConnectionError" in sample.metadata["retrieval_error"]
    assert [m.text for m in sample.messages if m.role == "user"] == ["\nWhere is the Eiffel Tower?"]  # no documents
    assert sample.output.completion == "<answer>Paris</answer>"
