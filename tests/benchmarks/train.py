"""Training throughput: `agentdistill train` vs a plain TRL SFT script, same data and settings.

    .venv/bin/python tests/benchmarks/train.py [--records 8] [--rounds 1] [--base agentdistill/smollm2-135m]

Both train LoRA r64/alpha 128/dropout 0.05 on all linear layers of the same base, lr 2e-4, effective batch 8
(per-device 4 x 2 accumulation), one epoch over the same synthetic multi-turn agent trajectories (variable
lengths, about 150-600 tokens), same seed (so the same batches), no gradient checkpointing, no checkpoint saving.
The only difference: `distill train` masks everything but the assistant turns (same FLOPs), and the plain
script trains on the whole sequence with SmolLM2's own template (TRL refuses assistant_only_loss for it).
Throughput = tokens in the dataset (non-pad) / the trainer's train_runtime (model loading, dataset
preparation and adapter saving excluded). Target: ratio >= 0.95.

It also measures `--padding_free` (each batch concatenated into one row, no pad tokens; transformers
builds a block-diagonal mask from position_ids for sdpa/eager attention, so it is exact on CPU as well)
and `--packing` (best-fit-decreasing into --max_length rows), and checks that padding-free gives the same
loss as padded batching on one batch (it must: a different loss would mean sequences attend to each other).
Prints a table; no assertions. Noisy on a shared CPU: run configurations interleaved (--rounds) and read medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from agentdistill.distill import train as tr  # noqa: E402

SYSTEM = ("You solve tasks by writing Python code, step by step. Each step, write \"Thought:\" with your reasoning, "
          "then \"Code:\" and a ```py code block ending with ```<end_code>.")


def synthetic_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        msgs = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Task: A shop sells {a} apples on Monday and {b} on Tuesday. "
                                            "How many apples in total? Give the final answer with final_answer()."}]
        for step in range(rng.randint(1, 3)):
            lines = "\n".join(f"part_{k} = {a} * {k} + {b}  # partial sum {k}" for k in range(rng.randint(2, 6)))
            msgs.append({"role": "assistant", "content": f"Thought: step {step}: I compute the partial sums.\nCode:\n```py\n{lines}\nprint(part_1)\n```<end_code>"})
            obs = "\n".join(str(a * k + b) for k in range(rng.randint(1, 12)))
            msgs.append({"role": "user", "content": f"Observation: Execution logs:\n{obs}"})
        msgs.append({"role": "assistant", "content": f"Thought: The total is {a + b}.\nCode:\n```py\nfinal_answer({a + b})\n```<end_code>"})
        records.append({"messages": msgs})
    return records


def run_distill(data: Path, base: str, max_length: int, extra: list[str]) -> dict:
    out = tempfile.mkdtemp(prefix="bench-distill-")
    info = tr.run(*tr.parse_args(["--data", str(data), "--output_dir", out, "--model_name_or_path", base,
                                  "--num_train_epochs", "1", "--per_device_train_batch_size", "4",
                                  "--max_length", str(max_length), "--save_steps", "100000",
                                  "--gradient_checkpointing", "false", "--disable_tqdm", "true", *extra]))
    return {"seconds": info["metrics"]["train_runtime"], "tokens": info["dataset"]["tokens_per_epoch"], "loss": info["metrics"]["train_loss"]}


def run_plain_trl(data: Path, base: str, max_length: int) -> dict:
    """What a user would write with TRL directly."""
    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    base_path, _ = tr.resolve_base(base)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    config = SFTConfig(output_dir=tempfile.mkdtemp(prefix="bench-trl-"), num_train_epochs=1, learning_rate=2e-4,
                       per_device_train_batch_size=4, gradient_accumulation_steps=2, max_length=max_length,
                       gradient_checkpointing=False, bf16=False, logging_steps=1, save_strategy="no", report_to="none",
                       seed=42, disable_tqdm=True)
    peft = LoraConfig(r=64, lora_alpha=128, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    dataset = load_dataset("json", data_files=str(data), split="train")
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer, peft_config=peft)
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    result = trainer.train()
    return {"seconds": result.metrics["train_runtime"], "tokens": tokens, "loss": result.metrics["train_loss"]}


def padding_free_loss_check(base: str, records: list[dict]) -> tuple[float, float]:
    """Loss of one 2-sequence batch, padded vs padding-free (position_ids, no attention mask)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentdistill.distill.chat_templates import tokenize_messages, training_template

    base_path, _ = tr.resolve_base(base)
    tok = AutoTokenizer.from_pretrained(base_path)
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32).eval()
    _, template = training_template(tok)
    rows = [tokenize_messages(tok, r["messages"], template) for r in records[:2]]
    ids = [torch.tensor(r["input_ids"]) for r in rows]
    labels = [torch.where(torch.tensor(r["assistant_masks"]) == 1, i, -100) for r, i in zip(rows, ids)]
    width = max(len(i) for i in ids)
    pad = tok.pad_token_id

    def padded(seq, value):
        return torch.cat([seq, torch.full((width - len(seq),), value)])

    with torch.no_grad():
        # per-token mean over both sequences, computed the same way for both layouts
        batch = model(input_ids=torch.stack([padded(i, pad) for i in ids]),
                      attention_mask=torch.stack([padded(torch.ones_like(i), 0) for i in ids]))
        flat = model(input_ids=torch.cat(ids)[None], position_ids=torch.cat([torch.arange(len(i)) for i in ids])[None],
                     use_cache=False)  # as in training (TRL passes use_cache=False); with a cache no packed-sequence mask

    def loss(logits, lab):
        return torch.nn.functional.cross_entropy(logits[:-1], lab[1:], ignore_index=-100, reduction="sum")

    n = sum(int((lab[1:] != -100).sum()) for lab in labels)
    lp = sum(loss(batch.logits[k, : len(ids[k])], labels[k]) for k in range(2)) / n
    offsets = [0, len(ids[0])]
    lf = sum(loss(flat.logits[0, o : o + len(i)], lab) for o, i, lab in zip(offsets, ids, labels)) / n
    return float(lp), float(lf)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="agentdistill/smollm2-135m")
    p.add_argument("--records", type=int, default=8)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--skip", default="", help="comma-separated configurations to skip: padding_free,packing")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads for every configuration (0: default)")
    args = p.parse_args(argv)

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    records = synthetic_records(args.records)
    data = Path(tempfile.mkdtemp(prefix="bench-data-")) / "traj.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    configs = {
        "distill train": lambda: run_distill(data, args.base, args.max_length, []),
        "plain TRL SFT": lambda: run_plain_trl(data, args.base, args.max_length),
        "distill train --padding-free": lambda: run_distill(data, args.base, args.max_length, ["--padding_free"]),
        "distill train --packing": lambda: run_distill(data, args.base, args.max_length, ["--packing"]),
    }
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    configs = {k: v for k, v in configs.items() if not any(s.replace("_", "-") in k for s in skip)}
    results: dict[str, list[dict]] = {k: [] for k in configs}
    for round_ in range(args.rounds):
        for name, fn in configs.items():
            started = time.monotonic()
            r = fn()
            r["tokens_per_s"] = r["tokens"] / r["seconds"]
            results[name].append(r)
            print(f"[round {round_ + 1}] {name}: {r['tokens']} tokens in {r['seconds']:.1f} s = {r['tokens_per_s']:.1f} tok/s "
                  f"(loss {r['loss']:.3f}; wall {time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    med = {k: statistics.median(r["tokens_per_s"] for r in v) for k, v in results.items()}
    print(f"\n{args.records} synthetic trajectories, {results['distill train'][0]['tokens']} tokens, base {args.base}, "
          f"CPU threads {os.cpu_count()}, rounds {args.rounds}")
    print(f"{'configuration':<32} {'tokens/s (median)':>18} {'vs plain TRL':>13}")
    for k, v in med.items():
        print(f"{k:<32} {v:>18.1f} {v / med['plain TRL SFT']:>13.3f}")
    ratio = med["distill train"] / med["plain TRL SFT"]
    print(f"\nratio distill train / plain TRL = {ratio:.3f} (target >= 0.95)")
    lp, lf = padding_free_loss_check(args.base, records)
    print(f"padding-free exactness on CPU (sdpa): padded-batch loss {lp:.5f} vs padding-free loss {lf:.5f} (diff {abs(lp - lf):.2e})")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "median_tokens_per_s": med, "ratio": ratio,
                                               "padding_free_loss": [lp, lf]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
