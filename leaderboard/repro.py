"""Reproduction view: every measured (model, method) that has a row in the paper, beside the paper's figure.

A leaderboard row is matched to a paper row by model and method:

- model: the student's base model name (a distilled model's base, from its training provenance or
  adapter config), compared case-insensitively by its last path component
  (`vllm/Qwen/Qwen2.5-7B-Instruct` ~ `Qwen2.5-7B-Instruct`); `--paper-model OURS=PAPER` maps a
  stand-in (e.g. the embedded SmolLM2 for Qwen2.5-0.5B), and such rows are labelled `stand-in`.
- method (the paper's Table 2 row names), from the solver that ran (a grid's own method label is only
  a label): not distilled: `cot` -> CoT Prompting, `agent` -> Agent
  Prompting. Distilled, by the training provenance (`leaderboard/provenance.py`), never by
  inference flags: CoT-trained + `cot` -> Distill; CoT-trained with retrieval + `rag` -> Distill +
  RAG; agent-trained + `agent` -> Distill (agent), + `agent+sag` -> + sag; agent-trained on
  first-thought-prefix trajectories + `agent` -> + ftp, + `agent+sag` -> + ftp sag. A student run
  with an inference-time prefix (`agent+ftp`) has no paper row and is labelled so. A fully
  fine-tuned model (`train --full`) is compared with Table 8's full row.

Per compared column (`avg`, or a task when the paper row has it): our value, the difference
ours - paper, and whether the paper's value lies inside the binomial 95% interval of our run:
for a task the Wilson interval of (correct, n); for the 8-task average the normal interval of
the mean of independent binomial proportions, each variance taken at the Agresti-Coull
estimate (x+2)/(n+4) so a 0/n or n/n cell still has width.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from typing import Any, Iterable

from agentdistill.leaderboard.paper import PaperNumbers, model_key
from agentdistill.leaderboard.provenance import training_provenance
from agentdistill.leaderboard.runs import adapter_base
from agentdistill.leaderboard.table import TASK_LABELS, TEST_TASKS, Row, Table

Z95 = 1.959963984540054


@dataclass
class Comparison:
    size_label: str
    our_model: str  # leaderboard row model label
    our_method: str  # leaderboard row method
    paper_model: str
    paper_method: str | None  # None: no paper row exists for this method
    table: str | None
    column: str  # "avg" or a task
    paper: float | None  # percent
    ours: float | None  # percent
    lo: float | None  # our 95% interval, percent
    hi: float | None
    n: int
    note: str = ""

    @property
    def delta(self) -> float | None:
        return None if self.paper is None or self.ours is None else self.ours - self.paper

    @property
    def inside(self) -> bool | None:
        if self.paper is None or self.lo is None or self.hi is None:
            return None
        return self.lo - 1e-9 <= self.paper <= self.hi + 1e-9


def wilson(p: float, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion measured as p over n samples (scipy's binomtest)."""
    from scipy.stats import binomtest

    k = int(round(p * n))
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def mean_interval(cells: Iterable[tuple[float, int]]) -> tuple[float, float, float]:
    """(mean, lo, hi) of the mean of independent binomial proportions [(p, n), ...], 95%."""
    cells = list(cells)
    k = len(cells)
    mean = sum(p for p, _ in cells) / k
    var = 0.0
    for p, n in cells:
        x = p * n
        adj = (x + 2.0) / (n + 4.0)
        var += adj * (1.0 - adj) / (n + 4.0)
    half = Z95 * math.sqrt(var) / k
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def _first_run(row: Row):
    for cell in row.cells.values():
        if cell.run is not None:
            return cell.run
    return None


def paper_method(method: str, distilled: bool, training: dict[str, Any] | None) -> tuple[str | None, str]:
    """(the paper's row name or None, a note) for a leaderboard method of a (distilled or not) model."""
    base = method.replace(" [distilled]", "")
    if not distilled:
        names = {"cot": "CoT Prompting", "agent": "Agent Prompting"}
        return names.get(base), "" if base in names else f"no paper row for prompting with {base}"
    if not training or training.get("kind") is None:
        return None, "training provenance unknown (no agentdistill_train.json data_provenance)"
    kind, ftp, rag = training.get("kind"), training.get("ftp"), training.get("rag")
    if kind == "cot":
        if rag is None:
            return None, "trained on a mix of CoT trajectories with and without retrieval"
        if base == "cot" and rag is False:
            return "Distill", ""
        if base == "rag" and rag is True:
            return "Distill + RAG", ""
        return None, f"CoT-distilled ({'with' if rag else 'without'} retrieval) evaluated with {base}: no paper row"
    if kind == "agent":
        if "+ftp" in base:
            return None, "inference-time first-thought prefix on a student: not a paper row"
        if ftp is None:
            return None, "trained on a mix of trajectories with and without the first-thought prefix"
        if base == "agent":
            return ("+ ftp" if ftp else "Distill (agent)"), ""
        if base == "agent+sag":
            return ("+ ftp sag" if ftp else "+ sag"), ""
        return None, f"agent-distilled model evaluated with {base}: no paper row"
    return None, f"training data of kind {kind}: no paper row"


def _paper_model(run, training: dict[str, Any] | None, mapping: dict[str, str]) -> tuple[str, bool]:
    """(paper model name to look up, whether it is a user-mapped stand-in)."""
    candidates = [run.model, run.model_label]
    base = (training or {}).get("base_model") or adapter_base(run.model)
    if base:
        candidates.insert(0, base)
    if ":" in run.model:  # vllm/<base>:<adapter>
        candidates.insert(0, run.model.split(":", 1)[0])
    for name in candidates:
        for ours, theirs in mapping.items():
            if model_key(ours) == model_key(name):
                return theirs, True
    return candidates[0], False


def compare(table: Table, paper: PaperNumbers, model_map: dict[str, str] | None = None) -> list[Comparison]:
    """One Comparison per (leaderboard row, compared column); rows without a paper row get one line saying why."""
    mapping = dict(model_map or {})
    out: list[Comparison] = []
    for row in table.rows:
        run = _first_run(row)
        if run is None:
            continue
        training = run.training if run.training is not None else (training_provenance(run.model) if row.distilled else None)
        name, stand_in = _paper_model(run, training, mapping)
        method, note = paper_method(run.solver_method or row.method, row.distilled, training)
        full = bool((training or {}).get("full_finetune"))
        found = None
        if method is not None:
            if full:
                found = paper.find("table8_lora_vs_full", name, method, finetune="full")
                note = note or ("" if found else "full fine-tuning: the paper reports it for 1.5B + ftp only (Table 8)")
            else:
                found = next((paper.find(t, name, method) for t in ("table2", "model_families") if paper.find(t, name, method)), None)
        if stand_in:
            note = "; ".join(x for x in (note, f"stand-in: {row.model} compared with {name}") if x)
        if found is None:
            out.append(Comparison(row.size_label, row.model, row.method, name, method, None, "avg", None, _pct(row, "overall_avg"),
                                  None, None, 0, note or f"no paper figure for {name} / {method}"))
            continue
        for column, value in found.values.items():
            key = "overall_avg" if column == "avg" else column
            ours, lo, hi, n, why = _ours(row, column, key)
            out.append(Comparison(row.size_label, row.model, row.method, found.model, method, found.table, column, value,
                                  ours, lo, hi, n, "; ".join(x for x in (note, why) if x)))
    return out


def _pct(row: Row, key: str) -> float | None:
    cell = row.cells.get(key)
    return None if cell is None or cell.value is None else 100.0 * cell.value


def _ours(row: Row, column: str, key: str) -> tuple[float | None, float | None, float | None, int, str]:
    if column == "avg":
        cells = [row.cells.get(t) for t in TEST_TASKS]
        clean = [c for c in cells if c is not None and c.clean and c.n > 0]
        if len(clean) < len(TEST_TASKS):
            return _pct(row, key), None, None, sum(c.n for c in clean), f"average incomplete ({len(clean)}/{len(TEST_TASKS)} clean tasks)"
        mean, lo, hi = mean_interval((c.value, c.n) for c in clean)
        metrics = {c.metric for c in clean}
        why = "" if not metrics & {"em", "cover_em", "f1"} else "factual scored without the LLM judge"
        return 100 * mean, 100 * lo, 100 * hi, sum(c.n for c in clean), why
    cell = row.cells.get(key)
    if cell is None or not cell.clean or cell.n <= 0:
        return _pct(row, key), None, None, cell.n if cell else 0, "our cell is missing or flagged"
    lo, hi = wilson(cell.value, cell.n)
    return 100 * cell.value, 100 * lo, 100 * hi, cell.n, ""


# ---------------------------------------------------------------- output


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def to_markdown(rows: list[Comparison]) -> str:
    head = ["Size", "Our model", "Our method", "Paper row", "Column", "Paper", "Ours [95% CI]", "Δ (ours − paper)", "Paper inside CI", "n", "Note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 5 + ["--:"] * 4 + ["--:", "---"]) + "|"]
    for c in rows:
        ours = _f(c.ours) + (f" [{_f(c.lo)}, {_f(c.hi)}]" if c.lo is not None else "")
        inside = {True: "yes", False: "**no**", None: "—"}[c.inside]
        label = f"{c.paper_model} · {c.paper_method}" if c.paper_method else f"{c.paper_model} · —"
        column = "Avg." if c.column == "avg" else TASK_LABELS.get(c.column, c.column)
        delta = "—" if c.delta is None else f"{c.delta:+.2f}"
        lines.append("| " + " | ".join([c.size_label, c.our_model, c.our_method, label, column, _f(c.paper), ours, delta, inside, str(c.n), c.note]) + " |")
    lines += ["", "Paper: the published figure (leaderboard/paper_numbers.yaml, with its sources). Ours: % correct; CI: binomial 95% "
              "interval of our run (Wilson per task; for Avg. the mean of the 8 task proportions, Agresti-Coull variances). "
              "Paper rows follow the adapter's training provenance, not inference flags."]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[Comparison], path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["size", "our_model", "our_method", "paper_model", "paper_method", "paper_table", "column", "paper",
                         "ours", "ci_low", "ci_high", "delta", "paper_inside_ci", "n", "note"])
        for c in rows:
            writer.writerow([c.size_label, c.our_model, c.our_method, c.paper_model, c.paper_method or "", c.table or "", c.column,
                             _f(c.paper, 4) if c.paper is not None else "", _f(c.ours, 4) if c.ours is not None else "",
                             _f(c.lo, 4) if c.lo is not None else "", _f(c.hi, 4) if c.hi is not None else "",
                             _f(c.delta, 4) if c.delta is not None else "", "" if c.inside is None else int(c.inside), c.n, c.note])


def to_html(rows: list[Comparison]) -> str:
    """The reproduction view as an HTML table; cells carry data-* attributes for tests and scripts."""
    import html

    head = "".join(f"<th>{h}</th>" for h in ["Size", "Our model", "Our method", "Paper row", "Column", "Paper", "Ours [95% CI]", "Δ", "Inside CI", "n", "Note"])
    body = []
    for c in rows:
        ours = _f(c.ours) + (f" [{_f(c.lo)}, {_f(c.hi)}]" if c.lo is not None else "")
        inside = {True: "yes", False: "no", None: "—"}[c.inside]
        cls = {True: "best", False: "flagged", None: "missing"}[c.inside]
        attrs = f' data-method="{html.escape(c.our_method)}" data-paper-method="{html.escape(c.paper_method or "")}" data-column="{c.column}"'
        cells = [c.size_label, c.our_model, c.our_method, f"{c.paper_model} · {c.paper_method or '—'}", c.column, _f(c.paper), ours,
                 "—" if c.delta is None else f"{c.delta:+.2f}"]
        tds = "".join(f"<td>{html.escape(x)}</td>" for x in cells)
        tds += f'<td class="{cls}" data-col="inside">{inside}</td><td>{c.n}</td><td>{html.escape(c.note)}</td>'
        body.append(f"<tr{attrs}>{tds}</tr>")
    return f'<table id="reproduction"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>\n"
