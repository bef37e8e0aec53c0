"""`agentdistill trajectories`: teacher trajectories -> filtered chat JSONL for `agentdistill train`.

Two steps, also usable apart:

1. `run`: evaluate any inspect model as the teacher on the training tasks (default `math_train` and
   `hotpotqa_train`) with the `agent` solver (teacher prompt; `--ftp` for the first-thought prefix), with
   `cot`, or with `rag` (CoT over retrieved passages: the paper's "Distill + RAG" data; the student is
   trained on the question with its passages and evaluated with `rag`), through `inspect_ai.eval_set`
   into one log directory. Re-running the same command
   resumes: finished tasks are reused, an interrupted or failed task is retried with its completed
   samples reused, and errored samples are always run again (the eval runs with
   `fail_on_error` + `continue_on_fail`, so a log holding an errored sample is never "done").
2. `from-logs`: read the eval logs (files or directories) and write one JSONL record per kept
   sample: `{"messages": [...], "id", "domain", "target", "final_answer", "stats", "provenance"}`.

Agent records, as the reference's preprocessing (`train_utils/preprocess.py`) builds them: system =
the student prompt (code_agent.yaml `system_prompt_short`), user = `New task:` + the question + the
instruction as the teacher saw it, then the teacher's assistant turns exactly as logged (thought +
code, FTP prefix included) and observations as user turns, the last observation dropped. A run that
hit max steps adds a second record (`kind: agent_stuck_call`): the stuck call's own messages (its
system turn kept) and its answer. CoT records keep the logged conversation. Training puts the loss on
the assistant turns only.

Filters (the reference's `filter_agent_trajectories`), first matching reason wins: `error` (the
sample errored), `parse_error` (a turn failed to parse), `incorrect` (math: the math scorer;
factual: the LLM judge when it ran, else `--factual-metric`, exact match by default),
`no_assistant_turn`. Execution errors are kept (they teach recovery), so are runs that hit max steps
(as in the reference; `--drop-max-steps`, the project's stricter filter, drops them as `max_steps`).
The same sample found in several logs (retries) counts once: the newest non-errored copy.

GPU teacher (the paper: Qwen2.5-32B-Instruct, greedy; inspect's vLLM provider starts the server):

    agentdistill trajectories run --model vllm/Qwen/Qwen2.5-32B-Instruct -M tensor_parallel_size=4 \\
        --solver agent --ftp --max-samples 64 \\
        --model-role grader=openai/gpt-4o-mini-2024-07-18 \\
        --log-dir logs/teacher-agent-ftp --out data/agent_ftp.jsonl
    agentdistill trajectories run --model vllm/Qwen/Qwen2.5-32B-Instruct --solver cot --temperature 0 \\
        --log-dir logs/teacher-cot --out data/cot.jsonl          # the CoT-distillation baseline
    agentdistill trajectories from-logs logs/teacher-agent-ftp --out data/agent_ftp.jsonl

(Interrupted? Run the same command again: it resumes in the same --log-dir.)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdistill.core.args import sample_shuffle as check_shuffle
from agentdistill.core.errors import EXIT_INPUT, InputError, command
from agentdistill.core.paths import write_text_atomic
from agentdistill.solvers.agent.loop import system_prompt
from agentdistill.tasks._core.benchmark import task_ref

DEFAULT_TASKS = ("math_train", "hotpotqa_train")
DROP_REASONS = ("error", "parse_error", "max_steps", "incorrect", "no_assistant_turn")
STATS_KEY = "agentdistill_stats"
AGENT_KEY = "agent"


# --- reading logs -----------------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for item in content or []:
        text = getattr(item, "text", None)
        if text is None and isinstance(item, dict):
            text = item.get("text")
        if text:
            parts.append(text)
    return "".join(parts)


def _plain_messages(messages: list[Any]) -> list[dict[str, str]]:
    """role/content dicts; consecutive assistant messages (a prefill and its continuation) are joined."""
    out: list[dict[str, str]] = []
    for message in messages:
        role = message.role if hasattr(message, "role") else message["role"]
        content = _text(message.content if hasattr(message, "content") else message["content"])
        if role == "tool":  # native tool calls are not part of the CodeAct format; keep them visible as observations
            role = "user"
        if out and role == "assistant" and out[-1]["role"] == "assistant":
            out[-1]["content"] += content
        else:
            out.append({"role": role, "content": content})
    return out


def student_system_prompt(domain: str | None = None) -> str:
    return system_prompt("student", domain)


def agent_examples(messages: list[dict[str, str]], agent_log: dict[str, Any]) -> list[list[dict[str, str]]]:
    """The training examples of one agent run: the trajectory under the student prompt (ending on the last assistant
    turn) and, when the steps ran out, the stuck call with its answer."""
    body = [m for m in messages if m["role"] != "system"]
    main = [{"role": "system", "content": student_system_prompt()}, *body]
    while main and main[-1]["role"] != "assistant":  # nothing after the last turn is trained
        main.pop()
    examples = [main]
    stuck = agent_log.get("stuck_call")
    if stuck:
        examples.append([*({"role": m["role"], "content": m["content"]} for m in stuck["messages"]),
                         {"role": "assistant", "content": stuck["completion"]}])
    return examples


def is_correct(scores: dict[str, Any] | None, factual_metric: str = "em") -> bool | None:
    """Whether the task's main scorer says correct (None when there is no usable score). Math: the project's grader
    (`math_scorer`), not the paper's `paper_accuracy` reported beside it."""
    for name, score in (scores or {}).items():
        if name in ("run_stats", "paper_accuracy"):
            continue
        value = score.value if hasattr(score, "value") else score.get("value")
        if isinstance(value, str):
            return value.upper() in ("C", "CORRECT", "1", "TRUE")
        if isinstance(value, (int, float)):
            return float(value) >= 1.0
        if isinstance(value, dict):
            judge = value.get("judge")
            if judge is not None and not (isinstance(judge, float) and math.isnan(judge)):
                return float(judge) >= 1.0
            metric = value.get(factual_metric)
            if metric is not None and not (isinstance(metric, float) and math.isnan(metric)):
                return float(metric) >= 1.0
    return None


@dataclass
class Conversion:
    records: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)  # by first failed filter
    failing: Counter = field(default_factory=Counter)  # every failed filter (a sample can fail several)
    duplicates: int = 0
    kept_samples: int = 0  # a max-steps run gives two records (its stuck call is an example of its own)
    logs: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        total = self.kept_samples + sum(self.dropped.values())
        return {
            "samples": total,
            "kept": self.kept_samples,
            "records": len(self.records),
            "dropped": {reason: self.dropped.get(reason, 0) for reason in DROP_REASONS},
            "failing_each_filter": {reason: self.failing.get(reason, 0) for reason in DROP_REASONS},
            "duplicates_skipped": self.duplicates,
            "logs": self.logs,
        }

    def report(self) -> str:
        s = self.summary()
        dropped = ", ".join(f"{k} {v}" for k, v in s["dropped"].items())
        failing = ", ".join(f"{k} {v}" for k, v in s["failing_each_filter"].items())
        return (f"kept {s['kept']} of {s['samples']} samples; dropped (first failed filter): {dropped} "
                f"(from {len(s['logs'])} log(s)); samples failing each filter: {failing}")


def drop_reasons(sample: Any, factual_metric: str = "em", drop_max_steps: bool = False) -> list[str]:
    """Every filter a logged sample fails, in DROP_REASONS order (empty: keep it)."""
    if getattr(sample, "error", None) or not getattr(sample, "scores", None):
        return ["error"]
    stats = (sample.metadata or {}).get(STATS_KEY) or {}
    reasons = []
    if float(stats.get("parse_errors", 0) or 0) > 0:
        reasons.append("parse_error")
    if drop_max_steps and float(stats.get("max_steps_hit", 0) or 0) > 0:
        reasons.append("max_steps")
    if not is_correct(sample.scores, factual_metric):
        reasons.append("incorrect")
    if not any(m.role == "assistant" for m in sample.messages):
        reasons.append("no_assistant_turn")
    return reasons


def sample_records(sample: Any, header: Any, log_file: str) -> list[dict[str, Any]]:
    """The chat records of one kept sample (an agent run that hit max steps gives two)."""
    metadata = sample.metadata or {}
    messages = _plain_messages(sample.messages)
    if AGENT_KEY not in metadata:
        while messages and messages[-1]["role"] != "assistant":
            messages.pop()
        return [sample_record(sample, header, log_file, messages, "cot")]
    main, *stuck = agent_examples(messages, metadata.get(AGENT_KEY) or {})
    records = [sample_record(sample, header, log_file, main, "agent")]
    records += [sample_record(sample, header, log_file, extra, "agent_stuck_call") for extra in stuck]
    return records


def sample_record(sample: Any, header: Any, log_file: str, messages: list[dict[str, str]],
                  kind: str) -> dict[str, Any]:
    """One chat record of a kept sample."""
    metadata = sample.metadata or {}
    domain = metadata.get("domain") or "math"
    agent = kind != "cot"
    eval_spec = header.eval
    task_args = dict(eval_spec.task_args or {})
    solver_name = task_args.pop("solver", None) or (eval_spec.solver or None)
    solver_args = {k: v for k, v in task_args.items() if k not in ("source", "judge", "sandbox")}
    if eval_spec.solver_args:
        solver_args.update(eval_spec.solver_args)
    return {
        "messages": messages,
        "id": f"{eval_spec.task}:{sample.id}:{sample.epoch}" + (":stuck_call" if kind == "agent_stuck_call" else ""),
        "kind": kind,
        "domain": domain,
        "target": sample.target,
        "final_answer": metadata.get("final_answer"),
        "stats": metadata.get(STATS_KEY) or {},
        "provenance": {
            "teacher": eval_spec.model,
            "teacher_args": eval_spec.model_args,
            "generate_config": eval_spec.model_generate_config.model_dump(exclude_none=True) if eval_spec.model_generate_config else {},
            "task": eval_spec.task,
            "task_args": eval_spec.task_args,
            "solver": solver_name,
            "solver_args": solver_args,
            "ftp_prefix": (metadata.get(AGENT_KEY) or {}).get("ftp_prefix") if agent else None,
            "log_file": log_file,
            "eval_id": eval_spec.eval_id,
            "sample_id": sample.id,
            "epoch": sample.epoch,
        },
    }


def log_files(paths: list[str | Path]) -> list[str]:
    """The eval log files under the given files and folders; a path that does not exist, or no log at all, is an
    input error (converting nothing would overwrite the output with an empty file)."""
    from inspect_ai.log import list_eval_logs

    files: list[str] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += [info.name for info in list_eval_logs(str(path), recursive=True)]
        elif path.is_file():
            files.append(str(path))
        else:
            raise InputError(f"{path}: no such eval log file or folder")
    if not files:
        raise InputError(f"no inspect eval logs (.eval or .json) in {', '.join(str(p) for p in paths)}")
    return files


def convert_logs(paths: list[str | Path], factual_metric: str = "em", drop_max_steps: bool = False) -> Conversion:
    """Read eval logs and build the filtered records (newest non-errored copy of each sample)."""
    from inspect_ai.log import read_eval_log

    conv = Conversion()
    # (task, sample id, epoch) -> (not errored, created, record or failed filters)
    best: dict[tuple[str, str, int], tuple[bool, str, Any]] = {}
    for file in log_files(paths):
        try:
            log = read_eval_log(file)
        except Exception as ex:  # one unreadable log is named; nothing is written
            detail = (str(ex).strip().splitlines() or [type(ex).__name__])[0][:200]
            raise InputError(f"{file.removeprefix('file://')}: not a readable inspect eval log ({type(ex).__name__}: {detail}); move it "
                             "away or delete it, then run again") from None
        conv.logs.append(file)
        created = log.eval.created or ""
        for sample in log.samples or []:
            key = (log.eval.task, str(sample.id), int(sample.epoch))
            reasons = drop_reasons(sample, factual_metric, drop_max_steps)
            ok = reasons[:1] != ["error"]
            entry = (ok, created, reasons if reasons else tuple(sample_records(sample, log, file)))
            if key in best:
                conv.duplicates += 1
                if (best[key][0], best[key][1]) >= (entry[0], entry[1]):
                    continue
            best[key] = entry
    for key in sorted(best):
        _, _, outcome = best[key]
        if isinstance(outcome, list):
            conv.dropped[outcome[0]] += 1
            conv.failing.update(outcome)
        else:
            conv.kept_samples += 1
            conv.records.extend(outcome)
    return conv


def write_jsonl(records: list[dict[str, Any]], out: str | Path) -> None:
    write_text_atomic(out, "".join(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records))


def _lines(path: Path) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:
        return 0


def finish(conv: Conversion, out: str | Path, overwrite: bool = False) -> dict[str, Any]:
    """Write the records and their summary; an output that holds more trajectories than this conversion found is
    kept (refused) unless `overwrite`."""
    held = _lines(Path(out))
    if held > len(conv.records) and not overwrite:
        raise InputError(f"--out {out} holds {held} trajectories and this conversion found {len(conv.records)}; "
                         "kept as it is: pass --overwrite to replace it, or choose another --out")
    write_jsonl(conv.records, out)
    summary = conv.summary()
    write_text_atomic(str(out) + ".summary.json", json.dumps(summary, indent=2))
    print(conv.report())
    print(f"wrote {len(conv.records)} trajectories to {out}")
    return summary


# --- running the teacher ------------------------------------------------------------------------------------------


def _kv(pairs: list[str] | None) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"expected key=value, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def teacher_task_args(solver: str, ftp: bool, max_steps: int | None, solver_args: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"solver": solver}
    if solver.startswith("agent"):
        args["prompt"] = "teacher"
        if ftp:
            args["ftp"] = True
        if max_steps is not None:
            args["max_steps"] = max_steps
    elif ftp:
        print(f"agentdistill trajectories: error: --ftp needs an agent solver, not {solver!r}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)
    args.update(solver_args)
    return args


def run_teacher(
    model: str,
    tasks: list[str],
    log_dir: str,
    solver: str = "agent",
    ftp: bool = False,
    max_steps: int | None = None,
    solver_args: dict[str, Any] | None = None,
    task_args: dict[str, Any] | None = None,
    model_args: dict[str, Any] | None = None,
    model_roles: dict[str, str] | None = None,
    limit: int | None = None,
    sample_shuffle: int | None = None,
    retry_attempts: int = 3,
    retry_wait: float = 10,
    max_samples: int | None = None,
    display: str | None = None,
    **eval_kwargs: Any,
) -> bool:
    """Run (or resume) the teacher eval set; True when every task finished without errored samples."""
    from inspect_ai import eval_set

    args = teacher_task_args(solver, ftp, max_steps, solver_args or {})
    args.update(task_args or {})
    success, _ = eval_set(
        tasks=[task_ref(name) for name in tasks],
        log_dir=log_dir,
        model=model,
        model_args=model_args or {},
        model_roles=model_roles,
        task_args=args,
        limit=limit,
        sample_shuffle=sample_shuffle,
        # an errored sample marks the log as failed (so eval_set retries it, reusing the finished samples),
        # but the other samples keep running
        fail_on_error=True,
        continue_on_fail=True,
        retry_attempts=retry_attempts,
        retry_wait=retry_wait,
        max_samples=max_samples,
        display=display,
        **eval_kwargs,
    )
    return bool(success)


# --- CLI ------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentdistill trajectories", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run", help="run (or resume) the teacher, then convert its logs")
    run.add_argument("--model", required=True, help="any inspect model, e.g. vllm/Qwen/Qwen2.5-32B-Instruct")
    run.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="comma-separated task names or inspect task specs")
    run.add_argument("--solver", default="agent", help="agent (default), agent_ftp, or cot")
    run.add_argument("--ftp", action="store_true", help="first-thought prefix (agent)")
    run.add_argument("--max-steps", type=int, default=None, help="agent steps (default: the solver's, 5)")
    run.add_argument("-S", dest="solver_args", action="append", help="solver argument key=value (repeatable)")
    run.add_argument("-T", dest="task_args", action="append", help="task argument key=value (e.g. judge=off)")
    run.add_argument("-M", dest="model_args", action="append", help="model argument key=value")
    run.add_argument("--model-role", action="append", help="role=model, e.g. grader=openai/gpt-4o-mini-2024-07-18")
    run.add_argument("--limit", type=int, default=None, help="samples per task")
    run.add_argument("--sample-shuffle", type=int, default=None, help="shuffle seed (stable subset with --limit)")
    run.add_argument("--temperature", type=float, default=None,
                     help="teacher sampling temperature (the paper: greedy; the agent solvers send 0 by default)")
    run.add_argument("--max-samples", type=int, default=None, help="samples run concurrently")
    run.add_argument("--retry-attempts", type=int, default=3)
    run.add_argument("--retry-wait", type=float, default=10)
    run.add_argument("--log-dir", required=True, help="eval logs (one directory per teacher run; reuse it to resume)")
    run.add_argument("--display", default=None, help="inspect display: full, rich, plain, none")
    for p in (run, sub.add_parser("from-logs", help="convert existing eval logs only")):
        p.add_argument("--out", required=True, help="output JSONL")
        p.add_argument("--factual-metric", default="em", choices=("em", "cover_em"),
                       help="factual correctness when no judge ran: em, cover_em")
        p.add_argument("--overwrite", action="store_true", help="replace an --out that holds more trajectories")
        p.add_argument("--drop-max-steps", action="store_true",
                       help="also drop runs that hit max steps (the project's filter; the reference keeps them)")
    sub.choices["from-logs"].add_argument("logs", nargs="+", help="eval log files or directories")
    return parser


@command("agentdistill trajectories")
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("run", "from-logs", "-h", "--help"):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    if args.mode == "run":
        bad = [role for role in args.model_role or [] if "=" not in role]
        if bad:
            raise InputError(f"--model-role {bad[0]!r}: expected ROLE=MODEL, e.g. grader=openai/gpt-4o-mini-2024-07-18")
        roles = dict(role.split("=", 1) for role in args.model_role or [])
        solver_args = _kv(args.solver_args)
        extra = {}
        if args.temperature is not None:
            if args.solver.startswith("agent"):  # the agent solvers send their own (greedy: 0, the reference's)
                solver_args.setdefault("temperature", args.temperature)
            else:
                extra["temperature"] = args.temperature
        ok = run_teacher(
            model=args.model,
            tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
            log_dir=args.log_dir,
            solver=args.solver,
            ftp=args.ftp,
            max_steps=args.max_steps,
            solver_args=solver_args,
            task_args=_kv(args.task_args),
            model_args=_kv(args.model_args),
            model_roles=roles or None,
            limit=args.limit,
            sample_shuffle=check_shuffle(args.sample_shuffle, "--sample-shuffle"),
            retry_attempts=args.retry_attempts,
            retry_wait=args.retry_wait,
            max_samples=args.max_samples,
            display=args.display,
            **extra,
        )
        if not ok:
            print("some tasks did not finish (errored samples); run the same command again to resume", file=sys.stderr)
        logs = [args.log_dir]
    else:
        ok, logs = True, args.logs
    finish(convert_logs(logs, args.factual_metric, args.drop_max_steps), args.out, overwrite=args.overwrite)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
