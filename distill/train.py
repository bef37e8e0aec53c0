"""`agentdistill train`: LoRA fine-tuning on chat trajectories (agent or CoT), thin over TRL's SFTTrainer.

Options are TRL's own (`TrlParser` over `SFTConfig` and `ModelConfig`, transformers' spellings: `--output_dir`,
`--num_train_epochs`, `--learning_rate`, `--lora_r`, ...; the dashed forms such as `--output-dir` work too, and
`--config run.yaml` reads any of them from a YAML file) plus a few of the project's (`TrainOptions`). The parser's
defaults are the paper's (Kang et al., 2025): LoRA rank 64, alpha 128, dropout 0.05 on all linear layers, lr 2e-4,
2 epochs, effective batch 8 (per-device batch x gradient accumulation x GPUs), max length 10240, bf16 where the
device supports it. Loss on the assistant turns only (thought + code + end-of-turn token): system, user and
observation turns are masked through a training chat template with `{% generation %}` markers (`chat_templates.py`).

    agentdistill train --data traj.jsonl --output_dir runs/smol-agent [--model_name_or_path agentdistill/smollm2-135m]
    agentdistill train ... --resume          # continue the run in --output_dir from its last checkpoint
    agentdistill train ... --overwrite       # replace a finished adapter (or an unfinished run) in --output_dir
    agentdistill train ... --full            # full fine-tuning (all weights, lr 1e-5: the paper's Table 8 ablation)
    agentdistill train --config run.yaml     # the same options from a YAML file (command-line options override it)
    agentdistill train --help                # every TRL / transformers option

Multi-GPU (data parallel), same entry point and arguments:

    accelerate launch --num_processes 4 -m agentdistill.distill.train --data ... --output_dir ...

On GPUs (bf16 and gradient checkpointing switch on by themselves), e.g. a Qwen2.5-1.5B student on 4 GPUs
(effective batch 8 = 1 per device x 2 accumulation x 4 processes):

    accelerate launch --num_processes 4 -m agentdistill.distill.train --data data/agent_ftp.jsonl \\
        --model_name_or_path Qwen/Qwen2.5-1.5B-Instruct --output_dir runs/qwen1.5b-agent \\
        --per_device_train_batch_size 1 --max_length 10240

and the student served by vLLM with the adapter (inspect sets enable_lora and max_lora_rank=64 from the
adapter; give the adapter as an absolute path):

    inspect eval tasks/gsm_hard --solver agent_sag \\
        --model vllm/Qwen/Qwen2.5-1.5B-Instruct:$PWD/runs/qwen1.5b-agent

The output folder holds the PEFT adapter (adapter_config.json + adapter_model.safetensors; only
the attention/MLP projections, rank <= 64, no embedding / lm_head modules, so vLLM's LoRA loader
takes it: `vllm/<base>:<output_dir>`), the tokenizer, `checkpoint-*/` folders, and
`agentdistill_train.json` (the project's options, TRL's model and training arguments, the dataset's path, sha256 and
size, how its trajectories were made (`data_provenance`: agent or CoT, first-thought prefix, retrieval), the chat
template family, the base model, versions, final metrics). The adapter's `base_model_name_or_path` is a name the
`agentdistill/<adapter-dir>` model API resolves (the embedded model is written as its hub id, which the API maps to
the local converted folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdistill.core.errors import InputError, command
from agentdistill.core.paths import TRAIN_INFO_FILE, looks_like_path, sha256_file, write_text_atomic
from agentdistill.distill.train_output import marker_callback, prepare_output, run_checkpoint, run_identity
from agentdistill.distill.chat_templates import check_template, training_template
from agentdistill.core.data_provenance import summarize_records
from agentdistill.models import embedded
from agentdistill.models.embedded import EMBEDDED_HUB_ID

# The paper's settings, set as defaults on TRL's parser (TRL's own defaults differ: lr 2e-5, 3 epochs, LoRA r16 ...).
# bf16 and gradient checkpointing default to what the device supports (`device_defaults`).
PAPER_DEFAULTS: dict[str, Any] = {
    "model_name_or_path": "agentdistill/smollm2-135m",
    "use_peft": True,
    "lora_r": 64,
    "lora_alpha": 128,
    "lora_dropout": 0.05,
    "lora_target_modules": ["all-linear"],  # every nn.Linear of the decoder except the output layer
    "learning_rate": 2e-4,
    "num_train_epochs": 2.0,
    "per_device_train_batch_size": 1,
    "max_length": 10240,
    "assistant_only_loss": True,
    "logging_steps": 1,
    "save_steps": 50,
    "save_total_limit": 2,
    "dtype": None,  # None: bf16 weights on a GPU that trains in bf16, fp32 otherwise (bf16 matmuls are slow on CPU)
}
FULL_FINETUNE_LR = 1e-5  # the paper's LoRA vs full fine-tuning ablation (Table 8)
# Modules vLLM's LoRA loader never accepts as LoRA targets for these decoder models.
UNSERVABLE_MODULES = ("embed_tokens", "lm_head", "wte", "wpe")
VLLM_MAX_RANK = 64


@dataclass
class TrainOptions:
    """The project's options; everything else is TRL's (`SFTConfig`, `ModelConfig`). Listed first in --help."""

    data: str = field(metadata={"help": "chat JSONL (one {'messages': [...]} per line), e.g. from "
                                        "`agentdistill trajectories`"})
    effective_batch_size: int = field(default=8, metadata={
        "help": "per_device_train_batch_size x gradient_accumulation_steps x processes; sets "
                "--gradient_accumulation_steps (0: use --gradient_accumulation_steps as given)"})
    full: bool = field(default=False, metadata={
        "help": f"full fine-tuning of all weights instead of LoRA (the paper's Table 8 ablation; the same as "
                f"--use_peft false); the --learning_rate default becomes {FULL_FINETUNE_LR}; writes a whole model folder"})
    resume: bool = field(default=False, metadata={
        "help": "resume the run in --output_dir from its last checkpoint (only checkpoints of that same run)"})
    overwrite: bool = field(default=False, metadata={
        "help": "replace a finished adapter or an unfinished run in --output_dir (its checkpoints are removed)"})
    threads: int = field(default=0, metadata={
        "help": "CPU threads for torch (0: torch's default). On a CPU shared with other jobs, 1 avoids OpenMP "
                "oversubscription (measured here: 2 threads 60-70 s/step vs 1 thread 10-12 s/step under load)"})


USAGE = "agentdistill train --data FILE --output_dir DIR [options]   (or: --config FILE.yaml)"
HELP_HEAD = """\
LoRA fine-tuning on chat trajectories, thin over TRL's SFTTrainer: the options below are TRL's and
transformers' own (TrlParser over SFTConfig and ModelConfig; `--name_with_underscores` or `--name-with-dashes`),
after the first six, which are agentdistill's (--data ... --threads). `--config FILE.yaml` sets any of them from a
YAML mapping; options given on the command line override it.

The defaults are the paper's (Kang et al., 2025), set on TRL's parser:
  --model_name_or_path agentdistill/smollm2-135m  (the embedded SmolLM2-135M; or a local folder, or a hub id)
  --use_peft true --lora_r 64 --lora_alpha 128 --lora_dropout 0.05 --lora_target_modules all-linear
  --learning_rate 2e-4 (1e-5 with --full)  --num_train_epochs 2  --effective_batch_size 8
  --per_device_train_batch_size 1  --max_length 10240  --assistant_only_loss true
  --bf16 / --gradient_checkpointing: on where a GPU supports them, off on CPU  --dtype: bf16 weights with bf16 on GPU
  --logging_steps 1  --save_steps 50  --save_total_limit 2  --seed 42
Often used: --max_steps N, --padding_free (no pad tokens; examples over --max_length are dropped),
--packing (best-fit-decreasing to --max_length), --chat_template_path FILE.jinja (the model's chat template),
--disable_tqdm true, --warmup_steps (a float below 1: a ratio), --lr_scheduler_type."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option; the description kept as written."""


def device_defaults() -> dict[str, bool]:
    """bf16 and gradient checkpointing where a GPU supports them (long trajectories); both off on CPU."""
    import torch

    gpu = torch.cuda.is_available()
    return {"bf16": bool(gpu and torch.cuda.is_bf16_supported()), "gradient_checkpointing": gpu}


def build_parser():
    """TRL's parser over (TrainOptions, SFTConfig, ModelConfig) with the paper's defaults; parse errors raise
    InputError (one line, exit 2) instead of printing the whole usage."""
    from trl import ModelConfig, SFTConfig, TrlParser

    class Parser(TrlParser):
        def error(self, message: str):  # argparse's hook for a bad or missing option
            raise InputError(f"{message} (see `agentdistill train --help`)")

    parser = Parser((TrainOptions, SFTConfig, ModelConfig), prog="agentdistill train", usage=USAGE,
                    description=HELP_HEAD, formatter_class=_HelpFormatter)
    parser.set_defaults(**PAPER_DEFAULTS, **device_defaults())
    for action in parser._actions:  # as TrlParser.set_defaults_with_config does; a --config value lifts it again
        if action.dest == "output_dir":
            action.required = True  # transformers would write into ./trainer_output
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[Any, Any, TrainOptions]:
    """(SFTConfig, ModelConfig, TrainOptions) from the command line and `--config`; settled (see `settle`)."""
    import yaml

    try:
        options, training, model_args = build_parser().parse_args_and_config(argv)
    except InputError:
        raise
    except OSError as ex:  # the --config file
        raise InputError(f"--config {ex.filename}: cannot be read ({ex.strerror or ex})") from None
    except yaml.YAMLError as ex:
        raise InputError(f"--config: not valid YAML ({' '.join(str(ex).split())})") from None
    except ValueError as ex:  # unknown options, values a config's __post_init__ refuses
        raise InputError(f"{str(ex).splitlines()[0]} (see `agentdistill train --help`)") from None
    settle(training, model_args, options)
    return training, model_args, options


def settle(training: Any, model_args: Any, options: TrainOptions) -> None:
    """The project's rules over TRL's arguments, before any work: --full and --use_peft false are one thing (with the
    full fine-tuning learning-rate default), the effective batch sets the gradient accumulation, the adapter will be
    servable by vLLM, and checkpoints are resumed through --resume only."""
    from trl import get_peft_config

    options.full = options.full or not model_args.use_peft
    model_args.use_peft = not options.full
    if options.full and training.learning_rate == PAPER_DEFAULTS["learning_rate"]:
        training.learning_rate = FULL_FINETUNE_LR  # the LoRA default is far too high for all weights
    if training.resume_from_checkpoint is not None:
        raise InputError(f"--resume_from_checkpoint {training.resume_from_checkpoint}: use --resume (it continues "
                         "only checkpoints of the run in --output_dir)")
    if options.effective_batch_size:
        steps = grad_accumulation(options.effective_batch_size, training.per_device_train_batch_size, world_size())
        if training.gradient_accumulation_steps not in (1, steps):
            raise InputError(f"--gradient_accumulation_steps {training.gradient_accumulation_steps} disagrees with "
                             f"--effective_batch_size {options.effective_batch_size} (which needs {steps}); give one "
                             "(--effective_batch_size 0 keeps --gradient_accumulation_steps)")
        training.gradient_accumulation_steps = steps
    peft_config = get_peft_config(model_args)  # None for full fine-tuning
    if peft_config is not None:
        problems = servable_problems(peft_config.to_dict())
        if problems:
            raise InputError(f"--lora_* options: the adapter would not be servable by vLLM ({'; '.join(problems)})")


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
        raise InputError(f"--model_name_or_path {name}: no such model folder (expected a local transformers folder, "
                         "the embedded agentdistill/smollm2-135m, or a hub id such as Qwen/Qwen2.5-0.5B-Instruct)")


def read_chat_template(path: str | None) -> str | None:
    """The model's chat template from --chat_template_path (a Jinja file), or None for the tokenizer's own.

    TRL's SFTTrainer would also accept a tokenizer folder or hub id there and copy its template with
    `trl.clone_chat_template`; that helper adds the source's tokens and resizes the embedding matrix (to the
    vocabulary size rounded to 64, which also shrinks a padded one such as Qwen2.5's), so the adapter would no longer
    fit the unchanged base vLLM serves it on: only a template file is taken here.
    """
    if path is None:
        return None
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError(f"--chat_template_path {path}: no such file (a Jinja chat template file is expected; copying "
                         "another tokenizer's template would resize the embeddings, which a LoRA adapter served on the "
                         "unchanged base cannot carry)")
    return file.read_text(encoding="utf-8")


def on_main_process(work: Any) -> Any:
    """`work()` on the main process only, its result sent to every process of a multi-process launch: the output
    folder is checked and marked once (each process doing it found the others' fresh marker and refused the run).
    When the main process refuses, the others stop too."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return work()
    box: list[Any] = [None]
    if dist.get_rank() == 0:
        try:
            box[0] = work()
        finally:
            dist.broadcast_object_list(box, src=0)
    else:
        dist.broadcast_object_list(box, src=0)
        if box[0] is None:
            raise InputError("the main process refused this run (its message is above)")
    return box[0]


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def grad_accumulation(effective: int, per_device: int, world: int) -> int:
    steps, rem = divmod(effective, per_device * world)
    if steps < 1 or rem:
        raise InputError(
            f"--effective_batch_size {effective}: expected a multiple of --per_device_train_batch_size {per_device} x "
            f"{world} process(es)"
        )
    return steps


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


def token_lengths(records: list[dict[str, Any]], tokenizer: Any, template: str) -> list[int]:
    return [len(tokenizer.apply_chat_template(r["messages"], chat_template=template, tokenize=True)["input_ids"])
            for r in records]


def drop_overlong(records: list[dict[str, Any]], lengths: list[int], max_length: int) -> list[dict[str, Any]]:
    kept = [r for r, n in zip(records, lengths) if n <= max_length]
    if len(kept) < len(records):
        print(f"padding-free: dropped {len(records) - len(kept)} example(s) longer than {max_length} tokens", file=sys.stderr)
    if not kept:
        raise ValueError(f"every example is longer than --max_length {max_length}")
    return kept


def truncation_warning(lengths: list[int], max_length: int | None) -> str | None:
    """One line when examples will be cut at `max_length`: truncation removes the END of a conversation, i.e. the
    last assistant turns (the final answer), which silently teaches the student to stop before answering."""
    over = [n for n in lengths if max_length is not None and n > max_length]
    if not over:
        return None
    return (f"warning: {len(over)} of {len(lengths)} example(s) are longer than --max_length {max_length} tokens "
            f"(longest {max(over)}): their last turns are cut off and never trained; raise --max_length to keep them")


def servable_problems(config: dict[str, Any]) -> list[str]:
    """Why vLLM's LoRA loader would refuse an adapter with this PEFT config (empty: it takes it)."""
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    problems = []
    if int(config.get("r", 0)) > VLLM_MAX_RANK:
        problems.append(f"rank {config['r']} > {VLLM_MAX_RANK}")
    if any(bad in t for t in targets for bad in UNSERVABLE_MODULES):
        problems.append(f"embedding/output modules in target_modules {targets}")
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save {config['modules_to_save']}")
    if config.get("use_dora"):
        problems.append("DoRA (vLLM serves plain LoRA)")
    return problems


def check_vllm_servable(adapter_dir: str | Path) -> dict[str, Any]:
    """Raise if the saved adapter is not one vLLM's LoRA loader accepts; return its config."""
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())
    problems = servable_problems(config)
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


def run(training: Any, model_args: Any, options: TrainOptions) -> dict[str, Any]:
    """Train as `parse_args` settled the arguments; returns what `agentdistill_train.json` records."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    records = load_records(options.data)
    check_base(model_args.model_name_or_path)
    original = read_chat_template(training.chat_template_path)
    max_length = training.max_length
    out = Path(training.output_dir)
    identity = run_identity(options.data, model_args, max_length)
    # before any heavy work; refuses to clobber a finished run
    run_info = on_main_process(lambda: prepare_output(out, identity, resume=options.resume, overwrite=options.overwrite))

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import get_peft_config, get_quantization_config

    base_path, base_name = resolve_base(model_args.model_name_or_path)
    if options.threads:
        torch.set_num_threads(options.threads)
    if model_args.dtype is None:
        model_args.dtype = "bfloat16" if training.bf16 and torch.cuda.is_available() else "float32"
    tokenizer = AutoTokenizer.from_pretrained(base_path, revision=model_args.model_revision,
                                              trust_remote_code=training.trust_remote_code)
    original = original or tokenizer.chat_template
    model = AutoModelForCausalLM.from_pretrained(
        base_path, revision=model_args.model_revision, dtype=model_args.dtype,
        attn_implementation=model_args.attn_implementation, trust_remote_code=training.trust_remote_code,
        quantization_config=get_quantization_config(model_args))
    peft_config = get_peft_config(model_args)  # None for full fine-tuning
    # the training template (with generation markers) is set on the tokenizer here, so SFTTrainer must not set the
    # file's marker-less template again; the path is recorded in agentdistill_train.json instead
    template_path, training.chat_template_path = training.chat_template_path, None
    lengths = token_lengths(records, tokenizer, original)
    truncated = 0
    if training.padding_free and not training.packing:
        # TRL does not truncate in padding-free mode without packing: over-long examples are dropped instead
        records = drop_overlong(records, lengths, max_length)
        training.max_length = None
    elif not training.packing or training.packing_strategy == "bfd":  # the strategies that truncate
        truncated = sum(n > max_length for n in lengths) if max_length else 0
        warning = truncation_warning(lengths, max_length)
        if warning:
            print(warning, file=sys.stderr)
    trainer, family = build_trainer(model, tokenizer, records, training, peft_config, original)

    trainer.add_callback(marker_callback(run_info))
    resume = None
    if options.resume:
        resume = run_checkpoint(out, run_info)
        print(f"resuming from {resume}" if resume else "no checkpoint of this run: starting from scratch", file=sys.stderr)
    train_tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    trained_tokens = sum(sum(1 for t in lab if t != -100) for lab in trainer.train_dataset["labels"]) if "labels" in trainer.train_dataset.column_names else None
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.monotonic() - started

    tokenizer.chat_template = original  # ship the model's own template, not the training copy
    trainer.save_model(str(out))
    info: dict[str, Any] = {}
    if trainer.is_world_process_zero():
        if not options.full:  # a full fine-tune is a whole model folder: no adapter config to fix or check
            adapter_config_path = out / "adapter_config.json"
            adapter_config = json.loads(adapter_config_path.read_text())
            adapter_config["base_model_name_or_path"] = base_name
            write_text_atomic(adapter_config_path, json.dumps(adapter_config, indent=2, sort_keys=True))
            check_vllm_servable(out)
        info = {
            "args": dataclasses.asdict(options),
            "model_args": dataclasses.asdict(model_args),
            "training_args": json.loads(training.to_json_string()),
            "dataset": {"path": str(Path(options.data).resolve()), "sha256": sha256_file(options.data),
                        "records": len(records), "truncated_records": truncated, "tokens_per_epoch": train_tokens,
                        "trained_tokens_per_epoch": trained_tokens},
            "data_provenance": summarize_records(options.data),  # agent/CoT, ftp, retrieval: the paper's row of this model
            "base_model": {"name": model_args.model_name_or_path, "loaded_from": base_path, "adapter_base_name": base_name},
            "chat_template_family": family,
            "chat_template_path": template_path,
            "world_size": world_size(),
            "bf16": training.bf16,
            "resumed_from": resume,
            "metrics": result.metrics,
            "train_seconds_this_run": round(seconds, 2),
            "versions": _versions(),
        }
        write_text_atomic(out / TRAIN_INFO_FILE, json.dumps(info, indent=2, default=str))
        print(f"adapter written to {out} (template {family}, {len(records)} records, "
              f"loss {result.metrics.get('train_loss')})")
    return info


@command("agentdistill train")
def main(argv: list[str] | None = None) -> int:
    run(*parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
