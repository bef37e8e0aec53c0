"""The paper's other tables and figures from one log directory (`agentdistill leaderboard LOG_DIR --paper`).

Everything comes from the eval logs: the per-run means of the `run_stats` scorer in the log
headers (tokens, parse/exec errors, search calls: Figures 6-8), the runs' solver arguments,
generation config and grid metadata (Figure 5's N, Table 6's temperature, Table 7's seed,
Table 8's LoRA/full training provenance), and, for Figure 4 and Table 5 only, the samples of
the MATH500 and training-set logs (subject, level and correctness per sample). Each artefact is
a CSV and a Markdown table (plus a PNG for figures) in `<out>/paper/`; an artefact without
matching runs still gets its Markdown file, saying which runs it needs.

| artefact | needs in LOG_DIR |
|---|---|
| reproduction.md/csv | any runs of models in leaderboard/paper_numbers.yaml (or mapped with --paper-model) |
| figure4_math500 | math500 runs (CoT and agent variants) |
| figure5_sag_vs_cotsc | cot_sc and agent+sag runs (the paper: N=8 each) |
| figure6_tokens | any runs (run_stats tokens_generated) |
| figure7_errors | agent runs with and without SAG (run_stats parse_errors, exec_errors) |
| figure8_retrieval | agent runs on the factual tasks (run_stats web_search_calls) |
| table5_teacher_train | teacher trajectory-generation logs (math_train, hotpotqa_train) |
| table6_temperature | the same model and method at several temperatures |
| table7_seeds | the same model and method at several seeds (`agentdistill grid` with `seeds:`) |
| table8_lora_full | distilled models trained with LoRA and with `agentdistill train --full` |
"""

from __future__ import annotations

import base64
import csv
import html
import math
import os
import statistics
from collections import defaultdict
from typing import Any, Iterable

from agentdistill.leaderboard import repro
from agentdistill.leaderboard.paper import PaperNumbers, load_numbers
from agentdistill.leaderboard.runs import Run, format_size
from agentdistill.leaderboard.table import FACTUAL_TASKS, TASK_LABELS, TEST_TASKS, Table, canonical_task

PAPER_DIR = "paper"
SAG_N = 8  # the paper's SAG budget, and the CoT self-consistency budget it is compared with
COT_SC_DEFAULT_K = 5  # agentdistill's cot_sc default when a run does not name k


# ---------------------------------------------------------------- helpers


def _label(run: Run) -> str:
    return f"{format_size(run.size)} {run.model_label} · {run.method}"


def _latest_ok(runs: Iterable[Run], key) -> dict[Any, Run]:
    """The latest successful run per key(run) (runs with a None key are skipped)."""
    out: dict[Any, Run] = {}
    for run in sorted(runs, key=lambda r: r.created):
        k = key(run)
        if k is not None and run.ok:
            out[k] = run
    return out


def _score(run: Run) -> float | None:
    metric = run.headline()
    return None if metric is None else 100.0 * metric.value


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


class Artefact:
    """One table (CSV + Markdown) and maybe a figure (PNG)."""

    def __init__(self, name: str, title: str, header: list[str], rows: list[list[Any]], note: str, empty: str):
        self.name, self.title, self.header, self.rows, self.note, self.empty = name, title, header, rows, note, empty
        self.png: str | None = None

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        if not self.rows:
            return "\n".join(lines + [f"No data: {self.empty}", ""]) + "\n"
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|" + "|".join("---" for _ in self.header) + "|")
        lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def write(self, folder: str) -> dict[str, str]:
        paths = {f"{self.name}_md": os.path.join(folder, f"{self.name}.md"), f"{self.name}_csv": os.path.join(folder, f"{self.name}.csv")}
        with open(paths[f"{self.name}_md"], "w") as handle:
            handle.write(self.markdown())
        with open(paths[f"{self.name}_csv"], "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.header)
            writer.writerows([["" if v is None else (f"{v:.4f}" if isinstance(v, float) else v) for v in row] for row in self.rows])
        if self.png:
            paths[f"{self.name}_png"] = self.png
        return paths

    def html(self) -> str:
        body = f"<h2>{html.escape(self.title)}</h2>\n"
        if not self.rows:
            return body + f'<p class="meta">No data: {html.escape(self.empty)}</p>\n'
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        trs = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>\n" for row in self.rows)
        body += f'<table class="paper" id="{self.name}"><thead><tr>{head}</tr></thead><tbody>\n{trs}</tbody></table>\n'
        if self.note:
            body += f'<p class="meta">{html.escape(self.note)}</p>\n'
        if self.png and os.path.isfile(self.png):
            data = base64.b64encode(open(self.png, "rb").read()).decode()
            body += f'<img class="figure" alt="{html.escape(self.title)}" src="data:image/png;base64,{data}">\n'
        return body


def _bars(path: str, groups: list[str], series: dict[str, list[float | None]], ylabel: str, title: str) -> str:
    """Grouped bar chart: one group per x label, one bar per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 3), 4.0))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [0.0 if v is None else v for v in values], width=width, label=name)
    top = max((v for values in series.values() for v in values if v is not None), default=0.0)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)  # all-zero bars stay at the axis, not in a symmetric band
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- header-based artefacts


def _per_task(runs: list[Run], value, tasks=TEST_TASKS, keep=lambda r: True) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """{row label: {task: value(run)}} over the latest successful run per (row, task)."""
    chosen = _latest_ok((r for r in runs if keep(r)), lambda r: (_label(r), canonical_task(r.task)) if canonical_task(r.task) in tasks else None)
    table: dict[str, dict[str, Any]] = defaultdict(dict)
    for (label, task), run in chosen.items():
        table[label][task] = value(run)
    present = [t for t in tasks if any(t in row for row in table.values())]
    return present, dict(sorted(table.items()))


def figure6_tokens(runs: list[Run], folder: str, plot: bool, paper: PaperNumbers) -> Artefact:
    tasks, rows = _per_task(runs, lambda r: r.stats.get("tokens_generated"))
    header = ["model · method"] + [TASK_LABELS[t] for t in tasks]
    ref = paper.table_rows("figure6_tokens")
    note = "Mean tokens generated per sample (run_stats tokens_generated)."
    if ref:
        note += " Paper (Qwen2.5-3B): " + "; ".join(f"{r.method}: " + ", ".join(f"{TASK_LABELS[t]} {v:g}" for t, v in r.values.items()) for r in ref) + "."
    art = Artefact("figure6_tokens", "Figure 6: generated tokens per task and method", header,
                   [[label] + [row.get(t) for t in tasks] for label, row in rows.items()], note, "no successful runs with run_stats")
    if plot and rows:
        art.png = _bars(os.path.join(folder, "figure6_tokens.png"), [TASK_LABELS[t] for t in tasks],
                        {label: [row.get(t) for t in tasks] for label, row in rows.items()}, "tokens per sample", art.title)
    return art


def _solver_method(run: Run) -> str:
    """The method of the solver that ran (a grid may label it `cot_sc8`, `agent-student`, ...)."""
    return (run.solver_method or run.method).replace(" [distilled]", "")


def _is_agent(run: Run) -> bool:
    return _solver_method(run).startswith("agent")


def figure7_errors(runs: list[Run], folder: str, plot: bool) -> Artefact:
    chosen = _latest_ok((r for r in runs if _is_agent(r)), lambda r: (_label(r), canonical_task(r.task)) if canonical_task(r.task) in TEST_TASKS else None)
    rows = []
    for (label, task), run in sorted(chosen.items(), key=lambda kv: (TEST_TASKS.index(kv[0][1]), kv[0][0])):
        rows.append([TASK_LABELS[task], label, "yes" if "+sag" in _solver_method(run) else "no",
                     run.stats.get("parse_errors"), run.stats.get("exec_errors"), run.stats.get("steps"), run.completed_samples])
    art = Artefact("figure7_errors", "Figure 7: parse and execution errors per sample, with and without SAG",
                   ["task", "model · method", "SAG", "parse errors", "exec errors", "steps", "n"], rows,
                   "Mean per sample over the episode (run_stats). Under SAG they count the errors of the committed actions.",
                   "no successful agent runs")
    if plot and rows:
        labels = sorted({r[1] for r in rows})
        tasks = [TASK_LABELS[t] for t in TEST_TASKS if any(r[0] == TASK_LABELS[t] for r in rows)]
        series = {}
        for kind, column in (("parse", 3), ("exec", 4)):
            for label in labels:
                series[f"{label} {kind}"] = [next((r[column] for r in rows if r[0] == t and r[1] == label), None) for t in tasks]
        art.png = _bars(os.path.join(folder, "figure7_errors.png"), tasks, series, "errors per sample", art.title)
    return art


def figure8_retrieval(runs: list[Run], folder: str, plot: bool) -> Artefact:
    chosen = _latest_ok((r for r in runs if _is_agent(r)), lambda r: (r.size, r.model_label, r.method, canonical_task(r.task))
                        if canonical_task(r.task) in FACTUAL_TASKS else None)
    rows = [[TASK_LABELS[task], format_size(size), model, method, run.stats.get("web_search_calls"), run.completed_samples]
            for (size, model, method, task), run in sorted(chosen.items(), key=lambda kv: (TEST_TASKS.index(kv[0][3]), kv[0][0] or 0, kv[0][2]))]
    art = Artefact("figure8_retrieval", "Figure 8: retrieval calls per sample by task and model size", ["task", "size", "model", "method",
                   "search calls", "n"], rows, "Mean web_search calls per sample (run_stats).", "no successful agent runs on factual tasks")
    if plot and rows:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        tasks = [t for t in FACTUAL_TASKS if any(k[3] == t for k in chosen)]
        fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), squeeze=False)
        for ax, task in zip(axes[0], tasks):
            by_method: dict[str, list[tuple[float, float]]] = defaultdict(list)
            for (size, model, method, t), run in chosen.items():
                if t == task and size:
                    by_method[method].append((size, run.stats.get("web_search_calls", 0.0)))
            for method, points in sorted(by_method.items()):
                xs, ys = zip(*sorted(points))
                ax.plot(xs, ys, "o-", label=method)
            ax.set_xscale("log")
            ax.set_title(TASK_LABELS[task])
            ax.set_xlabel("model size (B)")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("search calls per sample")
        axes[0][-1].legend(fontsize=7)
        fig.tight_layout()
        art.png = os.path.join(folder, "figure8_retrieval.png")
        fig.savefig(art.png, dpi=110)
        plt.close(fig)
    return art


def _budget(run: Run) -> int | None:
    base = _solver_method(run)
    if base == "cot_sc":
        return int(run.solver_args.get("k", COT_SC_DEFAULT_K))
    if "+sag" in base:
        return int(run.solver_args.get("n", SAG_N))
    return None


def figure5_sag_vs_cotsc(runs: list[Run], folder: str, plot: bool) -> Artefact:
    keep = lambda r: _budget(r) is not None  # noqa: E731
    chosen = _latest_ok((r for r in runs if keep(r)), lambda r: (_label(r), _budget(r), canonical_task(r.task))
                        if canonical_task(r.task) in TEST_TASKS else None)
    rows = [[TASK_LABELS[task], label, n, _score(run), run.completed_samples]
            for (label, n, task), run in sorted(chosen.items(), key=lambda kv: (TEST_TASKS.index(kv[0][2]), kv[0][0], kv[0][1]))]
    off = sorted({n for _, n, _ in chosen if n != SAG_N})
    note = f"Accuracy (%) of CoT self-consistency (cot_sc, k samples) and the SAG agent (n candidates per step); the paper compares both at N={SAG_N}."
    if off:
        note += f" Runs at N={off} are not at the paper's budget."
    art = Artefact("figure5_sag_vs_cotsc", f"Figure 5: SAG vs CoT self-consistency (N={SAG_N})", ["task", "model · method", "N", "accuracy", "n"],
                   rows, note, "no successful cot_sc or agent+sag runs")
    if plot and rows:
        tasks = [TASK_LABELS[t] for t in TEST_TASKS if any(r[0] == TASK_LABELS[t] for r in rows)]
        labels = sorted({(r[1], r[2]) for r in rows})
        series = {f"{l} N={n}": [next((r[3] for r in rows if r[0] == t and r[1] == l and r[2] == n), None) for t in tasks] for l, n in labels}
        art.png = _bars(os.path.join(folder, "figure5_sag_vs_cotsc.png"), tasks, series, "accuracy (%)", art.title)
    return art


def _sweep(runs: list[Run], name: str, title: str, value_of, what: str, empty: str) -> Artefact:
    """Tables 6 and 7: per (model, method), the runs at each setting (temperature or seed)."""
    chosen = _latest_ok(runs, lambda r: (_label(r), value_of(r), canonical_task(r.task))
                        if value_of(r) is not None and canonical_task(r.task) in TEST_TASKS else None)
    settings: dict[str, set] = defaultdict(set)
    for label, setting, _ in chosen:
        settings[label].add(setting)
    swept = {label for label, values in settings.items() if len(values) > 1}
    tasks = [t for t in TEST_TASKS if any(k[2] == t and k[0] in swept for k in chosen)]
    grid: dict[tuple[str, Any], dict[str, float | None]] = defaultdict(dict)
    for (label, setting, task), run in chosen.items():
        if label in swept:
            grid[(label, setting)][task] = _score(run)
    rows = []
    if name == "table7_seeds":
        for label in sorted(swept):
            cells = []
            for task in tasks + ["avg"]:
                values = []
                for seed in sorted(settings[label]):
                    row = grid.get((label, seed), {})
                    if task == "avg":
                        if all(row.get(t) is not None for t in tasks):
                            values.append(sum(row[t] for t in tasks) / len(tasks))
                    elif row.get(task) is not None:
                        values.append(row[task])
                mean = statistics.fmean(values) if values else None
                std = statistics.stdev(values) if len(values) > 1 else None
                cells.append(None if mean is None else f"{mean:.1f} ± {std:.1f}" if std is not None else f"{mean:.1f}")
            rows.append([label, len(settings[label])] + cells)
        header = ["model · method", "seeds"] + [TASK_LABELS[t] for t in tasks] + ["Avg."]
    else:
        for (label, setting), row in sorted(grid.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            avg = sum(row[t] for t in tasks) / len(tasks) if all(row.get(t) is not None for t in tasks) else None
            rows.append([label, setting] + [row.get(t) for t in tasks] + [avg])
        header = ["model · method", what] + [TASK_LABELS[t] for t in tasks] + ["Avg."]
    note = "Accuracy (%). Avg.: mean over the tasks shown, only when every one was measured at that setting."
    if name == "table7_seeds":
        note = "Accuracy (%) mean ± sample standard deviation over seeds; Avg. per seed over the tasks shown, then mean ± std."
    return Artefact(name, title, header, rows, note, empty)


def _temperature(run: Run) -> float | None:
    value = run.solver_args.get("temperature", run.generate.get("temperature"))
    return None if value is None else float(value)


def _seed(run: Run) -> int | None:
    value = run.grid.get("seed", run.generate.get("seed"))
    return None if value is None else int(value)


def table8_lora_full(runs: list[Run], paper: PaperNumbers, table: Table) -> Artefact:
    rows = []
    for row in table.rows:
        run = repro._first_run(row)
        if run is None or not row.distilled:
            continue
        training = run.training or {}
        avg = row.cells.get("overall_avg")
        method, _ = repro.paper_method(run.solver_method or row.method, True, training)
        rows.append([format_size(row.size), row.model, row.method, method or "—",
                     "full" if training.get("full_finetune") else "LoRA" if training else "unknown",
                     training.get("learning_rate"), None if avg is None or avg.value is None else 100 * avg.value])
    have = {r[4] for r in rows}
    ref = paper.table_rows("table8_lora_vs_full")
    note = "Avg. (%) over the 8 tasks when complete. Paper (Qwen2.5-1.5B, + ftp): " + ", ".join(f"{r.extra.get('finetune')} {r.avg:g}" for r in ref) + "."
    return Artefact("table8_lora_full", "Table 8: LoRA vs full fine-tuning", ["size", "model", "method", "paper row", "fine-tuning", "lr", "Avg."],
                    rows if {"full", "LoRA"} <= have else [], note,
                    "needs distilled models trained with LoRA and with `agentdistill train --full` (grid logs carry the training provenance)")


# ---------------------------------------------------------------- sample-based artefacts


def _sample_correct(sample: Any) -> float | None:
    from inspect_ai.scorer import value_to_float

    for name, score in (sample.scores or {}).items():
        if name == "run_stats":
            continue
        value = score.value
        if isinstance(value, dict):
            for key in ("judge", "em"):
                if key in value and value[key] is not None and not (isinstance(value[key], float) and math.isnan(value[key])):
                    return float(value[key])
            continue
        return float(value_to_float()(value))
    return None


def _samples(run: Run) -> list[Any]:
    from inspect_ai.log import read_eval_log

    return read_eval_log(run.path).samples or []


def figure4_math500(runs: list[Run], folder: str, plot: bool) -> Artefact:
    chosen = _latest_ok(runs, lambda r: _label(r) if canonical_task(r.task) == "math500" else None)
    counts: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for label, run in chosen.items():
        for sample in _samples(run):
            correct = _sample_correct(sample)
            if correct is None:
                continue
            meta = sample.metadata or {}
            counts[(label, "subject", str(meta.get("subject") or "?"))].append(correct)
            counts[(label, "level", str(meta.get("level") or "?"))].append(correct)
    rows = [[label, kind, group, 100 * sum(v) / len(v), len(v)] for (label, kind, group), v in sorted(counts.items())]
    art = Artefact("figure4_math500", "Figure 4: MATH500 accuracy by subject and by level", ["model · method", "by", "group", "accuracy", "n"], rows,
                   "Accuracy (%) per MATH subject and level, from the samples of the latest successful math500 run of each row.",
                   "no successful math500 runs")
    if plot and rows:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        for ax, kind in zip(axes, ("subject", "level")):
            groups = sorted({r[2] for r in rows if r[1] == kind})
            labels = sorted({r[0] for r in rows})
            width = 0.8 / max(1, len(labels))
            for i, label in enumerate(labels):
                ys = [next((r[3] for r in rows if r[0] == label and r[1] == kind and r[2] == g), 0.0) for g in groups]
                ax.bar([g + (i - (len(labels) - 1) / 2) * width for g in range(len(groups))], ys, width=width, label=label)
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels(groups, rotation=25, ha="right", fontsize=8)
            ax.set_ylim(0, 100)
            ax.set_title(f"MATH500 by {kind}")
            ax.set_ylabel("accuracy (%)")
            ax.grid(axis="y", alpha=0.3)
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        art.png = os.path.join(folder, "figure4_math500.png")
        fig.savefig(art.png, dpi=110)
        plt.close(fig)
    return art


def _difficulty(task: str, meta: dict[str, Any]) -> str:
    level = str(meta.get("level") or "?")
    if task == "math_train":
        try:
            return "hard (level 4-5)" if int(level) >= 4 else "medium (level 2-3)" if int(level) >= 2 else f"level {level}"
        except ValueError:
            return f"level {level}"
    return level


def table5_teacher_train(runs: list[Run], paper: PaperNumbers) -> Artefact:
    chosen = _latest_ok(runs, lambda r: (_label(r), r.task) if r.task in ("math_train", "hotpotqa_train") else None)
    counts: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for (label, task), run in chosen.items():
        for sample in _samples(run):
            correct = _sample_correct(sample)
            if correct is not None:
                counts[(label, task, _difficulty(task, sample.metadata or {}))].append(correct)
    rows = [[label, task, difficulty, 100 * sum(v) / len(v), len(v)] for (label, task, difficulty), v in sorted(counts.items())]
    ref = paper.table_rows("table5_teacher_train")
    note = ("Teacher accuracy (%) on the training questions (what the trajectory filter keeps). Paper (Qwen2.5-32B-Instruct): "
            + "; ".join(f"{r.method}: hard {r.values.get('math_train_hard'):g}, medium {r.values.get('math_train_medium'):g}" for r in ref) + ".")
    return Artefact("table5_teacher_train", "Table 5: teacher accuracy on the training sets by difficulty", ["teacher · method", "task", "difficulty",
                    "accuracy", "n"], rows, note, "no successful math_train / hotpotqa_train logs (`agentdistill trajectories run` writes them)")


# ---------------------------------------------------------------- all together


def write_paper_report(log_dir: str, runs: list[Run], table: Table, out_dir: str, paper_model: dict[str, str] | None = None,
                       plot: bool = True, paper: PaperNumbers | None = None) -> dict[str, str]:
    """Write every artefact into <out_dir>/paper/; returns their paths and `html_section` (HTML for the page)."""
    paper = paper or load_numbers()
    folder = os.path.join(out_dir, PAPER_DIR)
    os.makedirs(folder, exist_ok=True)
    comparisons = repro.compare(table, paper, paper_model)
    paths = {"reproduction_md": os.path.join(folder, "reproduction.md"), "reproduction_csv": os.path.join(folder, "reproduction.csv")}
    with open(paths["reproduction_md"], "w") as handle:
        handle.write("## Reproduction view: ours beside the paper\n\n" + repro.to_markdown(comparisons))
    repro.to_csv(comparisons, paths["reproduction_csv"])

    artefacts = [
        figure4_math500(runs, folder, plot),
        table5_teacher_train(runs, paper),
        figure5_sag_vs_cotsc(runs, folder, plot),
        figure6_tokens(runs, folder, plot, paper),
        figure7_errors(runs, folder, plot),
        figure8_retrieval(runs, folder, plot),
        _sweep(runs, "table6_temperature", "Table 6: temperature sweep", _temperature, "temperature",
               "needs the same model and method run at two or more temperatures (solver arg or generate temperature)"),
        _sweep(runs, "table7_seeds", "Table 7: mean and standard deviation over seeds", _seed, "seed",
               "needs the same model and method run at two or more seeds (`agentdistill grid` with `seeds: [...]`)"),
        table8_lora_full(runs, paper, table),
    ]
    for art in artefacts:
        paths.update(art.write(folder))
    section = ['<h2>Reproduction view: ours beside the paper</h2>', repro.to_html(comparisons)]
    section += [art.html() for art in artefacts]
    paths["html_section"] = '<section id="paper">\n' + "\n".join(section) + "</section>\n"
    return paths
