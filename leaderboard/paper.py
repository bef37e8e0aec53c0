"""The paper's published numbers (`paper_numbers.yaml`) as checked records.

Loading validates the file: every value is a number, every row names a known method and a
listed source, and wherever a row carries every per-task column of its table, the printed
`avg` must equal the mean of those tasks at the paper's rounding (two decimals: a
difference above 0.005 plus float noise is a transcription error). `check_averages` is that
rule on its own, for tests and for new data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NUMBERS_FILE = Path(__file__).with_name("paper_numbers.yaml")

# The paper's Table 2 row names, in its order.
PAPER_METHODS = ("CoT Prompting", "Distill", "Distill + RAG", "Agent Prompting", "Distill (agent)", "+ ftp", "+ sag", "+ ftp sag")
# Row fields that are not values.
ROW_KEYS = ("model", "role", "method", "teacher", "finetune", "sources", "note")
AVG_TOLERANCE = 0.005 + 1e-9  # printed with two decimals


class PaperNumbersError(ValueError):
    """The numbers file is malformed or inconsistent; the message names the table and row."""


@dataclass(frozen=True)
class PaperRow:
    table: str
    model: str
    method: str
    values: dict[str, float]  # column -> percent
    sources: tuple[str, ...]
    role: str = "student"
    extra: dict[str, Any] = field(default_factory=dict)  # teacher, finetune, ...

    @property
    def avg(self) -> float | None:
        return self.values.get("avg")


@dataclass
class PaperNumbers:
    paper: dict[str, Any]
    sources: dict[str, Any]
    tables: dict[str, dict[str, Any]]  # key -> title, metric, columns, table
    rows: list[PaperRow]
    not_found: list[str]

    def table_rows(self, table: str) -> list[PaperRow]:
        return [r for r in self.rows if r.table == table]

    def find(self, table: str, model: str, method: str, **extra: Any) -> PaperRow | None:
        key = model_key(model)
        for row in self.table_rows(table):
            if model_key(row.model) == key and row.method == method and all(row.extra.get(k) == v for k, v in extra.items()):
                return row
        return None


def model_key(name: str) -> str:
    """`vllm/Qwen/Qwen2.5-7B-Instruct` and `Qwen2.5-7B-Instruct` -> `qwen2.5-7b-instruct`."""
    return name.rstrip("/").split("/")[-1].split(":")[0].lower()


def check_averages(values: dict[str, float], tasks: list[str], where: str = "") -> float | None:
    """The mean of `tasks` when all are present; raises when a printed `avg` disagrees with it."""
    if not tasks or any(t not in values for t in tasks):
        return None
    mean = sum(values[t] for t in tasks) / len(tasks)
    if "avg" in values and abs(mean - values["avg"]) > AVG_TOLERANCE:
        raise PaperNumbersError(f"{where}: avg {values['avg']} but the mean of {len(tasks)} tasks is {mean:.4f}")
    return mean


def _number(value: Any, where: str, percent: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)):
        raise PaperNumbersError(f"{where}: {value!r} is not a number")
    if percent and not 0.0 <= float(value) <= 100.0:
        raise PaperNumbersError(f"{where}: {value} is outside 0-100 (percent)")
    return float(value)


def parse_numbers(raw: dict[str, Any], origin: str = "paper numbers") -> PaperNumbers:
    if raw.get("schema") != 1:
        raise PaperNumbersError(f"{origin}: unknown schema {raw.get('schema')!r} (expected 1)")
    sources = dict(raw.get("sources") or {})
    methods = set(raw.get("methods") or PAPER_METHODS)
    tables: dict[str, dict[str, Any]] = {}
    rows: list[PaperRow] = []
    for key, table in (raw.get("tables") or {}).items():
        columns = list(table.get("columns") or [])
        if not columns:
            raise PaperNumbersError(f"{origin}: table {key} lists no columns")
        tables[key] = {k: v for k, v in table.items() if k != "rows"}
        tasks = [c for c in columns if c != "avg"] if "avg" in columns else []
        for index, item in enumerate(table.get("rows") or []):
            where = f"{origin}: table {key} row {index + 1} ({item.get('model')}, {item.get('method')})"
            unknown = set(item) - set(ROW_KEYS) - set(columns)
            if unknown:
                raise PaperNumbersError(f"{where}: fields {sorted(unknown)} are neither row keys nor columns {columns}")
            if not item.get("model") or not item.get("method"):
                raise PaperNumbersError(f"{where}: a row needs model and method")
            base = item["method"].removesuffix(" + ftp")
            if item["method"] not in methods and base not in methods:
                raise PaperNumbersError(f"{where}: method {item['method']!r} is not one of {sorted(methods)}")
            cited = tuple(item.get("sources") or ())
            if not cited or any(s not in sources for s in cited):
                raise PaperNumbersError(f"{where}: sources {list(cited)} must name entries of `sources` {sorted(sources)}")
            percent = table.get("unit", "percent") == "percent"
            values = {c: _number(item[c], f"{where} column {c}", percent) for c in columns if c in item}
            if not values:
                raise PaperNumbersError(f"{where}: no values")
            check_averages(values, tasks, where)
            extra = {k: item[k] for k in ("teacher", "finetune", "note") if k in item}
            rows.append(PaperRow(key, item["model"], item["method"], values, cited, item.get("role", "student"), extra))
    return PaperNumbers(dict(raw.get("paper") or {}), sources, tables, rows, list(raw.get("not_found") or []))


def load_numbers(path: str | Path = NUMBERS_FILE) -> PaperNumbers:
    import yaml

    path = Path(path)
    return parse_numbers(yaml.safe_load(path.read_text()), origin=str(path.name))
