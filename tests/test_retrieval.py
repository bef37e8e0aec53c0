"""Retrieval: result format, BM25 over the embedded corpus, web_search tool, index cache."""

from __future__ import annotations

import asyncio
import gzip
import json
import re

import numpy as np
import pytest

from agentdistill.solvers.retrieval import base, tool
from agentdistill.solvers.retrieval.base import Hit, format_results, topk_rows
from agentdistill.solvers.retrieval.bm25 import BM25Retriever
from agentdistill.solvers.retrieval.cache import IndexCache
from agentdistill.solvers.retrieval.corpus import (
    Corpus,
    Passage,
    embedded_corpus,
    embedded_corpus_path,
    sha256_file,
)


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("index-cache")


@pytest.fixture(scope="module")
def bm25_embedded(cache_root):
    return BM25Retriever(embedded_corpus(), cache_root=cache_root)


def small_corpus(n_extra: int = 0) -> Corpus:
    passages = [
        Passage("a", '"Milhouse Van Houten"\nMilhouse is a character in The Simpsons, named by Matt Groening after Richard Nixon, whose middle name was Milhous.'),
        Passage("b", '"Bathurst 12 Hour"\nThe 2013 Liqui Moly Bathurst 12 Hour was staged at the Mount Panorama Circuit, 6.213 km long.'),
        Passage("c", '"Mount Panorama Circuit"\nMount Panorama is a motor racing track in Bathurst, New South Wales.'),
        Passage("d", '"Twin one"\nidentical twin passage about zebras'),
        Passage("e", '"Twin one"\nidentical twin passage about zebras'),
    ]
    passages += [Passage(f"x{i}", f'"Filler {i}"\nfiller text number {i}') for i in range(n_extra)]
    return Corpus.from_passages(passages, name="small")


def test_embedded_corpus_matches_manifest():
    manifest = json.loads((embedded_corpus_path().parent / "MANIFEST.json").read_text())
    entry = manifest["offline_wiki_passages.jsonl.gz"]
    assert sha256_file(embedded_corpus_path()) == entry["sha256"]
    corpus = embedded_corpus()
    assert len(corpus) == entry["passages"] == 23871
    assert corpus.bad_utf8_lines == 0 and corpus.skipped_lines == 0
    first = corpus[0]
    assert first.contents.startswith('"') and "\n" in first.contents
    assert first.contents == f'"{first.title}"\n{first.text}'


def test_format_matches_reference_shape():
    hits = [Hit(4, "p4", '"Alpha"\nfirst text', 0.87654), Hit(9, "p9", '"Beta"\nsecond', 0.5)]
    assert format_results(hits) == (
        "\nRetrieved documents:"
        "\n\n===== Document 0, similarity: 0.88 =====\n\"Alpha\"\nfirst text"
        "\n\n===== Document 1, similarity: 0.50 =====\n\"Beta\"\nsecond"
    )
    assert format_results([]) == base.NO_RESULTS


def test_topk_ties_break_by_row():
    scores = np.array([1.0, 3.0, 2.0, 3.0, 3.0, 0.0], dtype=np.float32)
    assert topk_rows(scores, 2).tolist() == [1, 3]
    assert topk_rows(scores, 4).tolist() == [1, 3, 4, 2]
    assert topk_rows(scores, 10, min_score=0.0).tolist() == [1, 3, 4, 2, 0]
    assert topk_rows(np.zeros(4), 3, min_score=0.0).tolist() == []


def test_bm25_ranks_and_ties_deterministically(tmp_path):
    retriever = BM25Retriever(small_corpus(), cache_root=tmp_path)
    hits = retriever.search("Who was Milhouse named after by Matt Groening?", k=3)
    assert hits[0].id == "a"
    assert hits[0].score > 0
    twins = retriever.search("zebras twin", k=2)
    assert [h.id for h in twins] == ["d", "e"]  # equal scores: lower row first
    assert twins[0].score == twins[1].score
    assert retriever.search("", k=3) == []
    assert retriever.search("qwertyuiop zxcvbnm", k=3) == []  # no known term


def test_bm25_embedded_answers_a_hotpot_question(bm25_embedded):
    hits = bm25_embedded.search("Which emir ruled the Buyid dynasty from 949 to 983?", k=3)
    assert len(hits) == 3
    assert any("Adud al-Dawla" in h.contents for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    batch = bm25_embedded.search_batch(["Buyid dynasty emir", "Mount Panorama Circuit Bathurst"], k=3)
    assert batch[0] == bm25_embedded.search("Buyid dynasty emir", k=3)


def test_huge_query_is_bounded(bm25_embedded):
    huge = "Buyid dynasty emir " * 5000
    hits = bm25_embedded.search(huge, k=3)
    assert 1 <= len(hits) <= 3


def test_cache_reused_then_invalidated_by_corpus_or_params(tmp_path):
    first = BM25Retriever(small_corpus(), cache_root=tmp_path)
    assert not first.loaded_from_cache
    again = BM25Retriever(small_corpus(), cache_root=tmp_path)
    assert again.loaded_from_cache and again.cache.dir == first.cache.dir
    changed = BM25Retriever(small_corpus(n_extra=1), cache_root=tmp_path)
    assert not changed.loaded_from_cache and changed.cache.dir != first.cache.dir
    assert IndexCache("bm25", {"corpus": "x", "k1": 1.5}).key != IndexCache("bm25", {"corpus": "x", "k1": 1.2}).key
    assert len(changed.corpus) == 6 and changed.search("filler number 0", k=1)[0].id == "x0"


@pytest.mark.parametrize("damage", ["truncate", "flip", "drop_manifest", "bad_manifest"])
def test_corrupt_cache_is_detected_and_rebuilt(tmp_path, damage):
    built = BM25Retriever(small_corpus(), cache_root=tmp_path)
    folder = built.cache.dir
    data_files = sorted(p for p in folder.rglob("*.npy"))
    assert data_files
    if damage == "truncate":
        data = data_files[0].read_bytes()
        data_files[0].write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data = bytearray(data_files[-1].read_bytes())
        data[-1] ^= 0xFF
        data_files[-1].write_bytes(bytes(data))
    elif damage == "drop_manifest":
        (folder / "manifest.json").unlink()
    else:
        (folder / "manifest.json").write_text("{not json")
    assert built.cache.verify() is not None
    rebuilt = BM25Retriever(small_corpus(), cache_root=tmp_path)
    assert not rebuilt.loaded_from_cache
    assert rebuilt.cache.verify() is None
    assert rebuilt.search("Milhouse", k=1)[0].id == "a"


def test_partial_build_leaves_no_entry(tmp_path):
    cache = IndexCache("bm25", {"corpus": "partial"}, root=tmp_path)

    def crash(folder):
        (folder / "half.bin").write_bytes(b"123")
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        cache.build(crash)
    assert cache.load() is None
    assert list(tmp_path.iterdir()) == []


def test_non_utf8_line_is_decoded_not_fatal(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    good = json.dumps({"id": "1", "title": "Good", "text": "plain passage about llamas"}).encode()
    bad = b'{"id": "2", "contents": "\\"Bad\\"\\ncaf\xe9 latin-1 bytes about alpacas"}'
    broken = b"{this is not json"
    with gzip.open(path, "wb") as f:
        f.write(good + b"\n" + bad + b"\n" + broken + b"\n\n")
    corpus = Corpus.from_jsonl(path)
    assert len(corpus) == 2 and corpus.bad_utf8_lines == 1 and corpus.skipped_lines == 1
    assert corpus[1].title == "Bad" and "\ufffd" in corpus[1].text
    retriever = BM25Retriever(corpus, cache_root=tmp_path / "cache")
    assert retriever.search("alpacas", k=3)[0].id == "2"


def run(coro):
    return asyncio.run(coro)


def test_web_search_tool_text_and_cache(monkeypatch, cache_root, bm25_embedded):
    monkeypatch.delenv(tool.ENV_VAR, raising=False)
    monkeypatch.setitem(tool._RETRIEVERS, "bm25", bm25_embedded)
    tool.QUERY_CACHE.clear()
    web_search = tool.make_web_search()
    text = run(web_search("Buyid dynasty emir 949 983"))
    headers = re.findall(r"===== Document (\d), similarity: (\d+\.\d\d) =====\n\"", text)
    assert text.startswith("\nRetrieved documents:") and [h[0] for h in headers] == ["0", "1", "2"]
    assert run(web_search("Buyid dynasty emir 949 983")) == text
    assert tool.QUERY_CACHE.hits == 1 and tool.QUERY_CACHE.misses == 1
    assert run(web_search("   ")) == base.EMPTY_QUERY
    assert run(tool.make_web_search(k=1)("Buyid dynasty emir 949 983")).count("===== Document") == 1


def test_web_search_never_raises(monkeypatch):
    class Broken(base.Retriever):
        def search_batch(self, queries, k=3):
            raise OSError("index file vanished")

    monkeypatch.setitem(tool._RETRIEVERS, "broken-spec", Broken())
    monkeypatch.setattr(tool, "build_retriever", lambda spec: (_ for _ in ()).throw(ValueError(f"bad {spec}")))
    out = run(tool.make_web_search("broken-spec")("anything"))
    assert out.startswith("web_search failed: OSError: index file vanished")
    out = run(tool.make_web_search("nonsense-spec")("anything"))
    assert "web_search failed: ValueError" in out


def test_spec_from_env(monkeypatch):
    monkeypatch.setenv(tool.ENV_VAR, "dense")
    assert tool.resolve_spec() == "dense"
    assert tool.resolve_spec("bm25") == "bm25"
    monkeypatch.delenv(tool.ENV_VAR)
    assert tool.resolve_spec() == "bm25"
    with pytest.raises(ValueError):
        tool.build_retriever("elasticsearch")


def test_coverage_on_real_task_items(monkeypatch, capsys, bm25_embedded, tmp_path):
    from agentdistill.solvers.retrieval import coverage

    assert coverage.normalize("The  Richard-Nixon!") == "richardnixon"
    assert coverage.normalize("an Apple, a day") == "apple day"
    assert coverage.contains(" he met richard nixon there ", ["richard nixon"])
    assert not coverage.contains(" he met richard nixonian ", ["richard nixon"])  # whole words only
    monkeypatch.delenv(tool.ENV_VAR, raising=False)
    monkeypatch.setitem(tool._RETRIEVERS, "bm25", bm25_embedded)
    out_json = tmp_path / "cov.json"
    assert coverage.main(["--tasks", "bamboogle", "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "| bamboogle | 125 | 1 | 124 |" in table
    data = json.loads(out_json.read_text())["tasks"][0]
    assert data["items"] == 125 and len(data["per_item"]) == 125
    assert 0 < data["recall_at_k"] <= data["in_corpus"] < 124
    # every top-k hit must also be a hit in the whole corpus
    assert all(item["in_corpus"] for item in data["per_item"] if item.get("recall"))


def test_cli_lists_retrieval_commands(capsys):
    from agentdistill.cli import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("prepare-wiki18", "retrieval-server", "coverage"):
        assert command in out


def test_concurrent_searches_from_threads_agree(bm25_embedded):
    from concurrent.futures import ThreadPoolExecutor

    queries = [f"Buyid dynasty emir {i}" for i in range(40)] + ["Mount Panorama Bathurst circuit"] * 40
    expected = [bm25_embedded.search(q, 3) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda q: bm25_embedded.search(q, 3), queries)) == expected
