"""CI regression: seeded subsets, baseline round trip, drift diffs (a deliberate scorer change is caught)."""

from __future__ import annotations

import json
import shutil

import pytest
from inspect_ai.solver import generate, solver

from agentdistill.leaderboard import regress
from agentdistill.leaderboard.regress import Tolerances, compare, pick_ids

# Always answers with the gold (`{{target}}` is the scripted model's placeholder for it), so the
# baseline is all correct and a broken scorer shows up as flips.
SCRIPT = json.dumps(
    {
        "rules": [
            {"domain": "math", "reply": "Reasoning.\nThe answer is \\boxed{{{target}}}."},
            {"domain": "factual", "reply": "Thinking.\n<answer>{{target}}</answer>"},
        ]
    }
)


@solver
def regress_echo():
    """Plain generate: a solver the tasks resolve by its bare registered name."""
    return generate()


def base_sample(value, answer, stats=None, error=None):
    return {"value": value, "answer": answer, "correct": 1.0 if value in ("C", 1.0) else 0.0, "error": error, "stats": stats or {"steps": 1.0}}


def base_task(samples):
    n = len(samples)
    return {
        "status": "success",
        "sample_ids": sorted(samples),
        "score": sum(s["correct"] for s in samples.values()) / n,
        "error_rate": sum(1 for s in samples.values() if s["error"]) / n,
        "samples": samples,
    }


def test_pick_ids_is_seeded_and_stable():
    ids = [str(i) for i in range(500)]
    first = pick_ids("math500", ids, 3, seed=0)
    assert first == pick_ids("math500", list(reversed(ids)), 3, seed=0)  # order of the data does not matter
    assert len(set(first)) == 3 and set(first) <= set(ids)
    assert pick_ids("aime", ids, 3, seed=0) != first  # each task its own draw
    assert pick_ids("math500", ids, 3, seed=1) != first
    assert pick_ids("math500", ids[:2], 5, seed=0) == ["0", "1"]


def test_compare_reports_each_kind_of_drift():
    base = {
        "math500": base_task({"1": base_sample("C", "4"), "2": base_sample("I", "7")}),
        "hotpotqa": base_task({"5": base_sample({"em": 1.0, "f1": 1.0}, "Paris")}),
    }
    same = json.loads(json.dumps(base))
    assert compare(base, same, Tolerances()) == []

    cur = json.loads(json.dumps(base))
    cur["math500"]["samples"]["1"] = base_sample("I", "5")
    cur["math500"]["score"] = 0.0
    cur["hotpotqa"]["samples"]["5"]["stats"] = {"steps": 2.0}
    problems = compare(base, cur, Tolerances())
    assert problems[0] == "1 per-sample outcome change(s) (tolerance 0):"
    assert "math500 sample 1: value 'C' -> 'I'; answer '4' -> '5'" in problems[1]
    assert "hotpotqa sample 5: run stat steps 1 -> 2" in problems
    assert "math500: score 0.500 -> 0.000 (tolerance 0.0)" in problems
    # one flip allowed, score moves tolerated: only the stat drift remains
    assert compare(base, cur, Tolerances(max_flips=1, score_tol=0.5)) == ["hotpotqa sample 5: run stat steps 1 -> 2"]

    cur = json.loads(json.dumps(base))
    cur["hotpotqa"]["samples"]["5"]["value"]["f1"] = 1.0 + 1e-9  # within abs tolerance
    assert compare(base, cur, Tolerances()) == []
    cur["math500"]["samples"]["2"]["error"] = "RuntimeError: boom"
    cur["math500"]["error_rate"] = 0.5
    problems = compare(base, cur, Tolerances())
    assert problems == ["math500 sample 2: error None -> 'RuntimeError: boom'", "math500: error rate 0.000 -> 0.500 (tolerance 0.0)"]

    del cur["hotpotqa"]
    cur["aime"] = base["math500"]
    problems = compare(base, cur, Tolerances())
    assert "hotpotqa: no result this run (baseline has 1 samples)" in problems
    assert "aime: not in the baseline (run with --update-baseline to add it)" in problems


def test_baseline_round_trip_and_a_deliberate_scorer_change_is_caught(tmp_path, monkeypatch, capsys):
    """End to end with the real tasks and the scripted model: write, re-check, then break math_equal."""
    monkeypatch.setattr(regress, "DEFAULT_MODEL", "scripted/regress")
    base_dir = tmp_path / "baseline"
    script = tmp_path / "script.json"
    script.write_text(SCRIPT)

    real_run = regress.run_subset

    def run_scripted(solver, solver_args, ids, model, max_tokens, log_dir, jobs):
        from inspect_ai.model import get_model

        assert jobs == 2  # the default, recorded in the baseline and re-used by the checks
        # a model object (its script) runs in this process; worker processes are tested below
        return real_run(solver, solver_args, ids, get_model("scripted/regress", script=str(script)), max_tokens, log_dir, 0)

    monkeypatch.setattr(regress, "run_subset", run_scripted)
    argv = ["--solvers", "regress_echo", "--tasks", "math500,gsm_hard,hotpotqa", "--per-task", "2", "--baseline-dir", str(base_dir), "--model", "scripted/regress"]

    assert regress.main(argv) == 2  # no baseline yet: a set-up error, not a pass
    assert regress.main(argv + ["--update-baseline"]) == 0
    data = json.loads((base_dir / "regress_echo.json").read_text())
    assert data["config"]["per_task"] == 2 and data["config"]["jobs"] == 2 and data["tolerances"]["max_flips"] == 0
    assert set(data["tasks"]) == {"math500", "gsm_hard", "hotpotqa"}
    for task in data["tasks"].values():
        assert len(task["sample_ids"]) == 2 and task["score"] == 1.0 and task["error_rate"] == 0.0
    assert data["tasks"]["math500"]["sample_ids"] == pick_ids("math500", [str(i) for i in range(500)], 2, 0)
    capsys.readouterr()

    assert regress.main(argv) == 0
    assert "regress: OK" in capsys.readouterr().out

    # the deliberate change: a math scorer that no longer accepts equal answers
    from agentdistill.tasks._core import scorers

    monkeypatch.setattr(scorers, "math_equal", lambda pred, gold, timeout_s=5.0: False)
    assert regress.main(argv) == 1
    out = capsys.readouterr().out
    assert "regress: DRIFT against" in out
    out = out[out.index("regress: DRIFT against"):]  # the report (inspect's own display may precede it)
    print(out)
    assert "4 per-sample outcome change(s) (tolerance 0):" in out
    assert "math500: score 1.000 -> 0.000 (tolerance 0.0)" in out
    assert "gsm_hard: score 1.000 -> 0.000 (tolerance 0.0)" in out
    assert "hotpotqa" not in out  # the factual scorer did not change
    sid = data["tasks"]["math500"]["sample_ids"][0]
    assert f"math500 sample {sid}: value 'C' -> 'I'" in out


def test_worker_processes_give_what_one_process_gives(tmp_path):
    """Tasks dealt to two spawned workers (inspect's mock model by name, the real cot solver): the
    same per-task summaries, in the order asked, as running them here; a model object is refused."""
    ids = {"math500": pick_ids("math500", [str(i) for i in range(500)], 2, 0), "hotpotqa": ["5a85eed75542996432c5713b"], "gsm_hard": ["1309", "228"]}
    here = regress.run_subset("cot", {}, ids, "mockllm/model", 16, str(tmp_path / "here"), 0)
    workers = regress.run_subset("cot", {}, ids, "mockllm/model", 16, str(tmp_path / "workers"), 2)
    assert list(workers) == list(ids) and workers == here
    assert all(len(task["sample_ids"]) == len(ids[name]) for name, task in workers.items())
    assert len(list((tmp_path / "workers").glob("*.eval"))) == 3
    from inspect_ai.model import get_model

    with pytest.raises(regress.InputError, match="jobs=2 runs worker processes; they need a model name"):
        regress.run_subset("cot", {}, ids, get_model("mockllm/model"), 16, str(tmp_path / "x"), 2)


def test_committed_baselines_are_well_formed():
    files = sorted(regress.BASELINE_DIR.glob("*.json"))
    if not files:
        pytest.skip("no committed baseline yet")
    for path in files:
        data = json.loads(path.read_text())
        assert data["format"] == regress.FORMAT
        assert data["config"]["model"] and data["config"]["solver"]
        for name, task in data["tasks"].items():
            assert task["sample_ids"] == sorted(task["samples"], key=lambda x: (len(x), x)), name
            assert 0.0 <= task["score"] <= 1.0


@pytest.mark.slow
def test_committed_cot_baseline_still_holds_on_one_task():
    """The real check, shortened: the embedded model with cot on the baseline's math500 items."""
    if not (regress.BASELINE_DIR / "cot.json").is_file():
        pytest.skip("no committed cot baseline yet")
    assert shutil.which("nice") is not None
    assert regress.main(["--solvers", "cot", "--tasks", "math500"]) == 0


def test_each_task_starts_from_forgotten_prefixes_once_an_engine_is_loaded(monkeypatch):
    """regress empties loaded engines' prefix caches between tasks without importing the model module itself."""
    import sys
    import types

    monkeypatch.delitem(sys.modules, "agentdistill.models.hf_model", raising=False)
    regress._forget_prefixes()  # nothing loaded: nothing to forget, and nothing imported
    assert "agentdistill.models.hf_model" not in sys.modules
    calls = []
    monkeypatch.setitem(sys.modules, "agentdistill.models.hf_model", types.SimpleNamespace(forget_prefixes=lambda: calls.append(1)))
    regress._forget_prefixes()
    assert calls == [1]
