"""Benchmark: generated tokens/s of the embedded model through inspect, 1 vs 8 concurrent samples.

Runs `inspect_ai.eval` of a small task (GSM-style questions, plain `generate()`, greedy,
fixed max_tokens) on `agentdistill/smollm2-135m`, once with one sample at a time and once
with 8 samples in flight, whose generate calls the model API batches into shared forward
passes. Prints tokens/s of each and the ratio. Not a test (no assertions on timings).

    nice .venv/bin/python tests/benchmarks/model.py [--max-tokens 64] [--serial-samples 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from inspect_ai import Task, eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.model import get_model  # noqa: E402
from inspect_ai.solver import generate  # noqa: E402

QUESTIONS = [
    "Janet has 3 boxes with 1528 apples each. How many apples does she have?",
    "A train travels 120 km in 2 hours. What is its average speed?",
    "Tom buys 4 pens at 3 dollars each and a notebook for 5 dollars. How much does he spend?",
    "A rectangle is 7 m long and 4 m wide. What is its area?",
    "Sara reads 25 pages a day. How many pages does she read in two weeks?",
    "There are 48 students split evenly into 6 groups. How many students are in each group?",
    "A shirt costs 40 dollars and is discounted by 25 percent. What is the new price?",
    "If 5 workers build a wall in 12 days, how many days do 10 workers need?",
]


def run(model, samples: int, concurrency: int, max_tokens: int) -> tuple[int, float]:
    task = Task(
        dataset=[Sample(id=str(i), input=QUESTIONS[i % len(QUESTIONS)] + " Think step by step.") for i in range(samples)],
        solver=generate(),
    )
    with tempfile.TemporaryDirectory() as log_dir:
        started = time.monotonic()
        [log] = eval(
            task,
            model=model,
            max_samples=concurrency,
            max_connections=concurrency,
            log_dir=log_dir,
            display="none",
            max_tokens=max_tokens,
            temperature=0.0,
        )
        seconds = time.monotonic() - started
    assert log.status == "success", log.error
    tokens = sum(u.output_tokens for u in log.stats.model_usage.values())
    return tokens, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--serial-samples", type=int, default=3, help="samples for the 1-at-a-time run")
    parser.add_argument("--concurrent", type=int, default=8)
    args = parser.parse_args()

    import torch

    model = get_model("agentdistill/smollm2-135m")
    run(model, 1, 1, 8)  # warm-up: load, first forward passes
    engine = model.api.engine
    print(f"model: agentdistill/smollm2-135m  device: {engine.device}  torch threads: {torch.get_num_threads()}  max_tokens: {args.max_tokens}")
    before = dict(engine.stats)
    t1, s1 = run(model, args.serial_samples, 1, args.max_tokens)
    print(f"1 concurrent sample : {t1:5d} tokens in {s1:6.1f} s = {t1 / s1:6.1f} tokens/s")
    mid = dict(engine.stats)
    t8, s8 = run(model, args.concurrent, args.concurrent, args.max_tokens)
    after = dict(engine.stats)
    batches = after["batches"] - mid["batches"]
    rows = after["rows"] - mid["rows"]
    print(
        f"{args.concurrent} concurrent samples: {t8:5d} tokens in {s8:6.1f} s = {t8 / s8:6.1f} tokens/s "
        f"({batches} forward batches, {rows / max(batches, 1):.1f} rows each; serial run used {mid['batches'] - before['batches']})"
    )
    print(f"speed-up from batching: {(t8 / s8) / (t1 / s1):.2f}x")


if __name__ == "__main__":
    main()
