"""models/lean_decode.py: the kv engine's own decode step equals transformers' forward pass."""

from __future__ import annotations

import asyncio

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from agentdistill.models.embedded import prepare_embedded
from agentdistill.models.engine import KVEngine, _new_cache
from agentdistill.models.hf_model import ModelSource, _Request
from agentdistill.models.int8_linear import quantize_int8
from agentdistill.models.lean_decode import LeanDecoder


def _llama(vocab: int = 200, bias: bool = False) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=96, intermediate_size=128, num_hidden_layers=2, num_attention_heads=6,
                         num_key_value_heads=2, max_position_embeddings=512, attention_bias=bias, rope_theta=10000.0)
    return LlamaForCausalLM(config).eval()


def _qwen2() -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=200, hidden_size=96, intermediate_size=128, num_hidden_layers=2, num_attention_heads=6,
                         num_key_value_heads=2, max_position_embeddings=512)
    return Qwen2ForCausalLM(config).eval()


def _padded_prefill(model, lengths: list[int]):
    """Left-padded prompts of `lengths` prefilled into the engine's cache layers."""
    width = max(lengths)
    ids = torch.randint(1, model.config.vocab_size, (len(lengths), width), generator=torch.Generator().manual_seed(1))
    mask = torch.tensor([[0] * (width - n) + [1] * n for n in lengths])
    positions = (mask.cumsum(1) - 1).clamp_min(0)
    cache = _new_cache()
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True)
    return cache, mask, torch.tensor(lengths)[:, None]


@pytest.mark.parametrize("make", [_llama, lambda: _llama(bias=True), _qwen2], ids=["llama", "llama-bias", "qwen2"])
@pytest.mark.parametrize("lengths", [[7, 7, 7], [3, 11, 6]], ids=["unpadded", "padded"])
def test_a_decode_step_equals_transformers_forward(make, lengths):
    model = make()
    assert LeanDecoder.supports(model)
    decoder = LeanDecoder(model)
    tokens = torch.tensor([[5], [17], [42]])
    ref_cache, mask, positions = _padded_prefill(model, lengths)
    lean_cache, _, _ = _padded_prefill(model, lengths)
    mask = torch.cat([mask, torch.ones(3, 1, dtype=mask.dtype)], dim=1)
    with torch.inference_mode():
        # two steps: the second attends to the keys the first one appended
        for step in range(2):
            ref = model(input_ids=tokens, attention_mask=mask, position_ids=positions + step, past_key_values=ref_cache, use_cache=True).logits[:, -1]
            got = decoder(tokens, positions + step, lean_cache, mask.bool(), [])
            torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
            mask = torch.cat([mask, torch.ones(3, 1, dtype=mask.dtype)], dim=1)
            tokens = ref.argmax(-1, keepdim=True)
    for ref_layer, lean_layer in zip(ref_cache.layers, lean_cache.layers):
        torch.testing.assert_close(lean_layer.keys, ref_layer.keys, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(lean_layer.values, ref_layer.values, rtol=1e-5, atol=1e-5)


def test_only_float32_llama_layouts_on_cpu_take_it():
    assert LeanDecoder.supports(_llama())
    assert not LeanDecoder.supports(_llama().to(torch.bfloat16))  # a GPU engine's dtype: transformers' forward
    from transformers import Qwen3Config, Qwen3ForCausalLM

    qwen3 = Qwen3ForCausalLM(Qwen3Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2, head_dim=8))
    assert not LeanDecoder.supports(qwen3)  # per-head q/k norms: not the Llama layer


def _outputs(engine: KVEngine, lean: LeanDecoder | None) -> list[list[tuple[str, int]]]:
    engine.lean = lean
    # greedy: a sampled draw can flip on a float difference in the last bit (the two steps sum in
    # different orders); the logits themselves are compared above
    greedy = (False, 1.0, None, None)
    requests = [("A long shared prompt. " * 20, 5, greedy), ("Another prompt, shorter.", 1, greedy), ("A third one " * 9, 3, greedy),
                ("Fourth: " + "words " * 30, 1, greedy)]

    async def together():
        made = [_Request(prompt=p, n=n, max_new_tokens=40, stop_seqs=(), sampling=s, seed=5) for p, n, s in requests]
        return await asyncio.gather(*[engine.submit(r) for r in made])

    return [[(row.text, row.output_tokens) for row in result.rows] for result in asyncio.run(together())]


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_the_engine_generates_the_same_tokens_with_either_decode_step(int8):
    """A tiny random Llama through the kv engine (shared prompts, padding, rows ending at different
    steps): the same greedy tokens with the lean step as with transformers' forward."""
    tokenizer = AutoTokenizer.from_pretrained(prepare_embedded())
    model = _llama(vocab=len(tokenizer))
    if int8:
        quantize_int8(model)
    engine = KVEngine(model, tokenizer, ModelSource("tiny-random-llama"), "cpu", 32, 5.0, 0)
    assert engine.lean is not None
    engine.end_ids = frozenset(range(0, len(tokenizer), 10))
    lean = _outputs(engine, engine.lean)
    steps = engine.stats["batches"]
    assert _outputs(engine, None) == lean
    assert steps > 10 and len({tokens for rows in lean for _, tokens in rows}) > 2
