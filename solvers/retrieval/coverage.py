"""`agentdistill coverage`: how much of each factual task the retrieval corpus can answer.

For every item of hotpotqa, bamboogle, musique and 2wikimultihopqa: is a gold answer string
(any alias, SQuAD-normalised, whole words) in the top-k passages retrieved for the question
(recall@k), and is it anywhere in the corpus at all (an upper bound for any retriever and any
number of searches)? Yes/no items are counted apart: their answer is not a string to find.
Read every factual score against these numbers.

    agentdistill coverage [--retriever bm25] [--k 3] [--tasks hotpotqa,musique] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Iterable, Sequence

from agentdistill.core.answers import normalize_factual
from agentdistill.core.args import number
from agentdistill.core.errors import InputError, unknown_name
from agentdistill.core.paths import write_text_atomic
from agentdistill.tasks._core import load_samples

from .base import DEFAULT_K
from .tool import check_spec

FACTUAL_TASKS = ("hotpotqa", "bamboogle", "musique", "2wikimultihopqa")
YES_NO = {"yes", "no"}


# the scorers' SQuAD normalisation, so "in the corpus" means what "correct" means
normalize = normalize_factual


def golds_of(target) -> list[str]:
    values = target if isinstance(target, (list, tuple)) else [target]
    return [g for g in (normalize(v) for v in values) if g]


def contains(haystack: str, golds: Iterable[str]) -> bool:
    """haystack: normalised text padded with spaces; golds: normalised answers (whole-word match)."""
    return any(f" {g} " in haystack for g in golds)


def load_items(task: str) -> list[tuple[str, str, list[str]]]:
    """(id, question, gold aliases) of a task's shipped sampled set."""
    items = []
    for sample in load_samples(task):
        target = sample.target
        items.append((str(sample.id), str(sample.input), list(target) if isinstance(target, list) else [target]))
    return items


class CorpusText:
    """The whole corpus normalised once, passages separated by newlines (no cross-passage matches)."""

    def __init__(self, corpus: Sequence) -> None:
        self.text = " " + " \n ".join(normalize(p.contents) for p in corpus) + " "

    def __contains__(self, golds: list[str]) -> bool:  # type: ignore[override]
        return contains(self.text, golds)


def task_coverage(task: str, items, retriever, corpus_text: CorpusText | None, k: int) -> dict:
    questions = [q for _, q, _ in items]
    results = retriever.search_batch(questions, k)
    rows = {"task": task, "items": len(items), "yes_no": 0, "answer_strings": 0, "recall_at_k": 0,
            "in_corpus": 0 if corpus_text is not None else None}
    per_item = []
    for (item_id, _, targets), hits in zip(items, results):
        golds = golds_of(targets)
        if set(golds) & YES_NO:
            rows["yes_no"] += 1
            per_item.append({"id": item_id, "yes_no": True})
            continue
        rows["answer_strings"] += 1
        retrieved = " " + " \n ".join(normalize(h.contents) for h in hits) + " "
        hit = contains(retrieved, golds)
        anywhere = (golds in corpus_text) if corpus_text is not None else None
        rows["recall_at_k"] += hit
        if corpus_text is not None:
            rows["in_corpus"] += bool(anywhere)
        per_item.append({"id": item_id, "recall": hit, "in_corpus": anywhere})
    rows["per_item"] = per_item
    return rows


def pct(n: int | None, d: int) -> str:
    return "n/a" if n is None or not d else f"{n} ({100 * n / d:.1f}%)"


def markdown_table(rows: list[dict], k: int, spec: str) -> str:
    lines = [f"| task | items | yes/no items | answer-string items | gold in top-{k} ({spec}) | gold anywhere in corpus |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        n = r["answer_strings"]
        lines.append(f"| {r['task']} | {r['items']} | {r['yes_no']} | {n} | {pct(r['recall_at_k'], n)} | "
                     f"{pct(r['in_corpus'], n)} |")
    return "\n".join(lines)


def run_coverage(tasks: Sequence[str] = FACTUAL_TASKS, spec: str | None = None, k: int = DEFAULT_K,
                 corpus_check: bool = True) -> tuple[list[dict], str]:
    from .tool import get_retriever, resolve_spec

    spec = resolve_spec(spec)
    retriever = get_retriever(spec)
    corpus = getattr(retriever, "corpus", None)
    corpus_text = CorpusText(corpus) if corpus_check and corpus is not None and len(corpus) < 5_000_000 else None
    return [task_coverage(t, load_items(t), retriever, corpus_text, k) for t in tasks], spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentdistill coverage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--retriever", default=None, help="spec (default $AGENTDISTILL_RETRIEVER or bm25)")
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--tasks", default=",".join(FACTUAL_TASKS))
    parser.add_argument("--no-corpus-check", action="store_true", help="skip the whole-corpus string search")
    parser.add_argument("--json", default=None, help="also write per-task and per-item results here")
    args = parser.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for task in tasks:  # refused before the index is built
        if task not in FACTUAL_TASKS:
            raise InputError(f"--tasks: {unknown_name('factual task', task, FACTUAL_TASKS)}")
    number("--k", "k", args.k, integer=True, lo=1)
    check_spec(args.retriever)
    start = time.perf_counter()
    rows, spec = run_coverage(tasks, args.retriever, args.k, corpus_check=not args.no_corpus_check)
    print(markdown_table(rows, args.k, spec))
    print(f"\n({time.perf_counter() - start:.1f}s; gold = any answer alias, SQuAD-normalised, whole words; "
          f"yes/no items excluded from both columns)", file=sys.stderr)
    if args.json:
        write_text_atomic(args.json, json.dumps({"retriever": spec, "k": args.k, "tasks": rows}, indent=1))
    return 0
