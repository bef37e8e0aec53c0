"""The default engine behind `agentdistill/<model>`: KV-cached continuous batching on transformers.
Its scheduler also drives the llama.cpp engine (`llamacpp_engine.py`, `-M engine=llamacpp`),
which replaces only the backend hooks (`_prefill_prompt`, `_merge`, `_decode_step`, `_select`,
`_reset`, `_fits`).

How it generates:
- every sequence keeps its KV cache for its whole generation (no prompt is ever read twice);
- one worker thread per loaded model runs decode steps over all running sequences at once;
  new requests join between two steps (their prompt is prefilled alone, then its KV cache is
  merged into the running batch, left-padded) and finished sequences leave at once;
- a request's prompt is prefilled once and its KV cache kept once for its `num_choices` rows
  (decode steps attend to it once per request: prefix_attention.py);
- every row samples with its own `torch.Generator`, seeded from the request's seed and the
  choice index, so a sampled output does not depend on which requests shared the batch (up to
  floating-point differences of batched matrix products, as in any batched engine);
- stop sequences, `max_tokens`, end of turn and the model's context length end each row on its
  own; rows of different sampling settings share a batch;
- the KV caches of recent prompts are kept (16384 tokens, `-M prefix_cache`): a prompt that
  starts like one of them (an agent's next step repeats its previous prompt) prefills only the
  rest.

On CPU the linear layers (lm_head included) run with int8 weights and int8 activations quantised
per row, on fbgemm's int8 kernels (int8_linear.py): a row's result depends on that row only, and
the products are 2-3x faster than fp16 weights with float32 products (`-M quantize=fp16`, the
default before; closer to float32). `-M quantize=none` keeps float32.

Measured beside llama.cpp and CTranslate2: `llamacpp_engine.py` and tests/benchmarks/model_results.md.
On transformers the engine controls every step and runs any causal LM transformers loads (on a
GPU: bfloat16, no quantisation); a LoRA adapter is merged and quantised in memory in seconds.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import concurrent.futures
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers.cache_utils import Cache, DynamicLayer

from agentdistill.models.int8_linear import quantize_int8
from agentdistill.models.lean_decode import LeanDecoder
from agentdistill.models.prefix_attention import PrefixGroup, install

# Spare room allocated past the current length when a KV buffer grows (tokens).
_GROW_MARGIN = 256
# A cached prompt prefix is reused from this many common tokens on (shorter: prefill afresh).
_MIN_REUSE = 32
# Nucleus sampling first looks at this many most probable tokens; it sorts the whole
# vocabulary only when they do not cover top_p (exact either way).
_NUCLEUS_CANDIDATES = 256


class _GrowingLayer(DynamicLayer):
    """A layer's KV cache in a buffer with spare capacity: appending a token writes in place
    instead of concatenating (DynamicLayer copies the whole cache at every step)."""

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        shape = (*key_states.shape[:2], 0, key_states.shape[3])
        self.k_buf = key_states.new_empty(shape)
        self.v_buf = value_states.new_empty(shape)
        self.length = 0

    def _set_buffers(self, k_buf: torch.Tensor, v_buf: torch.Tensor, length: int) -> None:
        self.k_buf, self.v_buf, self.length = k_buf, v_buf, length
        self.keys = k_buf[:, :, :length]
        self.values = v_buf[:, :, :length]
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        new = self.length + key_states.shape[-2]
        if new > self.k_buf.shape[2]:
            capacity = new + _GROW_MARGIN
            k_buf = self.k_buf.new_empty((*self.k_buf.shape[:2], capacity, self.k_buf.shape[3]))
            v_buf = self.v_buf.new_empty(k_buf.shape)
            k_buf[:, :, : self.length] = self.k_buf[:, :, : self.length]
            v_buf[:, :, : self.length] = self.v_buf[:, :, : self.length]
            self.k_buf, self.v_buf = k_buf, v_buf
        self.k_buf[:, :, self.length : new] = key_states
        self.v_buf[:, :, self.length : new] = value_states
        self._set_buffers(self.k_buf, self.v_buf, new)
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length if self.is_initialized else 0


def _new_cache() -> Cache:
    return Cache(layer_class_to_replicate=_GrowingLayer)


class _PrefixCache:
    """The KV caches (one row each) of recently prefilled prompts, up to `max_tokens` tokens in
    all (least recently used dropped first). An agent's next step repeats its previous prompt
    and adds the chosen action and its observation: only the new part is prefilled. KV entries
    depend only on the tokens before them, so a common prefix of any cached prompt can serve."""

    def __init__(self, max_tokens: int, on_drop: Any = None):
        self.max_tokens = max_tokens
        self.entries: collections.OrderedDict[int, tuple[np.ndarray, Any]] = collections.OrderedDict()
        self.next_key = 0
        self.on_drop = on_drop  # called with an entry's KV state when it is dropped

    def longest(self, ids: np.ndarray) -> tuple[int, list[tuple[torch.Tensor, torch.Tensor]] | None]:
        best, found = 0, None
        for key, (cached, _) in self.entries.items():
            m = min(len(cached), len(ids))
            differ = np.flatnonzero(cached[:m] != ids[:m])
            common = int(differ[0]) if differ.size else m
            if common > best:
                best, found = common, key
        if found is None:
            return 0, None
        self.entries.move_to_end(found)
        return best, self.entries[found][1]

    def add(self, ids: np.ndarray, layers: Any) -> bool:
        """Keep `layers` (the KV state of `ids`); False when it was not kept."""
        if self.max_tokens <= 0 or len(ids) > self.max_tokens:
            return False
        for key, (cached, _) in self.entries.items():
            if len(cached) == len(ids) and np.array_equal(cached, ids):  # the same prompt again
                self.entries.move_to_end(key)
                return False
        self.entries[self.next_key] = (ids, layers)
        self.next_key += 1
        total = sum(len(cached) for cached, _ in self.entries.values())
        while total > self.max_tokens:
            total -= self.drop_oldest()
        return True

    def drop_oldest(self) -> int:
        """Drop the least recently used entry; its length in tokens (0 when empty)."""
        if not self.entries:
            return 0
        _, (cached, layers) = self.entries.popitem(last=False)
        if self.on_drop is not None:
            self.on_drop(layers)
        return len(cached)

    def tokens(self) -> int:
        return sum(len(cached) for cached, _ in self.entries.values())


@dataclass
class RowResult:
    text: str
    output_tokens: int
    stop_reason: str


@dataclass
class Result:
    rows: list[RowResult]
    input_tokens: int
    batch_rows: int
    seconds: float


@dataclass
class _Pending:
    """A request's bookkeeping between submit and completion."""

    prompt_ids: list[int]
    results: list[RowResult | None]
    rows_left: int
    started: float
    batch_rows: int = 0
    tail: int = 0  # tokens re-decoded to look for a stop string


@dataclass
class _Row:
    """One choice of a request while it is generated."""

    request: Any  # hf_model._Request: prompt, n, max_new_tokens, stop_seqs, sampling, seed, future
    pending: _Pending
    index: int
    generator: torch.Generator | None
    generated: list[int] = field(default_factory=list)
    position: int = 0  # position of the next token fed to the model
    seq: int = -1  # the llama.cpp engine's sequence id (its KV cells), -1 when none


class KVEngine:
    """One per loaded model: a worker thread decoding all running rows together."""

    def __init__(
        self, model: Any, tokenizer: Any, source: Any, device: str, max_batch_rows: int, batch_wait_ms: float, prefix_cache_tokens: int = 16384
    ):
        self.device = device
        self.model = model
        self.prefixes = _PrefixCache(prefix_cache_tokens)
        self.cache: Cache | None = None
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=device)
        # rows of one request keep its prompt's KV cache once (prefix_attention.py), not a copy each
        self.shares_prompts = install(model)
        self.groups: list[PrefixGroup] = []
        # decode steps of Llama-family float32 models skip transformers' module overhead (lean_decode.py)
        self.lean = LeanDecoder(model) if LeanDecoder.supports(model) else None
        eos = model.generation_config.eos_token_id
        max_positions = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        self._start_scheduler(tokenizer, source, eos, max_positions, max_batch_rows, batch_wait_ms, "kv")

    def _start_scheduler(self, tokenizer: Any, source: Any, eos: Any, max_positions: int, max_batch_rows: int, batch_wait_ms: float, kind: str) -> None:
        """The request queue, the running rows and the worker thread (any backend's)."""
        self.source = source
        self.tokenizer = tokenizer
        self.max_batch_rows = max(1, int(max_batch_rows))
        self.batch_wait = batch_wait_ms / 1000.0
        ends = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        ends |= {tokenizer.eos_token_id, tokenizer.pad_token_id}
        self.end_ids = frozenset(i for i in ends if i is not None)
        self.max_positions = max_positions
        self.stats = {"batches": 0, "rows": 0, "requests": 0, "prefills": 0, "prefill_tokens": 0, "reused_tokens": 0,
                      "shared_prompt_rows": 0}  # rows reading their request's prompt KV with other rows, not a copy
        self.queue: queue.Queue[Any] = queue.Queue()
        self.forget_requested = False  # set by forget_prefixes(); the worker thread empties the prefix cache
        self.waiting: collections.deque[Any] = collections.deque()
        self.rows: list[_Row] = []  # the running batch
        self.next_tokens: list[int] = []
        self.thread = threading.Thread(target=self._work, name=f"agentdistill-{kind}-{Path(str(source.base)).name}", daemon=True)
        self.thread.start()

    # --- caller side -------------------------------------------------------------------------

    async def submit(self, request: Any) -> Result:
        self.queue.put(request)
        return await wait_for(request.future)

    # --- worker side -------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            self._collect(block=not self.rows)
            self._admit()
            if not self.rows:
                continue
            try:
                self._step()
            except BaseException as ex:  # noqa: BLE001: handed to every caller in the batch
                for request in {id(r.request): r.request for r in self.rows}.values():
                    if not request.future.done():
                        request.future.set_exception(ex)
                self._reset()

    def _collect(self, block: bool) -> None:
        # requests issued together (parallel samples) are prefilled before the first step
        collect(self.queue, self.waiting, self.batch_wait, block=block and not self.waiting)

    def _admit(self) -> None:
        """Prefill waiting requests that fit (first come, first served) and merge their rows."""
        joining: list[tuple[list[_Row], Cache, list[int]]] = []
        room = self.max_batch_rows - len(self.rows)
        while self.waiting:
            request = self.waiting[0]
            n = max(1, int(request.n))
            if (n > room or not self._fits(request, n)) and (self.rows or joining):  # an oversized request runs when the batch is empty
                break
            self.waiting.popleft()
            try:
                prefilled = self._prefill(request, n)
            except BaseException as ex:  # noqa: BLE001: this request only
                if not request.future.done():
                    request.future.set_exception(ex)
                continue
            if prefilled is not None:
                joining.append(prefilled)
                room -= len(prefilled[0])
        if joining:
            try:
                self._merge(joining)
            except BaseException as ex:  # noqa: BLE001: the joining requests fail, the batch goes on
                for rows, _, _ in joining:
                    if not rows[0].request.future.done():
                        rows[0].request.future.set_exception(ex)

    def _fits(self, request: Any, n: int) -> bool:
        """Whether the backend has room for another request now (the KV buffers here grow)."""
        return True

    def _prompt_ids(self, request: Any) -> list[int]:
        if not request.prompt_ids:  # tokenized once (the admission check may need it first)
            request.prompt_ids = self.tokenizer(request.prompt, add_special_tokens=False)["input_ids"]
        return request.prompt_ids

    def forget_prefixes(self) -> None:
        """Drop the cached prompt prefixes before the next prefill (from any thread: the worker
        thread does it). Reusing a prefix prefills the rest in another chunking, which changes float
        sums: runs that must not depend on what ran before them (CI's regression, task by task)
        start from an empty cache."""
        self.forget_requested = True

    def _prefill(self, request: Any, n: int) -> tuple[list[_Row], Any, list[int]] | None:
        if self.forget_requested:
            self.forget_requested = False
            while self.prefixes.drop_oldest():
                pass
        ids = self._prompt_ids(request)
        stops = tuple(request.stop_seqs)
        pending = _Pending(ids, [None] * n, n, time.monotonic(), tail=max((len(s) for s in stops), default=0) + 2)
        if len(ids) >= self.max_positions or not ids:
            for index in range(n):
                self._finish(_Row(request, pending, index, None), "model_length")
            return None
        do_sample = request.sampling[0]
        rows = [_Row(request, pending, i, _row_generator(request.seed, i) if do_sample else None, position=len(ids)) for i in range(n)]
        logits, state = self._prefill_prompt(ids, rows)
        first = self._choose(logits.expand(n, -1), rows)
        kept, kept_first = [], []
        for row, token in zip(rows, first):
            if not self._advance(row, token):
                kept.append(row)
                kept_first.append(token)
        if not kept:
            return None
        return kept, state, kept_first

    def _prefill_prompt(self, ids: list[int], rows: list[_Row]) -> tuple[torch.Tensor, Cache]:
        """Run the prompt (its cached prefix reused): the last position's logits (one row) and
        the prompt's one-row KV cache."""
        cache, reuse = self._reused_prefix(np.asarray(ids, dtype=np.int64))
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([ids[reuse:]], device=self.device),
                position_ids=torch.arange(reuse, len(ids), device=self.device)[None],
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        self.stats["prefills"] += 1
        self.stats["prefill_tokens"] += len(ids) - reuse
        self.stats["reused_tokens"] += reuse
        # views of the prefill's buffers: the merge copies them and nothing writes them again
        self.prefixes.add(np.asarray(ids, dtype=np.int64), [(layer.k_buf[:, :, : len(ids)], layer.v_buf[:, :, : len(ids)]) for layer in cache.layers])
        return out.logits[:, -1].float().cpu(), cache

    def _reused_prefix(self, ids: np.ndarray) -> tuple[Cache, int]:
        """A fresh one-row cache holding the longest cached prefix of `ids` (at most all but the
        last token, whose logits the prefill must compute), and that prefix's length."""
        cache = _new_cache()
        common, layers = self.prefixes.longest(ids)
        reuse = min(common, len(ids) - 1)
        if layers is None or reuse < _MIN_REUSE:
            return cache, 0
        for k, v in layers:
            layer = _GrowingLayer()
            layer.lazy_initialization(k[:, :, :0], v[:, :, :0])
            k_buf = k.new_empty((1, k.shape[1], len(ids) + _GROW_MARGIN, k.shape[3]))
            v_buf = v.new_empty(k_buf.shape)
            k_buf[:, :, :reuse] = k[:, :, :reuse]
            v_buf[:, :, :reuse] = v[:, :, :reuse]
            layer._set_buffers(k_buf, v_buf, reuse)
            cache.layers.append(layer)
        return cache, reuse

    def _merge(self, joining: list[tuple[list[_Row], Cache, list[int]]]) -> None:
        """Append the joining rows to the running batch: one new buffer per layer, every part
        right-aligned (left padding, masked out)."""
        parts: list[tuple[Cache | None, int, int, torch.Tensor | None]] = []  # (cache, rows, length, mask)
        if self.rows:
            parts.append((self.cache, len(self.rows), self.mask.shape[1], self.mask))
        start = len(self.rows)
        for rows, cache, _ in joining:
            length = cache.layers[0].length
            if self.shares_prompts and len(rows) > 1:
                # the prompt stays in the prefill's buffers, once for the request's rows
                views = [(layer.k_buf[:, :, :length], layer.v_buf[:, :, :length]) for layer in cache.layers]
                self.groups.append(PrefixGroup(start, start + len(rows), views))
                self.stats["shared_prompt_rows"] += len(rows)
                length = 0
            parts.append((cache, len(rows), length, None))
            start += len(rows)
        width = max(length for _, _, length, _ in parts)
        total = sum(count for _, count, _, _ in parts)
        merged = _new_cache()
        mask = torch.zeros((total, width), dtype=torch.long, device=self.device)
        for layer_index, template in enumerate(parts[0][0].layers):
            shape = (total, template.k_buf.shape[1], width + _GROW_MARGIN, template.k_buf.shape[3])
            k_buf = template.k_buf.new_zeros(shape)
            v_buf = template.v_buf.new_zeros(shape)
            start = 0
            for cache, count, length, _ in parts:
                layer = cache.layers[layer_index]
                # a prefilled request has one row: broadcast it to its choices
                k_buf[start : start + count, :, width - length : width] = layer.k_buf[:, :, :length]
                v_buf[start : start + count, :, width - length : width] = layer.v_buf[:, :, :length]
                start += count
            layer = _GrowingLayer()
            layer.lazy_initialization(k_buf[:, :, :0], v_buf[:, :, :0])
            layer._set_buffers(k_buf, v_buf, width)
            merged.layers.append(layer)
        start = 0
        for _, count, length, part_mask in parts:
            mask[start : start + count, width - length :] = part_mask if part_mask is not None else 1
            start += count
        for rows, _, first in joining:
            self.rows.extend(rows)
            self.next_tokens.extend(first)
        self.cache, self.mask = merged, mask
        for row in self.rows:
            row.pending.batch_rows = max(row.pending.batch_rows, len(self.rows))

    def _step(self) -> None:
        """One decode step over the running batch, then drop the rows that ended."""
        batch = len(self.rows)
        logits = self._decode_step()
        self.stats["batches"] += 1
        self.stats["rows"] += batch
        tokens = self._choose(logits, self.rows)
        keep = []
        for i, (row, token) in enumerate(zip(self.rows, tokens)):
            row.position += 1
            if not self._advance(row, token):
                keep.append(i)
        self.next_tokens = [tokens[i] for i in keep]
        if len(keep) < batch:
            self._select(keep)

    def _decode_step(self) -> torch.Tensor:
        """Feed every running row its next token: the next logits, one row each (float32, CPU)."""
        batch = len(self.rows)
        self.mask = torch.cat([self.mask, self.mask.new_ones((batch, 1))], dim=1)
        tokens = torch.tensor(self.next_tokens, device=self.device)[:, None]
        positions = torch.tensor([row.position for row in self.rows], device=self.device)[:, None]
        if self.lean is not None:
            with torch.inference_mode():
                return self.lean(tokens, positions, self.cache, self.mask.bool(), self.groups)
        # with shared prompts the attention reads the row mask itself (prefix_attention.py)
        shared = {"prefix_groups": self.groups, "prefix_row_mask": self.mask.bool()} if self.groups else {}
        with torch.inference_mode():
            out = self.model(
                input_ids=tokens,
                attention_mask=None if self.groups else self.mask,
                position_ids=positions,
                past_key_values=self.cache,
                use_cache=True,
                logits_to_keep=1,
                **shared,
            )
        return out.logits[:, -1].float().cpu()

    def _select(self, keep: list[int]) -> None:
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self._reset()
            return
        # `keep` is ascending, so a group's surviving rows stay contiguous: its new range is where
        # its old bounds fall in `keep`
        spans = ((bisect.bisect_left(keep, g.start), bisect.bisect_left(keep, g.end), g.layers) for g in self.groups)
        self.groups = [PrefixGroup(start, end, layers) for start, end, layers in spans if end > start]
        index = torch.tensor(keep, device=self.device)
        mask = self.mask.index_select(0, index)
        # columns that are padding for every remaining row are dropped
        drop = int(mask.any(dim=0).long().argmax())
        self.mask = mask[:, drop:]
        for layer in self.cache.layers:
            k_buf = layer.k_buf.index_select(0, index)[:, :, drop:]
            v_buf = layer.v_buf.index_select(0, index)[:, :, drop:]
            layer._set_buffers(k_buf, v_buf, layer.length - drop)

    def _reset(self) -> None:
        self.rows, self.next_tokens, self.cache, self.groups = [], [], None, []
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=self.device)

    def _choose(self, logits: torch.Tensor, rows: list[_Row]) -> list[int]:
        """The next token of every row: argmax for greedy rows, else a draw from the row's own
        generator after temperature, top_k and top_p (in that order, as transformers does)."""
        chosen = logits.argmax(dim=-1).tolist()
        for i, row in enumerate(rows):
            if row.generator is None:
                continue
            _, temperature, top_p, top_k = row.request.sampling
            scores = logits[i] / temperature
            if top_k:
                kth = torch.topk(scores, min(int(top_k), scores.shape[-1])).values[-1]
                scores = scores.masked_fill(scores < kth, float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            if top_p is not None and top_p < 1.0:
                values, ids = torch.topk(probs, min(_NUCLEUS_CANDIDATES, probs.shape[-1]))
                if float(values.sum()) < top_p:
                    values, ids = torch.sort(probs, descending=True)
                keep = (torch.cumsum(values, 0) - values) < top_p  # the first token is always kept
                values, ids = values[keep], ids[keep]
                chosen[i] = int(ids[torch.multinomial(values, 1, generator=row.generator)])
            else:
                chosen[i] = int(torch.multinomial(probs, 1, generator=row.generator))
        return chosen

    def _advance(self, row: _Row, token: int) -> bool:
        """Record a row's new token; finish the row (True) when it ended."""
        request, pending = row.request, row.pending
        if token in self.end_ids:
            self._finish(row, "end")
            return True
        row.generated.append(token)
        if request.stop_seqs:
            tail = self.tokenizer.decode(row.generated[-pending.tail :], skip_special_tokens=True)
            if any(stop in tail for stop in request.stop_seqs):
                self._finish(row, "stop")
                return True
        if len(row.generated) >= request.max_new_tokens:
            self._finish(row, "max_tokens")
            return True
        if row.position + 1 >= self.max_positions:
            self._finish(row, "model_length")
            return True
        return False

    def _finish(self, row: _Row, why: str) -> None:
        request, pending = row.request, row.pending
        text = self.tokenizer.decode(row.generated, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        cut = min((p for p in (text.find(s) for s in request.stop_seqs) if p >= 0), default=-1)
        if cut >= 0:
            result = RowResult(text[:cut], len(row.generated), "stop")
        elif why == "end":
            result = RowResult(text, len(row.generated) + 1, "stop")  # the end-of-turn token counts
        else:
            result = RowResult(text, len(row.generated), why)
        pending.results[row.index] = result
        pending.rows_left -= 1
        if pending.rows_left == 0:
            self.stats["requests"] += 1
            seconds = time.monotonic() - pending.started
            request.future.set_result(Result(list(pending.results), len(pending.prompt_ids), max(pending.batch_rows, 1), seconds))


def collect(source: queue.Queue, into: Any, wait: float, block: bool) -> None:
    """Move every queued item to `into`. With `block`, first wait for one, then keep collecting
    while more keep coming (parallel samples' calls arrive a few ms apart): gaps under `wait`
    seconds, 10 x `wait` in all at most."""
    if block:
        into.append(source.get())
        deadline = time.monotonic() + 10 * wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                into.append(source.get(timeout=min(wait, left)))
            except queue.Empty:
                break
    while True:
        try:
            into.append(source.get_nowait())
        except queue.Empty:
            return


async def wait_for(future: concurrent.futures.Future) -> Any:
    """Await a worker thread's future from asyncio, or poll it under another backend (trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        import anyio

        while not future.done():
            await anyio.sleep(0.01)
        return future.result()
    return await asyncio.wrap_future(future)


def _row_generator(seed: int | None, index: int) -> torch.Generator:
    """Choice `index` of a request seeded `seed`: the same stream whatever shares the batch."""
    entropy = [int(seed) & 0xFFFFFFFF, index] if seed is not None else None
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


QUANTIZE = ("int8", "fp16", "none")


def quantize_linear(model: torch.nn.Module, kind: str) -> torch.nn.Module:
    """Every linear layer (lm_head included) quantised for CPU decoding; `none` leaves the model as
    it is. An unmerged LoRA adapter's own A/B layers stay float (PEFT reads their weight dtype).

    int8 (the CPU default): int8 weights (one scale per output channel) and int8 activations with
    one scale per row (int8_linear.py): a row's result does not depend on the other rows of its
    batch. fp16: weights stored in half precision, products in float32 (PyTorch's dynamic
    quantisation): slower, closer to float32."""
    if kind not in QUANTIZE:
        raise ValueError(f"agentdistill model: quantize={kind!r}; expected one of {QUANTIZE}")
    if kind == "none":
        return model
    if kind == "int8":
        return quantize_int8(model, skip="lora_")
    import warnings

    from torch.ao.quantization import float16_dynamic_qconfig, quantize_dynamic

    spec = {name: float16_dynamic_qconfig for name, module in model.named_modules() if isinstance(module, torch.nn.Linear) and "lora_" not in name}
    with warnings.catch_warnings():  # torch.ao's eager quantisation warns that it moves to torchao
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, spec, dtype=torch.float16)
