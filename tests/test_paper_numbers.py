"""The paper's published numbers (leaderboard/paper_numbers.yaml): well-formed, sourced, and self-consistent."""

from __future__ import annotations

import copy

import pytest
import yaml

from agentdistill.leaderboard.paper import (
    NUMBERS_FILE,
    PAPER_METHODS,
    PaperNumbersError,
    check_averages,
    load_numbers,
    model_key,
    parse_numbers,
)
from agentdistill.leaderboard.table import TEST_TASKS

SIZES = ("0.5B", "1.5B", "3B", "7B")


@pytest.fixture(scope="module")
def numbers():
    return load_numbers()


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(NUMBERS_FILE.read_text())


def test_table2_has_every_size_and_method_and_the_teacher_rows(numbers):
    rows = numbers.table_rows("table2")
    for size in SIZES:
        methods = [r.method for r in rows if r.model == f"Qwen2.5-{size}-Instruct"]
        assert methods == list(PAPER_METHODS), size
    teacher = {r.method: r.avg for r in rows if r.role == "teacher"}
    assert teacher == {"CoT Prompting": 39.54, "Agent Prompting": 46.00}
    assert numbers.tables["table2"]["columns"] == list(TEST_TASKS) + ["avg"]


def test_table2_averages_match_the_field_notes_quote(numbers):
    """docs/field-notes.md section 1 quotes Distill vs + ftp sag per size, transcribed independently."""
    quoted = {"0.5B": (13.64, 21.90), "1.5B": (21.28, 30.55), "3B": (27.72, 36.60), "7B": (33.54, 42.68)}
    for size, (distill, best) in quoted.items():
        model = f"Qwen2.5-{size}-Instruct"
        assert numbers.find("table2", model, "Distill").avg == distill
        assert numbers.find("table2", model, "+ ftp sag").avg == best
        assert "field_notes" in numbers.find("table2", model, "+ ftp sag").sources


def test_numbers_repeated_across_tables_agree(numbers):
    """The same experiment printed in two tables must carry the same number (a transcription check)."""
    lora = numbers.find("table8_lora_vs_full", "Qwen2.5-1.5B-Instruct", "+ ftp", finetune="lora")
    assert lora.avg == numbers.find("table2", "Qwen2.5-1.5B-Instruct", "+ ftp").avg == 29.11
    default_pair = numbers.find("code_models", "Qwen2.5-1.5B-Instruct", "+ ftp sag", teacher="Qwen2.5-32B-Instruct")
    assert default_pair.avg == numbers.find("table2", "Qwen2.5-1.5B-Instruct", "+ ftp sag").avg == 30.55


def test_every_row_cites_listed_sources_and_missing_tables_are_declared(numbers):
    assert all(r.sources and set(r.sources) <= set(numbers.sources) for r in numbers.rows)
    said = " ".join(numbers.not_found)
    for missing in ("Table 6", "Table 7", "per-task"):
        assert missing in said


def _with_row(raw, row):
    data = copy.deepcopy(raw)
    data["tables"]["table2"]["rows"].append(row)
    return data


PER_TASK = {"hotpotqa": 30.2, "bamboogle": 28.0, "musique": 9.4, "2wikimultihopqa": 26.6,
            "math500": 50.0, "gsm_hard": 40.2, "aime": 3.33, "olymmath": 6.5}  # mean 24.27875


def test_the_avg_column_is_recomputed_from_per_task_numbers_at_the_papers_rounding(raw):
    """Any row with all 8 tasks must have avg = their mean rounded to 2 decimals, as the paper prints it."""
    assert check_averages(PER_TASK, list(TEST_TASKS), "row") == pytest.approx(24.27875)
    ok = _with_row(raw, {"model": "Qwen2.5-0.5B-Instruct", "method": "Distill", "sources": ["ko_review"], **PER_TASK, "avg": 24.28})
    parse_numbers(ok)  # 24.28 is the mean printed with two decimals
    for wrong in (24.27, 24.30, 25.0):
        bad = _with_row(raw, {"model": "Qwen2.5-0.5B-Instruct", "method": "Distill", "sources": ["ko_review"], **PER_TASK, "avg": wrong})
        with pytest.raises(PaperNumbersError, match=r"table table2 row 35 .*avg .* mean of 8 tasks is 24\.2788"):
            parse_numbers(bad)
    # and every row of the shipped file that carries all its table's tasks passes the same check
    numbers = parse_numbers(raw)
    for row in numbers.rows:
        tasks = [c for c in numbers.tables[row.table]["columns"] if c != "avg"]
        if tasks and "avg" in row.values and all(t in row.values for t in tasks):
            assert abs(sum(row.values[t] for t in tasks) / len(tasks) - row.avg) <= 0.005 + 1e-9


@pytest.mark.parametrize(
    "row, message",
    [
        ({"model": "Qwen2.5-0.5B-Instruct", "method": "Distill", "sources": ["nowhere"], "avg": 1.0}, "sources"),
        ({"model": "Qwen2.5-0.5B-Instruct", "method": "Distil", "sources": ["ko_review"], "avg": 1.0}, "method 'Distil'"),
        ({"model": "Qwen2.5-0.5B-Instruct", "method": "Distill", "sources": ["ko_review"], "avg": "13.6"}, "not a number"),
        ({"model": "Qwen2.5-0.5B-Instruct", "method": "Distill", "sources": ["ko_review"], "avg": 136.4}, "outside 0-100"),
        ({"model": "Qwen2.5-0.5B-Instruct", "method": "Distill", "sources": ["ko_review"], "avgg": 13.6}, "avgg"),
    ],
)
def test_malformed_rows_are_refused_with_table_and_row(raw, row, message):
    with pytest.raises(PaperNumbersError, match=message):
        parse_numbers(_with_row(raw, row))


def test_model_key_matches_provider_and_adapter_spellings():
    assert model_key("vllm/Qwen/Qwen2.5-7B-Instruct") == model_key("Qwen2.5-7B-Instruct") == "qwen2.5-7b-instruct"
    assert model_key("hf/Qwen/Qwen2.5-7B-Instruct") == "qwen2.5-7b-instruct"
