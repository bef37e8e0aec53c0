"""The kv engine's decode step for Llama-family models in fewer operations than transformers' modules.

Why: a decode step of a 135M model on CPU is a few milliseconds of arithmetic (int8 linear
layers, attention over the KV cache) inside a forward pass of some 2,000 small PyTorch calls:
per layer, transformers' modules and decorators, a six-op RMSNorm, rotary embeddings through
slicing and concatenation, mask construction. At one request most of a step was that overhead
(tests/benchmarks/model_results.md). This module runs the same computation on the same modules'
weights with one fused `rms_norm`, rotary embeddings as one small product with a signed
permutation, and SDPA with grouped query heads (no repeated keys); prefills keep transformers'
forward. It reads the engine's KV cache layers and writes them exactly as transformers does.

Only models whose decoder layer is the plain Llama layout take it (`supports`): llama, mistral
and qwen2 configs with plain causal attention, float32 weights (the CPU engine). Anything else
(other architectures, bfloat16 on a GPU) keeps transformers' forward. Tested against it
(tests/test_lean_decode.py).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from agentdistill.models.prefix_attention import PrefixGroup, plain_causal, prefix_shared_attention

LAYOUTS = ("llama", "mistral", "qwen2")


def _rotate_half_matrix(dim: int) -> torch.Tensor:
    """P with x @ P == cat(-x[..., dim/2:], x[..., :dim/2]) (transformers' rotate_half), exactly:
    each output is one input times +-1."""
    half = dim // 2
    p = torch.zeros(dim, dim)
    p[torch.arange(half, dim), torch.arange(half)] = -1.0
    p[torch.arange(half), torch.arange(half, dim)] = 1.0
    return p


class LeanDecoder:
    """`decoder(tokens, positions, cache, row_mask, groups)`: the next-token logits (float32,
    one row per batch row) of one decode step; the step's keys and values are appended to
    `cache` (the engine's `_GrowingLayer`s)."""

    def __init__(self, model: Any):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT: an unmerged adapter
        config = base.config
        self.embed = base.model.embed_tokens
        self.rotary = base.model.rotary_emb
        self.final_norm = base.model.norm
        self.lm_head = base.lm_head
        self.layers = list(base.model.layers)
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.rotate = _rotate_half_matrix(self.head_dim).to(self.embed.weight.device)

    @staticmethod
    def supports(model: Any) -> bool:
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        config = getattr(base, "config", None)
        if getattr(config, "model_type", None) not in LAYOUTS or not plain_causal(config):
            return False
        embed = getattr(getattr(base, "model", None), "embed_tokens", None)
        return embed is not None and embed.weight.dtype == torch.float32 and embed.weight.device.type == "cpu"

    def _norm(self, x: torch.Tensor, norm: Any) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), norm.weight, norm.variance_epsilon)

    def __call__(self, tokens: torch.Tensor, positions: torch.Tensor, cache: Any, row_mask: torch.Tensor, groups: list[PrefixGroup]) -> torch.Tensor:
        batch = tokens.shape[0]
        x = self.embed(tokens)  # (B, 1, hidden)
        cos, sin = self.rotary(x, positions)  # (B, 1, head_dim) each
        # no padding and no shared prompt: SDPA needs no mask
        mask = None if groups or bool(row_mask.all()) else row_mask[:, None, None, :]
        per_kv = self.heads // self.kv_heads
        for index, layer in enumerate(self.layers):
            attn, mlp = layer.self_attn, layer.mlp
            h = self._norm(x, layer.input_layernorm)
            q = attn.q_proj(h).view(batch, self.heads, self.head_dim)
            k = attn.k_proj(h).view(batch, self.kv_heads, self.head_dim)
            v = attn.v_proj(h).view(batch, self.kv_heads, 1, self.head_dim)
            q = torch.addcmul(q * cos, q @ self.rotate, sin)
            k = torch.addcmul(k * cos, k @ self.rotate, sin)
            keys, values = cache.layers[index].update(k[:, :, None], v)
            if groups:
                out = prefix_shared_attention(q[:, :, None], keys, values, row_mask, groups, index, attn.scaling)
            else:  # head h reads KV head h // per_kv: the query heads of a KV head as its queries
                out = F.scaled_dot_product_attention(q.view(batch, self.kv_heads, per_kv, self.head_dim), keys, values, attn_mask=mask, scale=attn.scaling)
            x = x + attn.o_proj(out.reshape(batch, 1, self.heads * self.head_dim))
            h = self._norm(x, layer.post_attention_layernorm)
            x = x + mlp.down_proj(mlp.act_fn(mlp.gate_proj(h)) * mlp.up_proj(h))
        return self.lm_head(self._norm(x, self.final_norm))[:, -1].float()
