"""models/gguf_export.py: transformers Llama folders (adapters merged) as GGUF for the llama.cpp engine.

The embedded model is the one real example: its transformers folder was converted from the shipped
GGUF, so exporting it back must give the shipped tensors (dequantised) exactly, names and q/k row
order included."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from agentdistill.models import gguf_export
from agentdistill.models.embedded import gguf_path, prepare_embedded
from agentdistill.models.hf_model import ModelSource, load_model, load_tokenizer


def test_rotary_permute_interleaves_each_heads_halves():
    heads, rows, cols = 2, 8, 3
    weight = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols)
    out = gguf_export.rotary_permute(weight, heads)
    half = rows // heads // 2
    for head in range(heads):
        block = weight[head * rows // heads : (head + 1) * rows // heads]
        # HF keeps a head's rotary pairs as (first half, second half); GGUF as adjacent rows
        expected = np.stack([block[:half], block[half:]], axis=1).reshape(block.shape)
        assert np.array_equal(out[head * rows // heads : (head + 1) * rows // heads], expected)


def test_unknown_tensor_names_are_refused():
    assert gguf_export.gguf_name("model.layers.12.mlp.down_proj.weight") == "blk.12.ffn_down.weight"
    with pytest.raises(gguf_export.NotExportable, match="model.layers.0.self_attn.q_norm.weight"):
        gguf_export.gguf_name("model.layers.0.self_attn.q_norm.weight")


@pytest.mark.slow
def test_the_embedded_folder_exports_to_the_shipped_tensors_exactly():
    from gguf import GGUFReader
    from gguf.quants import dequantize

    tokenizer, model = load_model(ModelSource(str(prepare_embedded())), "cpu", "float32", merge_adapter=True)
    shipped = GGUFReader(str(gguf_path()))
    gguf_export.check_exportable(model.config, tokenizer, shipped)
    ours = gguf_export.gguf_tensors(model.state_dict(), model.config)
    original = {t.name: dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)]) for t in shipped.tensors}
    assert set(ours) == set(original)  # tied lm_head left out, as in the shipped file
    for name, array in original.items():
        assert ours[name].shape == array.shape, name
        assert np.array_equal(ours[name], array), name


@pytest.mark.slow
def test_export_is_cached_and_keyed_by_the_weights(tmp_path, monkeypatch):
    from gguf import GGUFReader

    embedded = prepare_embedded()  # from the real cache, before the cache moves
    monkeypatch.setenv("AGENTDISTILL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "student"
    tokenizer, model = load_model(ModelSource(str(embedded)), "cpu", "float32", merge_adapter=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    first = gguf_export.export_gguf(ModelSource(str(folder)), load_tokenizer, load_model)
    written = first.stat().st_mtime_ns
    assert gguf_export.export_gguf(ModelSource(str(folder)), load_tokenizer, load_model) == first and first.stat().st_mtime_ns == written
    reader = GGUFReader(str(first))
    assert reader.fields["llama.block_count"].contents() == model.config.num_hidden_layers
    assert reader.fields["tokenizer.ggml.tokens"].contents()[:3] == GGUFReader(str(gguf_path())).fields["tokenizer.ggml.tokens"].contents()[:3]
    assert {t.tensor_type.name for t in reader.tensors} == {"Q8_0", "F32"}
    # new weights (a retrained student written in place): a new file
    weights = folder / "model.safetensors"
    os.utime(weights, ns=(written + 10**9, written + 10**9))
    assert gguf_export.export_gguf(ModelSource(str(folder)), load_tokenizer, load_model) != first


@pytest.mark.slow
def test_models_llama_cpp_cannot_run_are_named(tmp_path):
    from gguf import GGUFReader
    from transformers import AutoTokenizer, GPT2Config, LlamaConfig

    shipped = GGUFReader(str(gguf_path()))
    tokenizer = AutoTokenizer.from_pretrained(prepare_embedded())
    with pytest.raises(gguf_export.NotExportable, match="model type 'gpt2'"):
        gguf_export.check_exportable(GPT2Config(), tokenizer, shipped)
    config = json.loads((prepare_embedded() / "config.json").read_text())
    scaled = LlamaConfig(**{**config, "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 100000.0}})
    with pytest.raises(gguf_export.NotExportable, match="rope scaling"):
        gguf_export.check_exportable(scaled, tokenizer, shipped)
    tokenizer.add_tokens(["<agentdistill-new-token>"])
    with pytest.raises(gguf_export.NotExportable, match="tokenizer is not the embedded model's"):
        gguf_export.check_exportable(LlamaConfig(**config), tokenizer, shipped)
