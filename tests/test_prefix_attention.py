"""models/prefix_attention.py: a decode step over a shared prompt (stored once) plus each row's own
keys equals SDPA over every row's keys materialised (prompt copied, KV heads repeated)."""

from __future__ import annotations

import asyncio

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from agentdistill.models.embedded import prepare_embedded
from agentdistill.models.engine import KVEngine
from agentdistill.models.hf_model import ModelSource, _Request
from agentdistill.models.prefix_attention import PrefixGroup, plain_causal, prefix_shared_attention


def _reference(query, key, value, row_mask, groups, row):
    """SDPA for one row: its group's prompt (if any) then its own unmasked keys, heads repeated."""
    keys, values, visible = key[row], value[row], row_mask[row]
    for group in groups:
        if group.start <= row < group.end:
            k_prefix, v_prefix = group.layers[0]
            keys = torch.cat([k_prefix[0], keys], dim=1)
            values = torch.cat([v_prefix[0], values], dim=1)
            visible = torch.cat([torch.ones(k_prefix.shape[2], dtype=torch.bool), visible])
    repeat = query.shape[1] // key.shape[1]
    keys, values = keys.repeat_interleave(repeat, 0), values.repeat_interleave(repeat, 0)
    out = F.scaled_dot_product_attention(query[row : row + 1], keys[None], values[None], attn_mask=visible[None, None, None, :])
    return out.transpose(1, 2)[0]


def test_shared_prompt_attention_equals_sdpa_over_materialised_rows():
    torch.manual_seed(0)
    batch, heads, kv_heads, dim, width = 6, 9, 3, 64, 7
    query = torch.randn(batch, heads, 1, dim)
    key, value = torch.randn(batch, kv_heads, width, dim), torch.randn(batch, kv_heads, width, dim)
    row_mask = torch.ones(batch, width, dtype=torch.bool)
    row_mask[0, :3] = False  # a single-choice row, left-padded
    row_mask[4, :6] = False  # a row that joined later: one token of its own so far
    groups = [
        PrefixGroup(1, 4, [(torch.randn(1, kv_heads, 41, dim), torch.randn(1, kv_heads, 41, dim))]),
        PrefixGroup(4, 6, [(torch.randn(1, kv_heads, 5, dim), torch.randn(1, kv_heads, 5, dim))]),
    ]
    out = prefix_shared_attention(query, key, value, row_mask, groups, layer_idx=0, scaling=dim**-0.5)
    assert out.shape == (batch, 1, heads, dim)
    for row in range(batch):
        torch.testing.assert_close(out[row], _reference(query, key, value, row_mask, groups, row), atol=2e-6, rtol=1e-5)


def test_a_row_with_no_keys_of_its_own_attends_to_its_prompt_alone():
    torch.manual_seed(1)
    query = torch.randn(2, 4, 1, 8)
    key, value = torch.randn(2, 2, 3, 8), torch.randn(2, 2, 3, 8)
    row_mask = torch.zeros(2, 3, dtype=torch.bool)
    prompt = (torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8))
    out = prefix_shared_attention(query, key, value, row_mask, [PrefixGroup(0, 2, [prompt])], layer_idx=0, scaling=8**-0.5)
    assert torch.isfinite(out).all()
    for row in range(2):
        keys = prompt[0][0].repeat_interleave(2, 0)[None]
        values = prompt[1][0].repeat_interleave(2, 0)[None]
        expected = F.scaled_dot_product_attention(query[row : row + 1], keys, values).transpose(1, 2)[0]
        torch.testing.assert_close(out[row], expected, atol=2e-6, rtol=1e-5)


def test_prefill_shapes_are_refused_by_name():
    with pytest.raises(ValueError, match="decode steps only"):
        prefix_shared_attention(torch.randn(1, 4, 2, 8), torch.randn(1, 2, 2, 8), torch.randn(1, 2, 2, 8), torch.ones(1, 2, dtype=torch.bool), [], 0, 1.0)


def test_only_plain_causal_attention_takes_the_shared_path():
    from transformers import Gemma2Config, LlamaConfig, MistralConfig, Qwen2Config

    assert plain_causal(LlamaConfig())
    assert plain_causal(Qwen2Config(use_sliding_window=False))
    assert not plain_causal(Qwen2Config(use_sliding_window=True, sliding_window=128))
    assert not plain_causal(MistralConfig(sliding_window=4096))  # windowed attention
    assert not plain_causal(Gemma2Config())  # soft-capped logits, windows


def _outputs(engine: KVEngine, share: bool, requests: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    engine.shares_prompts = share

    async def together():
        made = [_Request(prompt=p, n=n, max_new_tokens=48, stop_seqs=(), sampling=(True, 1.0, None, None), seed=5) for p, n in requests]
        return await asyncio.gather(*[engine.submit(r) for r in made])

    return [[(row.text, row.output_tokens) for row in result.rows] for result in asyncio.run(together())]


def test_an_engine_with_shared_prompts_generates_what_it_does_with_copies():
    """A tiny random Llama (float32) through the kv engine: two multi-choice requests and a
    single-choice one in one batch, rows ending at different steps (a tenth of the vocabulary
    ends a row), sampled: the same tokens with the prompt kept once as with it copied to rows."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(prepare_embedded())
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=96, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=2048)
    model = LlamaForCausalLM(config).eval()
    engine = KVEngine(model, tokenizer, ModelSource("tiny-random-llama"), "cpu", 32, 5.0, 0)
    assert engine.shares_prompts
    engine.end_ids = frozenset(range(0, len(tokenizer), 10))
    requests = [("A long shared prompt. " * 20, 6), ("Another prompt, shorter.", 1), ("A third one " * 9, 4)]
    shared = _outputs(engine, True, requests)
    # rows still running after their first token join the batch; a request's survivors share its prompt
    survivors = [sum(1 for _, tokens in rows if tokens > 1) for rows in shared]
    grouped = sum(n for n in survivors if n > 1)
    assert grouped >= 6 and engine.stats["shared_prompt_rows"] == grouped
    copied = _outputs(engine, False, requests)
    assert engine.stats["shared_prompt_rows"] == grouped  # the copy path shares nothing
    assert shared == copied
    lengths = {tokens for rows in shared for _, tokens in rows}
    assert len(lengths) > 3  # rows left the batch at different steps: the groups shrank and shifted
