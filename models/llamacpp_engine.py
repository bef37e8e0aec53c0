"""`-M engine=llamacpp`: the kv engine's scheduler over llama.cpp (CPU, opt-in).

Scheduling is `engine.KVEngine`'s (requests join and leave the running batch between decode
steps, one prefill per request for all its `num_choices`, every choice sampling from its own
seeded generator, stop sequences, prefill continuation, token usage, the prefix cache of recent
prompts); this class replaces only what runs the model: llama.cpp's batched `llama_decode`
over one unified KV cache, through llama-cpp-python's low-level bindings.

- Each row is a llama.cpp sequence. A request's prompt is decoded once into its first row's
  sequence and shared with its other choices by `llama_memory_seq_cp`, which makes the same KV
  cells belong to several sequences: no copy and no second prefill.
- A prompt that starts like a recent one (an agent's next step) gets the common prefix's cells
  the same way from a kept sequence and decodes only the rest.
- Flash attention skips the cells a row may not see, so rows of unrelated requests sharing the
  cache do not pay for each other's context.
- Sampling stays in Python on llama.cpp's float32 logits (the same `_choose` as the kv engine).

The model runs as Q8_0 GGUF (`gguf_export.py`, converted once and cached; adapters merged
first). What it is for (tests/benchmarks/model_results.md run 7: one thread, SmolLM2-135M, 128
new tokens, tokens/s relative to plain transformers float32 `generate`):

    engine                        1 request   8 concurrent   num_choices=8 (500-token prompt)
    llamacpp (this, Q8_0)           5.02x        1.76x           3.20x
    kv (the default, int8, lean)    2.84x        3.10x           5.46x
    CTranslate2 4.8.5 int8          2.71x        2.79x           1.84x

A lone row decodes 1.8x faster than on the kv engine; batched rows are no faster, because
llama.cpp's matrix products for 2-16 rows are slow per row on this CPU (a step of 8 rows costs
~4 of one). CTranslate2 batches well but cannot take requests into a running batch, seeds one
generator per call and needs a conversion per adapter.

Why it is not the default: its CPU attention is slow at agent lengths. A step of 8 rows over a
2,000-token prompt took ~170 ms (probe, under load), as much as 8 tokens of one 2,600-token
sequence (so the shared cache is not the cause), and `inspect eval tasks/hotpotqa --solver
agent_sag --limit 1` had not finished after 14 minutes (stopped) where the kv engine's run took
7.4 minutes.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agentdistill.models.engine import _MIN_REUSE, KVEngine, _PrefixCache, _Row

logger = logging.getLogger(__name__)

# Sequences kept for the prefix cache, beyond the running rows.
_PREFIX_SEQS = 16
# Tokens per llama_decode call while prefilling a prompt.
_PREFILL_CHUNK = 512
# Room left for the running rows' next tokens when admitting a request (KV cells per row).
_ROW_HEADROOM = 256

_LOG_LOCK = threading.Lock()
_LOG_CALLBACK: Any = None  # kept alive: llama.cpp calls it from C


def _quiet_llama_logs(llama_cpp: Any) -> None:
    """llama.cpp logs every tensor at load; pass only its errors to Python logging."""
    global _LOG_CALLBACK
    with _LOG_LOCK:
        if _LOG_CALLBACK is not None:
            return

        def forward(level: int, text: bytes, _user: Any) -> None:
            if level == 4:  # GGML_LOG_LEVEL_ERROR (5 continues any line, mostly progress dots)
                logger.error("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

        _LOG_CALLBACK = llama_cpp.llama_log_callback(forward)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()


class KVCacheFull(RuntimeError):
    pass


class _Llama:
    """A llama.cpp model, one context (unified KV cache of `cells` cells) and one batch."""

    def __init__(self, path: Path, threads: int, cells: int, sequences: int):
        import llama_cpp

        _quiet_llama_logs(llama_cpp)
        self.c = llama_cpp
        params = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path} (not a valid GGUF file; an exported one may be deleted: it is exported again)")
        ctx = llama_cpp.llama_context_default_params()
        ctx.n_ctx = int(cells)
        ctx.n_batch = ctx.n_ubatch = _PREFILL_CHUNK
        ctx.n_seq_max = int(sequences)
        ctx.n_threads = ctx.n_threads_batch = int(threads)
        ctx.kv_unified = True  # one cell pool: choices share their prompt's cells
        ctx.flash_attn_type = 1  # enabled: masked-out cells are skipped
        ctx.no_perf = True
        self.ctx = llama_cpp.llama_init_from_model(self.model, ctx)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            raise RuntimeError(f"llama.cpp could not create a context ({cells} KV cells, {sequences} sequences)")
        self.sequences = int(sequences)
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(self.model))
        self.batch = llama_cpp.llama_batch_init(_PREFILL_CHUNK, 0, 1)

    def decode(self, tokens: list[int], positions: list[int], seqs: list[int], logits: list[bool]) -> int:
        """Add the tokens to their sequences; 0 on success, 1 when the KV cache has no room."""
        n = len(tokens)
        if not 0 < n <= _PREFILL_CHUNK:  # the batch holds _PREFILL_CHUNK tokens: never write past it
            raise ValueError(f"llama.cpp batch of {n} tokens (1 to {_PREFILL_CHUNK})")
        b = self.batch
        b.n_tokens = n
        # the arrays are named: a temporary's buffer could be freed before memmove reads it
        token_array = np.asarray(tokens, dtype=np.int32)
        pos_array = np.asarray(positions, dtype=np.int32)
        count_array = np.ones(n, dtype=np.int32)
        logit_array = np.asarray(logits, dtype=np.int8)
        ctypes.memmove(b.token, token_array.ctypes.data, 4 * n)
        ctypes.memmove(b.pos, pos_array.ctypes.data, 4 * n)
        ctypes.memmove(b.n_seq_id, count_array.ctypes.data, 4 * n)
        ctypes.memmove(b.logits, logit_array.ctypes.data, n)
        for i, seq in enumerate(seqs):
            b.seq_id[i][0] = seq
        status = self.c.llama_decode(self.ctx, b)
        if status not in (0, 1):
            raise RuntimeError(f"llama_decode failed with status {status}")
        return status

    def logits(self, rows: int) -> torch.Tensor:
        """The logits of the last decode's outputs, in batch order."""
        pointer = self.c.llama_get_logits(self.ctx)
        return torch.from_numpy(np.ctypeslib.as_array(pointer, shape=(rows, self.vocab)).copy())

    def copy(self, source: int, dest: int, end: int = -1) -> None:
        """Let `dest` share `source`'s cells for positions [0, end) (all when end < 0)."""
        self.c.llama_memory_seq_cp(self.memory, source, dest, 0 if end >= 0 else -1, end)

    def remove(self, seq: int) -> None:
        self.c.llama_memory_seq_rm(self.memory, seq, -1, -1)

    def close(self) -> None:
        self.c.llama_batch_free(self.batch)
        self.c.llama_free(self.ctx)
        self.c.llama_model_free(self.model)


class LlamaCppEngine(KVEngine):
    """One per loaded model: the kv engine's worker thread, decoding with llama.cpp."""

    def __init__(
        self,
        gguf: Path,
        tokenizer: Any,
        source: Any,
        eos: Any,
        max_positions: int,
        max_batch_rows: int,
        batch_wait_ms: float,
        prefix_cache_tokens: int,
        threads: int,
        kv_cells: int,
    ):
        import llama_cpp

        self.device = "cpu"
        self.model = None
        self.gguf = gguf
        self.kv_cells = int(kv_cells)
        sequences = min(int(llama_cpp.llama_max_parallel_sequences()), max(1, int(max_batch_rows)) + _PREFIX_SEQS)
        self.llama = _Llama(gguf, threads, self.kv_cells, sequences)
        self.free_seqs: collections.deque[int] = collections.deque(range(sequences))
        self.prefixes = _PrefixCache(prefix_cache_tokens, on_drop=self._release)
        self._start_scheduler(tokenizer, source, eos, min(max_positions, self.kv_cells), max_batch_rows, batch_wait_ms, "llamacpp")

    # --- sequences ---------------------------------------------------------------------------

    def _take(self) -> int:
        while not self.free_seqs and self.prefixes.drop_oldest():
            pass
        if not self.free_seqs:
            raise RuntimeError(f"llama.cpp engine: no free sequence (more than {self.max_batch_rows} rows: -M max_batch_rows)")
        return self.free_seqs.popleft()

    def _release(self, seq: int) -> None:
        self.llama.remove(seq)
        self.free_seqs.append(seq)

    def _cells_in_use(self) -> int:
        """An upper bound of the KV cells held: prompts, generated tokens, kept prefixes."""
        pendings = {id(row.pending): row.pending for row in self.rows}.values()
        return sum(len(p.prompt_ids) for p in pendings) + sum(len(row.generated) for row in self.rows) + self.prefixes.tokens()

    # --- the backend hooks of KVEngine --------------------------------------------------------

    def _fits(self, request: Any, n: int) -> bool:
        need = len(self._prompt_ids(request)) + n * _ROW_HEADROOM + len(self.rows) * _ROW_HEADROOM
        while self._cells_in_use() + need > self.kv_cells and self.prefixes.drop_oldest():
            pass
        return self._cells_in_use() + need <= self.kv_cells

    def _prefill_prompt(self, ids: list[int], rows: list[_Row]) -> tuple[torch.Tensor, list[int]]:
        seqs: list[int] = []
        try:
            for row in rows:
                row.seq = self._take()
                seqs.append(row.seq)
            first = seqs[0]
            common, cached = self.prefixes.longest(np.asarray(ids, dtype=np.int64))
            reuse = min(common, len(ids) - 1)
            if cached is None or reuse < _MIN_REUSE:
                reuse = 0
            else:
                self.llama.copy(cached, first, reuse)
            for start in range(reuse, len(ids), _PREFILL_CHUNK):
                chunk = ids[start : start + _PREFILL_CHUNK]
                last = start + len(chunk) == len(ids)
                self._decode(chunk, list(range(start, start + len(chunk))), [first] * len(chunk), [last and i == len(chunk) - 1 for i in range(len(chunk))])
            logits = self.llama.logits(1)
            for seq in seqs[1:]:
                self.llama.copy(first, seq)
        except BaseException:
            for row in rows:
                if row.seq >= 0:
                    self._release(row.seq)
                    row.seq = -1
            raise
        self.stats["prefills"] += 1
        self.stats["shared_prompt_rows"] += len(seqs) if len(seqs) > 1 else 0  # seq_cp: the same cells
        self.stats["prefill_tokens"] += len(ids) - reuse
        self.stats["reused_tokens"] += reuse
        if self.prefixes.max_tokens > 0 and len(ids) <= self.prefixes.max_tokens and (self.free_seqs or self.prefixes.entries):
            kept = self._take()
            self.llama.copy(first, kept)  # the prompt only: nothing is generated yet
            if not self.prefixes.add(np.asarray(ids, dtype=np.int64), kept):
                self._release(kept)
        return logits, seqs

    def _merge(self, joining: list[tuple[list[_Row], Any, list[int]]]) -> None:
        for rows, _, first in joining:  # their cells are in the shared cache already
            self.rows.extend(rows)
            self.next_tokens.extend(first)
        for row in self.rows:
            row.pending.batch_rows = max(row.pending.batch_rows, len(self.rows))

    def _decode_step(self) -> torch.Tensor:
        rows = self.rows
        self._decode(self.next_tokens, [row.position for row in rows], [row.seq for row in rows], [True] * len(rows))
        return self.llama.logits(len(rows))

    def _decode(self, tokens: list[int], positions: list[int], seqs: list[int], logits: list[bool]) -> None:
        while self.llama.decode(tokens, positions, seqs, logits) == 1:
            if not self.prefixes.drop_oldest():  # nothing left to free
                raise KVCacheFull(
                    f"llama.cpp engine: the KV cache is full ({self.kv_cells} cells held by {len(self.rows)} running rows); "
                    "raise -M kv_cells or lower -M max_batch_rows / max_connections"
                )

    def _select(self, keep: list[int]) -> None:
        self.rows = [self.rows[i] for i in keep]  # ended rows released their sequences in _finish

    def _reset(self) -> None:
        for row in self.rows:
            if row.seq >= 0:
                self._release(row.seq)
                row.seq = -1
        self.rows, self.next_tokens = [], []

    def _finish(self, row: _Row, why: str) -> None:
        if row.seq >= 0:
            self._release(row.seq)
            row.seq = -1
        super()._finish(row, why)
