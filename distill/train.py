"""`agentdistill train`: LoRA fine-tuning on chat trajectories (agent or CoT), thin over TRL's SFTTrainer.

Defaults follow the paper (Kang et al., 2025): LoRA rank 64, alpha 128, dropout 0.05 on all linear
layers, lr 2e-4, 2 epochs, effective batch 8 (per-device batch x gradient accumulation x GPUs),
bf16 where the device supports it. Loss on the assistant turns only (thought + code + end-of-turn
token): system, user and observation turns are masked through a training chat template with
`{% generation %}` markers (`chat_templates.py`).

    agentdistill train --data traj.jsonl --output-dir runs/smol-agent [--base agentdistill/smollm2-135m]
    agentdistill train ... --resume          # continue the run in --output-dir from its last checkpoint
    agentdistill train ... --overwrite       # replace a finished adapter (or an unfinished run) in --output-dir
    agentdistill train ... --full            # full fine-tuning (all weights, lr 1e-5: the paper's Table 8 ablation)

Multi-GPU (data parallel), same entry point and arguments:

    accelerate launch --num_processes 4 -m agentdistill.distill.train --data ... --output-dir ...

On GPUs (bf16 and gradient checkpointing switch on by themselves), e.g. a Qwen2.5-1.5B student on 4 GPUs
(effective batch 8 = 1 per device x 2 accumulation x 4 processes):

    accelerate launch --num_processes 4 -m agentdistill.distill.train --data data/agent_ftp.jsonl \\
        --base Qwen/Qwen2.5-1.5B-Instruct --output-dir runs/qwen1.5b-agent --per-device-batch-size 1 --max-length 10240

and the student served by vLLM with the adapter (inspect sets enable_lora and max_lora_rank=64 from the
adapter; give the adapter as an absolute path):

    inspect eval tasks/gsm_hard --solver agent_sag \\
        --model vllm/Qwen/Qwen2.5-1.5B-Instruct:$PWD/runs/qwen1.5b-agent

The output folder holds the PEFT adapter (adapter_config.json + adapter_model.safetensors; only
the attention/MLP projections, rank <= 64, no embedding / lm_head modules, so vLLM's LoRA loader
takes it: `vllm/<base>:<output-dir>`), the tokenizer, `checkpoint-*/` folders, and
`agentdistill_train.json` (our arguments, TRL's training arguments, the dataset's path, sha256 and
size, how its trajectories were made (`data_provenance`: agent or CoT, first-thought prefix, retrieval), the chat template family, the base model, versions, final metrics). The adapter's
`base_model_name_or_path` is a name the `agentdistill/<adapter-dir>` model API resolves (the
embedded model is written as its hub id, which the API maps to the local converted folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from agentdistill.core.errors import InputError, command
from agentdistill.core.paths import TRAIN_INFO_FILE, looks_like_path, sha256_file, write_text_atomic
from agentdistill.distill.train_output import marker_callback, prepare_output, run_checkpoint
from agentdistill.distill.chat_templates import check_template, training_template
from agentdistill.core.data_provenance import summarize_records
from agentdistill.models import embedded
from agentdistill.models.embedded import EMBEDDED_HUB_ID

DEFAULTS = {
    "lora_r": 64,
    "lora_alpha": 128,
    "lora_dropout": 0.05,
    "learning_rate": 2e-4,
    "epochs": 2.0,
    "effective_batch_size": 8,
    "max_length": 10240,
}
FULL_FINETUNE_LR = 1e-5  # the paper's LoRA vs full fine-tuning ablation (Table 8)
# Modules vLLM's LoRA loader never accepts as LoRA targets for these decoder models.
UNSERVABLE_MODULES = ("embed_tokens", "lm_head", "wte", "wpe")
VLLM_MAX_RANK = 64


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agentdistill train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="chat JSONL (one {'messages': [...]} per line), e.g. from `agentdistill trajectories`")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--base", default="agentdistill/smollm2-135m", help="base model: the embedded name, a local folder or a hub id")
    p.add_argument("--max-length", type=int, default=DEFAULTS["max_length"], help="tokens per example (longer ones are truncated)")
    p.add_argument("--epochs", type=float, default=DEFAULTS["epochs"])
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps (overrides --epochs)")
    p.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"],
                   help=f"default {DEFAULTS['learning_rate']} (LoRA); with --full this default becomes {FULL_FINETUNE_LR} "
                        "(any other value given is kept)")
    p.add_argument("--full", action="store_true",
                   help="full fine-tuning of all weights instead of LoRA (the paper's Table 8 ablation); writes a whole model folder")
    p.add_argument("--lora-r", type=int, default=DEFAULTS["lora_r"])
    p.add_argument("--lora-alpha", type=int, default=DEFAULTS["lora_alpha"])
    p.add_argument("--lora-dropout", type=float, default=DEFAULTS["lora_dropout"])
    p.add_argument("--effective-batch-size", type=int, default=DEFAULTS["effective_batch_size"])
    p.add_argument("--per-device-batch-size", type=int, default=1)
    p.add_argument("--bf16", choices=["auto", "on", "off"], default="auto", help="auto: on where the GPU supports bf16")
    p.add_argument("--padding-free", action="store_true",
                   help="concatenate each batch into one sequence (no pad tokens; exact: position_ids restart per "
                        "example); examples longer than --max-length are dropped, not truncated")
    p.add_argument("--packing", action="store_true", help="best-fit-decreasing packing to --max-length (implies padding-free)")
    p.add_argument("--gradient-checkpointing", choices=["auto", "on", "off"], default="auto",
                   help="recompute activations to save memory; auto: on with a GPU (long trajectories), off on CPU")
    p.add_argument("--save-steps", type=int, default=50)
    p.add_argument("--save-total-limit", type=int, default=2)
    p.add_argument("--logging-steps", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true",
                   help="resume the run in --output-dir from its last checkpoint (only checkpoints of that same run)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished adapter or an unfinished run in --output-dir (its checkpoints are removed)")
    p.add_argument("--chat-template", default=None, help="file with the model's chat template (default: the tokenizer's)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch (0: torch's default). On a CPU shared with other jobs, 1 avoids "
                        "OpenMP oversubscription (measured here: 2 threads 60-70 s/step vs 1 thread 10-12 s/step under load)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Chat records (role/content only) from a JSONL file of {'messages': [...]} lines; a bad line is an input
    error naming the file and line."""
    records = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as ex:
        raise InputError(f"--data {path}: cannot be read ({ex.strerror or ex})") from None
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as ex:
                raise InputError(f"{path}: line {n}: not valid JSON ({ex.msg} at column {ex.colno})") from None
            messages = row.get("messages") if isinstance(row, dict) else None
            if (not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages)
                    or not any(m.get("role") == "assistant" for m in messages)):
                raise InputError(f"{path}: line {n}: a record needs 'messages' (role/content objects) with at least one "
                                 "assistant turn")
            records.append({"messages": [{"role": m["role"], "content": m["content"]} for m in messages]})
    if not records:
        raise InputError(f"{path}: no records")
    return records


def resolve_base(name: str) -> tuple[str, str]:
    """(what to load, what to write as the adapter's base_model_name_or_path)."""
    if embedded.is_embedded_name(name):
        return str(embedded.prepare_embedded()), EMBEDDED_HUB_ID
    if name.startswith("agentdistill/"):
        name = name[len("agentdistill/"):]
    check_base(name)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), str(path.resolve())
    return name, name


def check_base(name: str) -> None:
    """Refuse a base meant as a local folder that does not exist (it would become a confusing hub-id error)."""
    if embedded.is_embedded_name(name):
        return
    folder = name[len("agentdistill/"):] if name.startswith("agentdistill/") else name
    if looks_like_path(folder) and not Path(folder).expanduser().is_dir():
        raise InputError(f"--base {name}: no such model folder (expected a local transformers folder, the embedded "
                         "agentdistill/smollm2-135m, or a hub id such as Qwen/Qwen2.5-0.5B-Instruct)")


def use_bf16(mode: str) -> bool:
    import torch

    if mode == "on":
        return True
    if mode == "off":
        return False
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def use_gradient_checkpointing(mode: str) -> bool:
    import torch

    return mode == "on" or (mode == "auto" and torch.cuda.is_available())


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def grad_accumulation(effective: int, per_device: int, world: int) -> int:
    steps, rem = divmod(effective, per_device * world)
    if steps < 1 or rem:
        raise InputError(
            f"--effective-batch-size {effective}: expected a multiple of --per-device-batch-size {per_device} x "
            f"{world} process(es)"
        )
    return steps


def lora_config(r: int, alpha: int, dropout: float):
    from peft import LoraConfig

    # "all-linear": every nn.Linear of the decoder except the output layer (PEFT leaves lm_head out).
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules="all-linear", bias="none", task_type="CAUSAL_LM")


def sft_config(args: argparse.Namespace, bf16: bool):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=args.output_dir,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.per_device_batch_size,
        gradient_accumulation_steps=grad_accumulation(args.effective_batch_size, args.per_device_batch_size, world_size()),
        # TRL does not truncate in padding-free mode without packing: `run` drops over-long examples instead
        max_length=None if args.padding_free and not args.packing else args.max_length,
        assistant_only_loss=True,
        padding_free=args.padding_free or args.packing,
        packing=args.packing,
        packing_strategy="bfd",
        bf16=bf16,
        gradient_checkpointing=use_gradient_checkpointing(args.gradient_checkpointing),
        logging_steps=args.logging_steps,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=args.save_total_limit,
        seed=args.seed,
        report_to="none",
        disable_tqdm=args.no_progress,
        dataset_num_proc=None,
    )


def build_trainer(model: Any, tokenizer: Any, records: list[dict[str, Any]], config: Any, peft_config: Any = None,
                  original_template: str | None = None):
    """An SFTTrainer whose tokenizer carries the verified training template for its chat format.

    Returns (trainer, template family). `trainer.train_dataset` holds input_ids/labels exactly as
    trained (labels -100 outside the assistant turns).
    """
    from datasets import Dataset
    from trl import SFTTrainer

    original = original_template or tokenizer.chat_template
    family, template = training_template(tokenizer, original)
    check_template(tokenizer, template, original, records[0]["messages"])
    tokenizer.chat_template = template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(records),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    trainer.agentdistill_original_template = original
    return trainer, family


def drop_overlong(records: list[dict[str, Any]], tokenizer: Any, template: str, max_length: int) -> list[dict[str, Any]]:
    kept = [r for r in records
            if len(tokenizer.apply_chat_template(r["messages"], chat_template=template, tokenize=True)["input_ids"]) <= max_length]
    if len(kept) < len(records):
        print(f"padding-free: dropped {len(records) - len(kept)} example(s) longer than {max_length} tokens", file=sys.stderr)
    if not kept:
        raise ValueError(f"every example is longer than --max-length {max_length}")
    return kept


def check_vllm_servable(adapter_dir: str | Path) -> dict[str, Any]:
    """Raise if the saved adapter is not one vLLM's LoRA loader accepts; return its config."""
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    problems = []
    if int(config.get("r", 0)) > VLLM_MAX_RANK:
        problems.append(f"rank {config['r']} > {VLLM_MAX_RANK}")
    if any(bad in t for t in targets for bad in UNSERVABLE_MODULES):
        problems.append(f"embedding/output modules in target_modules {targets}")
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save {config['modules_to_save']}")
    if problems:
        raise ValueError(f"adapter in {adapter_dir} is not servable by vLLM: {'; '.join(problems)}")
    return config


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    records = load_records(args.data)
    check_base(args.base)
    grad_accumulation(args.effective_batch_size, args.per_device_batch_size, world_size())
    run_info = prepare_output(Path(args.output_dir), args)  # before any heavy work; refuses to clobber a finished run

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if getattr(args, "full", False) and args.learning_rate == DEFAULTS["learning_rate"]:
        args.learning_rate = FULL_FINETUNE_LR  # the LoRA default is far too high for all weights
    base_path, base_name = resolve_base(args.base)
    if args.threads:
        torch.set_num_threads(args.threads)
    bf16 = use_bf16(args.bf16)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    original = Path(args.chat_template).read_text() if args.chat_template else tokenizer.chat_template
    # bf16 weights on GPU (autocast does the rest); fp32 on CPU, where bf16 matmuls are slow.
    dtype = torch.bfloat16 if bf16 and torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    config = sft_config(args, bf16)
    peft_config = None if args.full else lora_config(args.lora_r, args.lora_alpha, args.lora_dropout)
    if args.padding_free and not args.packing:
        records = drop_overlong(records, tokenizer, original, args.max_length)
    trainer, family = build_trainer(model, tokenizer, records, config, peft_config, original)

    trainer.add_callback(marker_callback(run_info))
    resume = None
    if args.resume:
        resume = run_checkpoint(Path(args.output_dir), run_info)
        print(f"resuming from {resume}" if resume else "no checkpoint of this run: starting from scratch", file=sys.stderr)
    train_tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    trained_tokens = sum(sum(1 for t in lab if t != -100) for lab in trainer.train_dataset["labels"]) if "labels" in trainer.train_dataset.column_names else None
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.monotonic() - started

    tokenizer.chat_template = original  # ship the model's own template, not the training copy
    trainer.save_model(args.output_dir)
    info: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        if not args.full:  # a full fine-tune is a whole model folder: no adapter config to fix or check
            adapter_config_path = Path(args.output_dir) / "adapter_config.json"
            adapter_config = json.loads(adapter_config_path.read_text())
            adapter_config["base_model_name_or_path"] = base_name
            write_text_atomic(adapter_config_path, json.dumps(adapter_config, indent=2, sort_keys=True))
            check_vllm_servable(args.output_dir)
        info = {
            "args": vars(args),
            "training_args": json.loads(config.to_json_string()),
            "dataset": {"path": str(Path(args.data).resolve()), "sha256": sha256_file(args.data), "records": len(records),
                        "tokens_per_epoch": train_tokens, "trained_tokens_per_epoch": trained_tokens},
            "data_provenance": summarize_records(args.data),  # agent/CoT, ftp, retrieval: the paper's row of this model
            "base_model": {"name": args.base, "loaded_from": base_path, "adapter_base_name": base_name},
            "chat_template_family": family,
            "world_size": world_size(),
            "bf16": bf16,
            "resumed_from": resume,
            "metrics": result.metrics,
            "train_seconds_this_run": round(seconds, 2),
            "versions": _versions(),
        }
        write_text_atomic(Path(args.output_dir) / TRAIN_INFO_FILE, json.dumps(info, indent=2, default=str))
        print(f"adapter written to {args.output_dir} (template {family}, {len(records)} records, "
              f"loss {result.metrics.get('train_loss')})")
    return info


@command("agentdistill train")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
