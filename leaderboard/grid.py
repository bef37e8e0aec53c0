"""`agentdistill grid CONFIG`: run models x methods x tasks resumably with inspect's eval-set.

Each (model, method) pair is one `inspect_ai.eval_set` over all tasks, logging into
`<log_dir>/<model-slug>/<method-slug>/`. eval-set skips tasks whose log there already
succeeded and retries the rest, so re-running the same command finishes only what is
missing (a crashed or interrupted grid is resumed by running it again). Every log carries
`metadata.agentdistill_grid = {model, method, size, distilled}`, which the leaderboard reads
first. The config format is in leaderboard/README.md; an example:

    log_dir: logs/grid
    tasks: [hotpotqa, bamboogle, musique, 2wikimultihopqa, math500, gsm_hard, aime, olymmath]
    limit: 5                  # samples per task (null: all)
    sample_shuffle: 42        # with limit: a fixed seeded subset
    models:
      - agentdistill/smollm2-135m                  # size parsed from the name
      - {name: agentdistill/runs/agent-lora, size: 0.135B, distilled: true, methods: [agent+sag]}  # only these
    methods:
      - cot
      - {solver: agent_sag, args: {n: 8}}
      - {name: agent+ftp+sag, solver: agent, args: {ftp: true, sag: true}}
    task_args: {}             # -T for every task
    generate: {max_tokens: 512}
    eval: {max_samples: 4}    # other eval_set options
    seeds: [0, 1, 2]          # optional: one run per seed, in <model>/<method>/seed-<n>/ (Table 7)
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdistill.leaderboard.build import main as build_main
from agentdistill.leaderboard.provenance import training_provenance
from agentdistill.leaderboard.runs import GRID_METADATA_KEY, adapter_base, format_size, method_name, parse_size_text, short_model_name, size_from_name
from agentdistill.core.args import choice, number, sample_shuffle
from agentdistill.core.errors import InputError, command, unknown_name
from agentdistill.tasks._core.benchmark import task_names, task_ref
from agentdistill.tasks._core.factory import SOURCES, TASK_ARGS, resolve_solver

CONFIG_KEYS = ("log_dir", "tasks", "models", "methods", "limit", "sample_shuffle", "task_args", "generate", "eval", "seeds")


@dataclass
class ModelEntry:
    name: str
    size: float | None = None
    distilled: bool = False
    args: dict[str, Any] = field(default_factory=dict)
    methods: list[str] | None = None  # only these method names for this model (default: all)


@dataclass
class MethodEntry:
    name: str
    solver: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class GridConfig:
    log_dir: str
    tasks: list[str]
    models: list[ModelEntry]
    methods: list[MethodEntry]
    limit: int | None = None
    sample_shuffle: int | None = None
    task_args: dict[str, Any] = field(default_factory=dict)
    generate: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] | None = None  # one run per seed (Table 7: mean and std over seeds)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+_-]+", "_", text).strip("_") or "x"


def load_config(path: str) -> GridConfig:
    """Read and check a grid config; every error names the file (and line) and what was expected."""
    try:
        text = Path(path).read_text()
    except OSError as ex:
        raise InputError(f"grid config {path}: cannot be read ({ex.strerror or ex})") from None
    if path.endswith(".json"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as ex:
            raise InputError(f"{path}: line {ex.lineno}: not valid JSON ({ex.msg})") from None
    else:
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as ex:
            mark = getattr(ex, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            raise InputError(f"{path}: {line}not valid YAML ({getattr(ex, 'problem', None) or ex})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping with log_dir, tasks, models, methods (see leaderboard/README.md)")
    try:
        return parse_config(raw)
    except InputError as ex:
        raise InputError(f"{path}: {ex}") from None


def parse_config(raw: dict[str, Any]) -> GridConfig:
    unknown = set(raw) - set(CONFIG_KEYS)
    if unknown:
        raise InputError(f"grid config: unknown keys {sorted(unknown)}; valid: {', '.join(CONFIG_KEYS)}")
    models = []
    for item in raw.get("models") or []:
        item = {"name": item} if isinstance(item, str) else dict(item)
        if "name" not in item:
            raise InputError(f"grid config: a model entry needs a name: {item}")
        name = item.pop("name")
        size = item.pop("size", None)
        distilled = item.pop("distilled", None)
        base = adapter_base(name)
        if distilled is None:
            distilled = base is not None
        try:
            size = size_from_name(name, base) if size is None else parse_size_text(size)
        except ValueError:
            raise InputError(f"grid config: model {name}: size {size!r}: expected a size such as 1.5B, 135M or 7") from None
        only = item.pop("methods", None)
        models.append(ModelEntry(name=name, size=size, distilled=bool(distilled), args=dict(item.pop("args", {}) or {}),
                                 methods=[str(m) for m in only] if only is not None else None))
        if item:
            raise InputError(f"grid config: model {name}: unknown keys {sorted(item)}; valid: name, size, distilled, args, methods")
    methods = []
    for item in raw.get("methods") or []:
        item = {"solver": item} if isinstance(item, str) else dict(item)
        if "solver" not in item:
            raise InputError(f"grid config: a method entry needs a solver: {item}")
        solver = item["solver"]
        args = dict(item.get("args") or {})
        methods.append(MethodEntry(name=item.get("name") or method_name(solver, args), solver=solver, args=args))
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise InputError(f"grid config: two methods share a name: {names}; give each a `name`")
    if not models or not methods or not raw.get("tasks"):
        raise InputError("grid config needs models, methods and tasks")
    for model in models:
        unknown_methods = set(model.methods or []) - set(names)
        if unknown_methods:
            raise InputError(f"grid config: model {model.name}: methods {sorted(unknown_methods)} are not among the grid's methods {names}")
    seeds = raw.get("seeds")
    if seeds is not None and (not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
                              or len(set(seeds)) != len(seeds)):
        raise InputError(f"grid config: seeds must be a non-empty list of distinct integers, got {seeds!r}")
    if seeds is not None and "seed" in (raw.get("generate") or {}):
        raise InputError("grid config: give the seed either in `seeds` or in `generate`, not both")
    limit = raw.get("limit")
    if limit is not None:
        limit = number("grid config", "limit", limit, integer=True, lo=1)
    log_dir = raw.get("log_dir") or "logs/grid"
    config = GridConfig(
        log_dir=log_dir,  # relative paths are relative to the working directory
        tasks=[str(t) for t in raw["tasks"]],
        models=models,
        methods=methods,
        limit=limit,
        sample_shuffle=sample_shuffle(raw.get("sample_shuffle"), "grid config"),
        task_args=dict(raw.get("task_args") or {}),
        generate=dict(raw.get("generate") or {}),
        eval=dict(raw.get("eval") or {}),
        seeds=list(seeds) if seeds is not None else None,
    )
    return config


def check_config(config: GridConfig) -> None:
    """Task names, solver names and their arguments checked before any cell runs (also by --dry-run): a bad method
    would otherwise crash the grid mid-run, after the cells before it."""
    known = task_names()
    for task in config.tasks:
        if task not in known and not Path(task.split("@")[0]).exists():
            raise InputError(f"grid config: tasks: {unknown_name('task', task, known)}")
    own = {k: v for k, v in config.task_args.items() if k in TASK_ARGS}
    if "source" in own:
        choice("grid config", "task_args.source", own["source"], SOURCES)
    for method in config.methods:
        if "@" in method.solver:  # a solver in a file: inspect loads it
            continue
        solver_args = {k: v for k, v in {**config.task_args, **method.args}.items() if k not in TASK_ARGS}
        try:
            resolve_solver(method.solver, solver_args)  # creating a solver only checks its arguments
        except InputError as ex:
            raise InputError(f"grid config: method {method.name!r}: {ex}") from None


def cell_dir(config: GridConfig, model: ModelEntry, method: MethodEntry, seed: int | None = None) -> str:
    folder = os.path.join(config.log_dir, slug(short_model_name(model.name)), slug(method.name))
    return folder if seed is None else os.path.join(folder, f"seed-{seed}")


def plan(config: GridConfig) -> list[tuple[ModelEntry, MethodEntry, int | None, str, list[str]]]:
    """(model, method, seed, log dir, tasks already done there) for every pair (and seed) of the grid."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    out = []
    for model in config.models:
        methods = [m for m in config.methods if model.methods is None or m.name in model.methods]
        for method, seed in [(m, s) for m in methods for s in (config.seeds or [None])]:
            folder = cell_dir(config, model, method, seed)
            done = []
            if os.path.isdir(folder):
                for info in list_eval_logs(folder):
                    header = read_eval_log(info, header_only=True)
                    if header.status == "success":
                        done.append(header.eval.task.split("/")[-1])
            out.append((model, method, seed, folder, sorted(set(done))))
    return out


def run_grid(config: GridConfig, dry_run: bool = False) -> bool:
    """Run (or finish) every cell; True when every eval set completed."""
    from inspect_ai import eval_set
    from inspect_ai.solver import SolverSpec

    tasks = [task_ref(t) for t in config.tasks]
    all_ok = True
    for model, method, seed, folder, done in plan(config):
        missing = [t for t in config.tasks if t not in done]
        label = f"{short_model_name(model.name)} ({format_size(model.size)}) x {method.name}" + ("" if seed is None else f" seed {seed}")
        print(f"grid: {label}: {len(done)}/{len(config.tasks)} tasks done" + (f", to run: {', '.join(missing)}" if missing else ""))
        if dry_run or not missing:
            continue
        meta = {GRID_METADATA_KEY: {"model": model.name, "method": method.name, "size": model.size, "distilled": model.distilled}}
        if model.distilled:  # what it was trained on travels with its logs (the adapter folder may not)
            meta[GRID_METADATA_KEY]["training"] = training_provenance(model.name)
        solver_args = dict(method.args)
        options = {"display": "plain", "log_level": "warning", **config.eval, **config.generate}
        if seed is not None:  # the model's sampling seed, and the agent solvers' own seed (SAG's random choices)
            meta[GRID_METADATA_KEY]["seed"] = seed
            options["seed"] = seed
            if method.solver.split("/")[-1].split("@")[-1].startswith("agent"):
                solver_args.setdefault("seed", seed)
        if config.limit is not None:
            options["limit"] = config.limit
        if config.sample_shuffle is not None:
            options["sample_shuffle"] = config.sample_shuffle
        if "@" in method.solver:  # a solver in a file: override the tasks' solver
            solver_options = {
                "solver": SolverSpec(method.solver, solver_args, dict(solver_args)),  # inspect applies args_passed
                "task_args": config.task_args,
            }
        else:  # the benchmark tasks take the solver (and its args) as task args; that also picks the sandbox
            solver_options = {"task_args": {**config.task_args, "solver": method.solver, **solver_args}}
        ok, _logs = eval_set(
            tasks=tasks,
            log_dir=folder,
            model=model.name,
            model_args=model.args,
            metadata=meta,
            **solver_options,
            **options,
        )
        all_ok = all_ok and ok
        print(f"grid: {label}: {'complete' if ok else 'INCOMPLETE (run the same command again to resume)'}")
    return all_ok


@command("agentdistill grid")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentdistill grid", description="Run a models x methods x tasks grid resumably (see leaderboard/README.md).")
    parser.add_argument("config", help="grid config, YAML or JSON")
    parser.add_argument("--log-dir", help="override the config's log_dir")
    parser.add_argument("--limit", type=int, help="override the config's limit (samples per task)")
    parser.add_argument("--dry-run", action="store_true", help="only show which cells are done and which would run")
    parser.add_argument("--leaderboard", action="store_true", help="build the leaderboard from the log dir afterwards")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    try:
        check_config(config)
    except InputError as ex:
        raise InputError(f"{args.config}: {ex}") from None
    if args.log_dir:
        config.log_dir = args.log_dir
    if args.limit is not None:
        config.limit = number("--limit", "limit", args.limit, integer=True, lo=1)
    ok = run_grid(config, dry_run=args.dry_run)
    if args.leaderboard and not args.dry_run:

        build_main([config.log_dir])
    return 0 if ok else 1
