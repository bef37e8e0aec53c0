"""A transformers Llama folder (a LoRA adapter merged into it first) as a GGUF file for llama.cpp.

The llama.cpp engine (`llamacpp_engine.py`) runs GGUF files. The embedded model ships as one,
but its students are transformers folders or PEFT adapters, so every model goes through one
path: load it with transformers (an adapter merged into its base), write its weights as Q8_0
GGUF (norms in float32) with the embedded GGUF's tokenizer metadata, and cache the file under a
key of the weights' bytes. Q8_0 rather than the shipped Q4_1: the folder holds the dequantised
Q4_1 weights (or a student trained from them), Q8_0 keeps them to about 0.4% per weight, and
llama.cpp's Q8_0 kernels were the fastest measured here after Q4_0 (which would re-quantise
the weights a second time at 4 bits).

Only models llama.cpp can run with that tokenizer are exported: `LlamaForCausalLM` with the
embedded model's vocabulary (SmolLM2 and its students). Anything else raises `NotExportable`
and the caller uses the transformers engine.

Layout facts (llama.cpp's own converter does the same): q_proj and k_proj rows are permuted
from the Hugging Face rotary layout (halves) to GGUF's (interleaved pairs), per head.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from agentdistill.core.paths import cache_dir
from agentdistill.models.embedded import _file_lock, gguf_path

# Bump when the written file changes for the same weights (the cache key includes it).
EXPORT_VERSION = 1
WEIGHT_TYPE = "Q8_0"

_LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_TOP_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}


class NotExportable(ValueError):
    """The model is not one the llama.cpp engine can run (the transformers engine can)."""


def gguf_name(hf_name: str) -> str:
    if hf_name in _TOP_NAMES:
        return _TOP_NAMES[hf_name]
    parts = hf_name.split(".", 3)  # model.layers.N.rest
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[3] in _LAYER_NAMES:
        return f"blk.{parts[2]}.{_LAYER_NAMES[parts[3]]}"
    raise NotExportable(f"tensor {hf_name!r} has no GGUF name for the llama architecture")


def rotary_permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """Rows of a q/k projection from the HF rotary layout (each head: first halves, then second
    halves) to GGUF's (each head: interleaved pairs)."""
    rows = weight.shape[0]
    return weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def gguf_tensors(state: dict[str, Any], config: Any) -> dict[str, np.ndarray]:
    """GGUF-named float32 arrays of a Llama state dict (q/k permuted; a tied lm_head left out)."""
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    tied = bool(getattr(config, "tie_word_embeddings", False))
    out: dict[str, np.ndarray] = {}
    for name, tensor in state.items():
        if name == "lm_head.weight" and tied:
            continue
        if name.endswith("rotary_emb.inv_freq"):
            continue
        array = tensor.detach().to("cpu").float().numpy()
        if name.endswith("self_attn.q_proj.weight"):
            array = rotary_permute(array, heads)
        elif name.endswith("self_attn.k_proj.weight"):
            array = rotary_permute(array, kv_heads)
        out[gguf_name(name)] = np.ascontiguousarray(array)
    return out


def check_exportable(config: Any, tokenizer: Any, template: Any) -> None:
    """Raise NotExportable unless llama.cpp can run this model with the template's tokenizer."""
    architectures = list(getattr(config, "architectures", None) or [])
    if getattr(config, "model_type", None) != "llama" or architectures not in ([], ["LlamaForCausalLM"]):
        raise NotExportable(f"model type {getattr(config, 'model_type', None)!r} ({architectures}); the llama.cpp engine runs Llama models")
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", "default") != "default" or getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise NotExportable("rope scaling or attention/MLP biases are not exported")
    tokens = list(template.fields["tokenizer.ggml.tokens"].contents())
    if len(tokenizer) != len(tokens) or tokenizer.convert_ids_to_tokens(list(range(len(tokens)))) != tokens:
        raise NotExportable("its tokenizer is not the embedded model's (the GGUF's tokenizer metadata comes from there)")


def write_gguf(path: Path, tensors: dict[str, np.ndarray], config: Any, template: Any, weight_type: str = WEIGHT_TYPE) -> None:
    """Write `tensors` with the model's hyperparameters from `config` and every other key
    (tokenizer, chat template, general.*) from the template GGUF."""
    import gguf
    from gguf.quants import quantize

    writer = gguf.GGUFWriter(str(path), "llama")
    own = {
        "llama.block_count": (config.num_hidden_layers, gguf.GGUFValueType.UINT32),
        "llama.context_length": (config.max_position_embeddings, gguf.GGUFValueType.UINT32),
        "llama.embedding_length": (config.hidden_size, gguf.GGUFValueType.UINT32),
        "llama.feed_forward_length": (config.intermediate_size, gguf.GGUFValueType.UINT32),
        "llama.attention.head_count": (config.num_attention_heads, gguf.GGUFValueType.UINT32),
        "llama.attention.head_count_kv": (config.num_key_value_heads, gguf.GGUFValueType.UINT32),
        "llama.rope.freq_base": (float(_rope_theta(config)), gguf.GGUFValueType.FLOAT32),
        "llama.attention.layer_norm_rms_epsilon": (float(config.rms_norm_eps), gguf.GGUFValueType.FLOAT32),
        "llama.vocab_size": (config.vocab_size, gguf.GGUFValueType.UINT32),
        "llama.rope.dimension_count": (config.hidden_size // config.num_attention_heads, gguf.GGUFValueType.UINT32),
        "general.file_type": (int(gguf.LlamaFileType.MOSTLY_Q8_0 if weight_type == "Q8_0" else gguf.LlamaFileType.ALL_F32), gguf.GGUFValueType.UINT32),
    }
    for key, field in template.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in own or key.startswith("llama."):
            continue
        kind = field.types[0]
        writer.add_key_value(key, field.contents(), kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    for key, (value, kind) in own.items():
        writer.add_key_value(key, value, kind)
    qtype = gguf.GGMLQuantizationType[weight_type]
    for name, array in tensors.items():
        if array.ndim == 2 and qtype != gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, quantize(array, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(name, array.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _rope_theta(config: Any) -> float:
    theta = getattr(config, "rope_theta", None)
    if theta is None:  # transformers 5 keeps it in rope_parameters
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta", 10000.0)
    return float(theta)


def _weights_key(source: Any) -> str:
    """A digest of everything the exported weights depend on: the base's and the adapter's
    weight and config files (name, size, modification time: hashing the content would cost
    seconds at every load) and the export settings."""
    digest = hashlib.sha256(f"v{EXPORT_VERSION}:{WEIGHT_TYPE}".encode())
    for folder in (source.base, source.adapter):
        if not folder:
            continue
        folder = Path(folder)
        if not folder.is_dir():
            digest.update(str(folder).encode())  # a hub id: its cached snapshot is immutable per revision
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".safetensors", ".bin", ".json") and path.is_file():
                stat = path.stat()
                digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def export_gguf(source: Any, load_tokenizer: Any, load_model: Any) -> Path:
    """The cached GGUF of `source` (a hf_model.ModelSource), written once under a lock; the
    loaders are hf_model's (`load_tokenizer(source)`, `load_model(source, device, dtype, merge)`)."""
    from gguf import GGUFReader

    target = cache_dir("models", "gguf") / f"{Path(str(source.adapter or source.base)).name}-{_weights_key(source)}.gguf"
    if target.is_file():
        return target
    with _file_lock(target.with_suffix(".lock")):
        if target.is_file():
            return target
        template = GGUFReader(str(gguf_path()))
        config = _config_of(source)
        check_exportable(config, load_tokenizer(source), template)  # before loading any weights
        _, model = load_model(source, "cpu", "float32", merge_adapter=True)
        tensors = gguf_tensors(model.state_dict(), model.config)
        del model
        handle, tmp = tempfile.mkstemp(prefix=target.name + ".partial-", dir=target.parent)
        os.close(handle)
        try:
            write_gguf(Path(tmp), tensors, config, template)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        (target.with_suffix(".json")).write_text(json.dumps({"base": source.base, "adapter": source.adapter, "weights": WEIGHT_TYPE}, indent=2))
    return target


def _config_of(source: Any) -> Any:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(source.base)
