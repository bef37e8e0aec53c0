"""`agentdistill reproduce micro`: does distillation teach? The paper's agent-vs-CoT comparison, small enough for a CPU.

One resumable command, in stages (each skips when its output is complete, so a killed run continues where it was):

1. `trajectories-agent`, `trajectories-cot`: `agentdistill trajectories run` with `programmatic/teacher` (a
   PROGRAMMATIC STAND-IN for the 32B teacher, models/programmatic.py) over the first `--train-items` of
   `bignum_train`, agent (teacher prompt) and CoT: the real solvers, sandbox, filters, formats and provenance.
2. `train-agent`, `train-cot`: `agentdistill train` of one LoRA adapter each on the embedded SmolLM2-135M with the
   paper's LoRA settings (r64, alpha 128, dropout 0.05, lr 2e-4), `--epochs` (or `--max-steps`), effective batch 2
   (the paper: 8; see Settings.effective_batch_size).
3. `eval-<method>-<task>`: base CoT, base agent, CoT-distilled, agent-distilled, agent-distilled + SAG on `bignum`
   (in-domain, first `--test-items`) and on `--ood-items` seeded GSM-Hard items (out-of-domain), each an inspect
   eval-set in its own log folder (an interrupted eval resumes with its finished samples reused).
4. `report`: table (accuracy, exact, format / exec errors, steps, tokens, each ± standard error), figure, the exact
   command, wall time per stage and the machine, under `--out` (default leaderboard/results/micro/).

Every agent evaluation uses the short student prompt (the distilled students' prompt at test time, and for the
base model too, so the only difference is training; the teacher prompt with its worked examples is several times
longer, too slow to evaluate on two cores). Agent steps and token limits are options; the defaults are chosen to fit
about an hour on two quiet CPU cores (see README "What distillation does, in one hour on a laptop").

    agentdistill reproduce micro                                  # the full run
    agentdistill reproduce micro --train-items 32 --test-items 8 --ood-items 4 --max-steps 4 --work-dir logs/micro-smoke
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentdistill.core.paths import TRAIN_INFO_FILE, write_text_atomic
from agentdistill.core.errors import InputError
from agentdistill.distill import trajectories
from agentdistill.distill.train import grad_accumulation
from agentdistill.distill.micro_report import Cell, read_cell, write_report
from agentdistill.tasks._core.benchmark import task_ref

TEACHER = "programmatic/teacher"
STUDENT = "agentdistill/smollm2-135m"
TRAIN_TASK, TEST_TASK, OOD_TASK = "bignum_train", "bignum", "gsm_hard"


@dataclass(frozen=True)
class Method:
    name: str
    adapter: str | None  # "agent" / "cot": the distilled adapter; None: the base model
    solver: str
    kind: str  # "agent" or "cot" (what the report measures)


METHODS = (
    Method("base-cot", None, "cot", "cot"),
    Method("base-agent", None, "agent", "agent"),
    Method("cot-distilled", "cot", "cot", "cot"),
    Method("agent-distilled", "agent", "agent", "agent"),
    Method("agent-distilled+sag", "agent", "agent_sag", "agent"),
)


@dataclass
class Settings:
    # Sized for about an hour on two quiet CPU cores (measured: README "What distillation does, in one hour on a
    # laptop"): an agent trajectory is ~820 tokens (most of it the system prompt) and costs about 7 s of training
    # there, so one epoch over 160 items (80 updates of 2); three agent steps; SAG with 4 candidates.
    train_items: int = 160
    test_items: int = 40
    ood_items: int = 20
    ood_seed: int = 16
    epochs: float = 1.0
    max_steps: int = -1  # optimizer steps (-1: --epochs decides)
    # tokens per training example: the longest agent trajectory is 842 tokens (system prompt ~500), a CoT one 383;
    # a shorter limit would cut the assistant turns off the end (train warns about every truncated example)
    max_length: int = 1024
    # The paper's effective batch is 8 over thousands of trajectories. With 160 items that is 20 optimizer updates,
    # after which the student writes the format but not the template's computation (0 of 40, leaderboard/results/
    # micro/README.md); batch 2 gives 80 updates for the same compute (measured: token accuracy 0.99 after 40
    # updates against 0.96 after 30 updates of batch 8).
    effective_batch_size: int = 2
    per_device_batch_size: int = 2  # rows per forward pass (gradient accumulation makes up the effective batch)
    threads: int = 2  # torch threads while training (1 on a CPU shared with other jobs avoids oversubscription)
    agent_steps: int = 3  # the paper: 5; the teacher needs 2
    agent_max_tokens: int = 160  # per agent step (a teacher step is at most about 130 tokens)
    cot_max_tokens: int = 192  # a teacher CoT answer is at most about 150 tokens
    sag_n: int = 4  # the paper: 8
    max_samples: int = 20  # samples evaluated concurrently (batched by the model engine)
    seed: int = 42
    methods: tuple[str, ...] = tuple(m.name for m in METHODS)


# --- stages -------------------------------------------------------------------------------------------------------


class Stages:
    """Markers of finished stages (`<work>/stages/<name>.json`: settings it ran with, wall time)."""

    def __init__(self, work: Path) -> None:
        self.dir = work / "stages"
        self.dir.mkdir(parents=True, exist_ok=True)

    def done(self, name: str, params: dict[str, Any]) -> bool:
        path = self.dir / f"{name}.json"
        if not path.is_file():
            return False
        recorded = json.loads(path.read_text())["params"]
        if recorded != json.loads(json.dumps(params)):
            raise SystemExit(
                f"reproduce: stage {name!r} in {self.dir.parent} finished with other settings ({recorded}); "
                f"now asked for {params}. Use another --work-dir, or delete {path} and its outputs to redo it."
            )
        return True

    def finish(self, name: str, params: dict[str, Any], wall_s: float, note: str = "") -> None:
        record = {"params": params, "wall_s": round(wall_s, 1), "note": note,
                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        write_text_atomic(self.dir / f"{name}.json", json.dumps(record, indent=1))  # a marker is whole or absent

    def all(self) -> dict[str, dict[str, Any]]:
        return {p.stem: json.loads(p.read_text()) for p in sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime)}


def run_stage(stages: Stages, name: str, params: dict[str, Any], action) -> None:
    if stages.done(name, params):
        print(f"[reproduce] {name}: done already, skipped", flush=True)
        return
    print(f"[reproduce] {name}: running", flush=True)
    started = time.monotonic()
    note = action() or ""
    stages.finish(name, params, time.monotonic() - started, note)
    print(f"[reproduce] {name}: finished in {time.monotonic() - started:.0f} s {note}", flush=True)


def teacher_stage(work: Path, kind: str, s: Settings) -> str:
    out = work / "data" / f"{kind}.jsonl"
    argv = ["run", "--model", TEACHER, "--tasks", TRAIN_TASK, "--solver", kind, "--limit", str(s.train_items),
            "--log-dir", str(work / "teacher" / kind), "--out", str(out), "--display", "none"]
    if kind == "agent":
        argv += ["--max-steps", str(s.agent_steps)]
    if trajectories.main(argv) != 0:
        raise SystemExit(f"reproduce: teacher trajectories ({kind}) did not finish; run the same command again")
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    if summary["kept"] == 0:
        raise SystemExit(f"reproduce: no {kind} trajectory survived the filters: {summary['dropped']}")
    return f"kept {summary['kept']} of {summary['samples']} trajectories"


def train_stage(work: Path, kind: str, s: Settings) -> str:
    out = work / "adapters" / kind
    argv = [sys.executable, "-m", "agentdistill.distill.train", "--data", str(work / "data" / f"{kind}.jsonl"),
            "--output_dir", str(out), "--num_train_epochs", str(s.epochs), "--max_steps", str(s.max_steps),
            "--max_length", str(s.max_length), "--per_device_train_batch_size", str(s.per_device_batch_size),
            "--effective_batch_size", str(s.effective_batch_size),
            "--seed", str(s.seed), "--save_steps", "5", "--threads", str(s.threads), "--disable_tqdm", "true"]
    if any(out.glob("checkpoint-*")):
        argv.append("--resume")  # killed mid-training: continue from the last checkpoint
    elif out.exists():
        shutil.rmtree(out)  # an earlier attempt that left no checkpoint: nothing to keep
    if subprocess.run(argv).returncode != 0:
        raise SystemExit(f"reproduce: training the {kind} adapter did not finish (its error is above); finished stages "
                         f"are kept, run the same command again to resume ({shlex.join(argv[1:])})")
    info = json.loads((out / TRAIN_INFO_FILE).read_text())
    metrics = info.get("metrics", {})
    return f"{info['dataset']['records']} records, epoch {metrics.get('epoch')}, train loss {metrics.get('train_loss')}"


def eval_params(method: Method, task: str, s: Settings, work: Path) -> dict[str, Any]:
    model = STUDENT if method.adapter is None else f"agentdistill/{(work / 'adapters' / method.adapter).resolve()}"
    task_args: dict[str, Any] = {"solver": method.solver}
    if method.kind == "agent":
        task_args.update(prompt="student", max_steps=s.agent_steps, max_tokens=s.agent_max_tokens)
        if method.solver == "agent_sag":
            task_args["n"] = s.sag_n
    else:
        task_args["max_tokens"] = s.cot_max_tokens
    limit, shuffle = (s.test_items, None) if task == TEST_TASK else (s.ood_items, s.ood_seed)
    return {"model": model, "task": task, "task_args": task_args, "limit": limit, "sample_shuffle": shuffle}


def eval_stage(params: dict[str, Any], log_dir: Path, s: Settings) -> str:
    """`inspect eval-set` in its own process: each evaluation loads its own model (the engines of a process live as
    long as it does, so five models in one process would hold five models' weights and KV caches)."""
    argv = [sys.executable, "-m", "inspect_ai", "eval-set", task_ref(params["task"]), "--log-dir", str(log_dir),
            "--model", params["model"], "--limit", str(params["limit"]), "--max-samples", str(s.max_samples),
            "--max-connections", str(s.max_samples), "--continue-on-fail", "--retry-attempts", "2", "--retry-wait", "5",
            "--display", "none"]
    if params["sample_shuffle"] is not None:
        argv += ["--sample-shuffle", str(params["sample_shuffle"])]
    for key, value in params["task_args"].items():
        argv += ["-T", f"{key}={value}"]
    if subprocess.run(argv).returncode != 0:
        raise SystemExit(f"reproduce: eval {params['task']} with {params['model']} did not finish; run again to resume "
                         f"({shlex.join(argv[1:])})")
    return ""


def finished_log(log_dir: Path) -> Path:
    from inspect_ai.log import list_eval_logs, read_eval_log

    for info in list_eval_logs(str(log_dir), recursive=True):
        if read_eval_log(info.name, header_only=True).status == "success":
            return Path(info.name.removeprefix("file://"))
    raise FileNotFoundError(f"no finished eval log in {log_dir}")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPU cores ({cpu}), no GPU used; " \
           f"load average at start {os.getloadavg()[0]:.1f} (a machine shared with other jobs)"


# --- the command --------------------------------------------------------------------------------------------------


def run_micro(s: Settings, work: Path, out: Path, command: str) -> dict[str, str]:
    unknown = sorted(set(s.methods) - {m.name for m in METHODS})
    if unknown:
        raise SystemExit(f"reproduce: unknown method(s) {unknown}; known: {[m.name for m in METHODS]}")
    try:  # train's own rule, checked before the teacher stages rather than after them
        grad_accumulation(s.effective_batch_size, s.per_device_batch_size, 1)
    except InputError as ex:
        raise SystemExit(f"reproduce: {ex}".replace("_train_batch_size", "-batch-size").replace("_", "-")) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work.mkdir(parents=True, exist_ok=True)
    stages = Stages(work)
    info_file = work / "run_info.json"  # the machine as it was when the run began (a resumed run keeps it)
    if not info_file.is_file():
        info_file.write_text(json.dumps({"machine": machine()}, indent=1))
    info = json.loads(info_file.read_text())
    methods = [m for m in METHODS if m.name in s.methods]
    adapters = sorted({m.adapter for m in methods if m.adapter})

    for kind in adapters:
        run_stage(stages, f"trajectories-{kind}", {"train_items": s.train_items, "agent_steps": s.agent_steps},
                  lambda kind=kind: teacher_stage(work, kind, s))
    for kind in adapters:
        params = {k: getattr(s, k) for k in ("train_items", "epochs", "max_steps", "max_length", "effective_batch_size",
                                             "per_device_batch_size", "seed", "agent_steps")}
        run_stage(stages, f"train-{kind}", params, lambda kind=kind: train_stage(work, kind, s))
    cells: list[Cell] = []
    for task in (TEST_TASK, OOD_TASK) if s.ood_items > 0 else (TEST_TASK,):
        for method in methods:
            params = eval_params(method, task, s, work)
            log_dir = work / "logs" / method.name / task
            stage = f"eval-{method.name}-{task}"
            run_stage(stages, stage, {**params, "model": params["model"].replace(str(work.resolve()), "<work>")},
                      lambda params=params, log_dir=log_dir: eval_stage(params, log_dir, s))
            cells.append(read_cell(finished_log(log_dir), method.name, method.kind))

    run_info = {"command": command, "settings": asdict(s), "machine": info["machine"],
                "total_wall_s": sum(st["wall_s"] for st in stages.all().values()),
                "stages": stages.all(), "work_dir": str(work)}
    paths = write_report(cells, out, run_info, "Micro experiment: agent vs CoT distillation on bignum (SmolLM2-135M)")
    print(Path(paths["markdown"]).read_text())
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentdistill reproduce", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="experiment", required=True)
    micro = sub.add_parser("micro", help="agent vs CoT distillation on bignum with the embedded student (~1 h, 2 CPU cores)")
    d = Settings()
    micro.add_argument("--work-dir", default="logs/micro", help="trajectories, adapters, eval logs, stage markers")
    micro.add_argument("--out", default="leaderboard/results/micro", help="table, figure and run record")
    micro.add_argument("--train-items", type=int, default=d.train_items, help="bignum_train items the teacher answers")
    micro.add_argument("--test-items", type=int, default=d.test_items, help="bignum items evaluated (in-domain)")
    micro.add_argument("--ood-items", type=int, default=d.ood_items, help="seeded GSM-Hard items evaluated (out-of-domain)")
    micro.add_argument("--ood-seed", type=int, default=d.ood_seed, help="shuffle seed of the GSM-Hard subset")
    micro.add_argument("--epochs", type=float, default=d.epochs)
    micro.add_argument("--max-steps", type=int, default=d.max_steps, help="optimizer steps per adapter (overrides --epochs)")
    micro.add_argument("--max-length", type=int, default=d.max_length, help="tokens per training example")
    micro.add_argument("--effective-batch-size", type=int, default=d.effective_batch_size,
                       help="examples per optimizer update (the paper: 8)")
    micro.add_argument("--per-device-batch-size", type=int, default=d.per_device_batch_size,
                       help="rows per forward pass (gradient accumulation makes up the effective batch)")
    micro.add_argument("--threads", type=int, default=d.threads, help="torch threads while training")
    micro.add_argument("--agent-steps", type=int, default=d.agent_steps, help="agent steps (teacher and evaluation)")
    micro.add_argument("--agent-max-tokens", type=int, default=d.agent_max_tokens, help="tokens per agent step")
    micro.add_argument("--cot-max-tokens", type=int, default=d.cot_max_tokens, help="tokens per CoT answer")
    micro.add_argument("--sag-n", type=int, default=d.sag_n, help="SAG candidates per step")
    micro.add_argument("--max-samples", type=int, default=d.max_samples, help="samples evaluated concurrently")
    micro.add_argument("--seed", type=int, default=d.seed, help="training seed")
    micro.add_argument("--methods", default=",".join(d.methods), help="comma-separated subset of the five methods")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    s = Settings(
        train_items=args.train_items, test_items=args.test_items, ood_items=args.ood_items, ood_seed=args.ood_seed,
        epochs=args.epochs, max_steps=args.max_steps, max_length=args.max_length,
        effective_batch_size=args.effective_batch_size, per_device_batch_size=args.per_device_batch_size,
        threads=args.threads, agent_steps=args.agent_steps,
        agent_max_tokens=args.agent_max_tokens, cot_max_tokens=args.cot_max_tokens, sag_n=args.sag_n,
        max_samples=args.max_samples, seed=args.seed,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
    )
    run_micro(s, Path(args.work_dir), Path(args.out), shlex.join(["agentdistill", "reproduce", *argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
