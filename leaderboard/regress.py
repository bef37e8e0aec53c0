"""`agentdistill regress`: CI regression on a fixed, seeded sample of each task against a committed baseline.

What runs: for every task, `--per-task` items drawn with `random.Random(f"{seed}:{task}")` from
the task's local data (the ids are stored in the baseline, so later runs use exactly those
items even if the data files are reordered), solved by each `--solvers` entry with the model
(default: the embedded SmolLM2-135M), greedy decoding (temperature 0, seed 0), a small
`--max-tokens`, one model call at a time per worker (`max_connections=1`: batch composition
can change floating-point sums, so concurrency would make greedy outputs depend on timing), and
no LLM judge (factual tasks score EM/F1/cover-EM). The tasks are dealt round-robin to `--jobs`
worker processes (default 2, the cores split between them; each its own model and engine), so
the step uses every core without sharing a batch; the baseline records `jobs` and checks re-run
with it.

What is compared, per solver, with `leaderboard/baseline/<solver>.json`:
- the set of sample ids per task;
- per sample: the scorer's value (math C/I; factual em/f1/cover_em), the extracted answer,
  whether the sample errored, and its run stats (steps, search calls, parse/exec errors,
  tokens generated, ...);
- per task: the score (mean correctness) and the error rate (errored samples / samples).

Tolerances (also written into the baseline file): numbers within `--abs-tol` (default 1e-6);
at most `--max-flips` samples (default 0) may change outcome in total; task scores within
`--score-tol` (default 0: with per-sample identity it can only move through flips); error rates
within `--error-tol` (default 0). Any drift prints a readable diff and exits 1;
`--update-baseline` runs and rewrites the baseline instead. Exit 2: usage or input error (an unknown task or
solver name, a corrupt baseline, no baseline): refused before anything runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdistill.core.errors import InputError, command, unknown_name
from agentdistill.core.paths import write_text_atomic
from agentdistill.core.inspect_compat import find_registered, registered_names
from agentdistill.leaderboard.table import TEST_TASKS
from agentdistill.tasks._core import load_samples
from agentdistill.tasks._core.benchmark import load_task_module, task_file, task_names
from agentdistill.tasks._core.factory import registered_solver

BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
DEFAULT_MODEL = "agentdistill/smollm2-135m"
FORMAT = 1
# run_stats keys compared per sample (all of STAT_KEYS; listed for the baseline's readers)
COMPARED_STATS = ("steps", "web_search_calls", "parse_errors", "exec_errors", "tokens_generated", "max_steps_hit", "sag_valid_candidates")


@dataclass
class Tolerances:
    abs_tol: float = 1e-6
    max_flips: int = 0
    score_tol: float = 0.0
    error_tol: float = 0.0


def pick_ids(task: str, ids: list[str], k: int, seed: int) -> list[str]:
    """k ids of a task, the same on every machine for the same seed and data."""
    pool = sorted(str(i) for i in ids)
    return sorted(random.Random(f"{seed}:{task}").sample(pool, min(k, len(pool))), key=lambda x: (len(x), x))


def load_task(name: str, **task_args: Any):
    """The task `name` from tasks/<name>/<name>.py, called with task_args (a registered inspect Task)."""
    module = load_task_module(task_file(name))
    for obj in vars(module).values():  # the @task registered as `name` (its function may be named otherwise)
        if callable(obj) and find_registered("task", name) is obj:
            return obj(**task_args)
    return getattr(module, name)(**task_args)


def _correct(value: Any) -> float:
    """Correctness of a scorer value: C/I, numbers, or the factual dict (judge if present, else em)."""
    if isinstance(value, dict):
        for key in ("judge", "em"):
            v = value.get(key)
            if isinstance(v, (int, float)) and not math.isnan(float(v)):
                return float(v)
        return 0.0
    if isinstance(value, str):
        return 1.0 if value.upper() == "C" else 0.0
    return float(value or 0.0)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    return value


def summarize_log(log: Any) -> dict[str, Any]:
    """Per-sample outcomes and task aggregates of one eval log (with samples)."""
    samples: dict[str, Any] = {}
    for sample in log.samples or []:
        main_score = next((s for name, s in (sample.scores or {}).items() if name != "run_stats"), None)
        stats = (sample.scores or {}).get("run_stats")
        stat_values = stats.value if stats is not None and isinstance(stats.value, dict) else {}
        samples[str(sample.id)] = {
            "value": _plain(main_score.value) if main_score is not None else None,
            "answer": main_score.answer if main_score is not None else None,
            "correct": _correct(main_score.value) if main_score is not None else 0.0,
            "error": (str(sample.error.message).strip().splitlines() or [""])[-1][:200] if sample.error else None,
            "stats": {k: float(stat_values[k]) for k in COMPARED_STATS if k in stat_values},
        }
    n = len(samples)
    return {
        "status": str(log.status),
        "sample_ids": sorted(samples, key=lambda x: (len(x), x)),
        "score": sum(s["correct"] for s in samples.values()) / n if n else 0.0,
        "error_rate": sum(1 for s in samples.values() if s["error"]) / n if n else 0.0,
        "samples": samples,
    }


def run_subset(
    solver: str,
    solver_args: dict[str, Any],
    ids: dict[str, list[str]],
    model: Any,
    max_tokens: int,
    log_dir: str,
    jobs: int = 0,
) -> dict[str, dict[str, Any]]:
    """Evaluate the chosen ids of every task; returns summarize_log per task.

    jobs 0: in this process. jobs N >= 1: the tasks dealt round-robin to N fresh worker processes
    (one model load each, the cores split between them: the thread count, which changes float
    sums, depends on `jobs` only), which run their tasks one after the other, each from an empty
    prompt-prefix cache. The baseline records `jobs` and checks re-run with it."""
    if jobs == 0:
        return _run_here(solver, solver_args, ids, model, max_tokens, log_dir)
    if not isinstance(model, str):
        raise InputError(f"regress: jobs={jobs} runs worker processes; they need a model name, not a {type(model).__name__}")
    names = list(ids)
    parts = [{t: ids[t] for t in names[i::jobs]} for i in range(min(jobs, len(names)))]
    # the cores split by `jobs`, not by the tasks asked for: a subset must run with the baseline's threads
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine, threads or locks inherited
    with concurrent.futures.ProcessPoolExecutor(len(parts), mp_context=context, initializer=_worker_env, initargs=(threads,)) as pool:
        futures = [pool.submit(_run_here, solver, solver_args, part, model, max_tokens, log_dir) for part in parts]
        results = [f.result() for f in futures]
    merged = {k: v for part in results for k, v in part.items()}
    return {t: merged[t] for t in names if t in merged}


def _worker_env(threads: int) -> None:
    os.environ.setdefault("AGENTDISTILL_THREADS", str(threads))  # the user's setting wins
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _forget_prefixes() -> None:
    """Every loaded agentdistill engine empties its prompt-prefix cache. Looked up, not imported: an
    engine exists only once its module is loaded, and importing it (torch, transformers: ~5 s) would
    slow every `regress` start, the orchestrating parent of the workers included."""
    hf_model = sys.modules.get("agentdistill.models.hf_model")
    if hf_model is not None:
        hf_model.forget_prefixes()


def _run_here(
    solver: str,
    solver_args: dict[str, Any],
    ids: dict[str, list[str]],
    model: Any,
    max_tokens: int,
    log_dir: str,
) -> dict[str, dict[str, Any]]:
    from inspect_ai import eval as inspect_eval
    from inspect_ai import task_with
    from inspect_ai.log import read_eval_log

    if "max_tokens" not in solver_args and _takes(solver, "max_tokens"):
        # the solvers pass their own max_tokens per call, which beats the eval's setting
        solver_args = {**solver_args, "max_tokens": max_tokens}
    out = {}
    for name, wanted in ids.items():
        task = load_task(name, solver=solver, judge="off", **solver_args)
        keep = set(wanted)
        # each task from an empty prompt-prefix cache: its results do not depend on the tasks run before it
        # (a subset of the baseline's tasks, another --jobs split)
        _forget_prefixes()
        [log] = inspect_eval(
            task_with(task, dataset=task.dataset.filter(lambda s, keep=keep: str(s.id) in keep)),
            model=model,
            log_dir=log_dir,
            max_tokens=max_tokens,
            temperature=0.0,
            seed=0,
            max_connections=1,
            max_samples=1,
            fail_on_error=False,
            display="none",
            log_level="warning",
        )
        full = read_eval_log(log.location)
        out[full.eval.task.split("/")[-1]] = summarize_log(full)
    return out


def _takes(solver: str, arg: str) -> bool:
    """Whether the registered solver `solver` (bare or agentdistill/...) has a parameter `arg`."""
    import inspect as pyinspect

    name = registered_solver(solver)
    if name is None:
        return False
    params = pyinspect.signature(find_registered("solver", name)).parameters
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_fmt(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _differs(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) != set(b) or any(_differs(a[k], b[k], tol) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) > tol
    return a != b


def compare(baseline: dict[str, Any], current: dict[str, Any], tol: Tolerances) -> list[str]:
    """Human-readable differences between a baseline's tasks and the current results; [] = no drift."""
    problems: list[str] = []
    flips: list[str] = []
    for task, base in baseline.items():
        cur = current.get(task)
        if cur is None:
            problems.append(f"{task}: no result this run (baseline has {len(base['sample_ids'])} samples)")
            continue
        if cur["sample_ids"] != base["sample_ids"]:
            gone = sorted(set(base["sample_ids"]) - set(cur["sample_ids"]))
            new = sorted(set(cur["sample_ids"]) - set(base["sample_ids"]))
            problems.append(f"{task}: sample ids changed (missing {gone}, new {new})")
        for sid in base["sample_ids"]:
            b, c = base["samples"].get(sid), cur["samples"].get(sid)
            if b is None or c is None:
                continue
            where = f"{task} sample {sid}"
            if _differs(b["value"], c["value"], tol.abs_tol) or b["answer"] != c["answer"]:
                answer = f"answer {b['answer']!r} -> {c['answer']!r}" if b["answer"] != c["answer"] else f"same answer {c['answer']!r}"
                flips.append(f"{where}: value {_fmt(b['value'])} -> {_fmt(c['value'])}; {answer}")
            if bool(b["error"]) != bool(c["error"]):
                problems.append(f"{where}: error {b['error']!r} -> {c['error']!r}")
            for key in sorted(set(b["stats"]) | set(c["stats"])):
                bv, cv = b["stats"].get(key), c["stats"].get(key)
                if bv is None or cv is None or abs(bv - cv) > tol.abs_tol:
                    problems.append(f"{where}: run stat {key} {_fmt(bv)} -> {_fmt(cv)}")
        if abs(cur["score"] - base["score"]) > tol.score_tol + 1e-12:
            problems.append(f"{task}: score {base['score']:.3f} -> {cur['score']:.3f} (tolerance {tol.score_tol})")
        if abs(cur["error_rate"] - base["error_rate"]) > tol.error_tol + 1e-12:
            problems.append(f"{task}: error rate {base['error_rate']:.3f} -> {cur['error_rate']:.3f} (tolerance {tol.error_tol})")
    for task in sorted(set(current) - set(baseline)):
        problems.append(f"{task}: not in the baseline (run with --update-baseline to add it)")
    if len(flips) > tol.max_flips:
        problems = [f"{len(flips)} per-sample outcome change(s) (tolerance {tol.max_flips}):"] + ["  " + f for f in flips] + problems
    return problems


def baseline_path(solver: str, directory: Path = BASELINE_DIR) -> Path:
    return directory / f"{solver.replace('/', '_')}.json"


def _sample_ids(task: str) -> list[str]:
    return [str(s.id) for s in load_samples(task, "local")]


def read_baseline(path: Path) -> dict[str, Any]:
    """A baseline file, checked: a corrupt one is an input error naming the file and line (exit 2, not drift)."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as ex:
        raise InputError(f"{path}: line {ex.lineno}: not valid JSON ({ex.msg}); restore it from git or rewrite it "
                         "with --update-baseline") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{path}: not a regression baseline of format {FORMAT} (found {found!r})")
    for key in ("config", "tasks"):
        if not isinstance(data.get(key), dict):
            raise InputError(f"{path}: field {key!r} missing or not an object")
    return data


def check_names(tasks: list[str], solvers: list[str]) -> None:
    """Refuse unknown task or solver names before anything runs, listing the valid ones."""
    if not tasks:
        raise InputError("--tasks: no task given; valid: " + ", ".join(task_names()))
    if not solvers:
        raise InputError("--solvers: no solver given; valid: " + ", ".join(registered_names("solver", "agentdistill")))
    known = task_names()
    for task in tasks:
        if task not in known:
            raise InputError(f"--tasks: {unknown_name('task', task, known)}")
    for solver in solvers:
        if registered_solver(solver) is None:
            raise InputError(f"--solvers: {unknown_name('solver', solver, registered_names('solver', 'agentdistill'))}")


def regress_one(
    solver: str,
    solver_args: dict[str, Any],
    tasks: list[str],
    per_task: int,
    seed: int,
    model: str,
    max_tokens: int,
    tol: Tolerances,
    update: bool,
    baseline_file: Path,
    log_dir: str,
    jobs: int = 0,
) -> int:
    existing = read_baseline(baseline_file) if baseline_file.is_file() else None
    config = {"model": model, "solver": solver, "solver_args": solver_args, "seed": seed, "per_task": per_task, "max_tokens": max_tokens, "jobs": jobs}
    if existing is not None and not update:
        config = existing["config"]  # re-run exactly what the baseline ran
        missing = [t for t in tasks if t not in existing["tasks"]]
        if missing:
            raise InputError(f"{baseline_file}: no baseline for task(s) {', '.join(missing)} (it has "
                             f"{', '.join(sorted(existing['tasks']))}); add them with --update-baseline")
        ids = {t: existing["tasks"][t]["sample_ids"] for t in tasks}
    elif existing is None and not update:
        raise InputError(f"no baseline {baseline_file}; create it with --update-baseline")
    else:
        ids = {t: pick_ids(t, _sample_ids(t), per_task, seed) for t in tasks}
    if not any(ids.values()):  # inspect_eval([]) would discover and run every task in the working folder
        raise InputError(f"nothing to run: no sample ids for tasks {', '.join(tasks) or '(none)'}")

    started = time.monotonic()
    # baselines written before `jobs` existed ran in the regress process itself
    current = run_subset(config["solver"], config["solver_args"], ids, config["model"], config["max_tokens"], log_dir, config.get("jobs", 0))
    elapsed = time.monotonic() - started
    n = sum(len(v) for v in ids.values())
    label = f"{config['solver']} on {config['model']}: {len(ids)} tasks, {n} samples, {elapsed:.0f}s"

    if update:
        data = {
            "format": FORMAT,
            "about": "agentdistill regression baseline: written by `agentdistill regress --update-baseline`; compared by `agentdistill regress`",
            "config": config,
            "tolerances": vars(tol),
            "tasks": current,
        }
        write_text_atomic(baseline_file, json.dumps(data, indent=1, sort_keys=True) + "\n")
        scores = ", ".join(f"{t}={v['score']:.2f}" for t, v in current.items())
        print(f"regress: baseline written: {baseline_file} ({label}; {scores})")
        return 0

    problems = compare({t: existing["tasks"][t] for t in ids}, current, tol)
    if problems:
        print(f"regress: DRIFT against {baseline_file} ({label}):")
        for line in problems:
            print(f"  {line}")
        print("  (if the change is intended, rewrite the baseline: agentdistill regress --update-baseline ...)")
        return 1
    print(f"regress: OK, {label} match {baseline_file.name}")
    return 0


@command("agentdistill regress")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentdistill regress", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--solvers", default="cot", help="comma-separated solver names, one baseline file each (default: cot)")
    parser.add_argument("--solver-args", default="{}", help="JSON object of solver arguments (all solvers)")
    parser.add_argument("--tasks", default=",".join(TEST_TASKS), help="comma-separated tasks (default: the eight test tasks)")
    parser.add_argument("--per-task", type=int, default=2, help="items per task (with --update-baseline; default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the item choice (with --update-baseline)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--max-tokens", type=int, default=96, help="generation budget per call (default 96)")
    parser.add_argument("--baseline-dir", default=str(BASELINE_DIR))
    parser.add_argument("--log-dir", default=None, help="keep the eval logs here (default: a temporary directory)")
    parser.add_argument("--update-baseline", action="store_true", help="run and rewrite the baseline file(s)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes, tasks dealt round-robin, cores split between them "
                        "(with --update-baseline; a check re-runs with the baseline's; 0: in this process; default 2)")
    parser.add_argument("--abs-tol", type=float, default=Tolerances.abs_tol)
    parser.add_argument("--max-flips", type=int, default=Tolerances.max_flips)
    parser.add_argument("--score-tol", type=float, default=Tolerances.score_tol)
    parser.add_argument("--error-tol", type=float, default=Tolerances.error_tol)
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tol = Tolerances(args.abs_tol, args.max_flips, args.score_tol, args.error_tol)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    try:
        solver_args = json.loads(args.solver_args)
    except json.JSONDecodeError as ex:
        raise InputError(f"--solver-args {args.solver_args!r}: not valid JSON ({ex.msg}); expected an object such as "
                         "'{\"max_steps\": 2}'") from None
    if not isinstance(solver_args, dict):
        raise InputError(f"--solver-args {args.solver_args!r}: expected a JSON object")
    for flag, value in (("--per-task", args.per_task), ("--max-tokens", args.max_tokens)):
        if value < 1:
            raise InputError(f"{flag} {value}: expected an integer >= 1")
    if args.jobs < 0:
        raise InputError(f"--jobs {args.jobs}: expected an integer >= 0 (0: in this process)")
    check_names(tasks, solvers)
    if not args.update_baseline:  # every baseline readable before the first one runs
        for solver in solvers:
            if baseline_path(solver, Path(args.baseline_dir)).is_file():
                read_baseline(baseline_path(solver, Path(args.baseline_dir)))
    worst = 0
    with tempfile.TemporaryDirectory(prefix="agentdistill-regress-") as tmp:
        for solver in solvers:
            log_dir = os.path.join(args.log_dir or tmp, solver)
            code = regress_one(
                solver, solver_args, tasks, args.per_task, args.seed, args.model, args.max_tokens, tol,
                args.update_baseline, baseline_path(solver, Path(args.baseline_dir)), log_dir, args.jobs,
            )
            worst = max(worst, code)
    return worst
