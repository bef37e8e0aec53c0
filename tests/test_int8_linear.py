"""models/int8_linear.py: int8 linear layers with per-row activation scales (the kv engine's CPU default)."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agentdistill.models.int8_linear import Int8Linear, quantize_int8


def _linear(inp: int, out: int, bias: bool = False, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    lin = torch.nn.Linear(inp, out, bias=bias)
    lin.weight.data.normal_(0, 0.05)
    return lin


@pytest.mark.parametrize("bias", [False, True])
def test_matches_the_float_product_within_int8_error(bias):
    lin = _linear(96, 40, bias)
    x = torch.randn(5, 3, 96)
    ref = lin(x)
    got = Int8Linear(lin)(x)
    assert got.shape == ref.shape
    rel = ((got - ref).norm() / ref.norm()).item()
    assert rel < 0.02, rel  # int8 on both sides: about 1% (measured 0.5-1.2%)


def test_a_rows_result_does_not_depend_on_its_batch():
    """What PyTorch's dynamic int8 does not give: one large row changes every other row's scale there."""
    lin = _linear(96, 64)
    x = torch.randn(8, 96)
    x[3] *= 40.0  # an outlier neighbour
    layer = Int8Linear(lin)
    alone = torch.cat([layer(x[i : i + 1]) for i in range(8)])
    assert torch.equal(layer(x), alone)
    dynamic = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
    assert not torch.equal(dynamic(x)[0], dynamic(x[:1])[0])  # the failure this module exists to avoid


def test_a_zero_row_gives_the_bias():
    lin = _linear(32, 8, bias=True)
    out = Int8Linear(lin)(torch.zeros(2, 32))
    assert torch.allclose(out, lin.bias.expand(2, -1))


def _tiny_llama(bias: bool = False) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=120, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, attention_bias=bias, mlp_bias=bias)
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("bias", [False, True])
def test_sibling_projections_share_one_product_and_keep_their_columns(bias):
    model = _tiny_llama(bias)
    attn, mlp = model.model.layers[0].self_attn, model.model.layers[0].mlp
    floats = {name: getattr(attn, name) for name in ("q_proj", "k_proj", "v_proj")} | {name: getattr(mlp, name) for name in ("gate_proj", "up_proj")}
    x = torch.randn(3, 2, 64)
    alone = {name: Int8Linear(lin)(x) for name, lin in floats.items()}
    quantize_int8(model)
    assert attn.q_proj.shared is attn.k_proj.shared is attn.v_proj.shared is not None
    assert mlp.gate_proj.shared is mlp.up_proj.shared is not mlp.down_proj.shared
    assert mlp.down_proj.shared is None and isinstance(model.lm_head, Int8Linear)
    # same input object: one product, each projection its own columns (equal to quantising it alone)
    for name in ("q_proj", "k_proj", "v_proj"):
        assert torch.equal(getattr(attn, name)(x), alone[name]), name
    for name in ("gate_proj", "up_proj"):
        assert torch.equal(getattr(mlp, name)(x), alone[name]), name
    # a new input is never served the previous input's product, even if a sibling was skipped
    y = torch.randn(3, 2, 64)
    attn.q_proj(x)
    assert torch.equal(attn.k_proj(y), Int8Linear(floats["k_proj"])(y))


def test_a_quantised_model_keeps_its_greedy_predictions_and_skips_lora_layers():
    model = _tiny_llama()
    ids = torch.randint(0, 120, (2, 12))
    with torch.inference_mode():
        ref = model(ids).logits
        quantize_int8(model)
        got = model(ids).logits
    assert ((got - ref).norm() / ref.norm()).item() < 0.05
    assert (got.argmax(-1) == ref.argmax(-1)).float().mean().item() > 0.9

    from peft import LoraConfig, get_peft_model

    peft = get_peft_model(_tiny_llama(), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    quantize_int8(peft, skip="lora_")
    q = peft.base_model.model.model.layers[0].self_attn.q_proj
    assert isinstance(q.base_layer, Int8Linear) and type(q.lora_A["default"]) is torch.nn.Linear
    with torch.inference_mode():
        assert peft(ids).logits.shape == (2, 12, 120)
