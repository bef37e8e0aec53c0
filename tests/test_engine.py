"""The kv engine (models/engine.py, the default) and the llamacpp engine
(models/llamacpp_engine.py, opt-in on CPU) on the real embedded model (slow): continuous batching, shared prefill,
per-request seeds, the prefix cache, adapters, and the engine/quantize/kv_cells model args."""

from __future__ import annotations

import asyncio

import pytest
from inspect_ai.model import GenerateConfig, get_model

from agentdistill.models.hf_model import get_engine

pytestmark = pytest.mark.slow

PROMPT = "What is the capital of France? Answer in one sentence."
SAMPLED = GenerateConfig(max_tokens=24, num_choices=2, temperature=0.8, top_p=0.9, seed=7)


@pytest.fixture(scope="module", params=["llamacpp", "kv"])
def smol(request):
    return get_model("agentdistill/smollm2-135m", engine=request.param)


def texts(output):
    return [c.message.text for c in output.choices]


def test_num_choices_share_one_prefill(smol):
    engine = smol.api.engine
    before = dict(engine.stats)
    out = asyncio.run(smol.generate(PROMPT, config=GenerateConfig(max_tokens=8, num_choices=4, temperature=1.0, seed=3)))
    assert len(out.choices) == 4
    assert engine.stats["prefills"] - before["prefills"] == 1
    assert engine.stats["requests"] - before["requests"] == 1


def test_seeded_samples_do_not_depend_on_batch_neighbours(smol):
    alone = texts(asyncio.run(smol.generate(PROMPT, config=SAMPLED)))

    async def crowded():
        neighbours = [smol.generate(p, config=GenerateConfig(max_tokens=40, temperature=1.0)) for p in ("Name three colours.", "Count to twenty.")]
        results = await asyncio.gather(smol.generate(PROMPT, config=SAMPLED), *neighbours)
        return results[0]

    together = asyncio.run(crowded())
    assert together.metadata["batch_rows"] >= 3
    assert texts(together) == alone


def test_a_request_joins_a_running_batch_without_changing_its_output(smol):
    short = GenerateConfig(max_tokens=16)
    alone = asyncio.run(smol.generate(PROMPT, config=short)).completion

    async def late_joiner():
        long = asyncio.ensure_future(smol.generate("Count from 1 to 100, separated by commas.", config=GenerateConfig(max_tokens=120)))
        await asyncio.sleep(1.0)  # the long request is decoding by now
        joined = await smol.generate(PROMPT, config=short)
        await long
        return joined

    joined = asyncio.run(late_joiner())
    assert joined.metadata["batch_rows"] >= 2
    assert joined.completion == alone


def test_choices_read_their_prompt_once_and_match_a_single_choice_request(smol):
    """kv: a request's rows attend to its prompt KV stored once (prefix_attention.py); llamacpp:
    its sequences share the prompt's cells. Either way a choice is what a request of its own
    (one row, no sharing) gives: greedy rows all equal it, sampled choice 0 equals seed-alike."""
    engine = smol.api.engine
    prompt = "Here are three facts. Water boils at 100 C. Ice melts at 0 C. Iron melts at 1538 C. " * 6 + PROMPT
    greedy = GenerateConfig(max_tokens=32)
    before = engine.stats["shared_prompt_rows"]
    three = texts(asyncio.run(smol.generate(prompt, config=greedy.merge(GenerateConfig(num_choices=3)))))
    assert engine.stats["shared_prompt_rows"] - before == 3
    one = asyncio.run(smol.generate(prompt, config=greedy)).completion
    assert three == [one] * 3
    sampled = GenerateConfig(max_tokens=32, temperature=0.8, top_p=0.9, seed=11)
    four = texts(asyncio.run(smol.generate(prompt, config=sampled.merge(GenerateConfig(num_choices=4)))))
    assert four[0] == asyncio.run(smol.generate(prompt, config=sampled)).completion


def test_unknown_engine_and_misplaced_options_are_named():
    with pytest.raises(ValueError, match="engine='fast'"):
        get_engine("smollm2-135m", engine="fast")
    with pytest.raises(ValueError, match="chunk_tokens applies to -M engine=chunked"):
        get_engine("smollm2-135m", chunk_tokens=4)
    with pytest.raises(ValueError, match="quantize='int4'; expected one of"):
        get_engine("smollm2-135m", quantize="int4")
    with pytest.raises(ValueError, match="quantize='int8' needs the kv engine"):
        get_engine("smollm2-135m", engine="chunked", quantize="int8")
    with pytest.raises(ValueError, match="quantize applies to -M engine=kv only"):
        get_engine("smollm2-135m", engine="llamacpp", quantize="int8")
    with pytest.raises(ValueError, match="kv_cells applies to -M engine=llamacpp only"):
        get_engine("smollm2-135m", engine="kv", kv_cells=4096)
    with pytest.raises(ValueError, match="kv_cells=0; expected a number of KV cells >= 1"):
        get_engine("smollm2-135m", engine="llamacpp", kv_cells=0)
    with pytest.raises(ValueError, match="runs on cpu only"):
        get_engine("smollm2-135m", engine="llamacpp", device="cuda")


def test_kv_is_the_default_and_llamacpp_is_asked_for_by_name():
    from agentdistill.models.engine import KVEngine
    from agentdistill.models.llamacpp_engine import LlamaCppEngine

    default = get_engine("smollm2-135m")
    assert isinstance(default, KVEngine) and not isinstance(default, LlamaCppEngine)
    assert isinstance(get_engine("smollm2-135m", engine="llamacpp"), LlamaCppEngine)


def test_a_full_kv_cache_fails_the_request_by_name_and_the_engine_goes_on():
    """512 cells: 4 greedy choices counting to 1000 outgrow them after ~120 tokens each; the
    request fails naming -M kv_cells, its sequences are freed and the next request runs."""
    small = get_model("agentdistill/smollm2-135m", engine="llamacpp", kv_cells=512, prefix_cache=0, memoize=False)
    engine = small.api.engine
    long = GenerateConfig(max_tokens=400, num_choices=4)
    with pytest.raises(RuntimeError, match="KV cache is full.*-M kv_cells"):
        asyncio.run(small.generate("Count from 1 to 1000, separated by commas.", config=long))
    assert len(engine.free_seqs) == engine.llama.sequences
    assert asyncio.run(small.generate(PROMPT, config=GenerateConfig(max_tokens=8))).completion.strip()


def test_a_prompt_that_extends_a_previous_one_reuses_its_kv_cache(smol):
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

    engine = smol.api.engine
    config = GenerateConfig(max_tokens=12)
    first = [ChatMessageUser(content="Write a short poem about the sea. " * 8)]
    asyncio.run(smol.generate(first, config=config))
    before = dict(engine.stats)
    longer = [*first, ChatMessageAssistant(content="The sea is wide."), ChatMessageUser(content="Now one about the sky.")]
    reused = asyncio.run(smol.generate(longer, config=config))
    assert engine.stats["reused_tokens"] - before["reused_tokens"] >= 64
    fresh = get_model("agentdistill/smollm2-135m", engine=smol.api.engine_name, prefix_cache=0, memoize=False)
    assert asyncio.run(fresh.generate(longer, config=config)).completion == reused.completion
    # forgotten prefixes (what CI's regression does between tasks): the same prompt prefills in full
    from agentdistill.models.hf_model import forget_prefixes

    forget_prefixes()
    before = dict(engine.stats)
    asyncio.run(smol.generate(longer, config=config))
    assert engine.stats["reused_tokens"] == before["reused_tokens"] and engine.prefixes.tokens() > 0


def test_lora_adapter_merged_or_not_runs_quantised(tmp_path, smol):
    """A freshly initialised LoRA (B = 0) changes nothing: merged or not, its greedy text is the base's."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(smol.api.engine.source.base)
    get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path)
    config = GenerateConfig(max_tokens=12)
    expected = asyncio.run(smol.generate(PROMPT, config=config)).completion
    for merge in (True, False):
        adapter = get_model(f"agentdistill/{tmp_path}", engine=smol.api.engine_name, merge_adapter=merge, memoize=False)
        assert asyncio.run(adapter.generate(PROMPT, config=config)).completion == expected


def test_a_corrupt_gguf_file_is_named(tmp_path):
    from agentdistill.models.llamacpp_engine import _Llama

    garbage = tmp_path / "model.gguf"
    garbage.write_bytes(b"GGUF" + b"\x00garbage" * 100)
    with pytest.raises(RuntimeError, match=f"could not load {garbage}.*not a valid GGUF"):
        _Llama(garbage, threads=1, cells=256, sequences=2)
