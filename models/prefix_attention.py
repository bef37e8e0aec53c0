"""Attention for rows that share a prompt, with the prompt's keys and values stored once.

A request with `num_choices=n` (SAG's 8 candidates) decodes n rows after one prompt. Copying the
prompt's KV cache to every row makes each decode step read it n times, and transformers' SDPA
path reads it again through `repeat_kv` (SmolLM2: 9 query heads over 3 KV heads); at agent
lengths (2,000-4,000 prompt tokens) that attention is most of a step (tests/benchmarks/
model_results.md). Here a decode step attends in two parts and merges them exactly:

- the shared prompt, once per group: the group's n x (query heads / KV heads) queries form one
  matrix product against the prompt's keys, per KV head (no copy, no repeat);
- each row's own tokens (what it generated, and for rows outside any group their whole context)
  in the batch's padded per-row buffer, masked as before;
- the two softmaxes are merged by their log-sum-exp: softmax over the union of the keys.

Only decode steps (one query token per row) of batches that hold a group take this path; every
other forward pass (prefills, batches of single-choice requests) runs transformers' SDPA
attention unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

NAME = "agentdistill_prefix_shared"


@dataclass
class PrefixGroup:
    """Rows `start:end` of the batch share one prompt: its keys and values per layer, each
    (1, KV heads, prompt length, head dim)."""

    start: int
    end: int
    layers: list[tuple[torch.Tensor, torch.Tensor]]


def _softmax_parts(scores: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and log-sum-exp of `scores` (float32) over `values`."""
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)
    out = torch.matmul(torch.exp(scores - lse).to(values.dtype), values)
    return out, lse


def _prefix_part(qg: torch.Tensor, k_prefix: torch.Tensor, v_prefix: torch.Tensor, scaling: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A group's queries (KVH, n*per_kv, D) over its prompt (1, KVH, P, D): output and log-sum-exp.
    On CPU one fused kernel (PyTorch's flash attention for CPU returns the log-sum-exp too:
    1.5x the three-step product at 500-2,500 prompt tokens); elsewhere scores, softmax, product."""
    if qg.device.type == "cpu":
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(qg[None], k_prefix, v_prefix, scale=scaling)
        return out[0], lse[0, ..., None]
    scores = torch.matmul(qg, k_prefix[0].transpose(-1, -2)).float() * scaling  # (KVH, n*per_kv, P)
    return _softmax_parts(scores, v_prefix[0])


def prefix_shared_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    row_mask: torch.Tensor,
    groups: list[PrefixGroup],
    layer_idx: int,
    scaling: float,
) -> torch.Tensor:
    """One decode step. query (B, H, 1, D); key/value the per-row buffer (B, KVH, W, D);
    row_mask (B, W) bool (True: a key the row sees). Returns (B, 1, H, D), as transformers'
    attention functions do."""
    batch, heads, q_len, dim = query.shape
    if q_len != 1:
        raise ValueError(f"prefix_shared_attention: decode steps only (one query token per row), got {q_len}")
    kv_heads = key.shape[1]
    per_kv = heads // kv_heads
    # head h reads KV head h // per_kv (transformers' repeat_kv layout)
    q = query.reshape(batch, kv_heads, per_kv, dim)
    scores = torch.matmul(q, key.transpose(-1, -2)).float() * scaling  # (B, KVH, per_kv, W)
    scores = scores.masked_fill(~row_mask[:, None, None, :], float("-inf"))
    out, lse = _softmax_parts(scores, value)
    # a row that sees none of its own keys (never the case once it has fed a token) contributes
    # nothing (its softmax is 0/0); no host sync: this runs once per layer and step
    out = out.masked_fill(~row_mask.any(dim=1)[:, None, None, None], 0.0)
    for group in groups:
        k_prefix, v_prefix = group.layers[layer_idx]
        n = group.end - group.start
        qg = q[group.start : group.end].transpose(0, 1).reshape(kv_heads, n * per_kv, dim)
        out_p, lse_p = _prefix_part(qg, k_prefix, v_prefix, scaling)  # (KVH, n*per_kv, D), (KVH, n*per_kv, 1)
        out_p = out_p.reshape(kv_heads, n, per_kv, dim).transpose(0, 1)
        lse_p = lse_p.reshape(kv_heads, n, per_kv, 1).transpose(0, 1)
        lse_r = lse[group.start : group.end]
        top = torch.maximum(lse_p, lse_r)
        w_p, w_r = torch.exp(lse_p - top), torch.exp(lse_r - top)
        mixed = (w_p * out_p.float() + w_r * out[group.start : group.end].float()) / (w_p + w_r)
        out[group.start : group.end] = mixed.to(out.dtype)
    return out.reshape(batch, heads, 1, dim).transpose(1, 2)


def _attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attention_mask: Any, scaling: float | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' attention-function signature: the shared path when the engine passes its
    groups (`prefix_groups`, `prefix_row_mask`), SDPA otherwise."""
    groups = kwargs.pop("prefix_groups", None)
    row_mask = kwargs.pop("prefix_row_mask", None)
    if groups is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    return prefix_shared_attention(query, key, value, row_mask, groups, module.layer_idx, scale), None


# Model types whose attention is plain causal softmax attention (what the shared path computes);
# others (logit soft-capping, sliding windows, attention sinks) keep SDPA and prompt copies.
PLAIN_CAUSAL = ("llama", "qwen2", "qwen3", "mistral")


def plain_causal(config: Any) -> bool:
    if getattr(config, "model_type", None) not in PLAIN_CAUSAL or getattr(config, "attn_logit_softcapping", None):
        return False
    window = getattr(config, "sliding_window", None)
    return window is None or not getattr(config, "use_sliding_window", True)


def install(model: Any) -> bool:
    """Route `model`'s attention through `_attention` (registered once); False, leaving the model
    as it is, when it does not run SDPA attention or its attention is not plain causal (the
    engine then copies prompts to rows)."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) not in ("sdpa", NAME) or not plain_causal(config):
        return False
    AttentionInterface.register(NAME, _attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)  # prefills build the same masks as SDPA
    model.set_attn_implementation(NAME)
    return True
