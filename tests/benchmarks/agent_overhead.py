"""What the agent harness adds on top of the model and the sandbox (a script, not a test).

Runs a fixed mix of episodes (math and factual; greedy `agent` and `agent_sag`; clean solves, a parse error, an
execution error, the max-steps fallback) and splits the wall time of the episodes into time inside the model (every
`Model.generate` call) and inside the sandbox (every interpreter call); the rest is the harness: parsing, voting,
observations, messages, metadata, stats. Prints per-chooser figures and the ratio

    agent solver wall time / (model time + sandbox time)        target <= 1.15 with the embedded model

    .venv/bin/python tests/benchmarks/agent_overhead.py                      # embedded SmolLM2-135M writes the turns
    .venv/bin/python tests/benchmarks/agent_overhead.py --model scripted     # the scripted mix: harness cost in ms
    options: --sandbox bwrap|local  --repeat N  --n N  --max-tokens N  --max-steps N

With the scripted model the model costs almost nothing, so there the per-step harness milliseconds are the figure;
with the embedded model the same questions run with the model writing the turns.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from contextlib import contextmanager

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")

from inspect_ai import Task, eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.model import Model, get_model  # noqa: E402
from inspect_ai.solver import solver  # noqa: E402

import agentdistill.registry  # noqa: E402,F401
from agentdistill.solvers.agent import loop  # noqa: E402
from agentdistill.solvers.sandbox.acquire import acquire_interpreter  # noqa: E402
from agentdistill.solvers.agent.choosers import GreedyChooser, SAGChooser  # noqa: E402
from agentdistill.core.stats import run_stats  # noqa: E402


def turn(body: str, thought: str = "Next step.") -> str:
    return f"Thought: {thought}\nCode:\n```py\n{body}\n```<end_code>"


# (id, domain, question, target, scripted turns by step)
EPISODES = [
    ("m1", "math", "What is 17 * 23 + 5?", "396", [turn("x = 17 * 23 + 5\nprint(x)"), turn("final_answer(x)")]),
    ("m2", "math", "Solve x^2 - 5x + 6 = 0 and give the larger root.", "3", [
        turn("import sympy as sp\nx = sp.symbols('x')\nr = sp.solve(x**2 - 5*x + 6, x)\nprint(r)"),
        "Thought: the roots are 2 and 3.",  # parse error
        turn("final_answer(max(r))"),
    ]),
    ("m3", "math", "What is the sum of the first 100 squares?", "338350", [
        turn("print(totl)"),  # execution error
        turn("s = sum(i * i for i in range(1, 101))\nprint(s)"),
        turn("import numpy as np\nprint(int(np.arange(1, 101).dot(np.arange(1, 101))))"),
        turn("final_answer(s)"),
    ]),
    ("f1", "factual", "Which river flows through Paris?", "Seine", [
        turn("print(web_search('river flowing through Paris'))"),
        turn("print(web_search('Seine river'))"),
        turn("final_answer('Seine')"),
    ]),
    ("f2", "factual", "Who directed the film Jaws?", "Steven Spielberg", [
        turn("r = web_search('Jaws film director')\nprint(r[:500])"),
        turn("print(len(r))"),
        turn("print('thinking')"),
        turn("print('still thinking')"),  # runs out of steps: fallback
    ]),
]
FALLBACK = "From the transcript the answer is <answer>Steven Spielberg</answer>."


def scripted_rules(n: int) -> dict:
    rules: list[dict] = [{"match": "Based on the above, please provide an answer", "reply": FALLBACK}]  # the stuck call
    for _, _, question, _, turns in EPISODES:
        for i, text in enumerate(turns):
            rules.append({"match_any": re.escape(question), "turn": i, "reply": [text] * n})
    return {"rules": rules}


class Timers:
    def __init__(self) -> None:
        self.model = self.sandbox = self.solver = 0.0


TIMERS = Timers()


@contextmanager
def timed_model():
    original = Model.generate

    async def generate(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            TIMERS.model += time.perf_counter() - start

    Model.generate = generate
    try:
        yield
    finally:
        Model.generate = original


class TimedInterpreter:
    """Proxy adding the time of every interpreter call to the sandbox timer."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name not in {"run", "run_candidates", "commit", "discard"}:
            return attr

        async def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                TIMERS.sandbox += time.perf_counter() - start

        return call


async def timed_factory(tools):
    start = time.perf_counter()
    try:
        return TimedInterpreter(await acquire_interpreter(tools))
    finally:
        TIMERS.sandbox += time.perf_counter() - start


@solver
def bench_agent(kind: str = "greedy", n: int = 4, max_steps: int = 4, max_tokens: int = 128):
    async def solve(state, generate):
        chooser = GreedyChooser() if kind == "greedy" else SAGChooser(n=n)
        settings = loop.AgentSettings(max_steps=max_steps, max_tokens=max_tokens)
        start = time.perf_counter()
        try:
            return await loop.run_agent(state, chooser, settings, timed_factory)
        finally:
            TIMERS.solver += time.perf_counter() - start

    return solve


def run_mix(model_name: str, kind: str, n: int, sandbox: str, max_tokens: int, max_steps: int) -> dict:
    global TIMERS
    TIMERS = Timers()
    samples = [
        Sample(id=sid, input=q, target=t, metadata={"domain": d, "task": "bench"}) for sid, d, q, t, _ in EPISODES
    ]
    task = Task(
        dataset=samples, solver=bench_agent(kind=kind, n=n, max_steps=max_steps, max_tokens=max_tokens), scorer=run_stats(), sandbox=sandbox
    )
    if model_name.startswith("scripted/"):
        model = get_model(model_name, script=scripted_rules(n if kind == "sag" else 1))
    else:
        model = get_model(model_name)
    with timed_model():
        start = time.perf_counter()
        # one sample at a time: the timers then add up without overlapping
        [log] = eval(task, model=model, display="none", log_dir="/tmp/agentdistill-bench-logs", max_samples=1)
        wall = time.perf_counter() - start
    assert log.status == "success", log.error
    steps = sum(s.metadata["agentdistill_stats"]["steps"] for s in log.samples)
    inner = TIMERS.model + TIMERS.sandbox
    return {
        "wall": wall,
        "solver": TIMERS.solver,
        "model": TIMERS.model,
        "sandbox": TIMERS.sandbox,
        "steps": steps,
        "ratio": TIMERS.solver / inner if inner else float("inf"),
        "eval_ratio": wall / inner if inner else float("inf"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="agentdistill/smollm2-135m", help="'scripted' or a model name")
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--n", type=int, default=4, help="SAG candidates per step")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--max-steps", type=int, default=4)
    args = parser.parse_args()
    model_name = "scripted/bench" if args.model == "scripted" else args.model
    print(f"model={model_name} sandbox={args.sandbox} episodes={len(EPISODES)} repeat={args.repeat} n={args.n} "
          f"max_steps={args.max_steps} max_tokens={args.max_tokens}")
    for kind in ("greedy", "sag"):
        runs = [run_mix(model_name, kind, args.n, args.sandbox, args.max_tokens, args.max_steps) for _ in range(args.repeat)]
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        harness_ms = (med["solver"] - med["model"] - med["sandbox"]) * 1000 / max(med["steps"], 1)
        print(
            f"{kind:>6}: steps={med['steps']:.0f} solver={med['solver']:.2f}s model={med['model']:.2f}s "
            f"sandbox={med['sandbox']:.2f}s harness={harness_ms:.1f} ms/step | "
            f"solver/(model+sandbox)={med['ratio']:.3f} | whole eval/(model+sandbox)={med['eval_ratio']:.3f}"
        )


if __name__ == "__main__":
    main()
