"""`agentdistill leaderboard LOG_DIR`: Table 2 (Markdown, CSV, HTML) and Figure 1 (PNG) from eval logs."""

from __future__ import annotations

import argparse
import os

from agentdistill.core.args import number
from agentdistill.core.errors import InputError, command
from agentdistill.core.paths import write_text_atomic
from agentdistill.leaderboard.paper_report import write_paper_report
from agentdistill.leaderboard.render import plot_figure, to_html
from agentdistill.leaderboard.runs import DEFAULT_METRIC_PREFERENCE, parse_size_text, read_runs
from agentdistill.leaderboard.table import TEST_TASKS, build_table, canonical_task, to_csv, to_markdown


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"{what} {item!r}: expected NAME=VALUE")
        key, value = item.rsplit("=", 1)
        out[key.strip()] = value.strip()
    return out


def build(
    log_dir: str,
    out_dir: str,
    tasks: tuple[str, ...] = TEST_TASKS,
    size_map: dict[str, float] | None = None,
    expected_n: dict[str, int] | None = None,
    metric_preference: tuple[str, ...] = DEFAULT_METRIC_PREFERENCE,
    stats: bool = False,
    plot: bool = True,
    title: str = "agentdistill leaderboard",
    paper: bool = False,
    paper_model: dict[str, str] | None = None,
) -> dict[str, str]:
    """Write leaderboard.{md,csv,html} (and figure1.png) into out_dir; returns the paths by kind.

    paper: also the reproduction view and the paper's other tables and figures (leaderboard/paper_report.py)."""
    runs = read_runs(log_dir, size_map)
    if not runs:  # an empty table would replace a previous leaderboard with nothing
        raise InputError(f"{log_dir}: no inspect eval logs (.eval or .json) under this folder; nothing written")
    table = build_table(runs, tasks=tasks, expected_n=expected_n, metric_preference=metric_preference)
    os.makedirs(out_dir, exist_ok=True)
    extra_html = ""
    if paper:
        report = write_paper_report(log_dir, runs, table, out_dir, paper_model=paper_model, plot=plot)
        extra_html = report.pop("html_section")
        paths_paper = report
    paths = {
        "markdown": os.path.join(out_dir, "leaderboard.md"),
        "csv": os.path.join(out_dir, "leaderboard.csv"),
        "html": os.path.join(out_dir, "leaderboard.html"),
    }
    if plot:
        paths["figure"] = plot_figure(table, os.path.join(out_dir, "figure1.png"))
    write_text_atomic(paths["markdown"], to_markdown(table, stats=stats))
    to_csv(table, paths["csv"])
    write_text_atomic(paths["html"], to_html(table, title=title, source=str(log_dir), stats=stats,
                                             figure_png=paths.get("figure"), extra_html=extra_html))
    if paper:
        paths.update(paths_paper)
    return paths


@command("agentdistill leaderboard")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentdistill leaderboard", description=__doc__)
    parser.add_argument("log_dir", help="directory of inspect eval logs (searched recursively; headers only are read)")
    parser.add_argument("--out", default=None, help="output directory (default: LOG_DIR/leaderboard)")
    parser.add_argument("--tasks", default=",".join(TEST_TASKS), help="comma-separated task columns, in order")
    parser.add_argument("--size", action="append", metavar="MODEL=SIZE", help="size of a model, e.g. my-model=1.5B (repeatable)")
    parser.add_argument("--expect-n", action="append", metavar="TASK=N", help="expected sample count of a task (default: most common)")
    parser.add_argument("--metric", default=",".join(DEFAULT_METRIC_PREFERENCE), help="score names preferred as headline, in order")
    parser.add_argument("--stats", action="store_true", help="add per-sample agent metric columns (steps, search calls, errors)")
    parser.add_argument("--no-plot", action="store_true", help="skip Figure 1")
    parser.add_argument("--title", default="agentdistill leaderboard")
    parser.add_argument("--paper", action="store_true",
                        help="add the paper view: our figures beside the published ones (reproduction.md/csv) and the paper's "
                             "other tables and figures from the same logs (paper/ folder, also in the HTML page)")
    parser.add_argument("--paper-model", action="append", metavar="OURS=PAPER",
                        help="compare a stand-in model with a paper model, e.g. smollm2-135m=Qwen2.5-0.5B-Instruct (repeatable)")
    args = parser.parse_args(argv)

    if not os.path.isdir(args.log_dir):
        raise InputError(f"{args.log_dir}: no such log directory")
    sizes = {}
    for model, size in _pairs(args.size, "--size").items():
        try:
            sizes[model] = parse_size_text(size)
        except ValueError:
            raise InputError(f"--size {model}={size}: expected a size such as 1.5B, 135M or 7") from None
    expected = {canonical_task(k): number("--expect-n", k, v, integer=True, lo=1)
                for k, v in _pairs(args.expect_n, "--expect-n").items()}
    tasks = tuple(canonical_task(t) for t in args.tasks.split(",") if t.strip())
    paths = build(
        args.log_dir,
        args.out or os.path.join(args.log_dir, "leaderboard"),
        tasks=tasks,
        size_map=sizes,
        expected_n=expected,
        metric_preference=tuple(m.strip() for m in args.metric.split(",") if m.strip()),
        stats=args.stats,
        plot=not args.no_plot,
        title=args.title,
        paper=args.paper,
        paper_model=_pairs(args.paper_model, "--paper-model"),
    )
    print(open(paths["markdown"]).read())
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
