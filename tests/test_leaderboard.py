"""Leaderboard from synthetic inspect logs: naming, cell selection, flags, averages, outputs."""

from __future__ import annotations

import csv
import json

import pytest

from agentdistill.leaderboard.build import build
from agentdistill.leaderboard.build import main as leaderboard_main
from agentdistill.leaderboard.runs import format_size, method_name, parse_size, read_runs
from synthetic_logs import synthetic_log, write_log
from agentdistill.leaderboard.table import FACTUAL_TASKS, MATH_TASKS, TEST_TASKS, build_table, cell_text, to_markdown

SMALL = "hf/Qwen/Qwen2.5-0.5B-Instruct"
LARGE = "hf/Qwen/Qwen2.5-7B-Instruct"


def full_row(log_dir, model, solver, scores, **kw):
    """Eight successful runs, one per test task, with the given scores in TEST_TASKS order."""
    for task, score in zip(TEST_TASKS, scores):
        write_log(log_dir, synthetic_log(task, model, score, solver=solver, **kw))


def row_of(table, size, method):
    matches = [r for r in table.rows if r.size == size and r.method == method]
    assert len(matches) == 1, [(r.size, r.method) for r in table.rows]
    return matches[0]


@pytest.mark.parametrize(
    "name, size",
    [
        ("hf/Qwen/Qwen2.5-7B-Instruct", 7.0),
        ("hf/Qwen/Qwen2.5-1.5B-Instruct", 1.5),
        ("vllm/Qwen/Qwen2.5-0.5B-Instruct", 0.5),
        ("agentdistill/smollm2-135m", 0.135),
        ("hf/meta-llama/Llama-3.2-1B-Instruct", 1.0),
        ("hf/microsoft/Phi-4-mini-instruct", None),
        ("openai/gpt-4o-mini", None),
    ],
)
def test_size_from_model_name(name, size):
    assert parse_size(name) == size


def test_size_labels():
    assert format_size(0.135) == "0.135B"
    assert format_size(7.0) == "7B"
    assert format_size(None) == "?"


@pytest.mark.parametrize(
    "solver, args, method",
    [
        ("agentdistill/cot", {}, "cot"),
        ("cot_sc", {"n": 8}, "cot_sc"),
        ("agentdistill/rag", {}, "rag"),
        ("agentdistill/agent", {}, "agent"),
        ("agentdistill/agent", {"ftp": True}, "agent+ftp"),
        ("agentdistill/agent_ftp", {}, "agent+ftp"),
        ("agentdistill/agent_ftp", {"ftp": False}, "agent"),
        ("agentdistill/agent_sag", {"n": 8}, "agent+sag"),
        ("agentdistill/agent_sag", {"ftp": True}, "agent+ftp+sag"),
        (None, {}, "cot"),
    ],
)
def test_method_from_solver_and_args(solver, args, method):
    assert method_name(solver, args) == method


def test_method_from_task_arg_when_no_solver_override(log_dir):
    write_log(log_dir, synthetic_log("math500", SMALL, 0.3, solver=None, task_args={"solver": "agent_sag"}))
    (run,) = read_runs(log_dir)
    assert run.method == "agent+sag"
    assert run.task == "math500"


def test_full_grid_averages_and_best_per_size(log_dir):
    full_row(log_dir, SMALL, "agentdistill/cot", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    full_row(log_dir, SMALL, "agentdistill/agent_sag", [0.2, 0.1, 0.3, 0.4, 0.1, 0.1, 0.1, 0.1])
    full_row(log_dir, LARGE, "agentdistill/cot", [0.5] * 8)
    table = build_table(read_runs(log_dir))
    assert [(r.size, r.method) for r in table.rows] == [(0.5, "cot"), (0.5, "agent+sag"), (7.0, "cot")]

    cot, sag = row_of(table, 0.5, "cot"), row_of(table, 0.5, "agent+sag")
    assert cot.cells["factual_avg"].value == pytest.approx(0.25)
    assert cot.cells["math_avg"].value == pytest.approx(0.65)
    assert cot.cells["overall_avg"].value == pytest.approx(0.45)
    assert cot.cells["overall_avg"].n == 160
    # average stderr from the task stderrs (independent tasks)
    errs = [cot.cells[t].stderr for t in TEST_TASKS]
    assert cot.cells["overall_avg"].stderr == pytest.approx((sum(e * e for e in errs) ** 0.5) / 8)
    # best per size: per column, within the 0.5B group only
    assert sag.cells["hotpotqa"].best and not cot.cells["hotpotqa"].best
    assert cot.cells["bamboogle"].best and not sag.cells["bamboogle"].best
    assert not cot.cells["musique"].best and not sag.cells["musique"].best  # all equal: nothing marked
    assert cot.cells["overall_avg"].best and not sag.cells["overall_avg"].best
    # ties for the top are all marked
    write_log(log_dir, synthetic_log("musique", SMALL, 0.3, solver="agentdistill/rag"))
    write_log(log_dir, synthetic_log("musique", SMALL, 0.1, solver="agentdistill/agent"))
    table = build_table(read_runs(log_dir))
    assert [row_of(table, 0.5, m).cells["musique"].best for m in ("cot", "rag", "agent", "agent+sag")] == [True, True, False, True]
    # a size with a single row marks nothing as best
    assert not any(c.best for c in row_of(table, 7.0, "cot").cells.values())
    md = to_markdown(table)
    assert "| 0.5B | Qwen2.5-0.5B-Instruct | cot | 10.0 ±6.9 (n=20) | **20.0** ±9.2 (n=20) |" in md
    assert "**45.0**" in md  # overall avg of the best 0.5B row


def test_missing_cells_are_dashes_and_block_averages(log_dir):
    for task in FACTUAL_TASKS:
        write_log(log_dir, synthetic_log(task, SMALL, 0.3))
    write_log(log_dir, synthetic_log("math500", SMALL, 0.4))
    table = build_table(read_runs(log_dir))
    (row,) = table.rows
    assert row.cells["factual_avg"].value == pytest.approx(0.3)
    assert row.cells["math_avg"].value is None and row.cells["math_avg"].note == "incomplete 1/4"
    assert row.cells["overall_avg"].note == "incomplete 5/8"
    assert "gsm_hard" not in row.cells
    assert cell_text(row.cells.get("gsm_hard")) == "—"
    line = [l for l in to_markdown(table).splitlines() if l.startswith("| 0.5B")][0]
    assert line.count("| — ") == 3 and "incomplete 1/4" in line


def test_duplicate_runs_latest_success_wins(log_dir):
    write_log(log_dir, synthetic_log("aime", SMALL, 0.10, minutes=0))
    write_log(log_dir, synthetic_log("aime", SMALL, 0.30, minutes=10))
    write_log(log_dir, synthetic_log("aime", SMALL, 0.20, minutes=5))
    write_log(log_dir, synthetic_log("aime", SMALL, 0.90, minutes=20, status="error", n=2, total=20))
    (row,) = build_table(read_runs(log_dir)).rows
    cell = row.cells["aime"]
    assert cell.value == pytest.approx(0.30)
    assert cell.runs_seen == 4
    assert cell.flags == []


def test_failed_run_is_flagged_and_never_averaged(log_dir):
    for task in MATH_TASKS[:3]:
        write_log(log_dir, synthetic_log(task, SMALL, 0.5))
    write_log(log_dir, synthetic_log("olymmath", SMALL, 0.9, status="error", n=3, total=20))
    table = build_table(read_runs(log_dir))
    (row,) = table.rows
    assert row.cells["olymmath"].flags == ["failed"]
    assert row.cells["math_avg"].value is None and row.cells["math_avg"].note == "incomplete 3/4"
    md = to_markdown(table)
    assert "⚠ failed" in md
    assert "olymmath: failed (RuntimeError: synthetic failure)" in md


def test_partial_and_mismatched_sample_counts_flagged(log_dir):
    for model in (SMALL, LARGE):
        write_log(log_dir, synthetic_log("math500", model, 0.5, n=20))
    write_log(log_dir, synthetic_log("math500", "hf/Qwen/Qwen2.5-3B-Instruct", 0.6, n=12))  # fewer samples
    write_log(log_dir, synthetic_log("math500", "hf/Qwen/Qwen2.5-1.5B-Instruct", 0.6, n=12, total=20, status="cancelled"))
    write_log(log_dir, synthetic_log("gsm_hard", SMALL, 0.6, n=15, total=20))  # success status but not all done
    table = build_table(read_runs(log_dir))
    assert table.expected_n["math500"] == 20
    assert row_of(table, 3.0, "cot").cells["math500"].flags == ["n=12≠20"]
    assert row_of(table, 1.5, "cot").cells["math500"].flags == ["cancelled"]
    assert row_of(table, 0.5, "cot").cells["gsm_hard"].flags == ["partial 15/20"]
    assert row_of(table, 0.5, "cot").cells["math500"].flags == []
    # an explicit expectation overrides the most common count
    table = build_table(read_runs(log_dir), expected_n={"math500": 12})
    assert row_of(table, 0.5, "cot").cells["math500"].flags == ["n=20≠12"]
    assert row_of(table, 3.0, "cot").cells["math500"].flags == []


def test_two_sizes_of_one_family_are_separate_groups(log_dir):
    full_row(log_dir, SMALL, "agentdistill/cot", [0.1] * 8)
    full_row(log_dir, LARGE, "agentdistill/cot", [0.4] * 8)
    full_row(log_dir, "hf/Qwen/Qwen2.5-1.5B-Instruct", "agentdistill/cot", [0.2] * 8)
    table = build_table(read_runs(log_dir))
    assert [r.size_label for r in table.rows] == ["0.5B", "1.5B", "7B"]
    assert [r.model for r in table.rows] == ["Qwen2.5-0.5B-Instruct", "Qwen2.5-1.5B-Instruct", "Qwen2.5-7B-Instruct"]
    assert [round(r.cells["overall_avg"].value, 3) for r in table.rows] == [0.1, 0.2, 0.4]


def test_size_mapping_overrides_name(log_dir):
    write_log(log_dir, synthetic_log("aime", "hf/microsoft/Phi-4-mini-instruct", 0.2))
    (run,) = read_runs(log_dir)
    assert run.size is None
    (run,) = read_runs(log_dir, size_map={"Phi-4-mini-instruct": 3.8})
    assert run.size == 3.8


def test_adapter_is_distilled_with_base_size(log_dir, tmp_path):
    adapter = tmp_path / "qwen-0.5b-agent-lora"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct", "r": 64}))
    plain = tmp_path / "not-an-adapter-3b"
    plain.mkdir()
    full_row(log_dir, f"agentdistill/{adapter}", "agentdistill/agent_sag", [0.3] * 8)
    full_row(log_dir, SMALL, "agentdistill/agent_sag", [0.2] * 8)
    write_log(log_dir, synthetic_log("aime", f"agentdistill/{plain}", 0.1))
    # a grid log says so itself (works where the adapter folder is not present)
    write_log(log_dir, synthetic_log("aime", "agentdistill/gone", 0.1, metadata={"agentdistill_grid": {"size": "1.5B", "distilled": True}}))
    runs = read_runs(log_dir)
    table = build_table(runs)
    distilled = row_of(table, 0.5, "agent+sag [distilled]")
    assert distilled.distilled and distilled.model == "qwen-0.5b-agent-lora"
    assert distilled.cells["overall_avg"].value == pytest.approx(0.3) and distilled.cells["overall_avg"].best
    assert not row_of(table, 0.5, "agent+sag").distilled
    assert row_of(table, 3.0, "cot").model == "not-an-adapter-3b"
    assert row_of(table, 1.5, "cot [distilled]").model == "gone"
    # distilled rows come after the prompting rows of their size
    assert [r.method for r in table.rows if r.size == 0.5] == ["agent+sag", "agent+sag [distilled]"]


def test_factual_metric_falls_back_when_no_judge_and_says_so(log_dir):
    write_log(log_dir, synthetic_log("hotpotqa", SMALL, 0.3, judge=False))
    write_log(log_dir, synthetic_log("bamboogle", SMALL, 0.3, judge=True))
    table = build_table(read_runs(log_dir))
    (row,) = table.rows
    assert row.cells["hotpotqa"].metric == "em" and row.cells["hotpotqa"].value == pytest.approx(0.2)
    assert row.cells["bamboogle"].metric == "judge"
    assert "metric fallback: em instead of judge (no judge score) for hotpotqa\n" in to_markdown(table)


def test_other_tasks_are_left_out_and_named(log_dir):
    write_log(log_dir, synthetic_log("hotpotqa_train", SMALL, 0.3))
    write_log(log_dir, synthetic_log("twowikimultihopqa", SMALL, 0.3))  # the task function's name
    table = build_table(read_runs(log_dir))
    (row,) = table.rows
    assert "2wikimultihopqa" in row.cells
    assert table.ignored_tasks == ["hotpotqa_train"]


def test_agent_stat_columns(log_dir):
    write_log(log_dir, synthetic_log("hotpotqa", SMALL, 0.3, solver="agentdistill/agent", n=10, stats={"steps": 2.0, "web_search_calls": 1.0, "parse_errors": 0.5}))
    write_log(log_dir, synthetic_log("bamboogle", SMALL, 0.3, solver="agentdistill/agent", n=30, stats={"steps": 4.0, "web_search_calls": 3.0, "parse_errors": 0.1}))
    table = build_table(read_runs(log_dir))
    (row,) = table.rows
    assert row.stats["steps"] == pytest.approx((2 * 10 + 4 * 30) / 40)  # weighted by samples
    assert row.stats["web_search_calls"] == pytest.approx(2.5)
    md = to_markdown(table, stats=True)
    assert "| steps | search calls | parse errors | exec errors |" in md
    assert "| 3.50 | 2.50 | 0.20 | — |" in md


def test_build_writes_markdown_csv_html_and_figure(log_dir, tmp_path):
    full_row(log_dir, SMALL, "agentdistill/cot", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    full_row(log_dir, LARGE, "agentdistill/agent_sag", [0.4] * 8)
    write_log(log_dir, synthetic_log("aime", LARGE, 0.9, solver="agentdistill/cot", status="error", n=1, total=5))
    out = tmp_path / "out"
    paths = build(str(log_dir), str(out))
    rows = list(csv.DictReader(open(paths["csv"])))
    assert [(r["size"], r["method"]) for r in rows] == [("0.5B", "cot"), ("7B", "cot"), ("7B", "agent+sag")]
    assert rows[0]["hotpotqa_score"] == "10.0000" and rows[0]["hotpotqa_n"] == "20"
    assert rows[0]["overall_avg_score"] == "45.0000"
    assert rows[1]["aime_flag"] == "failed" and rows[1]["hotpotqa_flag"] == "missing"
    assert rows[1]["overall_avg_flag"] == "incomplete 0/8"
    page = open(paths["html"]).read()
    assert "<link" not in page and "<script" not in page and "http" not in page.split("<body>")[1].split("data:image")[0]
    assert 'src="data:image/png;base64,' in page
    png = open(paths["figure"], "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_cli_prints_markdown(log_dir, tmp_path, capsys):
    full_row(log_dir, SMALL, "agentdistill/cot", [0.5] * 8)
    assert leaderboard_main([str(log_dir), "--out", str(tmp_path / "o"), "--no-plot", "--stats"]) == 0
    out = capsys.readouterr().out
    assert "| 0.5B | Qwen2.5-0.5B-Instruct | cot | 50.0 ±11.5 (n=20) |" in out
    assert not (tmp_path / "o" / "figure1.png").exists()


def test_a_non_reference_option_is_named_in_the_method():
    from agentdistill.leaderboard.runs import method_name

    assert method_name("agentdistill/agent_sag", {"vote": "logs", "imports": "reference"}) == "agent+sag"
    assert method_name("agentdistill/agent_sag", {"vote": "answer"}) == "agent+sag [vote=answer]"
    assert method_name("agentdistill/agent", {"ftp": True, "imports": "any", "parser": "lenient"}) == \
        "agent+ftp [imports=any, parser=lenient]"
