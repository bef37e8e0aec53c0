"""The micro experiment's table and figure, read from its eval logs (one log per method x task).

Per method and task, over samples (each with its standard error):
- accuracy: the task's `math_scorer` (math_equal, the harness's headline metric);
- exact: the final answer, read as an integer, equals the gold exactly (math_equal's relative tolerance 1e-4 would
  accept a near miss on a 9-digit answer; this column does not);
- format errors: agent: the sample had at least one step that failed to parse; CoT: the answer is in neither
  `\\boxed{}` nor `<answer>` tags;
- exec errors: the sample had at least one code action that raised (agent methods only);
- steps: agent steps per sample (CoT: none); tokens: generated tokens per sample (all SAG candidates included).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATS_KEY = "agentdistill_stats"
_INTEGER = re.compile(r"-?\d[\d,]*")


@dataclass
class Cell:
    """One method on one task: per-sample values of each measurement."""

    method: str
    task: str
    kind: str  # "agent" or "cot"
    correct: list[float]
    exact: list[float]
    format_errors: list[float]
    exec_errors: list[float]
    steps: list[float]
    tokens: list[float]

    @property
    def n(self) -> int:
        return len(self.correct)


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation / sqrt(n)); (nan, nan) for no values."""
    if not values:
        return math.nan, math.nan
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def exact_integer(answer: str | None, gold: str) -> bool:
    """The last integer in the answer (commas allowed) equals the gold integer exactly."""
    if not answer:
        return False
    found = _INTEGER.findall(answer)
    if not found:
        return False
    try:
        return int(found[-1].replace(",", "")) == int(float(gold))
    except ValueError:
        return False


def _correct(score: Any) -> float:
    value = score.value
    if isinstance(value, str):
        return 1.0 if value.upper() in ("C", "CORRECT") else 0.0
    return float(value)


def read_cell(log_file: str | Path, method: str, kind: str) -> Cell:
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(log_file))
    if log.status != "success":
        raise ValueError(f"{log_file}: eval status {log.status!r}, not a finished run")
    cell = Cell(method, log.eval.task.split("/")[-1], kind, [], [], [], [], [], [])
    for sample in log.samples or []:
        score = (sample.scores or {}).get("math_scorer")
        if score is None:
            raise ValueError(f"{log_file}: sample {sample.id!r} has no math_scorer score")
        stats = (sample.metadata or {}).get(STATS_KEY) or {}
        gold = sample.target if isinstance(sample.target, str) else sample.target[0]
        cell.correct.append(_correct(score))
        cell.exact.append(float(exact_integer(score.answer, gold)))
        cell.tokens.append(float(stats.get("tokens_generated", 0) or 0))
        if kind == "agent":
            cell.format_errors.append(float((stats.get("parse_errors", 0) or 0) > 0))
            cell.exec_errors.append(float((stats.get("exec_errors", 0) or 0) > 0))
            cell.steps.append(float(stats.get("steps", 0) or 0))
        else:
            completion = sample.output.completion if sample.output else ""
            cell.format_errors.append(float("\\boxed{" not in completion and "<answer>" not in completion))
    return cell


COLUMNS = ("accuracy", "exact", "format errors", "exec errors", "steps", "tokens")


def cell_row(cell: Cell) -> dict[str, Any]:
    row: dict[str, Any] = {"method": cell.method, "task": cell.task, "n": cell.n}
    for column, values in zip(COLUMNS, (cell.correct, cell.exact, cell.format_errors, cell.exec_errors, cell.steps,
                                        cell.tokens)):
        mean, se = mean_se(values)
        row[column], row[f"{column} se"] = mean, se
    return row


def _fmt(value: float, se: float, percent: bool) -> str:
    if math.isnan(value):
        return "-"
    if percent:
        return f"{100 * value:.1f} ± {100 * se:.1f}" if not math.isnan(se) else f"{100 * value:.1f}"
    return f"{value:.1f} ± {se:.1f}" if not math.isnan(se) else f"{value:.1f}"


def to_markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| task | method | n | accuracy % | exact % | format errors % | exec errors % | steps | tokens |\n"
            "|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for row in rows:
        cells = [_fmt(row[c], row[f"{c} se"], c not in ("steps", "tokens")) for c in COLUMNS]
        lines.append(f"| {row['task']} | {row['method']} | {row['n']} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    width = 0.8 / max(len(methods), 1)
    for ax, (column, label) in zip(axes, (("accuracy", "accuracy (%)"), ("format errors", "format-error rate (%)"))):
        for i, method in enumerate(methods):
            xs, ys, es = [], [], []
            for j, task in enumerate(tasks):
                row = next((r for r in rows if r["task"] == task and r["method"] == method), None)
                if row is None:
                    continue
                xs.append(j + (i - (len(methods) - 1) / 2) * width)
                ys.append(100 * row[column])
                es.append(0 if math.isnan(row[f"{column} se"]) else 100 * row[f"{column} se"])
            ax.bar(xs, ys, width, yerr=es, capsize=2, label=method)
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels(tasks)
        ax.set_ylabel(label)
        ax.set_ylim(0, 100)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(cells: list[Cell], out_dir: Path, run_info: dict[str, Any], title: str) -> dict[str, str]:
    """micro.md (table, command, wall times, machine), micro.csv, micro.json and figure.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [cell_row(cell) for cell in cells]
    table = to_markdown(rows)
    paths = {"markdown": out_dir / "micro.md", "csv": out_dir / "micro.csv", "json": out_dir / "micro.json",
             "figure": out_dir / "figure.png"}
    stages = "\n".join(f"| {name} | {info.get('wall_s', math.nan):.0f} | {info.get('note', '')} |"
                       for name, info in run_info.get("stages", {}).items())
    batch = run_info.get("settings", {}).get("effective_batch_size", "?")
    text = (
        f"# {title}\n\n"
        "Teacher: `programmatic/teacher`, a PROGRAMMATIC STAND-IN for the paper's 32B teacher (it writes correct "
        "trajectories from each training item's stored computation; models/programmatic.py). Student: the embedded "
        f"SmolLM2-135M-Instruct, LoRA r64 / alpha 128 / dropout 0.05, lr 2e-4, effective batch {batch}.\n\n"
        f"{table}\n"
        "Values are means over samples ± standard error. accuracy: math_equal (rel. tol. 1e-4); exact: the integer "
        "answer equals the gold; format errors: agent = a step failed to parse, CoT = no \\boxed{} / <answer>; exec "
        "errors: a code action raised; steps, tokens: per sample.\n\n"
        f"Command: `{run_info.get('command', '')}`\n\n"
        f"Settings: `{json.dumps(run_info.get('settings', {}), sort_keys=True)}`\n\n"
        f"Machine: {run_info.get('machine', '')}\n\n"
        f"Total wall time: {run_info.get('total_wall_s', math.nan):.0f} s\n\n"
        "| stage | wall s | note |\n|---|---|---|\n" + stages + "\n"
    )
    paths["markdown"].write_text(text)
    write_csv(rows, paths["csv"])
    paths["json"].write_text(json.dumps({"rows": rows, **run_info}, indent=1, default=str))
    if rows:
        plot(rows, paths["figure"], title)
    return {k: str(v) for k, v in paths.items()}
