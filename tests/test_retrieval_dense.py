"""Dense retrieval: e5 prefixing, pooling, the faiss index cache, and the wiki-18 path on generated files."""

from __future__ import annotations

import json
import shutil

import faiss
import numpy as np
import pytest

from agentdistill.solvers.retrieval import wiki18
from wiki18_fixture import write_wiki18_format
from agentdistill.solvers.retrieval.base import format_results
from agentdistill.solvers.retrieval.corpus import Corpus, LineOffsetCorpus, Passage
from agentdistill.solvers.retrieval.dense import DenseRetriever, Encoder, default_encoder_path, is_e5

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")

PASSAGES = [
    '"Milhouse Van Houten"\nMilhouse is a fictional character in The Simpsons, named after Richard Nixon.',
    '"Mount Panorama Circuit"\nA motor racing track in Bathurst, New South Wales, 6.213 km long.',
    '"Photosynthesis"\nPlants convert light energy into chemical energy stored in glucose.',
    '"Eiffel Tower"\nA wrought-iron lattice tower on the Champ de Mars in Paris, France.',
    '"Jaws (film)"\nA 1975 American thriller film directed by Steven Spielberg.',
    '"Mitochondrion"\nThe powerhouse of the cell, producing ATP through respiration.',
]


def make_tiny_encoder(folder):
    """A small random BERT with the real MiniLM tokenizer, saved like a hub model folder."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    source = default_encoder_path()
    for name in TOKENIZER_FILES:
        shutil.copy(f"{source}/{name}", folder / name)
    return folder


@pytest.fixture(scope="module")
def tiny_e5(tmp_path_factory):
    return Encoder(str(make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny-e5-base-v2")), max_length=64)


@pytest.fixture(scope="module")
def tiny_plain(tiny_e5, tmp_path_factory):
    folder = tmp_path_factory.mktemp("enc") / "tiny-minilm"
    shutil.copytree(tiny_e5.name, folder)
    return Encoder(str(folder), max_length=64)


def test_e5_name_detection():
    assert is_e5("intfloat/e5-base-v2") and is_e5("/models/e5-large/") and is_e5("tiny-e5-base-v2")
    assert is_e5("multilingual-e5-small")
    assert not is_e5(default_encoder_path()) and not is_e5("sentence-transformers/all-MiniLM-L6-v2")
    assert not is_e5("bge-base-en-v1.5") and not is_e5("model-e50")


def test_e5_prefixes_queries_and_passages(tiny_e5, tiny_plain):
    assert tiny_e5.e5 and not tiny_plain.e5
    assert tiny_e5.prefixed(["who directed jaws"], "query") == ["query: who directed jaws"]
    assert tiny_e5.prefixed(["\"Jaws\"\ntext"], "passage") == ["passage: \"Jaws\"\ntext"]
    assert tiny_plain.prefixed(["who directed jaws"], "query") == ["who directed jaws"]
    # Same weights: the e5-named encoder's query embedding is the plain one's of the prefixed text.
    e5_query = tiny_e5.encode(["who directed jaws"], "query")
    assert np.allclose(e5_query, tiny_plain.encode(["query: who directed jaws"], "query"), atol=1e-5)
    assert not np.allclose(e5_query, tiny_plain.encode(["who directed jaws"], "query"), atol=1e-3)
    assert np.allclose(tiny_e5.encode(["x y"], "passage"), tiny_plain.encode(["passage: x y"], "passage"), atol=1e-5)


def test_mean_pooling_normalised_and_padding_invariant(tiny_plain):
    short = "jaws"
    batch = tiny_plain.encode([short, "a much longer sentence that forces padding of the short one"], "query")
    alone = tiny_plain.encode([short], "query")
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batch[0], alone[0], atol=1e-5)  # padding tokens are masked out of the mean


def test_dense_minilm_ranks_the_relevant_passage(tmp_path):
    corpus = Corpus.from_passages([Passage(str(i), c) for i, c in enumerate(PASSAGES)], name="six")
    retriever = DenseRetriever.over_corpus(corpus, cache_root=tmp_path)  # default: packaged MiniLM
    assert not retriever.encoder.e5 and retriever.encoder.dim == 384
    hits = retriever.search("Who directed the 1975 shark movie?", k=3)
    assert hits[0].id == "4" and len(hits) == 3
    assert 0 < hits[2].score <= hits[1].score <= hits[0].score <= 1.0001
    results = retriever.search_batch(["", "cell energy ATP"], k=2)
    assert results[0] == [] and results[1][0].id == "5"
    text = format_results(hits)
    assert text.startswith("\nRetrieved documents:\n\n===== Document 0, similarity: 0.")
    again = DenseRetriever.over_corpus(corpus, encoder=retriever.encoder, cache_root=tmp_path)
    assert again.loaded_from_cache and again.search("Who directed the 1975 shark movie?", k=3) == hits


def test_dense_cache_key_tracks_encoder_and_corpus(tmp_path, tiny_e5, tiny_plain):
    corpus = Corpus.from_passages([Passage(str(i), c) for i, c in enumerate(PASSAGES)])
    a = DenseRetriever.over_corpus(corpus, encoder=tiny_e5, cache_root=tmp_path)
    b = DenseRetriever.over_corpus(corpus, encoder=tiny_plain, cache_root=tmp_path)
    c = DenseRetriever.over_corpus(Corpus.from_passages([Passage("0", PASSAGES[0])]), encoder=tiny_e5,
                                   cache_root=tmp_path)
    assert len({a.cache.dir, b.cache.dir, c.cache.dir}) == 3
    index_file = a.cache.dir / "index.faiss"
    index_file.write_bytes(index_file.read_bytes()[:-16])  # truncated index
    rebuilt = DenseRetriever.over_corpus(corpus, encoder=tiny_e5, cache_root=tmp_path)
    assert not rebuilt.loaded_from_cache and rebuilt.index.ntotal == len(PASSAGES)


def test_dense_ties_ordered_by_row(tiny_plain):
    corpus = Corpus.from_passages([Passage(str(i), c) for i, c in enumerate([PASSAGES[0], PASSAGES[4], PASSAGES[4]])])
    retriever = DenseRetriever.over_corpus(corpus, encoder=tiny_plain, use_cache=False)
    hits = retriever.search(PASSAGES[4], k=3)
    assert [h.row for h in hits[:2]] == [1, 2] and hits[0].score == hits[1].score


# -- wiki-18 format ------------------------------------------------------------------------

@pytest.fixture
def wiki18_hub(tmp_path, tiny_e5):
    """A tiny corpus + e5 Flat index in the published file layout (what the hub serves)."""
    contents = PASSAGES * 5  # 30 passages
    vectors = tiny_e5.encode(contents, "passage")
    hub = tmp_path / "hub"
    write_wiki18_format(hub, contents, vectors, n_parts=2)
    return hub, contents, vectors


def fake_downloader(hub, calls):
    def download(repo_id, filename, local_dir):
        calls.append((repo_id, filename))
        target = local_dir / filename
        shutil.copy(hub / filename, target)
        return target

    return download


def test_generated_files_have_the_published_layout(wiki18_hub):
    hub, contents, _ = wiki18_hub
    assert sorted(p.name for p in hub.iterdir()) == ["part_aa", "part_ab", "wiki-18.jsonl.gz"]
    import gzip

    first = json.loads(gzip.open(hub / "wiki-18.jsonl.gz", "rt").readline())
    assert first == {"id": "0", "contents": contents[0]}


def test_prepare_and_open_wiki18(tmp_path, wiki18_hub, tiny_e5, monkeypatch):
    hub, contents, vectors = wiki18_hub
    calls: list = []
    folder = tmp_path / "wiki18"
    manifest = wiki18.prepare(folder, downloader=fake_downloader(hub, calls),
                              list_parts=lambda: ["part_aa", "part_ab"], hnsw_m=8)
    assert calls == [(wiki18.INDEX_REPO, "part_aa"), (wiki18.INDEX_REPO, "part_ab"),
                     (wiki18.CORPUS_REPO, "wiki-18.jsonl.gz")]
    assert not list(folder.glob("part_*"))  # concatenated, then removed
    assert manifest["corpus"]["lines"] == 30 and manifest["indexes"]["e5_Flat.index"]["ntotal"] == 30
    assert (folder / "e5_HNSW8.index").exists()

    flags = []
    real_read = faiss.read_index
    monkeypatch.setattr(faiss, "read_index", lambda path, f=0: flags.append(f) or real_read(path, f))
    retriever = wiki18.open_wiki18(folder, encoder=tiny_e5, index_name="e5_Flat.index", gpu=False)
    assert flags and all(f & faiss.IO_FLAG_MMAP_IFC for f in flags)  # memory-mapped
    assert isinstance(retriever.corpus, LineOffsetCorpus) and len(retriever.corpus) == 30
    assert retriever.corpus[7].contents == contents[7] and retriever.corpus[7].id == "7"

    query = "Who directed Jaws?"
    expected = (vectors @ tiny_e5.encode([query], "query")[0])
    hits = retriever.search(query, k=3)
    best = np.sort(expected)[::-1][:3]
    assert np.allclose([h.score for h in hits], best, atol=1e-4)
    # duplicated passages tie exactly: lower row first
    for a, b in zip(hits, hits[1:]):
        assert (a.score, -a.row) >= (b.score, -b.row)
    hnsw = wiki18.open_wiki18(folder, encoder=tiny_e5, index_name="e5_HNSW8.index", gpu=False)
    assert [round(h.score, 4) for h in hnsw.search(query, k=3)] == [round(h.score, 4) for h in hits]
    # prepared again: nothing downloaded
    wiki18.prepare(folder, downloader=fake_downloader(hub, calls), list_parts=lambda: ["part_aa", "part_ab"])
    assert len(calls) == 3


def test_prepare_from_local_parts_and_mismatch_detected(tmp_path, wiki18_hub):
    hub, _, vectors = wiki18_hub
    folder = tmp_path / "local"
    shutil.copytree(hub, folder)
    manifest = wiki18.prepare(folder, download=False, keep_parts=True)
    assert (folder / "part_aa").exists() and manifest["indexes"]["e5_Flat.index"]["d"] == vectors.shape[1]
    bad = tmp_path / "bad"
    write_wiki18_format(bad, PASSAGES, np.vstack([vectors[:5]]), n_parts=3)  # 6 lines, 5 vectors
    with pytest.raises(ValueError, match="5 vectors"):
        wiki18.prepare(bad, download=False)
    with pytest.raises(FileNotFoundError, match="prepare-wiki18"):
        wiki18.open_wiki18(tmp_path / "nothing")


def test_offsets_rebuilt_when_corpus_changes(tmp_path):
    path = tmp_path / "wiki-18.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "contents": f'"T{i}"\nx'}) + "\n" for i in range(3)))
    assert len(LineOffsetCorpus.open(path)) == 3
    with open(path, "ab") as f:
        f.write(b'{"id": "3", "contents": "\\"T3\\"\\ncaf\xe9"}\n')
    reopened = LineOffsetCorpus.open(path)
    assert len(reopened) == 4 and reopened[3].title == "T3" and "\ufffd" in reopened[3].text


def test_dense_huge_and_odd_queries(tiny_plain):
    corpus = Corpus.from_passages([Passage(str(i), c) for i, c in enumerate(PASSAGES)])
    retriever = DenseRetriever.over_corpus(corpus, encoder=tiny_plain, use_cache=False)
    assert len(retriever.search("word " * 200_000, k=3)) == 3  # cut to MAX_QUERY_CHARS, then to max_length tokens
    assert len(retriever.search("\x00\ufffd 🙂", k=2)) == 2
    assert retriever.search(" \n\t ", k=3) == []


def test_prepare_wiki18_command(tmp_path, wiki18_hub, monkeypatch, capsys):
    hub, _, _ = wiki18_hub
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert wiki18.main(["--dir", str(tmp_path / "x")]) == 2  # would need the network: refused with a reason
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err
    folder = tmp_path / "w"
    shutil.copytree(hub, folder)
    assert wiki18.main(["--dir", str(folder), "--no-download"]) == 0
    out = capsys.readouterr().out
    assert f"AGENTDISTILL_RETRIEVER=wiki18:{folder.resolve()}" in out
    assert json.loads((folder / "wiki18.json").read_text())["corpus"]["lines"] == 30
