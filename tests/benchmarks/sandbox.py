"""Sandbox benchmark (a script, not a test): medians over repeated runs, bwrap and a container side by side.

    nice .venv/bin/python tests/benchmarks/sandbox.py [--reps 30] [--providers bwrap,docker]

Measures, from the host (the agent's point of view, protocol included), for each provider (`docker` is the
`agentdistill_docker` container; skipped with a note when no Docker engine answers):
  0. the start-up cost per sample: start the sandbox, open its interpreter, run one action, remove it;
  1. one action (run + commit);
  2. one SAG step: 8 candidates forked from the same state, run concurrently, then commit one;
and for bwrap also
  3. the naive alternative: 8 fresh interpreters (new python processes in the same sandbox, started concurrently)
     that each replay the previous steps' code and then run their candidate;
  4. 2 and 3 again with a 200 MB state (a numpy array built by a previous step).
Targets (issue 3): SAG-8 step <= 30 ms and >= 4x faster than naive.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from agentdistill.solvers.sandbox import BwrapSandbox, Interpreter
from agentdistill.solvers.sandbox.container import ContainerSandbox, docker_client, engine_available
from agentdistill.solvers.sandbox.spawner import SpawnerSandbox

PROVIDERS: dict[str, type[SpawnerSandbox]] = {"bwrap": BwrapSandbox, "docker": ContainerSandbox}
STARTUP_REPS = 8

PREVIOUS_STEPS = [
    "import math\nimport numpy as np\nnumbers = np.arange(1, 11)",
    "total = int(numbers.sum())\ndef double(x):\n    return 2 * x",
    "result = double(total)\nprint(result)",
]
BIG_STEP = "big = np.ones(25_000_000)  # 200 MB of float64, pages touched"
GAP_S = 0.2  # a real step waits seconds for the model's 8 candidates; spares are forked meanwhile
CANDIDATES = [f"answer = result + {i}\nprint(answer, math.sqrt(answer))\nanswer" for i in range(8)]


CPU: dict[str, float] = {}


async def timed(coro_fn, reps: int, env: SpawnerSandbox | None = None,
                gap_s: float = 0.0) -> tuple[float, list[float]]:
    """Median wall ms; also leaves in CPU the mean CPU ms per rep (sandbox processes + this host process).
    `gap_s`: idle time before each rep (not timed), standing for the agent's model generating the next step."""
    times = []
    cpu0, host0 = (env.cpu_ms() if env else None), time.process_time()
    for _ in range(reps):
        if gap_s:
            await asyncio.sleep(gap_s)
        t0 = time.perf_counter()
        await coro_fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    cpu1 = env.cpu_ms() if env else None
    CPU["host"] = (time.process_time() - host0) * 1000.0 / reps
    CPU["sandbox"] = (cpu1 - cpu0) / reps if cpu0 is not None and cpu1 is not None else float("nan")
    return statistics.median(times), times


def cpu_note() -> str:
    return f"cpu/rep: sandbox {CPU['sandbox']:.1f} ms + host {CPU['host']:.1f} ms"


async def naive_step(env: SpawnerSandbox, steps: list[str]) -> None:
    replay = "\n".join(steps)
    results = await asyncio.gather(*(env.exec(["python3", "-c", f"{replay}\n{code}"], timeout=120)
                                     for code in CANDIDATES))
    bad = [r for r in results if not r.success]
    if bad:
        raise RuntimeError(bad[0].stderr)


async def startup(cls: type[SpawnerSandbox], reps: int) -> tuple[float, float, float]:
    """Median ms per sample: (start the sandbox + open its interpreter + one action, remove it, the sum)."""
    starts, stops, totals = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        env = cls()
        await env.start()
        try:
            interp = await Interpreter(env.open_channel).start()
            r = await interp.run("6 * 7")
            assert r.value == "42", r
        finally:
            t1 = time.perf_counter()
            await env.stop()
        t2 = time.perf_counter()
        starts.append((t1 - t0) * 1000.0)
        stops.append((t2 - t1) * 1000.0)
        totals.append((t2 - t0) * 1000.0)
    return statistics.median(starts), statistics.median(stops), statistics.median(totals)


async def measure(name: str, reps: int, summary: list[str]) -> None:
    cls = PROVIDERS[name]
    start_ms, stop_ms, total_ms = await startup(cls, STARTUP_REPS)
    env = cls()
    await env.start()
    try:
        interp = await Interpreter(env.open_channel, memory_mb=4096, timeout=60).start()
        for step in PREVIOUS_STEPS:
            r = await interp.run(step)
            assert r.error is None, r.error
        await interp.run("counter = 0")

        async def one_action():
            r = await interp.run("counter += 1")
            assert r.error is None, r

        async def sag_step():
            results = await interp.run_candidates(CANDIDATES)
            assert all(r.error is None for r in results), [r.error for r in results]
            assert await interp.commit(3)

        for fn in (one_action, sag_step):  # warm up
            await fn()
        lines = [f"per sample: start + interpreter + one action      median {start_ms:8.1f} ms, removal "
                 f"{stop_ms:.1f} ms  (n={STARTUP_REPS})"]
        one, _ = await timed(one_action, reps * 2, env)
        lines.append(f"one action (run + commit)                          median {one:8.1f} ms  (n={reps * 2})  "
                     + cpu_note())
        sag_b2b, _ = await timed(sag_step, reps, env)
        lines.append(f"SAG step, back to back (forks on the critical path) median {sag_b2b:8.1f} ms  (n={reps})  "
                     + cpu_note())
        sag_cpu = CPU["sandbox"] + CPU["host"]
        sag, _ = await timed(sag_step, reps, env, gap_s=GAP_S)
        lines.append(f"SAG step: 8 candidates (pre-forked while the model thinks, {GAP_S * 1000:.0f} ms gap) + commit "
                     f"median {sag:8.1f} ms  (n={reps})  " + cpu_note())
        summary.append(f"{name:<7} {total_ms:12.1f} {start_ms:10.1f} {stop_ms:9.1f} {one:11.1f} {sag_b2b:14.1f} "
                       f"{sag:16.1f}")
        for line in lines:
            print(f"[{name}] {line}", flush=True)
        if name != "bwrap":
            await interp.close()
            return
        lines = []
        naive_reps = max(5, reps // 3)
        naive, _ = await timed(lambda: naive_step(env, PREVIOUS_STEPS), naive_reps, env)
        lines.append(f"naive: 8 fresh interpreters replaying {len(PREVIOUS_STEPS)} steps     median {naive:8.1f} ms  "
                     f"(n={naive_reps})  " + cpu_note())
        naive_cpu = CPU["sandbox"] + CPU["host"]
        lines.append(f"ratio naive / SAG-8: {naive / sag:.1f}x wall ({naive / sag_b2b:.1f}x back to back), "
                     f"{naive_cpu / sag_cpu:.1f}x cpu   (targets: SAG-8 <= 30 ms -> {'met' if sag <= 30 else 'NOT met'}; "
                     f">= 4x -> {'met' if naive / sag >= 4 else 'NOT met'})")
        for line in lines:
            print(f"[{name}] {line}", flush=True)

        r = await interp.run(BIG_STEP)
        assert r.error is None, r.error
        big_reps = max(5, reps // 3)
        sag_big, _ = await timed(sag_step, big_reps, env, gap_s=GAP_S)
        print(f"[{name}] SAG step with a 200 MB state (pre-forked)          median {sag_big:8.1f} ms  (n={big_reps})  "
              + cpu_note(), flush=True)
        naive_big, _ = await timed(lambda: naive_step(env, PREVIOUS_STEPS + [BIG_STEP]), 3, env)
        print(f"[{name}] naive with a 200 MB state (8 replays)              median {naive_big:8.1f} ms  (n=3)  " + cpu_note(),
              flush=True)
        print(f"[{name}] ratio naive / SAG-8 at 200 MB: {naive_big / sag_big:.1f}x", flush=True)
        await interp.close()
    finally:
        await env.stop()


async def main(reps: int, providers: list[str]) -> None:
    summary = [f"{'':<7} {'per sample':>12} {'start':>10} {'removal':>9} {'one action':>11} {'SAG-8 b2b':>14} "
               f"{'SAG-8 pre-fork':>16}   (medians, ms)"]
    for name in providers:
        if name == "docker":
            if not engine_available():
                print("[docker] skipped: no Docker engine answers (DOCKER_HOST or the default socket)", flush=True)
                continue
            info = docker_client().info()
            print(f"[docker] engine {info.get('ServerVersion')}, storage driver {info.get('Driver')}, "
                  f"cgroup {info.get('CgroupVersion')}", flush=True)
        await measure(name, reps, summary)
    print("\n".join(summary), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--providers", default="bwrap,docker", help="comma-separated: bwrap, docker")
    args = parser.parse_args()
    providers = [p.strip() for p in args.providers.split(",") if p.strip()]
    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown:
        parser.error(f"unknown providers {unknown}; known: {sorted(PROVIDERS)}")
    with open("/proc/loadavg") as f:
        print(f"load average before: {' '.join(f.read().split()[:3])} on {os.cpu_count()} cores", flush=True)
    asyncio.run(main(args.reps, providers))
