"""Lexical retrieval: bm25s (Lucene BM25) with PyStemmer's English stemmer."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Sequence

import bm25s
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from .base import DEFAULT_K, Hit, Retriever, clean_query, topk_rows
from .cache import IndexCache
from .corpus import Corpus

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(STOPWORDS_EN)
BM25_PARAMS = {"k1": 1.5, "b": 0.75, "method": "lucene"}
# Queries longer than this many terms keep their first terms only.
MAX_QUERY_TERMS = 256


class Tokenizer:
    """lowercase -> \\w\\w+ words -> drop English stopwords -> Snowball stem (same for corpus and queries)."""

    def __init__(self) -> None:
        self._local = threading.local()  # a PyStemmer object must not be shared between threads

    def __call__(self, text: str) -> list[str]:
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        words = [w for w in TOKEN_PATTERN.findall(text.lower()) if w not in STOPWORDS]
        return stemmer.stemWords(words)

    def many(self, texts: Sequence[str]) -> list[list[str]]:
        return [self(t) for t in texts]


class BM25Retriever(Retriever):
    name = "bm25"

    def __init__(self, corpus: Corpus, cache_root: Path | None = None, use_cache: bool = True):
        self.corpus = corpus
        self.tokenizer = Tokenizer()
        self.build_seconds = 0.0
        self.loaded_from_cache = False
        self.cache = IndexCache(
            "bm25",
            {"corpus": corpus.fingerprint, "passages": len(corpus), "params": BM25_PARAMS,
             "tokenizer": "w2+/stop-en/snowball-en", "bm25s": bm25s.__version__},
            root=cache_root,
        )
        start = time.perf_counter()
        if use_cache:
            folder, built = self.cache.get_or_build(self._write_index)
            self.model = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
            self.loaded_from_cache = not built
        else:
            self.model = self._fit()
        self.build_seconds = time.perf_counter() - start
        self._vocab = self.model.vocab_dict

    def _fit(self) -> bm25s.BM25:
        tokens = self.tokenizer.many([p.contents for p in self.corpus])
        model = bm25s.BM25(k1=BM25_PARAMS["k1"], b=BM25_PARAMS["b"], method=BM25_PARAMS["method"])
        model.index(tokens, show_progress=False)
        return model

    def _write_index(self, folder: Path) -> None:
        model = self._fit()
        model.save(str(folder / "bm25"), show_progress=False)
        (folder / "info.json").write_text(json.dumps({"passages": len(self.corpus)}))

    def _term_ids(self, query: str) -> list[int]:
        terms = self.tokenizer(clean_query(query))[:MAX_QUERY_TERMS]
        return [self._vocab[t] for t in terms if t in self._vocab]

    def search_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        results = []
        for query in queries:
            ids = self._term_ids(query)
            if not ids:  # empty query, or no term of it occurs in the corpus
                results.append([])
                continue
            scores = self.model.get_scores_from_ids(ids)
            rows = topk_rows(scores, k, min_score=0.0)
            results.append([Hit(int(r), self.corpus[int(r)].id, self.corpus[int(r)].contents,
                                float(scores[r])) for r in rows])
        return results

    def describe(self) -> dict:
        return {"name": self.name, "corpus": self.corpus.name, "passages": len(self.corpus), **BM25_PARAMS}
