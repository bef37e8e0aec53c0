"""Table 2 from `Run` records: rows model size x model x method, columns the eight test tasks and averages.

Cell selection (per size, model, method, task): the latest run that succeeded with all its
samples wins; when none did, the latest run is shown flagged (failed / partial) and kept out
of every average. A successful run whose sample count differs from the task's expected count
(given, or else the most common count among that task's successful runs) is flagged
`n=k≠N` and kept out of averages too. Averages (factual, math, overall) are only computed
when every task cell of the group is clean; otherwise they read `incomplete k/N`: nothing
is averaged silently. The best clean value per size and column is marked (ties all marked; nothing when all are equal).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from agentdistill.leaderboard.runs import DEFAULT_METRIC_PREFERENCE, Metric, Run, format_size

# The paper's eight test tasks, in Table 2's order, with their domain and display label.
FACTUAL_TASKS = ("hotpotqa", "bamboogle", "musique", "2wikimultihopqa")
MATH_TASKS = ("math500", "gsm_hard", "aime", "olymmath")
TEST_TASKS = FACTUAL_TASKS + MATH_TASKS
TASK_LABELS = {
    "hotpotqa": "HotpotQA",
    "bamboogle": "Bamboogle",
    "musique": "MuSiQue",
    "2wikimultihopqa": "2Wiki",
    "math500": "MATH500",
    "gsm_hard": "GSM-Hard",
    "aime": "AIME",
    "olymmath": "OlymMATH",
}
# The 2WikiMultihopQA task function is `twowikimultihopqa` (a name cannot start with a digit).
TASK_ALIASES = {"twowikimultihopqa": "2wikimultihopqa"}
AVERAGES = (("factual_avg", "Factual avg", FACTUAL_TASKS), ("math_avg", "Math avg", MATH_TASKS), ("overall_avg", "Overall avg", TEST_TASKS))
METHOD_ORDER = ("cot", "cot_sc", "rag", "agent", "agent+ftp", "agent+sag", "agent+ftp+sag")
# run_stats keys shown as optional per-row columns (means per sample over the row's clean cells).
STAT_COLUMNS = (
    ("steps", "steps"),
    ("web_search_calls", "search calls"),
    ("parse_errors", "parse errors"),
    ("exec_errors", "exec errors"),
)


@dataclass
class Cell:
    value: float | None = None  # fraction in [0, 1]
    stderr: float | None = None
    n: int = 0
    metric: str | None = None
    flags: list[str] = field(default_factory=list)
    run: Run | None = None
    runs_seen: int = 0
    best: bool = False
    note: str | None = None  # for averages: why there is no value

    @property
    def clean(self) -> bool:
        return self.value is not None and not self.flags

    @property
    def missing(self) -> bool:
        return self.run is None and self.value is None and self.note is None


@dataclass
class Row:
    size: float | None
    model: str
    method: str
    distilled: bool
    cells: dict[str, Cell] = field(default_factory=dict)  # task or average key -> cell
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def size_label(self) -> str:
        return format_size(self.size)


@dataclass
class Table:
    rows: list[Row]
    tasks: tuple[str, ...]
    expected_n: dict[str, int]
    ignored_tasks: list[str]
    fallback_metrics: list[str]  # e.g. "hotpotqa: em (judge absent)"

    @property
    def columns(self) -> list[tuple[str, str]]:
        cols = [(t, TASK_LABELS.get(t, t)) for t in self.tasks]
        cols += [(key, label) for key, label, group in AVERAGES if any(t in self.tasks for t in group)]
        return cols

    def flagged(self) -> list[tuple[Row, str, Cell]]:
        return [(row, task, row.cells[task]) for row in self.rows for task in self.tasks if task in row.cells and row.cells[task].flags]


def canonical_task(name: str) -> str:
    key = name.lower()
    return TASK_ALIASES.get(key, key)


def _method_key(row: Row) -> tuple:
    base = row.method.replace(" [distilled]", "")
    index = METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER)
    return (row.distilled, index, base)


def build_table(
    runs: Iterable[Run],
    tasks: tuple[str, ...] = TEST_TASKS,
    expected_n: dict[str, int] | None = None,
    metric_preference: tuple[str, ...] = DEFAULT_METRIC_PREFERENCE,
) -> Table:
    groups: dict[tuple, list[Run]] = defaultdict(list)
    ignored: set[str] = set()
    for run in runs:
        task = canonical_task(run.task)
        if task not in tasks:
            ignored.add(run.task)
            continue
        groups[(run.size, run.model_label, run.method, run.distilled, task)].append(run)

    # choose a run per cell: latest fully successful, else the latest of any status
    chosen: dict[tuple, tuple[Run, int]] = {}
    for key, group in groups.items():
        group.sort(key=lambda r: r.created)
        good = [r for r in group if r.ok]
        chosen[key] = ((good or group)[-1], len(group))

    # the expected sample count per task: given, else the most common among good runs
    expected = dict(expected_n or {})
    counts: dict[str, Counter] = defaultdict(Counter)
    for key, (run, _) in chosen.items():
        if run.ok:
            counts[key[-1]][run.completed_samples] += 1
    for task, counter in counts.items():
        if task not in expected:
            # most common; ties go to the larger count (a smaller one is the likelier mistake)
            expected[task] = max(counter.items(), key=lambda kv: (kv[1], kv[0]))[0]

    rows: dict[tuple, Row] = {}
    fallbacks: set[str] = set()
    for (size, model, method, distilled, task), (run, seen) in chosen.items():
        row = rows.setdefault((size, model, method, distilled), Row(size, model, method, distilled))
        metric: Metric | None = run.headline(metric_preference)
        cell = Cell(run=run, runs_seen=seen)
        if metric is not None:
            cell.value, cell.stderr, cell.n, cell.metric = metric.value, metric.stderr, metric.n, metric.name
            if cell.stderr is None and metric.n > 1:  # binomial estimate when the scorer gave none
                cell.stderr = math.sqrt(max(metric.value * (1 - metric.value), 0.0) / (metric.n - 1))
            if task in FACTUAL_TASKS and metric.name != metric_preference[0]:
                fallbacks.add(f"{metric.name} instead of {metric_preference[0]} (no {metric_preference[0]} score) for {task}")
        else:
            cell.n = run.completed_samples
        if run.status == "error":
            cell.flags.append("failed")
        elif run.status in ("cancelled", "started"):
            cell.flags.append(run.status)
        elif not run.ok:
            cell.flags.append(f"partial {run.completed_samples}/{run.total_samples}")
        elif task in expected and run.completed_samples != expected[task]:
            cell.flags.append(f"n={run.completed_samples}≠{expected[task]}")
        if metric is None and not cell.flags:
            cell.flags.append("no score")
        row.cells[task] = cell

    for row in rows.values():
        for key, _, group in AVERAGES:
            members = [t for t in group if t in tasks]
            if not members:
                continue
            cells = [row.cells.get(t) for t in members]
            clean = [c for c in cells if c is not None and c.clean]
            if len(clean) == len(members):
                value = sum(c.value for c in clean) / len(clean)
                errs = [c.stderr for c in clean]
                stderr = math.sqrt(sum(e * e for e in errs)) / len(clean) if all(e is not None for e in errs) else None
                row.cells[key] = Cell(value=value, stderr=stderr, n=sum(c.n for c in clean))
            else:
                row.cells[key] = Cell(note=f"incomplete {len(clean)}/{len(members)}")
        _row_stats(row, tasks)

    ordered = sorted(rows.values(), key=lambda r: (r.size is None, r.size or 0.0, r.model, *_method_key(r)))
    _mark_best(ordered, tasks)
    return Table(ordered, tuple(tasks), expected, sorted(ignored), sorted(fallbacks))


def _row_stats(row: Row, tasks: tuple[str, ...]) -> None:
    weights: dict[str, float] = defaultdict(float)
    totals: dict[str, float] = defaultdict(float)
    for task in tasks:
        cell = row.cells.get(task)
        if cell is None or not cell.clean or cell.run is None:
            continue
        for key, value in cell.run.stats.items():
            totals[key] += value * cell.n
            weights[key] += cell.n
    row.stats = {k: totals[k] / weights[k] for k in totals if weights[k] > 0}


def _mark_best(rows: list[Row], tasks: tuple[str, ...]) -> None:
    keys = list(tasks) + [k for k, _, _ in AVERAGES]
    by_size: dict = defaultdict(list)
    for row in rows:
        by_size[row.size].append(row)
    for group in by_size.values():
        for key in keys:
            clean = [r.cells[key] for r in group if key in r.cells and r.cells[key].clean]
            if len(clean) < 2:
                continue  # a lone row is not "best" of anything
            top = max(c.value for c in clean)
            if all(abs(c.value - top) < 1e-12 for c in clean):
                continue  # all equal (e.g. all 0): nothing stands out
            for c in clean:
                c.best = abs(c.value - top) < 1e-12


# ---------------------------------------------------------------- rendering (text)


def fmt_value(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def cell_text(cell: Cell | None, markdown: bool = True) -> str:
    """`42.0 ±3.1 (n=50)`; best in bold; flagged cells carry `⚠ reason`; missing `—`."""
    if cell is None or cell.missing:
        return "—"
    if cell.note is not None:
        return cell.note
    parts = []
    if cell.value is not None:
        value = fmt_value(cell.value)
        parts.append(f"**{value}**" if (cell.best and markdown) else value)
        if cell.stderr is not None:
            parts.append(f"±{100 * cell.stderr:.1f}")
    parts.append(f"(n={cell.n})")
    if cell.flags:
        parts.append("⚠ " + ", ".join(cell.flags))
    return " ".join(parts)


def to_markdown(table: Table, stats: bool = False) -> str:
    head = ["Size", "Model", "Method"] + [label for _, label in table.columns]
    if stats:
        head += [label for _, label in STAT_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 3 + ["--:"] * (len(head) - 3)) + "|"]
    for row in table.rows:
        cells = [row.size_label, row.model, row.method] + [cell_text(row.cells.get(key)) for key, _ in table.columns]
        if stats:
            cells += [f"{row.stats[k]:.2f}" if k in row.stats else "—" for k, _ in STAT_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Scores are % correct (math: exact/equivalent answer; factual: LLM judge, else the metric noted below), "
        "± standard error, n = samples. **Bold**: best per size. ⚠: flagged run, excluded from averages."
    )
    notes = footnotes(table)
    if notes:
        lines.append("")
        lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def footnotes(table: Table) -> list[str]:
    notes = []
    for row, task, cell in table.flagged():
        where = cell.run.path if cell.run else ""
        extra = f" ({cell.run.error})" if cell.run and cell.run.error else ""
        notes.append(f"{row.size_label} {row.model} {row.method} {task}: {', '.join(cell.flags)}{extra} — {where}")
    grouped: dict[str, list[str]] = defaultdict(list)
    for note in table.fallback_metrics:
        head, task = note.rsplit(" for ", 1)
        grouped[head].append(task)
    for head, group in grouped.items():
        notes.append(f"metric fallback: {head} for {', '.join(group)}")
    if table.ignored_tasks:
        notes.append("logs of other tasks not in the table: " + ", ".join(table.ignored_tasks))
    return notes


def to_csv(table: Table, path) -> None:
    import csv

    header = ["size_b", "size", "model", "method", "distilled"]
    for key, _ in table.columns:
        header += [f"{key}_score", f"{key}_stderr", f"{key}_n", f"{key}_best", f"{key}_flag"]
        if key in table.tasks:
            header += [f"{key}_metric", f"{key}_log"]
    header += [k for k, _ in STAT_COLUMNS]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in table.rows:
            out: list = ["" if row.size is None else row.size, row.size_label, row.model, row.method, int(row.distilled)]
            for key, _ in table.columns:
                cell = row.cells.get(key) or Cell()
                flag = "; ".join(cell.flags) or (cell.note or "") or ("missing" if cell.missing else "")
                out += [
                    "" if cell.value is None else f"{100 * cell.value:.4f}",
                    "" if cell.stderr is None else f"{100 * cell.stderr:.4f}",
                    cell.n if not cell.missing else "",
                    int(cell.best),
                    flag,
                ]
                if key in table.tasks:
                    out += [cell.metric or "", cell.run.path if cell.run else ""]
            out += [f"{row.stats[k]:.4f}" if k in row.stats else "" for k, _ in STAT_COLUMNS]
            writer.writerow(out)
