"""The lm-eval twins: group averages (fast, with a gold-answering lm-eval LM) and, against the inspect tasks on the
real embedded model (slow), same items, same answers, same scores.

One math task (gsm_hard) and one factual task (hotpotqa), their first ITEMS items, greedy, MAX_TOKENS new tokens:
under lm-eval (`simple_evaluate`, the hf model on the converted embedded folder, `--apply_chat_template`, as the
YAML header documents) and under inspect's `cot` solver (`agentdistill/smollm2-135m`). Both run one sequence at a
time (lm-eval batch_size=1; inspect max_connections=1) so no padding enters the numerics; with that, the completions
themselves are expected to be identical, and the extracted answers and scores must be.

Where the harnesses differ and why (also in CONTRIBUTING.md):
- chat template: inspect's model API always renders the chat template (system + user); lm-eval does only with
  `--apply_chat_template` (without it the prompt is plain text: system prompt, blank line, user prompt);
- stop sequences: the cot solver sets none (generation ends at the end-of-turn token or the token limit); lm-eval
  needs an explicit `until` (its default is a blank line, which would cut the reasoning), so the YAMLs list only
  chat end markers, and lm-eval adds the tokenizer's EOS;
- max tokens: the YAMLs pin max_gen_toks to COT_MAX_TOKENS (4096), which lm-eval also subtracts from the context
  window for left truncation; this test lowers both sides to MAX_TOKENS;
- batching: inspect's model API batches concurrent samples into one left-padded forward pass, lm-eval batches by
  its own batch_size; padded fp32 batches can change a greedy argmax on near ties, so exact agreement is asserted
  at batch 1;
- the factual LLM judge exists only under inspect (the grader role); lm-eval reports EM / F1 / cover-EM;
- engine: the twins compare harnesses, not engines, so inspect's side names the transformers engine (`-M engine=kv`,
  the default) as lm-eval's hf model runs transformers (`-M engine=llamacpp`, Q8_0 weights, changes greedy tokens).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

# float32, as lm-eval's hf model (the kv engine's CPU default, int8 activations, changes greedy text: README)
SAME_NUMERICS = {"engine": "kv", "quantize": "none"}

ROOT = Path(__file__).resolve().parent.parent
TASKS = {"gsm_hard": "math", "hotpotqa": "factual"}
MATH = ("math500", "gsm_hard", "aime", "olymmath")
FACTUAL = ("hotpotqa", "bamboogle", "musique", "2wikimultihopqa")


def test_groups_average_weighted_by_size():
    """The eight twins under the `agentdistill_all` group with an lm-eval LM that answers only aime and bamboogle
    right (the gold, in the cot output format): per-task scores come from the project's scorers and the groups
    average by item count."""
    from lm_eval import simple_evaluate
    from lm_eval.api.model import LM
    from lm_eval.tasks import TaskManager

    from agentdistill.tasks._core.data import load_samples

    golds = {}
    for name, boxed in (("aime", True), ("bamboogle", False)):
        for sample in load_samples(name):
            gold = sample.target[0] if isinstance(sample.target, list) else sample.target
            golds[sample.input] = f"<answer>\\boxed{{{gold}}}</answer>" if boxed else f"<answer>{gold}</answer>"

    class GoldLM(LM):
        def generate_until(self, requests):
            replies = []
            for request in requests:
                context = request.args[0]
                replies.append(next((f"Step by step.\n\n{reply}" for q, reply in golds.items() if q in context), "No idea."))
            return replies

        def loglikelihood(self, requests):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError

    limit = 0.02  # ceil(2% of each task): different sizes, so weighting shows
    out = simple_evaluate(
        model=GoldLM(), tasks=["agentdistill_all"], limit=limit,
        task_manager=TaskManager(include_path=str(ROOT / "tasks"), include_defaults=False),
    )
    results = out["results"]
    sizes = {name: math.ceil(len(load_samples(name)) * limit) for name in MATH + FACTUAL}
    assert results["aime"]["acc,none"] == results["aime"]["score,none"] == 1.0
    assert results["bamboogle"]["em,none"] == results["bamboogle"]["cover_em,none"] == 1.0
    for name in set(MATH + FACTUAL) - {"aime", "bamboogle"}:
        assert results[name]["score,none"] == 0.0, name
    math_score = sizes["aime"] / sum(sizes[n] for n in MATH)
    factual_score = sizes["bamboogle"] / sum(sizes[n] for n in FACTUAL)
    all_score = (sizes["aime"] + sizes["bamboogle"]) / sum(sizes.values())
    assert math.isclose(results["agentdistill_math"]["score,none"], math_score)
    assert math.isclose(results["agentdistill_math"]["acc,none"], math_score)
    assert math.isclose(results["agentdistill_factual"]["score,none"], factual_score)
    assert math.isclose(results["agentdistill_all"]["score,none"], all_score)
    assert not math.isclose(all_score, (math_score + factual_score) / 2)  # weighted, not a mean of means
ITEMS = 2
MAX_TOKENS = 64  # 96 gave 4/4 identical completions (2026-11-27); 64 keeps the slow set short


@pytest.mark.slow
def test_lm_eval_and_inspect_cot_agree_on_the_embedded_model(tmp_path, monkeypatch):
    from inspect_ai import eval as inspect_eval
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from agentdistill.models.embedded import prepare_embedded
    from agentdistill.tasks._core.lm_eval_utils import score_completion

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(ROOT)
    model_dir = prepare_embedded()

    lm = simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32",
        tasks=list(TASKS),
        task_manager=TaskManager(include_path=str(ROOT / "tasks"), include_defaults=False),
        limit=ITEMS,
        batch_size=1,
        device="cpu",
        apply_chat_template=True,
        gen_kwargs={"max_gen_toks": MAX_TOKENS},
        log_samples=True,
    )
    logs = inspect_eval(
        [f"tasks/{name}" for name in TASKS],
        model="agentdistill/smollm2-135m",
        model_args=SAME_NUMERICS,
        task_args={"max_tokens": MAX_TOKENS},  # passed on to the cot solver
        limit=ITEMS,
        max_connections=1,
        log_dir=str(tmp_path),
        display="none",
    )

    rows = []
    for log in logs:
        name = log.eval.task.split("/")[-1]
        domain = TASKS[name]
        assert log.status == "success", log.error
        inspect_by_id = {str(s.id): s for s in log.samples}
        lm_samples = lm["samples"][name]
        assert sorted(d["doc"]["id"] for d in lm_samples) == sorted(inspect_by_id)  # the same items
        for entry in lm_samples:
            doc = entry["doc"]
            sample = inspect_by_id[doc["id"]]
            lm_text = entry["resps"][0][0]
            lm_scores = score_completion(lm_text, doc["golds"], domain)
            if domain == "math":
                score = sample.scores["math_scorer"]
                inspect_scores = {"acc": 1.0 if score.value == "C" else 0.0}
                lm_metrics = {"acc": entry["acc"]}
            else:
                score = sample.scores["factual_scorer"]
                inspect_scores = {k: score.value[k] for k in ("em", "f1", "cover_em")}
                lm_metrics = {k: entry[k] for k in ("em", "f1", "cover_em")}
            rows.append((name, doc["id"], lm_scores["answer"], score.answer, lm_metrics, inspect_scores,
                         lm_text == sample.output.completion))
            assert lm_text.strip() == sample.output.completion.strip(), (name, doc["id"], lm_text, sample.output.completion)
            assert lm_scores["answer"] == score.answer, (name, doc["id"])
            for key, value in inspect_scores.items():
                assert math.isclose(lm_metrics[key], value), (name, doc["id"], key, lm_metrics[key], value)

        # the task-level numbers agree too
        lm_value = lm["results"][name]["acc,none" if domain == "math" else "em,none"]
        inspect_value = next(
            m.value for s in log.results.scores for k, m in s.metrics.items()
            if (domain == "math" and s.name == "math_scorer" and k == "accuracy") or (domain == "factual" and s.name == "em")
        )
        assert math.isclose(lm_value, inspect_value), (name, lm_value, inspect_value)

    print("\ntask | id | lm-eval answer | inspect answer | lm-eval scores | inspect scores | same completion")
    for row in rows:
        print(" | ".join(str(v) for v in row))
    assert len(rows) == ITEMS * len(TASKS)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


@pytest.mark.slow
def test_a_distilled_adapter_runs_under_lm_eval_peft_and_inspect_alike(tmp_path, monkeypatch):
    """`--model_args pretrained=<dir>,peft=<adapter>` with an adapter written by `agentdistill train`: lm-eval loads
    it, and gives the same completion and score as inspect serving the same adapter (`agentdistill/<adapter>`)."""
    import json

    from inspect_ai import eval as inspect_eval
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from agentdistill.cli import main as cli
    from agentdistill.models.embedded import prepare_embedded

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(ROOT)
    turn = "Thought: add them.\nCode:\n```py\nfinal_answer(5)\n```<end_code>"
    record = {"messages": [{"role": "system", "content": "You are a helpful agent."},
                           {"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": turn}]}
    data = tmp_path / "traj.jsonl"
    data.write_text("\n".join(json.dumps(record) for _ in range(4)) + "\n")
    adapter = tmp_path / "adapter"
    assert cli(["train", "--data", str(data), "--output_dir", str(adapter), "--max_steps", "1", "--threads", "1",
                "--disable_tqdm", "true"]) == 0
    assert (adapter / "adapter_config.json").is_file()

    tokens = 24
    lm = simple_evaluate(
        model="hf",
        model_args=f"pretrained={prepare_embedded()},peft={adapter},dtype=float32",
        tasks=["gsm_hard"],
        task_manager=TaskManager(include_path=str(ROOT / "tasks"), include_defaults=False),
        limit=1,
        batch_size=1,
        device="cpu",
        apply_chat_template=True,
        gen_kwargs={"max_gen_toks": tokens},
        log_samples=True,
    )
    (log,) = inspect_eval("tasks/gsm_hard", model=f"agentdistill/{adapter}", model_args=SAME_NUMERICS, task_args={"max_tokens": tokens},
                          limit=1, max_connections=1, log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success", log.error
    (entry,) = lm["samples"]["gsm_hard"]
    (sample,) = log.samples
    assert entry["doc"]["id"] == str(sample.id)
    assert entry["resps"][0][0].strip() == sample.output.completion.strip()
    assert entry["acc"] == (1.0 if sample.scores["math_scorer"].value == "C" else 0.0)
