"""Reproduction view and the paper's other artefacts from logs: synthetic headers and real scripted-model runs."""

from __future__ import annotations

import csv
import json
import math
import statistics

import pytest

from agentdistill.core.data_provenance import summarize_records
from agentdistill.leaderboard.build import build
from agentdistill.leaderboard.build import main as leaderboard_main
from agentdistill.leaderboard.paper import load_numbers
from agentdistill.core.paths import TRAIN_INFO_FILE as TRAIN_INFO
from agentdistill.leaderboard.provenance import describe, training_provenance
from agentdistill.leaderboard.repro import compare, mean_interval, paper_method, wilson
from agentdistill.leaderboard.runs import read_runs
from synthetic_logs import synthetic_log, write_log
from agentdistill.leaderboard.table import TEST_TASKS, build_table

QWEN05 = "hf/Qwen/Qwen2.5-0.5B-Instruct"
AGENT_FTP = {"kind": "agent", "ftp": True, "rag": False, "full_finetune": False, "base_model": "Qwen/Qwen2.5-0.5B-Instruct"}


def grid_meta(size="0.5B", training=None, **extra):
    meta = {"size": size, "distilled": training is not None, **extra}
    if training is not None:
        meta["training"] = training
    return {"agentdistill_grid": meta}


def row_logs(log_dir, model, solver, scores, n=100, **kw):
    for task, score in zip(TEST_TASKS, scores):
        write_log(log_dir, synthetic_log(task, model, score, solver=solver, n=n, **kw))


def rows_by(comparisons, method):
    return [c for c in comparisons if c.our_method == method]


# ---------------------------------------------------------------- training provenance


def _records(path, solver, solver_args, ftp_prefix=None, count=3, kind="agent"):
    with open(path, "a") as handle:
        for i in range(count):
            handle.write(json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "kind": kind,
                                     "provenance": {"teacher": "scripted/t", "solver": solver, "solver_args": solver_args,
                                                    "ftp_prefix": ftp_prefix}}) + "\n")


def test_training_provenance_reads_how_the_trajectories_were_made(tmp_path):
    data = tmp_path / "agent_ftp.jsonl"
    _records(data, "agent", {"prompt": "teacher", "ftp": True}, ftp_prefix="First, note that")
    summary = summarize_records(data)
    assert summary == {"records": 3, "kinds": {"agent": 3}, "ftp_records": 3, "rag_records": 0,
                       "teachers": {"scripted/t": 3}, "solvers": {"agent": 3}}
    assert describe(summary) == {"kind": "agent", "ftp": True, "rag": False, "full_finetune": False}
    _records(data, "agent", {"prompt": "teacher"})  # now half the records were made without the prefix
    assert describe(summarize_records(data))["ftp"] is None

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    rag = tmp_path / "cot_rag.jsonl"
    _records(rag, "rag", {}, kind="cot")
    info = {"args": {"full": True}, "training_args": {"learning_rate": 1e-5}, "dataset": {"path": str(rag)}, "base_model": {"name": "Qwen/Qwen2.5-1.5B-Instruct"}}
    (adapter / TRAIN_INFO).write_text(json.dumps(info))
    # read from the data file (older adapters have no data_provenance) ...
    got = training_provenance(f"agentdistill/{adapter}")
    assert (got["kind"], got["rag"], got["ftp"], got["full_finetune"], got["base_model"]) == ("cot", True, False, True, "Qwen/Qwen2.5-1.5B-Instruct")
    # ... but the recorded data_provenance wins and survives the data file; vllm's base:adapter spelling works too
    info["data_provenance"] = summarize_records(data.with_name("agent_ftp.jsonl"))
    (adapter / TRAIN_INFO).write_text(json.dumps(info))
    rag.unlink()
    assert training_provenance(f"vllm/Qwen/Qwen2.5-1.5B-Instruct:{adapter}")["kind"] == "agent"
    del info["data_provenance"]
    (adapter / TRAIN_INFO).write_text(json.dumps(info))
    gone = training_provenance(f"agentdistill/{adapter}")
    assert gone["kind"] is None and "is gone" in gone["note"]
    assert training_provenance("hf/Qwen/Qwen2.5-0.5B-Instruct") is None


@pytest.mark.parametrize(
    "method, distilled, training, expected",
    [
        ("cot", False, None, "CoT Prompting"),
        ("agent", False, None, "Agent Prompting"),
        ("rag", False, None, None),
        ("cot [distilled]", True, {"kind": "cot", "rag": False}, "Distill"),
        ("rag [distilled]", True, {"kind": "cot", "rag": True}, "Distill + RAG"),
        ("cot [distilled]", True, {"kind": "cot", "rag": True}, None),  # retrieval in training, none at inference
        ("agent [distilled]", True, {"kind": "agent", "ftp": False}, "Distill (agent)"),
        ("agent+sag [distilled]", True, {"kind": "agent", "ftp": False}, "+ sag"),
        ("agent [distilled]", True, {"kind": "agent", "ftp": True}, "+ ftp"),
        ("agent+sag [distilled]", True, {"kind": "agent", "ftp": True}, "+ ftp sag"),
        ("agent+ftp [distilled]", True, {"kind": "agent", "ftp": False}, None),  # inference-time prefix: not "+ ftp"
        ("agent+ftp+sag [distilled]", True, {"kind": "agent", "ftp": True}, None),
        ("agent [distilled]", True, {"kind": "agent", "ftp": None}, None),
        ("agent [distilled]", True, None, None),
    ],
)
def test_paper_row_follows_training_provenance_not_inference_flags(method, distilled, training, expected):
    assert paper_method(method, distilled, training)[0] == expected


# ---------------------------------------------------------------- reproduction view


def test_binomial_intervals():
    low, high = wilson(0.5, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    mean, lo, hi = mean_interval([(0.11, 100)] * 8)
    adj = 13 / 104  # Agresti-Coull: (11 + 2) / (100 + 4)
    half = 1.959964 * math.sqrt(8 * adj * (1 - adj) / 104) / 8
    assert (mean, lo, hi) == pytest.approx((0.11, 0.11 - half, 0.11 + half))
    assert mean_interval([(0.0, 20)] * 8)[2] > 0.0  # 0/n still has an interval


def test_reproduction_view_compares_with_the_paper_rows(log_dir):
    row_logs(log_dir, QWEN05, "agentdistill/cot", [0.11] * 8)  # paper CoT Prompting 11.06
    scores = [0.20, 0.24, 0.10, 0.22, 0.30, 0.28, 0.05, 0.08]  # mean 18.375 vs paper + ftp sag 21.90
    row_logs(log_dir, "agentdistill/ftp-lora", "agentdistill/agent_sag", scores, metadata=grid_meta(training=AGENT_FTP))
    row_logs(log_dir, "agentdistill/ftp-lora", "agentdistill/agent", [0.5] * 8, metadata=grid_meta(training=AGENT_FTP))
    row_logs(log_dir, "agentdistill/ftp-lora", None, [0.4] * 8, task_args={"solver": "agent", "ftp": True}, metadata=grid_meta(training=AGENT_FTP))
    plain = dict(AGENT_FTP, ftp=False)
    row_logs(log_dir, "agentdistill/plain-lora", "agentdistill/agent", [0.19] * 8, metadata=grid_meta(training=plain))
    comparisons = compare(build_table(read_runs(log_dir)), load_numbers())

    [cot] = rows_by(comparisons, "cot")
    assert (cot.paper_method, cot.paper, cot.ours, cot.n) == ("CoT Prompting", 11.06, pytest.approx(11.0), 800)
    assert cot.delta == pytest.approx(-0.06) and cot.inside is True
    [best] = rows_by(comparisons, "agent+sag [distilled]")
    assert (best.paper_model, best.paper_method, best.paper) == ("Qwen2.5-0.5B-Instruct", "+ ftp sag", 21.90)
    assert best.ours == pytest.approx(100 * sum(scores) / 8) and best.delta == pytest.approx(18.375 - 21.90)
    expected = mean_interval((s, 100) for s in scores)
    assert (best.lo, best.hi) == pytest.approx((100 * expected[1], 100 * expected[2]))
    assert best.inside is False  # 21.90 lies above our interval [15.8, 21.0]
    [ftp] = [c for c in comparisons if c.our_model == "ftp-lora" and c.our_method == "agent [distilled]"]
    assert (ftp.paper_method, ftp.paper, ftp.inside) == ("+ ftp", 19.99, False)
    [inference_ftp] = rows_by(comparisons, "agent+ftp [distilled]")
    assert inference_ftp.paper_method is None and inference_ftp.paper is None and "inference-time" in inference_ftp.note
    [plain_row] = [c for c in comparisons if c.our_model == "plain-lora"]
    assert (plain_row.paper_method, plain_row.paper, plain_row.inside) == ("Distill (agent)", 19.24, True)


def test_incomplete_rows_stand_ins_and_unknown_provenance(log_dir):
    for task in TEST_TASKS[:5]:
        write_log(log_dir, synthetic_log(task, QWEN05, 0.2, n=100))
    row_logs(log_dir, "agentdistill/smollm2-135m", "agentdistill/cot", [0.05] * 8)
    row_logs(log_dir, "agentdistill/mystery", "agentdistill/agent", [0.1] * 8, metadata=grid_meta("0.5B", training={"kind": None}))
    comparisons = compare(build_table(read_runs(log_dir)), load_numbers(), {"smollm2-135m": "Qwen2.5-0.5B-Instruct"})
    [partial] = [c for c in comparisons if c.our_model == "Qwen2.5-0.5B-Instruct"]
    assert partial.inside is None and "incomplete (5/8" in partial.note
    [stand_in] = [c for c in comparisons if c.our_model == "smollm2-135m"]
    assert stand_in.paper == 11.06 and "stand-in" in stand_in.note and stand_in.n == 800
    assert stand_in.hi < 11.06 and stand_in.inside is False  # 5% of 800: the paper's 11.06 is far above
    [unknown] = [c for c in comparisons if c.our_model == "mystery"]
    assert unknown.paper is None and "provenance unknown" in unknown.note


# ---------------------------------------------------------------- the other artefacts (headers)


def _csv(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_header_artefacts_recompute_the_logged_means(log_dir, tmp_path):
    stats_sag = {"tokens_generated": 410.0, "parse_errors": 0.25, "exec_errors": 0.5, "web_search_calls": 2.5, "steps": 3.0}
    stats_greedy = {"tokens_generated": 300.0, "parse_errors": 1.5, "exec_errors": 1.25, "web_search_calls": 1.0, "steps": 4.0}
    for task in TEST_TASKS:
        write_log(log_dir, synthetic_log(task, QWEN05, 0.3, solver="agentdistill/agent_sag", solver_args={"n": 8}, stats=stats_sag))
        write_log(log_dir, synthetic_log(task, QWEN05, 0.2, solver="agentdistill/agent", stats=stats_greedy))
        write_log(log_dir, synthetic_log(task, QWEN05, 0.25, solver="agentdistill/cot_sc", solver_args={"k": 8},
                                         metadata={"agentdistill_grid": {"method": "cot_sc8"}}))  # a grid label, as in paper.yaml
        write_log(log_dir, synthetic_log(task, "hf/Qwen/Qwen2.5-3B-Instruct", 0.4, solver="agentdistill/agent", stats={"web_search_calls": 3.0}))
        for t, score in ((0.0, 0.3), (0.4, 0.2), (0.8, 0.1)):
            write_log(log_dir, synthetic_log(task, "hf/Qwen/Qwen2.5-1.5B-Instruct", score, solver="agentdistill/cot", solver_args={"temperature": t}))
        for seed, score in ((0, 0.30), (1, 0.40), (2, 0.35)):
            write_log(log_dir, synthetic_log(task, "hf/Qwen/Qwen2.5-7B-Instruct", score, solver="agentdistill/cot", metadata=grid_meta("7B", seed=seed)))
    paths = build(str(log_dir), str(tmp_path / "out"), paper=True)

    tokens = {r["model · method"]: r for r in _csv(paths["figure6_tokens_csv"])}
    assert float(tokens["0.5B Qwen2.5-0.5B-Instruct · agent+sag"]["MATH500"]) == 410.0
    assert float(tokens["0.5B Qwen2.5-0.5B-Instruct · agent"]["AIME"]) == 300.0
    errors = _csv(paths["figure7_errors_csv"])
    sag = [r for r in errors if r["SAG"] == "yes" and r["task"] == "GSM-Hard"]
    greedy = [r for r in errors if r["SAG"] == "no" and r["task"] == "GSM-Hard" and "0.5B" in r["model · method"]]
    assert [float(sag[0]["parse errors"]), float(sag[0]["exec errors"])] == [0.25, 0.5]
    assert [float(greedy[0]["parse errors"]), float(greedy[0]["exec errors"])] == [1.5, 1.25]
    search = {(r["task"], r["size"], r["method"]): float(r["search calls"]) for r in _csv(paths["figure8_retrieval_csv"])}
    assert search[("Bamboogle", "0.5B", "agent+sag")] == 2.5 and search[("Bamboogle", "3B", "agent")] == 3.0
    assert not any(task == "MATH500" for task, _, _ in search)  # retrieval is plotted for the factual tasks
    sc = {(r["model · method"], r["task"]): r for r in _csv(paths["figure5_sag_vs_cotsc_csv"])}
    assert sc[("0.5B Qwen2.5-0.5B-Instruct · cot_sc8", "AIME")]["N"] == "8" and float(sc[("0.5B Qwen2.5-0.5B-Instruct · agent+sag", "AIME")]["accuracy"]) == 30.0
    temps = {float(r["temperature"]): float(r["Avg."]) for r in _csv(paths["table6_temperature_csv"])}
    assert temps == {0.0: 30.0, 0.4: 20.0, 0.8: 10.0}
    [seeds] = _csv(paths["table7_seeds_csv"])
    spread = statistics.stdev([30.0, 40.0, 35.0])
    assert seeds["seeds"] == "3" and seeds["HotpotQA"] == f"35.0 ± {spread:.1f}" and seeds["Avg."] == f"35.0 ± {spread:.1f}"
    assert "No data" in open(paths["table8_lora_full_md"]).read()
    for name in ("figure5_sag_vs_cotsc", "figure6_tokens", "figure7_errors", "figure8_retrieval"):
        assert open(paths[f"{name}_png"], "rb").read(4) == b"\x89PNG"
    page = open(paths["html"]).read()
    assert '<table id="reproduction">' in page and 'id="table6_temperature"' in page and page.count("data:image/png;base64") >= 5


def test_lora_vs_full_table_from_training_provenance(log_dir, tmp_path):
    lora = dict(AGENT_FTP, base_model="Qwen/Qwen2.5-1.5B-Instruct", learning_rate=2e-4)
    full = dict(lora, full_finetune=True, learning_rate=1e-5)
    row_logs(log_dir, "agentdistill/q15-lora", "agentdistill/agent", [0.3] * 8, metadata=grid_meta("1.5B", training=lora))
    row_logs(log_dir, "agentdistill/q15-full", "agentdistill/agent", [0.2] * 8, metadata=grid_meta("1.5B", training=full))
    paths = build(str(log_dir), str(tmp_path / "out"), paper=True, plot=False)
    table = {r["fine-tuning"]: r for r in _csv(paths["table8_lora_full_csv"])}
    assert float(table["LoRA"]["Avg."]) == pytest.approx(30.0) and float(table["full"]["Avg."]) == pytest.approx(20.0)
    assert table["full"]["lr"] == "0.0000" or float(table["full"]["lr"]) == pytest.approx(1e-5)
    repro = {r["our_model"]: r for r in _csv(paths["reproduction_csv"])}
    assert (repro["q15-full"]["paper_table"], repro["q15-full"]["paper"]) == ("table8_lora_vs_full", "26.2400")
    assert (repro["q15-lora"]["paper_table"], repro["q15-lora"]["paper"]) == ("table2", "29.1100")


def test_cli_paper_option_and_stand_in(log_dir, tmp_path, capsys):
    row_logs(log_dir, "agentdistill/smollm2-135m", "agentdistill/cot", [0.1] * 8, n=20)
    out = tmp_path / "out"
    assert leaderboard_main([str(log_dir), "--out", str(out), "--paper", "--no-plot", "--paper-model", "smollm2-135m=Qwen2.5-0.5B-Instruct"]) == 0
    text = (out / "paper" / "reproduction.md").read_text()
    assert "| 0.135B | smollm2-135m | cot | Qwen2.5-0.5B-Instruct · CoT Prompting | Avg. | 11.06 | 10.00 [" in text
    assert "stand-in: smollm2-135m compared with Qwen2.5-0.5B-Instruct" in text
    assert "reproduction_md: " in capsys.readouterr().out


SEEDED_TOY = '''
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import match
from inspect_ai.solver import solver

@solver
def agent_toy(seed: int = 0):
    """Answers the first `seed` samples right: accuracy that depends on the seed the grid passes."""
    async def solve(state, generate):
        right = int(state.sample_id) < seed
        state.output = ModelOutput.from_content("toy", state.target.text if right else "wrong")
        return state
    return solve

@task
def math500():
    return Task(dataset=[Sample(id=str(i), input=f"q{i}", target=str(i)) for i in range(4)], scorer=match())
'''


def test_grid_seeds_and_per_model_methods_feed_table7(tmp_path):
    from agentdistill.leaderboard.grid import main as grid_main
    from agentdistill.leaderboard.grid import parse_config

    toy = tmp_path / "toy.py"
    toy.write_text(SEEDED_TOY)
    config = tmp_path / "grid.yaml"
    config.write_text(
        f"log_dir: {tmp_path / 'logs'}\n"
        f"tasks: ['{toy}@math500']\n"
        "seeds: [1, 3]\n"
        "models:\n"
        "  - {name: scripted/toy-0.5b, args: {script: [{reply: x}]}, methods: [seeded]}\n"
        "  - {name: scripted/other-1.5b, args: {script: [{reply: x}]}, methods: []}\n"
        f"methods:\n  - {{name: seeded, solver: '{toy}@agent_toy'}}\n  - {{name: never, solver: '{toy}@agent_toy'}}\n"
    )
    assert grid_main([str(config)]) == 0
    logs = sorted(p.relative_to(tmp_path / "logs").parts[:3] for p in (tmp_path / "logs").rglob("*.eval"))
    assert logs == [("toy-0.5b", "seeded", "seed-1"), ("toy-0.5b", "seeded", "seed-3")]  # `never` and the 1.5B model: not run
    runs = read_runs(tmp_path / "logs")
    assert sorted((r.grid["seed"], r.generate["seed"], r.headline().value) for r in runs) == [(1, 1, 0.25), (3, 3, 0.75)]
    paths = build(str(tmp_path / "logs"), str(tmp_path / "out"), paper=True, plot=False)
    [row] = _csv(paths["table7_seeds_csv"])
    assert row["seeds"] == "2" and row["MATH500"] == f"50.0 ± {statistics.stdev([25.0, 75.0]):.1f}"
    for bad, message in (({"seeds": [1, 1]}, "distinct"), ({"seeds": [1], "generate": {"seed": 2}}, "either"),
                         ({"models": [{"name": "m", "methods": ["nope"]}]}, "not among")):
        with pytest.raises(ValueError, match=message):
            parse_config({"tasks": ["a"], "models": ["m"], "methods": ["cot"], **bad})


def test_train_full_writes_a_model_folder_at_lr_1e5_with_its_provenance(tmp_path):
    """`agentdistill train --full` (Table 8): all weights, the paper's lr 1e-5, provenance that says so."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from agentdistill.models import embedded
    from agentdistill.distill import train as tr

    folder, gguf = embedded.embedded_dir(), embedded.gguf_path()  # the converted folder, else the tokenizer from the GGUF
    tokenizer = AutoTokenizer.from_pretrained(str(folder)) if folder.is_dir() else AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    base = tmp_path / "tiny-base"
    LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024)).save_pretrained(base)
    tokenizer.save_pretrained(base)
    data = tmp_path / "agent_ftp.jsonl"
    with open(data, "w") as handle:
        for i in range(2):
            handle.write(json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": f"What is {i}+1?"},
                                                  {"role": "assistant", "content": f"Thought: add.\nCode:\n```py\nfinal_answer({i + 1})\n```<end_code>"}],
                                     "kind": "agent", "provenance": {"solver": "agent", "solver_args": {"ftp": True}, "ftp_prefix": "Add."}}) + "\n")
    out = tmp_path / "full"
    assert tr.main(["--data", str(data), "--output_dir", str(out), "--model_name_or_path", str(base), "--full",
                    "--max_steps", "1", "--effective_batch_size", "1", "--max_length", "256", "--save_steps", "100",
                    "--disable_tqdm", "true"]) == 0
    info = json.loads((out / TRAIN_INFO).read_text())
    assert info["training_args"]["learning_rate"] == 1e-5 and info["args"]["full"] is True
    assert info["data_provenance"]["ftp_records"] == 2 and not (out / "adapter_config.json").exists()
    before = LlamaForCausalLM.from_pretrained(base).state_dict()
    after = AutoModelForCausalLM.from_pretrained(out).state_dict()
    assert set(before) == set(after) and any(not (before[k] == after[k]).all() for k in before)  # weights themselves moved
    got = training_provenance(f"agentdistill/{out}")
    assert (got["kind"], got["ftp"], got["full_finetune"], got["learning_rate"]) == ("agent", True, True, 1e-5)


def test_sample_artefacts_figure4_and_table5_from_scripted_runs(tmp_path):
    """Real task logs (scripted model, CoT): MATH500 by subject/level and teacher training-set accuracy by difficulty."""
    from collections import defaultdict

    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import read_eval_log
    from inspect_ai.model import get_model

    import agentdistill.registry  # noqa: F401  (scripted model)
    from agentdistill.tasks._core.benchmark import task_ref as task_spec

    # right when the question has a `$` (LaTeX) or names a film, wrong otherwise: a mix per level and subject
    script = [{"match": r"\$|film", "reply": "<answer>\\boxed{{{target}}}</answer>"}, {"reply": "<answer>\\boxed{-12345}</answer>"}]
    logs = tmp_path / "logs"
    for task, limit in (("math500", 12), ("math_train", 10), ("hotpotqa_train", 4)):
        model = get_model(f"scripted/teacher-{task}", script=script, memoize=False)
        [log] = inspect_eval(task_spec(task), model=model, task_args={"solver": "cot", "judge": "off"}, limit=limit, sample_shuffle=3,
                             log_dir=str(logs / task), display="none")
        assert log.status == "success", log.error
    paths = build(str(logs), str(tmp_path / "out"), paper=True)

    # recompute from the samples, the way a reader would: C/I of the math scorer, em of the factual one
    expected: dict[tuple, list[float]] = defaultdict(list)
    for file in logs.rglob("*.eval"):
        log = read_eval_log(str(file))
        task = log.eval.task.split("/")[-1]
        for sample in log.samples:
            score = sample.scores["math_scorer"].value == "C" if "math_scorer" in sample.scores else sample.scores["factual_scorer"].value["em"]
            meta = sample.metadata
            if task == "math500":
                expected[("subject", meta["subject"])].append(float(score))
                expected[("level", str(meta["level"]))].append(float(score))
            else:
                level = meta.get("level")
                bucket = ("hard (level 4-5)" if int(level) >= 4 else "medium (level 2-3)") if task == "math_train" else str(level)
                expected[(task, bucket)].append(float(score))
    fig4 = {(r["by"], r["group"]): (float(r["accuracy"]), int(r["n"])) for r in _csv(paths["figure4_math500_csv"])}
    assert fig4 == {k: (pytest.approx(100 * sum(v) / len(v)), len(v)) for k, v in expected.items() if k[0] in ("subject", "level")}
    assert sum(n for (by, _), (_, n) in fig4.items() if by == "level") == 12
    assert 0 < sum(a for a, _ in fig4.values()) < 100 * len(fig4)  # a real mix, not all right or all wrong
    table5 = {(r["task"], r["difficulty"]): (float(r["accuracy"]), int(r["n"])) for r in _csv(paths["table5_teacher_train_csv"])}
    assert table5 == {k: (pytest.approx(100 * sum(v) / len(v)), len(v)) for k, v in expected.items() if k[0] in ("math_train", "hotpotqa_train")}
    assert {d for t, d in table5 if t == "math_train"} <= {"hard (level 4-5)", "medium (level 2-3)"}
    assert open(paths["figure4_math500_png"], "rb").read(4) == b"\x89PNG"
    assert "Paper (Qwen2.5-32B-Instruct): Agent Prompting: hard 58.4, medium 78.4" in open(paths["table5_teacher_train_md"]).read()


def test_distill_plus_rag_trajectories_are_marked_and_map_to_the_paper_row(monkeypatch, tmp_path):
    """`agentdistill trajectories run --solver rag`: CoT trajectories made with retrieval -> "Distill + RAG" students."""
    from agentdistill.distill import trajectories as tj
    from agentdistill.solvers.retrieval import tool
    from agentdistill.solvers.retrieval.bm25 import BM25Retriever
    from agentdistill.solvers.retrieval.corpus import Corpus, Passage

    spec = "test-paper-rag"
    corpus = Corpus.from_passages([Passage("a", '"Example"\nA passage the teacher reads: Milhouse, Nixon, Bathurst, moth genus.'),
                                   Passage("b", '"Other"\nAnother passage about something else.')])
    monkeypatch.setitem(tool._RETRIEVERS, spec, BM25Retriever(corpus, cache_root=tmp_path / "cache"))
    script = [{"reply": "Reading the passages. <answer>{{target}}</answer>"}]
    logs = tmp_path / "teacher-rag"
    assert tj.run_teacher(model="scripted/teacher-rag", model_args={"script": script}, tasks=["hotpotqa_train"], log_dir=str(logs),
                          solver="rag", solver_args={"retriever": spec}, task_args={"judge": "off"}, limit=3, display="none")
    conversion = tj.convert_logs([logs])
    assert len(conversion.records) == 3, conversion.summary()
    users = []
    for record in conversion.records:
        assert record["kind"] == "cot" and record["provenance"]["solver"] == "rag"
        users.append("\n".join(m["content"] for m in record["messages"] if m["role"] == "user"))
    # the student is trained on the question with the passages retrieved for it (where BM25 found any here)
    assert any("Doc 1(Title: \"Example\")" in user and "A passage the teacher reads" in user for user in users)
    data = tmp_path / "cot_rag.jsonl"
    tj.write_jsonl(conversion.records, data)
    facts = describe(summarize_records(data))
    assert facts == {"kind": "cot", "ftp": False, "rag": True, "full_finetune": False}
    assert paper_method("rag [distilled]", True, facts)[0] == "Distill + RAG"
    assert paper_method("cot [distilled]", True, facts)[0] is None  # trained with retrieval, tested without: no paper row


def test_paper_grid_covers_every_table2_cell():
    """leaderboard/grids/paper.yaml: every (model, row) of Table 2 is run, judged as the paper did, on the full sets."""
    import os

    from agentdistill.leaderboard import grid
    from agentdistill.leaderboard.paper import model_key
    from agentdistill.leaderboard.runs import method_name

    config = grid.load_config(os.path.join(os.path.dirname(grid.__file__), "grids", "paper.yaml"))
    assert config.limit is None and config.tasks == list(TEST_TASKS)
    assert config.task_args["judge"] == "openai/gpt-4o-mini-2024-07-18"
    # the adapters' folder names say which trajectories trained them (their provenance decides at run time)
    trained = {"cot": {"kind": "cot", "rag": False}, "cot_rag": {"kind": "cot", "rag": True},
               "agent": {"kind": "agent", "ftp": False}, "agent_ftp": {"kind": "agent", "ftp": True}}
    covered = set()
    methods = {m.name: m for m in config.methods}
    for model in config.models:
        base, _, adapter = model.name.partition(":")
        training = trained[adapter.rsplit("-", 1)[1]] if adapter else None
        for name in model.methods:
            solver_method = method_name(methods[name].solver, methods[name].args)
            row, _ = paper_method(solver_method, training is not None, training)
            if row is not None:
                covered.add((model_key(base), row))
    expected = {(model_key(r.model), r.method) for r in load_numbers().table_rows("table2")}
    assert covered == expected
    sag = methods["agent+sag"].args
    assert (sag["n"], sag["temperature"], sag["top_p"]) == (8, 0.4, 0.8)
    assert methods["cot_sc8"].solver == "cot_sc" and methods["cot_sc8"].args == {"k": 8}  # Figure 5's CoT-SC at N=8
