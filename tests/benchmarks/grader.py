"""How well math graders agree with hand labels, and how fast the project's grader is (a script, not a test).

    .venv/bin/python tests/benchmarks/grader.py                 # agreement table + speed
    options: --pairs FILE  --reference-python PATH  --no-speed  --show N

Agreement on tests/data/math_pairs.jsonl (built by tests/tools/build_math_pairs.py) for
- project: `math_equal` (after `extract_answer` for whole completions),
- math-verify alone: `parse` + `verify` with their defaults (gold and answers wrapped in `$...$`, completions as is),
- paper: `paper_math_equal(paper_extract(pred), gold)` (the project's rewrite of the reference grader),
- reference: the paper authors' own grader run by tests/tools/reference_math_grader.py under --reference-python
  (default /tmp/refgrader/bin/python when it exists; see that script for the throwaway environment).
A false accept is a True decision on a pair labelled False; a false reject the opposite. Then paper-vs-reference
parity (pairs where the rewrite decides differently from the original) and the speed figure: every math test and
training gold graded against itself and against a perturbed copy (one digit changed, or "+1" appended).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agentdistill.core.answers import extract_answer, math_equal  # noqa: E402
from agentdistill.core.answers.paper_grader import paper_extract, paper_math_equal  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "data" / "math_pairs.jsonl"
REFERENCE_RUNNER = ROOT / "tests" / "tools" / "reference_math_grader.py"
MATH_TASKS = ("math500", "gsm_hard", "aime", "olymmath", "math_train")


def project(row: dict) -> bool:
    pred = extract_answer(row["prediction"], "math") if row.get("completion") else row["prediction"]
    return math_equal(pred, row["gold"])


def paper(row: dict) -> bool:
    return paper_math_equal(paper_extract(row["prediction"]), row["gold"])


def math_verify_alone(row: dict) -> bool:
    from math_verify import parse, verify

    logging.disable(logging.CRITICAL)
    pred = row["prediction"] if row.get("completion") else "$" + row["prediction"] + "$"
    try:
        return bool(verify(parse("$" + row["gold"] + "$"), parse(pred)))
    except Exception:
        return False


def reference(rows: list[dict], python: str) -> list[bool] | None:
    payload = "".join(json.dumps({"prediction": r["prediction"], "gold": r["gold"]}) + "\n" for r in rows)
    done = subprocess.run([python, str(REFERENCE_RUNNER)], input=payload, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        print(f"reference grader failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        return None
    return [json.loads(line)["eq"] for line in done.stdout.splitlines()]


def score(rows: list[dict], decisions: list[bool]) -> tuple[float, int, int]:
    agree = sum(d == r["label"] for r, d in zip(rows, decisions))
    false_accepts = sum(d and not r["label"] for r, d in zip(rows, decisions))
    false_rejects = sum(r["label"] and not d for r, d in zip(rows, decisions))
    return agree / len(rows), false_accepts, false_rejects


def _show(title: str, rows: list[dict], decisions: list[bool], limit: int) -> None:
    wrong = [(r, d) for r, d in zip(rows, decisions) if d != r["label"]]
    if wrong and limit:
        print(f"\n{title}: {len(wrong)} disagreements" + (f" (first {limit})" if len(wrong) > limit else ""))
        for row, decision in wrong[:limit]:
            print(f"  [{row['kind']}] {row['prediction'][:70]!r} vs {row['gold']!r}: says {decision}, label "
                  f"{row['label']} ({row['reason']})")


def _perturb(gold: str) -> str:
    """One digit changed (the last one), or "+1" appended when there is none."""
    for i in range(len(gold) - 1, -1, -1):
        if gold[i].isdigit():
            return gold[:i] + str((int(gold[i]) + 1) % 10) + gold[i + 1 :]
    return gold + "+1"


def speed() -> None:
    golds = []
    for task in MATH_TASKS:
        for line in (ROOT / "tasks" / task / "data" / f"{task}.jsonl").read_text().splitlines():
            golds.append(str(json.loads(line)["answer"]))
    math_equal("1", "1")  # start a worker: its start-up is not grading time
    jobs = [(g, g) for g in golds] + [(_perturb(g), g) for g in golds]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: math_equal(*job), jobs))
    elapsed = time.perf_counter() - start
    n = len(golds)
    self_ok, perturbed_accepted = sum(results[:n]), sum(results[n:])
    print(f"\nspeed: {len(jobs)} comparisons ({n} golds vs themselves and vs a perturbed copy) in {elapsed:.1f} s "
          f"({1000 * elapsed / len(jobs):.2f} ms each); self-equal {self_ok}/{n}; perturbed accepted "
          f"{perturbed_accepted}/{n}")
    if self_ok < n:
        print("  golds not equal to themselves:", [g for (g, _), ok in zip(jobs[:n], results[:n]) if not ok])
    if perturbed_accepted:
        shown = [(p, g) for (p, g), ok in zip(jobs[n:], results[n:]) if ok][:10]
        print("  perturbed copies still equal (a changed digit that does not change the value is fine):", shown)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--reference-python", default="/tmp/refgrader/bin/python")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--show", type=int, default=30, help="disagreements listed per grader")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.pairs.read_text().splitlines() if line.strip()]
    print(f"{len(rows)} labelled pairs ({sum(r['label'] for r in rows)} equal) from {args.pairs.relative_to(ROOT)}")
    table: dict[str, list[bool]] = {}
    timings: dict[str, float] = {}
    for name, grader in (("project (math_equal)", project), ("math-verify 0.9.0 alone", math_verify_alone),
                         ("paper grader (rewrite)", paper)):
        start = time.perf_counter()
        table[name] = [grader(row) for row in rows]
        timings[name] = time.perf_counter() - start
    if Path(args.reference_python).exists() and REFERENCE_RUNNER.exists():
        start = time.perf_counter()
        decisions = reference(rows, args.reference_python)
        if decisions is not None and len(decisions) == len(rows):
            table["reference grader (authors' code)"] = decisions
            timings["reference grader (authors' code)"] = time.perf_counter() - start
    else:
        print(f"(reference grader not run: no interpreter at {args.reference_python})")

    print(f"\n| grader | agreement | false accepts | false rejects | time |\n|---|---|---|---|---|")
    for name, decisions in table.items():
        agreement, fa, fr = score(rows, decisions)
        print(f"| {name} | {100 * agreement:.1f}% | {fa} | {fr} | {timings[name]:.1f} s |")
    for name, decisions in table.items():
        _show(name, rows, decisions, args.show if name.startswith("project") else min(args.show, 12))
    ref = table.get("reference grader (authors' code)")
    if ref is not None:
        diff = [(r, p, q) for r, p, q in zip(rows, table["paper grader (rewrite)"], ref) if p != q]
        print(f"\npaper rewrite vs reference: same decision on {len(rows) - len(diff)}/{len(rows)} pairs")
        for row, p, q in diff[: args.show]:
            print(f"  {row['prediction'][:70]!r} vs {row['gold']!r}: rewrite {p}, reference {q}")
    if not args.no_speed:
        speed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
