"""Loss masks of distillation: exactly the assistant turns (thought + code + end-of-turn token) are trained.

The masks are read from the dataset TRL's SFTTrainer actually trains on (labels != -100), built with the
real SmolLM2 tokenizer (ChatML) and, for a second chat format, the same vocabulary with a Llama-3 template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trl.chat_template_utils import has_generation_markers

from agentdistill.distill import chat_templates as ct
from agentdistill.distill import train as tr
from agentdistill.tasks._core.data import sha256_file

# A real multi-turn trajectory in the agent's format: an execution error, its recovery, and the final answer.
TRAJECTORY = [
    {"role": "system", "content": "You solve tasks by writing Python code, step by step."},
    {"role": "user", "content": "Task: What is the sum of the first 10 primes?\n\nAlways answer with a \"Thought:\" and a \"Code:\" block."},
    {"role": "assistant", "content": "Thought: I list the primes with sympy.\nCode:\n```py\nprint(sum(primerange(30)))\n```<end_code>"},
    {"role": "user", "content": "Observation: Error: NameError: name 'primerange' is not defined\nFix the code and try again."},
    {"role": "assistant", "content": "Thought: I forgot the import.\nCode:\n```py\nfrom sympy import primerange\nprint(sum(list(primerange(30))[:10]))\n```<end_code>"},
    {"role": "user", "content": "Observation: Execution logs:\n129"},
    {"role": "assistant", "content": "Thought: The sum is 129.\nCode:\n```py\nfinal_answer(129)\n```<end_code>"},
]
ASSISTANT = [m["content"] for m in TRAJECTORY if m["role"] == "assistant"]


def _smollm2_tokenizer():
    from transformers import AutoTokenizer

    from agentdistill.models import embedded

    folder = embedded.embedded_dir()
    if folder.is_dir():
        return AutoTokenizer.from_pretrained(str(folder))
    gguf = embedded.gguf_path()  # no converted folder yet: the tokenizer alone loads from the GGUF
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


@pytest.fixture(scope="module")
def chatml_tokenizer():
    return _smollm2_tokenizer()


@pytest.fixture(scope="module")
def llama3_tokenizer():
    tok = _smollm2_tokenizer()
    tok.add_special_tokens(
        {
            "bos_token": "<|begin_of_text|>",
            "eos_token": "<|eot_id|>",
            "additional_special_tokens": ["<|start_header_id|>", "<|end_header_id|>"],
        }
    )
    tok.chat_template = ct.LLAMA3_ORIGINAL_TEMPLATE
    return tok


def _tiny_model(vocab_size: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048)
    return LlamaForCausalLM(config)


def _trained(tokenizer, tmp_path: Path, records=None):
    """(input_ids, labels, template family) of the first example as the SFTTrainer prepares it."""
    original = tokenizer.chat_template
    config, _, _ = tr.parse_args(["--data", "x", "--output_dir", str(tmp_path / "out"), "--max_length", "2048"])
    try:
        trainer, family = tr.build_trainer(_tiny_model(len(tokenizer)), tokenizer, records or [{"messages": TRAJECTORY}], config)
        row = trainer.train_dataset[0]
    finally:
        tokenizer.chat_template = original
    return list(row["input_ids"]), list(row["labels"]), family


# chatml: what the paper's collator trained for Qwen (newline after the role, content, end token, newline)
@pytest.mark.parametrize("fmt,start,end", [("chatml", "\n", "<|im_end|>\n"), ("llama3", "", "<|eot_id|>")])
def test_only_assistant_turns_and_end_token_are_trained(fmt, start, end, request, tmp_path):
    tok = request.getfixturevalue(f"{fmt}_tokenizer")
    original = tok.chat_template
    input_ids, labels, family = _trained(tok, tmp_path)
    assert family == fmt
    # the trained sequence is exactly what the model sees at inference (its own template)
    assert tok.decode(input_ids) == tok.apply_chat_template(TRAJECTORY, chat_template=original, tokenize=False)
    spans = ct.masked_spans(tok, input_ids, [int(label != -100) for label in labels])
    print(f"\n[{fmt}] trained spans:\n" + "\n---\n".join(spans))
    assert spans == [start + content + end for content in ASSISTANT]
    # every trained position's label is its own token; nothing of system, user or observations is trained
    assert all(label in (-100, tok_id) for label, tok_id in zip(labels, input_ids))
    masked_text = tok.decode([t for t, label in zip(input_ids, labels) if label == -100])
    for message in TRAJECTORY:
        if message["role"] != "assistant":
            assert message["content"].strip() in masked_text
    assert "Observation" not in "".join(spans)


def test_chatml_default_system_prompt_is_reproduced(chatml_tokenizer):
    family, template = ct.training_template(chatml_tokenizer)
    convo = TRAJECTORY[1:]  # no system message: SmolLM2's template injects its default one
    ours = chatml_tokenizer.apply_chat_template(convo, chat_template=template, tokenize=False)
    theirs = chatml_tokenizer.apply_chat_template(convo, tokenize=False)
    assert family == "chatml" and ours == theirs and "You are a helpful AI assistant named SmolLM" in ours
    assert ct.assistant_spans(chatml_tokenizer, convo, template) == ["\n" + c + "<|im_end|>\n" for c in ASSISTANT]


def test_unsupported_template_is_refused(chatml_tokenizer):
    weird = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ct.TemplateError):
        ct.training_template(chatml_tokenizer, weird)


def test_template_that_drops_the_end_token_is_refused(chatml_tokenizer):
    no_end = ct.CHATML_TRAINING_TEMPLATE.replace("DEFAULT_SYSTEM", '""').replace(
        "{%- generation %}{{- '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endgeneration %}",
        "{%- generation %}{{- '\\n' + message['content'] }}{%- endgeneration %}{{- '<|im_end|>\\n' }}",
    )
    with pytest.raises(ct.TemplateError, match="end-of-turn"):
        ct.check_template(chatml_tokenizer, no_end, no_end)


def test_effective_batch_and_vllm_adapter_checks(tmp_path):
    assert tr.grad_accumulation(8, 1, 1) == 8 and tr.grad_accumulation(8, 2, 2) == 2
    with pytest.raises(ValueError):
        tr.grad_accumulation(8, 3, 1)
    good = {"r": 64, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    (tmp_path / "adapter_config.json").write_text(json.dumps(good))
    assert tr.check_vllm_servable(tmp_path)["r"] == 64
    for bad in ({**good, "r": 128}, {**good, "target_modules": good["target_modules"] + ["lm_head"]},
                {**good, "modules_to_save": ["embed_tokens"]}):
        (tmp_path / "adapter_config.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match="not servable"):
            tr.check_vllm_servable(tmp_path)


def test_lora_defaults_follow_the_paper():
    from trl import get_peft_config

    training, model_args, options = tr.parse_args(["--data", "d.jsonl", "--output_dir", "o"])
    config = get_peft_config(model_args)
    assert (config.r, config.lora_alpha, config.lora_dropout, config.target_modules) == (64, 128, 0.05, "all-linear")
    assert (training.learning_rate, training.num_train_epochs, options.effective_batch_size) == (2e-4, 2.0, 8)
    assert (training.gradient_accumulation_steps, training.per_device_train_batch_size, training.max_length) == (8, 1, 10240)
    assert training.assistant_only_loss and model_args.model_name_or_path == "agentdistill/smollm2-135m"
    assert not training.bf16 and not training.gradient_checkpointing  # this CPU: no bf16, no recomputation
    full, full_model, full_options = tr.parse_args(["--data", "d.jsonl", "--output_dir", "o", "--full"])
    assert full.learning_rate == 1e-5 and full_options.full and get_peft_config(full_model) is None
    # --use_peft false is the same full fine-tuning; a learning rate given is kept
    same, same_model, same_options = tr.parse_args(["--data", "d", "--output_dir", "o", "--use_peft", "false",
                                                    "--learning_rate", "3e-5"])
    assert same.learning_rate == 3e-5 and same_options.full and not same_model.use_peft


def test_the_options_are_trls_own_parser_with_a_config_file(tmp_path):
    """TRL's TrlParser over SFTConfig/ModelConfig: `--config` YAML sets options, the command line overrides it (either
    spelling), TRL-only options arrive, and the paper's defaults stay where neither says otherwise."""
    from trl import ModelConfig, SFTConfig, TrlParser

    assert isinstance(tr.build_parser(), TrlParser)
    config = tmp_path / "run.yaml"
    config.write_text(f"data: {tmp_path / 'd.jsonl'}\noutput_dir: {tmp_path / 'out'}\nlora_r: 32\nnum_train_epochs: 1\n"
                      "lr_scheduler_type: cosine\nthreads: 1\n")
    training, model_args, options = tr.parse_args(["--config", str(config), "--lora-r", "16", "--warmup_steps", "0.1"])
    assert isinstance(training, SFTConfig) and isinstance(model_args, ModelConfig)
    assert (options.data, training.output_dir, options.threads) == (str(tmp_path / "d.jsonl"), str(tmp_path / "out"), 1)
    assert model_args.lora_r == 16  # the command line wins over the file
    assert (training.num_train_epochs, training.lr_scheduler_type, training.warmup_steps) == (1, "cosine", 0.1)
    assert (model_args.lora_alpha, training.learning_rate, training.max_length) == (128, 2e-4, 10240)


def test_a_trl_only_option_reaches_the_trainer(chatml_tokenizer, tmp_path):
    """Options the project never declared (weight decay, warmup) are in the optimizer and scheduler SFTTrainer makes."""
    config, _, _ = tr.parse_args(["--data", "x", "--output_dir", str(tmp_path / "out"), "--max_length", "2048",
                                  "--weight_decay", "0.01", "--warmup_steps", "2", "--lr_scheduler_type", "cosine"])
    original = chatml_tokenizer.chat_template
    try:
        trainer, _ = tr.build_trainer(_tiny_model(len(chatml_tokenizer)), chatml_tokenizer, [{"messages": TRAJECTORY}], config)
    finally:
        chatml_tokenizer.chat_template = original
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    assert trainer.args is config
    assert max(group["weight_decay"] for group in trainer.optimizer.param_groups) == 0.01
    assert trainer.lr_scheduler.get_last_lr()[0] == 0.0  # warming up from 0 (without warmup: 2e-4 at step 0)
    trainer.optimizer.step()
    trainer.lr_scheduler.step()
    assert trainer.lr_scheduler.get_last_lr()[0] == pytest.approx(1e-4)  # half way through the 2 warmup steps


# --- `agentdistill train` end to end on a tiny random model (fast): files, checkpoints, resume, serving ---------


@pytest.fixture(scope="module")
def tiny_base(chatml_tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-base")
    _tiny_model(len(chatml_tokenizer)).save_pretrained(folder)
    chatml_tokenizer.save_pretrained(folder)
    return folder


def test_train_writes_adapter_checkpoints_and_resumes(tiny_base, chatml_tokenizer, tmp_path):
    data = tmp_path / "traj.jsonl"
    data.write_text("".join(json.dumps({"messages": TRAJECTORY, "id": f"r{i}"}) + "\n" for i in range(4)))
    out = tmp_path / "adapter"
    common = ["--data", str(data), "--output_dir", str(out), "--model_name_or_path", str(tiny_base), "--max_length", "512",
              "--effective_batch_size", "2", "--per_device_train_batch_size", "1", "--save_steps", "1",
              "--disable_tqdm", "true"]
    assert tr.main([*common, "--max_steps", "1"]) == 0
    assert (out / "checkpoint-1" / "trainer_state.json").is_file()
    assert tr.main([*common, "--max_steps", "2", "--resume"]) == 0
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2]

    info = json.loads((out / tr.TRAIN_INFO_FILE).read_text())
    assert info["resumed_from"].endswith("checkpoint-1")
    assert info["dataset"] == {"path": str(data), "sha256": sha256_file(data), "records": 4, "truncated_records": 0,
                               "tokens_per_epoch": info["dataset"]["tokens_per_epoch"],
                               "trained_tokens_per_epoch": info["dataset"]["trained_tokens_per_epoch"]}
    assert 0 < info["dataset"]["trained_tokens_per_epoch"] < info["dataset"]["tokens_per_epoch"]
    targs = info["training_args"]
    assert (targs["learning_rate"], targs["gradient_accumulation_steps"], targs["assistant_only_loss"]) == (2e-4, 2, True)
    config = tr.check_vllm_servable(out)
    assert config["base_model_name_or_path"] == str(tiny_base) and config["r"] == 64
    # the adapter folder ships the model's own template, not the training copy with markers
    saved = json.loads((out / "tokenizer_config.json").read_text()).get("chat_template") or (out / "chat_template.jinja").read_text()
    assert saved == chatml_tokenizer.chat_template and not has_generation_markers(saved)


def test_truncation_is_announced_and_recorded(tiny_base, chatml_tokenizer, tmp_path, capsys):
    # a --max_length shorter than the trajectory cuts its final answer turn off: say so, count it
    data = tmp_path / "traj.jsonl"
    data.write_text("".join(json.dumps({"messages": TRAJECTORY}) + "\n" for _ in range(2)))
    full = len(chatml_tokenizer.apply_chat_template(TRAJECTORY, tokenize=True, return_dict=True)["input_ids"])
    out = tmp_path / "adapter"
    assert tr.main(["--data", str(data), "--output_dir", str(out), "--model_name_or_path", str(tiny_base),
                    "--max_length", str(full - 10), "--effective_batch_size", "2", "--per_device_train_batch_size", "2",
                    "--max_steps", "1", "--disable_tqdm", "true"]) == 0
    err = capsys.readouterr().err
    assert f"2 of 2 example(s) are longer than --max_length {full - 10} tokens (longest {full})" in err
    assert json.loads((out / tr.TRAIN_INFO_FILE).read_text())["dataset"]["truncated_records"] == 2
    assert tr.truncation_warning([full], full) is None


def test_adapter_is_served_by_the_model_api(tiny_base, tmp_path):
    import asyncio

    from inspect_ai.model import GenerateConfig, get_model

    import agentdistill.registry  # noqa: F401

    data = tmp_path / "traj.jsonl"
    data.write_text(json.dumps({"messages": TRAJECTORY}) + "\n")
    out = tmp_path / "adapter"
    assert tr.main(["--data", str(data), "--output_dir", str(out), "--model_name_or_path", str(tiny_base),
                    "--max_steps", "1", "--effective_batch_size", "1", "--save_steps", "100", "--disable_tqdm", "true"]) == 0
    model = get_model(f"agentdistill/{out}", config=GenerateConfig(max_tokens=3))
    output = asyncio.run(model.generate("What is 2+3?"))
    assert output.usage.output_tokens >= 1 and output.choices


@pytest.mark.parametrize("name,family,end", [("qwen2_5", "chatml", "<|im_end|>"), ("llama3_2", "llama3", "<|eot_id|>"),
                                             ("phi3", "trl", "<|end|>")])
def test_released_chat_templates(name, family, end, llama3_tokenizer):
    """Qwen2.5, Llama-3.2 (date preamble) and Phi-3 templates as released (copies shipped with TRL)."""
    import trl

    original = (Path(trl.__file__).parent / "chat_templates" / f"{name}.jinja").read_text()
    llama3_tokenizer.add_special_tokens({"additional_special_tokens": ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]})
    got, template = ct.training_template(llama3_tokenizer, original)
    assert got == family
    # (Phi-3 ends a conversation with the EOS token, which its training template trains with the last turn)
    eos = llama3_tokenizer.eos_token if family == "trl" else "@@none@@"
    spans = [s.strip().removesuffix(eos).strip() for s in ct.assistant_spans(llama3_tokenizer, TRAJECTORY, template)]
    assert spans == [content + end for content in ASSISTANT]


def test_padding_free_is_exact_and_trains(tiny_base, chatml_tokenizer, tmp_path):
    """Padding-free batches (one row, position_ids restarting per example, no attention mask) must give the
    padded batch's per-token losses: otherwise examples would attend to each other."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_base).eval()
    _, template = ct.training_template(chatml_tokenizer)
    ids = [torch.tensor(ct.tokenize_messages(chatml_tokenizer, msgs, template)["input_ids"])
           for msgs in (TRAJECTORY, TRAJECTORY[:3])]
    width = max(len(i) for i in ids)
    with torch.no_grad():
        padded = model(input_ids=torch.stack([torch.cat([i, torch.zeros(width - len(i), dtype=torch.long)]) for i in ids]),
                       attention_mask=torch.stack([torch.arange(width) < len(i) for i in ids]).long()).logits
        flat = model(input_ids=torch.cat(ids)[None], position_ids=torch.cat([torch.arange(len(i)) for i in ids])[None],
                     use_cache=False).logits[0]  # (with a KV cache transformers does not look for packed sequences)
    assert torch.allclose(flat[: len(ids[0])], padded[0, : len(ids[0])], atol=1e-4)
    assert torch.allclose(flat[len(ids[0]):], padded[1, : len(ids[1])], atol=1e-4)

    data = tmp_path / "traj.jsonl"
    long = [*TRAJECTORY, {"role": "user", "content": "Observation: " + "x " * 600},
            {"role": "assistant", "content": "Thought: done."}]
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in (TRAJECTORY, TRAJECTORY[:3], TRAJECTORY, long)))
    out = tmp_path / "adapter"
    assert tr.main(["--data", str(data), "--output_dir", str(out), "--model_name_or_path", str(tiny_base),
                    "--max_steps", "1", "--effective_batch_size", "2", "--per_device_train_batch_size", "2",
                    "--padding_free", "--max_length", "400", "--save_steps", "100", "--disable_tqdm", "true"]) == 0
    info = json.loads((out / tr.TRAIN_INFO_FILE).read_text())
    assert info["training_args"]["padding_free"] is True and info["dataset"]["records"] == 3  # the long one dropped
