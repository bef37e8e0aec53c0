"""Model APIs: the scripted test model (fast) and the embedded SmolLM2 model (slow)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

from agentdistill.models import embedded
from agentdistill.models.scripted import load_script


def run(coro):
    return asyncio.run(coro)


def scripted(script, name="t"):
    # memoize=False: every test gets a fresh instance (its own call log and counters)
    return get_model(f"scripted/{name}", script=script, memoize=False)


# ------------------------------------------------------------------------------ scripted model


def test_scripted_rules_regex_groups_turn_and_default():
    model = scripted(
        {
            "rules": [
                {"match": r"add (\d+) and (\d+)", "reply": "sum of {{group1}} and {{group2}}"},
                {"turn": 1, "reply": "second turn"},
                {"match_system": "pirate", "reply": "arr"},
            ],
            "default": "no idea",
        }
    )
    assert run(model.generate("please add 2 and 40")).completion == "sum of 2 and 40"
    history = [ChatMessageUser(content="hi"), ChatMessageAssistant(content="hello"), ChatMessageUser(content="again")]
    assert run(model.generate(history)).completion == "second turn"
    pirate = [ChatMessageSystem(content="You are a pirate."), ChatMessageUser(content="hi")]
    assert run(model.generate(pirate)).completion == "arr"
    assert run(model.generate("something else")).completion == "no idea"
    assert [c["rule"] for c in model.api.calls] == [0, 1, 2, None]


def test_scripted_unmatched_without_default_raises():
    model = scripted([{"match": "^only this$", "reply": "x"}])
    with pytest.raises(ValueError, match="no rule matches"):
        run(model.generate("something else"))


def test_scripted_num_choices_cycles_candidates_and_reports_usage():
    model = scripted([{"reply": ["Answer: \\boxed{3}", "Answer: \\boxed{5}"]}])
    out = run(model.generate("q", config=GenerateConfig(num_choices=5)))
    assert [c.message.text for c in out.choices] == ["Answer: \\boxed{3}", "Answer: \\boxed{5}"] * 2 + ["Answer: \\boxed{3}"]
    # "Answer : \ boxed { 3 }" is 7 pieces per choice
    assert out.usage.output_tokens == 5 * 7
    assert out.usage.input_tokens == 1
    assert out.usage.total_tokens == 36
    single = run(model.generate("q"))
    assert len(single.choices) == 1 and single.completion == "Answer: \\boxed{3}"


def test_scripted_stop_sequences_and_max_tokens():
    model = scripted(["Thought: add\nCode:\n```py\nprint(1)\n```<end_code>\nObservation: 1"])
    out = run(model.generate("q", config=GenerateConfig(stop_seqs=["<end_code>", "Observation:"])))
    assert out.completion == "Thought: add\nCode:\n```py\nprint(1)\n```"
    assert out.choices[0].stop_reason == "stop"
    short = run(model.generate("q", config=GenerateConfig(max_tokens=4)))
    assert short.completion == "Thought: add\nCode"
    assert short.choices[0].stop_reason == "max_tokens"
    assert short.usage.output_tokens == 4


def test_scripted_prefill_rule_returns_continuation():
    model = scripted([{"match_prefill": "^Thought: first", "reply": " and then code"}, {"reply": "plain"}])
    prefill = [ChatMessageUser(content="q"), ChatMessageAssistant(content="Thought: first paragraph")]
    out = run(model.generate(prefill))
    assert out.completion == " and then code"
    assert model.api.calls[0]["prefill"] == "Thought: first paragraph"
    assert model.api.calls[0]["turn"] == 0  # the prefill itself is not a previous turn
    assert run(model.generate("q")).completion == "plain"


def test_scripted_script_from_jsonl_file_and_json_text(tmp_path):
    path = tmp_path / "script.jsonl"
    path.write_text(json.dumps({"match": "capital", "reply": "<answer>Paris</answer>"}) + "\n" + json.dumps("fallback") + "\n")
    loaded = load_script(str(path))
    assert loaded["rules"][0]["match"] == "capital" and loaded["rules"][1] == {"reply": "fallback"}
    assert load_script('[{"reply": "x"}]')["rules"] == [{"reply": "x"}]
    with pytest.raises(ValueError, match="needs a 'reply'"):
        load_script([{"match": "x"}])
    with pytest.raises(ValueError, match="script file not found"):  # an InputError: one message, no traceback
        load_script(str(tmp_path / "missing.json"))


def test_scripted_in_eval_per_sample_sequences_and_target(tmp_path, log_dir):
    """The CLI path (`-M script=<file>` arrives as a model arg): replies consumed per sample,
    `{{target}}` filled from the active sample, usage always present."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"replies": ["first {{sample_id}}", "second {{target}}"]}]))
    task = Task(
        dataset=[Sample(id="a", input="What is 2+2?", target="4"), Sample(id="b", input="What is 3+3?", target="6")],
        solver=[generate(), generate()],
        scorer=includes(),
    )
    [log] = eval(task, model="scripted/demo", model_args={"script": str(script)}, log_dir=str(log_dir), display="none")
    assert log.status == "success"
    samples = {s.id: s for s in log.samples}
    for sid, target in (("a", "4"), ("b", "6")):
        replies = [m.text for m in samples[sid].messages if m.role == "assistant"]
        assert replies == [f"first {sid}", f"second {target}"]
        assert samples[sid].scores["includes"].value == "C"
    usage = log.stats.model_usage["scripted/demo"]
    assert usage.output_tokens > 0 and usage.input_tokens > 0


# ------------------------------------------------------------------------------ resolving names


def test_resolve_model_local_folder_adapter_and_hub_id(tmp_path, monkeypatch):
    from agentdistill.models import hf_model

    monkeypatch.setattr(hf_model, "prepare_embedded", lambda: tmp_path / "embedded")
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    assert hf_model.resolve_model(str(base)) == hf_model.ModelSource(str(base.resolve()))

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base)}))
    assert hf_model.resolve_model(str(adapter)) == hf_model.ModelSource(str(base.resolve()), str(adapter.resolve()))

    # an adapter trained on the embedded model, named by its alias or by a cached folder
    # path from another machine
    for name in ("agentdistill/smollm2-135m", "/elsewhere/.cache/agentdistill/models/" + embedded.FOLDER_NAME):
        (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": name}))
        assert hf_model.resolve_model(str(adapter)) == hf_model.ModelSource(str(tmp_path / "embedded"), str(adapter.resolve()))

    assert hf_model.resolve_model("smollm2-135m") == hf_model.ModelSource(str(tmp_path / "embedded"))
    assert hf_model.resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == hf_model.ModelSource("Qwen/Qwen2.5-0.5B-Instruct")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="neither"):
        hf_model.resolve_model(str(empty))


# ------------------------------------------------------------------------------ embedded conversion


def test_gguf_ships_in_the_installed_package():
    path = embedded.gguf_path()
    assert path.name == embedded.GGUF_FILE and path.stat().st_size > 50_000_000


def test_prepare_embedded_converts_once_under_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTDISTILL_CACHE", str(tmp_path))
    conversions = []

    def fake_convert(source, dest):
        conversions.append(dest)
        (dest / "config.json").write_text("{}")

    monkeypatch.setattr(embedded, "_convert", fake_convert)
    results = []
    threads = [threading.Thread(target=lambda: results.append(embedded.prepare_embedded())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(conversions) == 1
    assert set(results) == {tmp_path / "models" / embedded.FOLDER_NAME}
    provenance = json.loads((results[0] / embedded.PROVENANCE_FILE).read_text())
    assert provenance["source_file"] == embedded.GGUF_FILE and len(provenance["source_sha256"]) == 64


def test_prepare_embedded_failure_leaves_nothing_half_done(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTDISTILL_CACHE", str(tmp_path))

    def broken_convert(source, dest):
        (dest / "model.safetensors").write_text("partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(embedded, "_convert", broken_convert)
    with pytest.raises(RuntimeError, match="disk full"):
        embedded.prepare_embedded()
    models = tmp_path / "models"
    assert not (models / embedded.FOLDER_NAME).exists()
    assert [p.name for p in models.iterdir() if p.is_dir()] == []


# ------------------------------------------------------------------------------ embedded model (slow)

PROMPT = "What is the capital of France? Answer in one sentence."


@pytest.fixture(scope="module")
def smol():
    return get_model("agentdistill/smollm2-135m")


@pytest.mark.slow
def test_embedded_greedy_is_deterministic_and_reports_usage(smol):
    config = GenerateConfig(max_tokens=16)
    first = run(smol.generate(PROMPT, config=config))
    second = run(smol.generate(PROMPT, config=config))
    assert first.completion == second.completion and first.completion.strip()
    assert "Paris" in first.completion
    assert 0 < first.usage.output_tokens <= 17 and first.usage.input_tokens > 10


@pytest.mark.slow
def test_embedded_num_choices_returns_n_sampled_choices(smol):
    out = run(smol.generate(PROMPT, config=GenerateConfig(max_tokens=12, num_choices=3, temperature=1.0, top_p=0.95, seed=1)))
    assert len(out.choices) == 3
    assert all(c.message.text.strip() for c in out.choices)
    assert out.usage.output_tokens >= 3


@pytest.mark.slow
def test_embedded_prefill_continues_the_assistant_message(smol):
    prefix = "The capital of France is"
    out = run(smol.generate([ChatMessageUser(content=PROMPT), ChatMessageAssistant(content=prefix)], config=GenerateConfig(max_tokens=8)))
    # only the continuation comes back, and it continues the sentence (no new turn)
    assert not out.completion.startswith(prefix)
    assert "Paris" in out.completion.split(".")[0]
    assert "<|im_start|>" not in out.completion


@pytest.mark.slow
def test_embedded_stop_sequences_cut_and_stop_early(smol):
    config = GenerateConfig(max_tokens=60, stop_seqs=["4"])
    out = run(smol.generate("List the numbers from 1 to 10, one per line.", config=config))
    assert "4" not in out.completion and "3" in out.completion
    assert out.choices[0].stop_reason == "stop"
    assert out.usage.output_tokens < 40  # stopped early, not at max_tokens


@pytest.mark.slow
def test_embedded_batched_greedy_equals_unbatched(smol):
    config = GenerateConfig(max_tokens=16)
    alone = run(smol.generate(PROMPT, config=config)).completion

    async def together():
        prompts = [PROMPT, "Name three colours.", "What is 7 times 6? Think step by step, please."]
        return await asyncio.gather(*[smol.generate(p, config=config) for p in prompts])

    outputs = run(together())
    assert max(o.metadata["batch_rows"] for o in outputs) >= 2  # calls shared a forward pass
    assert outputs[0].completion == alone


@pytest.mark.slow
def test_embedded_chunked_generation_equals_whole(smol):
    """Rows continued across chunks (4 tokens each here) give the same greedy text and count."""
    chunked = get_model("agentdistill/smollm2-135m", engine="chunked", chunk_tokens=4, memoize=False)
    config = GenerateConfig(max_tokens=14, stop_seqs=["Lyon"])
    whole = run(smol.generate(PROMPT, config=config))
    parts = run(chunked.generate(PROMPT, config=config))
    assert parts.completion == whole.completion
    assert parts.usage.output_tokens == whole.usage.output_tokens
    assert chunked.api.engine.stats["batches"] >= 2
