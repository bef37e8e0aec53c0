"""Benchmark: generated tokens/s of the embedded model's engines, side by side in one run.

Engines (same converted SmolLM2-135M folder, same thread count):
- `llamacpp`: `-M engine=llamacpp` (models/llamacpp_engine.py: the kv engine's scheduler over
  llama.cpp, Q8_0 weights), through inspect's `get_model(...).generate`, its prefix cache off
  (the repeats resend the same prompts);
- `kv`: the default engine (models/engine.py, transformers, int8 weights and per-row int8
  activations on CPU), the same way;
- `kv-fp16`: the same with `-M quantize=fp16` (fp16 weights, float32 products: the default before);
- `chunked`: the engine before it (`-M engine=chunked`);
- `transformers`: plain `model.generate` on the float32 model, the 8 prompts left-padded into
  one batch;
- `ctranslate2`: CTranslate2 int8 `generate_batch` (skipped if `ctranslate2` is not installed;
  `pip install ctranslate2==4.8.5`), the folder converted once into the agentdistill cache.

Workloads: 1 request at a time, 8 concurrent requests (greedy), and one request with
`num_choices=8` (temperature 0.4, top_p 0.8, as SAG samples) on a longer prompt; for that one
the reference is the ideal schedule, measured on each engine's own model: one prefill, its
KV cache shared by (llamacpp) or copied to (kv) 8 rows, 8 rows decoded together with no engine
around it.
Each figure is the median of `--repeats` runs, the engines interleaved within each repeat;
ratios are taken from the medians of this run.
The load average is printed beside the figures (the machine is shared). Not a test.

    nice .venv/bin/python tests/benchmarks/model.py [--max-tokens 128] [--repeats 3] [--engines llamacpp,kv,chunked,...]
    python tests/benchmarks/model.py --device cuda   # kv, chunked and plain transformers (bf16) on the GPU, plus 32 concurrent
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inspect_ai.model import GenerateConfig, get_model  # noqa: E402

QUESTIONS = [
    "Janet has 3 boxes with 1528 apples each. How many apples does she have?",
    "A train travels 120 km in 2 hours. What is its average speed?",
    "Tom buys 4 pens at 3 dollars each and a notebook for 5 dollars. How much does he spend?",
    "A rectangle is 7 m long and 4 m wide. What is its area?",
    "Sara reads 25 pages a day. How many pages does she read in two weeks?",
    "There are 48 students split evenly into 6 groups. How many students are in each group?",
    "A shirt costs 40 dollars and is discounted by 25 percent. What is the new price?",
    "If 5 workers build a wall in 12 days, how many days do 10 workers need?",
]
PROMPTS = [q + " Think step by step." for q in QUESTIONS]
# about 500 tokens, like an agent step's conversation
LONG_PROMPT = "Here are some practice problems and a question.\n" + "\n".join(QUESTIONS * 3) + "\nSolve the last problem. Think step by step."
SAG = {"temperature": 0.4, "top_p": 0.8}
CPU_ENGINES = ("llamacpp", "kv", "kv-fp16", "chunked", "transformers", "ctranslate2")
GPU_ENGINES = ("kv", "chunked", "transformers")  # llama.cpp (as built here), int8 and CTranslate2 run on cpu


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class InspectEngine:
    """An agentdistill engine through inspect's Model.generate."""

    def __init__(self, **model_args):
        self.model = get_model("agentdistill/smollm2-135m", memoize=False, **model_args)

    def batch(self, prompts: list[str], max_tokens: int) -> int:
        config = GenerateConfig(max_tokens=max_tokens, temperature=0.0)

        async def together():
            return await asyncio.gather(*[self.model.generate(p, config=config) for p in prompts])

        return sum(o.usage.output_tokens for o in asyncio.run(together()))

    def choices(self, prompt: str, n: int, max_tokens: int) -> int:
        config = GenerateConfig(max_tokens=max_tokens, num_choices=n, seed=0, **SAG)
        return asyncio.run(self.model.generate(prompt, config=config)).usage.output_tokens


class PlainTransformers:
    def __init__(self, folder: str, device: str = "cpu"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
        # the provider's own default dtypes: float32 on CPU, bfloat16 on GPU
        dtype = torch.float32 if device == "cpu" else torch.bfloat16
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()
        self.end = self.model.generation_config.eos_token_id

    def _render(self, prompt: str) -> str:
        return self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)

    def _count(self, rows) -> int:
        return sum(next((i + 1 for i, t in enumerate(row) if t == self.end), len(row)) for row in rows.tolist())

    def batch(self, prompts: list[str], max_tokens: int) -> int:
        enc = self.tokenizer([self._render(p) for p in prompts], return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        with self.torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, temperature=None, top_p=None, top_k=None)
        return self._count(out[:, enc.input_ids.shape[1] :])

    def choices(self, prompt: str, n: int, max_tokens: int) -> int:
        enc = self.tokenizer([self._render(prompt)], return_tensors="pt", add_special_tokens=False).to(self.device)
        self.torch.manual_seed(0)
        with self.torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=max_tokens, do_sample=True, num_return_sequences=n, top_k=None, **SAG)
        return self._count(out[:, enc.input_ids.shape[1] :])


class CTranslate2:
    def __init__(self, folder: str, threads: int):
        # optional: the `bench` extra
        import ctranslate2  # pyright: ignore[reportMissingImports]
        from transformers import AutoTokenizer

        from agentdistill.core.paths import cache_dir

        target = cache_dir("models") / "ct2-smollm2-135m-int8"
        if not (target / "model.bin").is_file():
            ctranslate2.converters.TransformersConverter(folder).convert(str(target), quantization="int8", force=True)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.generator = ctranslate2.Generator(str(target), device="cpu", compute_type="int8", intra_threads=threads)
        self.end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")

    def _tokens(self, prompt: str) -> list[str]:
        text = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        return self.tokenizer.convert_ids_to_tokens(self.tokenizer(text, add_special_tokens=False).input_ids)

    def batch(self, prompts: list[str], max_tokens: int) -> int:
        results = self.generator.generate_batch([self._tokens(p) for p in prompts], max_length=max_tokens, include_prompt_in_result=False, end_token="<|im_end|>")
        return sum(len(r.sequences_ids[0]) for r in results)

    def choices(self, prompt: str, n: int, max_tokens: int) -> int:
        # optional: the `bench` extra
        import ctranslate2  # pyright: ignore[reportMissingImports]

        ctranslate2.set_random_seed(0)
        [result] = self.generator.generate_batch(
            [self._tokens(prompt)], max_length=max_tokens, include_prompt_in_result=False, end_token="<|im_end|>",
            sampling_topk=0, sampling_topp=SAG["top_p"], sampling_temperature=SAG["temperature"], num_hypotheses=n,
        )
        return sum(len(ids) for ids in result.sequences_ids)


def shared_prefill_reference(engine, prompt: str, n: int, max_tokens: int) -> int:
    """The ideal schedule for num_choices=n on the kv engine's own model and KV cache layers:
    prefill once, copy the KV cache to n rows, decode them together, with no queue, no stop
    checks, no per-row generators and no end of turn (every row runs max_tokens)."""
    import torch

    from agentdistill.models.engine import _new_cache
    from agentdistill.models.hf_model import render_chat
    from inspect_ai.model import ChatMessageUser

    model, tokenizer, device = engine.model, engine.tokenizer, engine.device
    ids = tokenizer(render_chat(tokenizer, [ChatMessageUser(content=prompt)]), add_special_tokens=False, return_tensors="pt").input_ids.to(device)
    length = ids.shape[1]
    generator = torch.Generator(device=device).manual_seed(0)
    with torch.inference_mode():
        cache = _new_cache()
        logits = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
        for layer in cache.layers:  # one prefill, n rows (room for the new tokens included)
            k_buf = layer.k_buf[:, :, :length].repeat(n, 1, 1, 1)
            v_buf = layer.v_buf[:, :, :length].repeat(n, 1, 1, 1)
            k_room = torch.cat([k_buf, k_buf.new_empty((n, k_buf.shape[1], max_tokens, k_buf.shape[3]))], dim=2)
            v_room = torch.cat([v_buf, v_buf.new_empty(k_room.shape[:2] + (max_tokens, v_buf.shape[3]))], dim=2)
            layer._set_buffers(k_room, v_room, length)
        logits = logits.expand(n, -1)
        for step in range(max_tokens):
            probs = torch.softmax(logits.float() / SAG["temperature"], dim=-1)
            tokens = torch.multinomial(probs, 1, generator=generator)
            if step == max_tokens - 1:
                break
            positions = torch.full((n, 1), length + step, device=device)
            mask = torch.ones((n, length + step + 1), dtype=torch.long, device=device)  # as the engine passes (its rows may be padded)
            logits = model(input_ids=tokens, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1]
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()  # the loop never reads back: wait for the queued kernels before the clock stops
    return n * max_tokens


def llamacpp_shared_prefill_reference(engine, prompt: str, n: int, max_tokens: int) -> int:
    """The same ideal schedule on the llamacpp engine's own llama.cpp context: the prompt decoded
    once into one sequence, shared by n sequences (`seq_cp`), n rows decoded together, sampled
    in numpy, nothing else."""
    import numpy as np

    from agentdistill.models.hf_model import render_chat
    from inspect_ai.model import ChatMessageUser

    llama, tokenizer = engine.llama, engine.tokenizer
    ids = tokenizer(render_chat(tokenizer, [ChatMessageUser(content=prompt)]), add_special_tokens=False).input_ids
    seqs = [engine.free_seqs[i] for i in range(n)]  # idle engine: borrowed, removed again below
    rng = np.random.default_rng(0)
    try:
        from agentdistill.models.llamacpp_engine import _PREFILL_CHUNK

        for start in range(0, len(ids), _PREFILL_CHUNK):
            end = min(start + _PREFILL_CHUNK, len(ids))
            llama.decode(ids[start:end], list(range(start, end)), [seqs[0]] * (end - start), [i == len(ids) - 1 for i in range(start, end)])
        logits = llama.logits(1).numpy().repeat(n, axis=0)
        for seq in seqs[1:]:
            llama.copy(seqs[0], seq)
        for step in range(max_tokens):
            scaled = logits / SAG["temperature"]
            probs = np.exp(scaled - scaled.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            tokens = [int(rng.choice(probs.shape[1], p=row)) for row in probs]
            if step == max_tokens - 1:
                break
            llama.decode(tokens, [len(ids) + step] * n, seqs, [True] * n)
            logits = llama.logits(n).numpy()
    finally:
        for seq in seqs:
            llama.remove(seq)
    return n * max_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default=None, help=f"default on cpu: {','.join(CPU_ENGINES)}; on cuda: {','.join(GPU_ENGINES)}")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: the same provider and plain transformers on the GPU")
    args = parser.parse_args()

    import torch

    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {device}: torch sees no CUDA device")
    names = (args.engines or ",".join(CPU_ENGINES if device == "cpu" else GPU_ENGINES)).split(",")
    if device != "cpu" and set(names) - set(GPU_ENGINES):
        raise SystemExit(f"--device {device}: {sorted(set(names) - set(GPU_ENGINES))} run on cpu only; GPU engines: {GPU_ENGINES}")

    from agentdistill.models.embedded import prepare_embedded

    folder = str(prepare_embedded())
    engines = {}
    for name in names:
        # prefix_cache=0: the repeats send the same prompts again, which the kv engine would
        # otherwise not prefill a second time (an advantage the other engines cannot have)
        if name == "llamacpp":
            engines[name] = InspectEngine(engine="llamacpp", prefix_cache=0)
        elif name == "kv":
            engines[name] = InspectEngine(engine="kv", prefix_cache=0, device=device)
        elif name == "kv-fp16":
            engines[name] = InspectEngine(engine="kv", quantize="fp16", prefix_cache=0)
        elif name == "chunked":
            engines[name] = InspectEngine(engine="chunked", device=device)
        elif name == "transformers":
            engines[name] = PlainTransformers(folder, device)
        elif name == "ctranslate2":
            try:
                engines[name] = CTranslate2(folder, torch.get_num_threads())
            except ImportError:
                print("ctranslate2 not installed: skipped (pip install ctranslate2==4.8.5)")
        else:
            raise SystemExit(f"unknown engine {name!r}")
    where = torch.cuda.get_device_name(device) + f", torch {torch.__version__}" if device != "cpu" else f"cpu count: {os.cpu_count()}"
    print(f"device: {device} ({where})  torch threads: {torch.get_num_threads()}  max_tokens: {args.max_tokens}  repeats: {args.repeats} (medians)")
    for engine in engines.values():  # warm-up
        engine.batch(PROMPTS[:2], 8)

    # Interleaved: every repeat measures every engine on a workload before the next repeat, so a
    # change of the machine's load hits all engines alike; medians over the repeats.
    workloads = {
        "1": lambda engine: sum(engine.batch([p], args.max_tokens) for p in PROMPTS[:2]),
        "8": lambda engine: engine.batch(PROMPTS, args.max_tokens),
        "n8": lambda engine: engine.choices(LONG_PROMPT, 8, args.max_tokens),
    }
    if device != "cpu":  # a GPU has room for the engine's whole batch (max_batch_rows=32)
        workloads["32"] = lambda engine: engine.batch(PROMPTS * 4, args.max_tokens)
    ideal = {}  # engine name -> its own ideal schedule for num_choices=8
    if "llamacpp" in engines:
        llamacpp = engines["llamacpp"].model.api.engine
        ideal["llamacpp"] = lambda: llamacpp_shared_prefill_reference(llamacpp, LONG_PROMPT, 8, args.max_tokens)
    if "kv" in engines:
        kv = engines["kv"].model.api.engine
        ideal["kv"] = lambda: shared_prefill_reference(kv, LONG_PROMPT, 8, args.max_tokens)
    if ideal:
        workloads["ideal_n8"] = lambda name: ideal[name]()
    results: dict[str, dict[str, float]] = {name: {} for name in engines}
    for label, work in workloads.items():
        runs: dict[str, list[tuple[float, int, float]]] = {}
        for _ in range(args.repeats):
            for name, engine in engines.items():
                if label == "ideal_n8" and name not in ideal:
                    continue
                started = time.monotonic()
                tokens = work(name if label == "ideal_n8" else engine)
                seconds = time.monotonic() - started
                runs.setdefault(name, []).append((tokens / seconds, tokens, seconds))
        for name, measured in runs.items():
            rate, tokens, seconds = sorted(measured)[len(measured) // 2]
            results[name][label] = rate
            what = {"1": "1 request at a time", "8": "8 concurrent requests", "32": "32 concurrent requests", "n8": "num_choices=8, long prompt", "ideal_n8": "one prefill + 8 rows decoded, no engine"}[label]
            print(f"{name:13s} {label:>8s}: {tokens:5d} tokens in {seconds:6.1f} s = {rate:6.1f} tokens/s  ({what}; load average {load_avg()})", flush=True)

    print("\nratios (tokens/s of the engine / tokens/s of the reference; 1 = one request at a time, 8 = 8 concurrent, n8 = num_choices=8):")
    for reference in ("transformers", "chunked", "kv", "ctranslate2"):
        if reference not in results:
            continue
        for name in results:
            if name == reference:
                continue
            ratios = "  ".join(f"{label}: {results[name][label] / results[reference][label]:5.2f}x" for label in ("1", "8", "32", "n8") if label in results[name])
            print(f"  {name:13s} vs {reference:13s} {ratios}")
    for name in ideal:
        print(f"  {name} num_choices=8 cost / ideal shared-prefill cost: {results[name]['ideal_n8'] / results[name]['n8']:.2f}x (target <= 1.2)")


if __name__ == "__main__":
    main()
