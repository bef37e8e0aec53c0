"""Scorers of the benchmark tasks.

- `math_scorer()`: the solver's explicit final answer (`state.metadata["final_answer"]`) or
  the answer extracted from the completion, checked with `math_equal` against every gold.
- `factual_scorer(judge=...)`: exact match, token F1 and cover-EM always, plus an LLM judge
  with the paper's 0/1 semantics run through inspect's `grader` model role. The judge is
  on when the user configured that role (`--model-role grader=...`), or when an
  OPENAI_API_KEY is present (then the paper's judge, pinned: PAPER_JUDGE_MODEL, temperature
  0). It is never the model under test by default. With no judge, the `judge` value is NaN
  and the score says so; a failing judge call makes only that sample's judge an error.
"""

from __future__ import annotations

import logging
import math
import os
import re
from typing import Any

import anyio
from inspect_ai.model import GenerateConfig, Model, get_model, model_roles
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Score,
    Target,
    accuracy,
    mean,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState

from agentdistill.core.inspect_compat import active_sample
from agentdistill.core.answers import cover_em, exact_match, extract_answer, math_equal, token_f1

logger = logging.getLogger(__name__)

PAPER_JUDGE_MODEL = "openai/gpt-4o-mini-2024-07-18"
GRADER_ROLE = "grader"
JUDGE_OFF = "off"

JUDGE_PROMPT = """You are grading an answer to a factual question against the reference answer.

Question: {question}
Reference answer (alternatives separated by " | "): {gold}
Predicted answer: {prediction}

Decide whether the predicted answer means the same thing as the reference answer.
- Count it correct when it names the same entity, date, number or yes/no decision, even
  if worded differently, abbreviated, more or less precise in a harmless way, or when it
  matches any one of the alternatives.
- Count it incorrect when it names something else, hedges between several candidates,
  says it does not know, or is a long answer that never states the key fact of the
  reference.

Explain your decision in one or two sentences, then give the verdict on the last line as
exactly "VERDICT: 1" (correct) or "VERDICT: 0" (incorrect)."""


def _final_answer(state: TaskState, domain: str) -> tuple[str | None, str]:
    if state.metadata.get("no_answer"):  # the solver decided there is no answer (e.g. cot_sc with no votes)
        return None, "no_answer"
    final = state.metadata.get("final_answer")
    if final is not None and str(final).strip():
        return str(final).strip(), "final_answer"
    return extract_answer(state.output.completion if state.output else "", domain), "extracted"


@scorer(metrics=[accuracy(), stderr()])
def math_scorer(timeout_s: float = 5.0):
    """Math equivalence (string, numeric rel. tol. 1e-4, tuples/intervals/matrices, sympy)."""

    async def score(state: TaskState, target: Target) -> Score:
        pred, source = _final_answer(state, "math")
        golds = [g for g in target.target if g is not None]
        correct = False
        if pred is not None:
            correct = await anyio.to_thread.run_sync(
                lambda: any(math_equal(pred, gold, timeout_s) for gold in golds)
            )
        return Score(
            value=CORRECT if correct else INCORRECT,
            answer=pred,
            explanation=(
                f"{'equal' if correct else 'not equal'}: answer {pred!r} ({source}) vs gold "
                f"{' | '.join(golds)!r}" if pred is not None else "no final answer found in the output"
            ),
            metadata={"decided_by": "math_equal", "answer_source": source, "gold": golds},
        )

    return score


# --------------------------------------------------------------------------- judge

def parse_judge_reply(reply: str) -> int | None:
    """The judge's 0/1 verdict, or None when the reply states none."""
    text = (reply or "").strip()
    if not text:
        return None
    found = re.findall(r"verdict\W*\s*([01])\b", text, re.IGNORECASE)
    if found:
        return int(found[-1])
    last = text.splitlines()[-1].strip().strip("*. ").lower()
    if last in ("1", "0"):
        return int(last)
    if re.fullmatch(r"(?:the answer is )?(correct|true|yes)", last):
        return 1
    if re.fullmatch(r"(?:the answer is )?(incorrect|false|no|wrong)", last):
        return 0
    return None


def resolve_judge(judge: str | None) -> tuple[Model | None, str]:
    """The judge model (or None) and a plain sentence saying which and why.

    Must be called while an eval runs (model roles exist only then).
    """
    if judge is None or str(judge).lower() in (JUDGE_OFF, "none", "false", "no", "0"):
        return None, "judge off: disabled by the task argument judge=off"
    config = GenerateConfig(temperature=0)
    if str(judge).lower() not in ("auto", "on", "true", "grader"):
        return get_model(str(judge), config=config), f"judge {judge} (task argument judge=)"
    roles = model_roles()
    if GRADER_ROLE in roles:
        model = get_model(role=GRADER_ROLE)
        return model, f"judge {model} (model role '{GRADER_ROLE}')"
    if os.environ.get("OPENAI_API_KEY"):
        try:
            model = get_model(role=GRADER_ROLE, default=PAPER_JUDGE_MODEL, config=config)
        except Exception as ex:
            raise RuntimeError(f"{PAPER_JUDGE_MODEL} (OPENAI_API_KEY present): {ex}") from ex
        return model, f"judge {PAPER_JUDGE_MODEL} (OPENAI_API_KEY present, temperature 0)"
    return None, "judge off: no 'grader' model role and no OPENAI_API_KEY"


JUDGE_HOW_TO = (
    "turn the judge on with --model-role grader=" + PAPER_JUDGE_MODEL + " (or any model), or set OPENAI_API_KEY"
)

# Metrics when no judge will run: exact match first (the headline inspect prints and the log's first metric), no
# all-NaN judge column. With a judge, the scorer's own order applies: the judge first.
NO_JUDGE_METRICS: dict[str, list[Any]] = {"em": [mean(), stderr()], "f1": [mean()], "cover_em": [mean()]}


JUDGE_OFF_VALUES = (JUDGE_OFF, "none", "false", "no", "0")
JUDGE_AUTO_VALUES = ("auto", "on", "true", "grader")


def check_judge(judge: str | None) -> None:
    """Refuse a judge that is neither auto/off nor a `provider/model` name (a typo would fail on every sample)."""
    from agentdistill.core.errors import InputError

    text = str(judge).lower()
    if judge is None or text in JUDGE_OFF_VALUES or text in JUDGE_AUTO_VALUES or "/" in str(judge):
        return
    raise InputError(f"task argument judge={judge!r}: expected auto, off, or a judge model such as {PAPER_JUDGE_MODEL}")


def judge_planned(judge: str | None) -> tuple[bool, str]:
    """Whether a judge will run for `judge`, and why; decided when the task is built (inspect has resolved model
    roles by then), so the headline metric can be named for what it is."""
    if judge is None or str(judge).lower() in (JUDGE_OFF, "none", "false", "no", "0"):
        return False, "judge off (task argument judge=off)"
    if str(judge).lower() not in ("auto", "on", "true", "grader"):
        return True, f"judge {judge} (task argument judge=)"
    try:
        roles = model_roles()
    except Exception:  # outside an eval there are no roles
        roles = {}
    if GRADER_ROLE in roles:
        return True, f"judge: model role '{GRADER_ROLE}'"
    if os.environ.get("OPENAI_API_KEY"):
        return True, f"judge {PAPER_JUDGE_MODEL} (OPENAI_API_KEY present)"
    return False, "judge off (no 'grader' model role, no OPENAI_API_KEY)"


def headline_metrics(task: str, judge: str | None) -> dict[str, list[Any]] | None:
    """The Task metrics of a factual task: None (the scorer's, judge first) when a judge will run, else exact match
    first, with one warning line saying the judge is off and how to turn it on."""
    on, about = judge_planned(judge)
    if on:
        return None
    logger.warning("%s: %s: the headline score is exact match (em), not the LLM judge; %s", task, about, JUDGE_HOW_TO)
    return NO_JUDGE_METRICS


_WARNED: set[str] = set()


def _warn_once(message: str, text: str = "factual_scorer: %s: the headline is exact match (em); " + JUDGE_HOW_TO) -> None:
    """Say in the eval's log (once per eval and reason) that the judge is off."""
    try:
        active = active_sample()
        eval_id = getattr(active, "eval_id", None) or ""
    except Exception:
        eval_id = ""
    key = f"{eval_id}:{message}"
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning(text, message)


def _question(state: TaskState) -> str:
    if isinstance(state.input, str):
        return state.input
    return state.input_text


@scorer(
    metrics={
        "judge": [mean(), stderr()],
        "em": [mean(), stderr()],
        "f1": [mean()],
        "cover_em": [mean()],
    }
)
def factual_scorer(judge: str | None = "auto", judge_aggregated: bool = True):
    """LLM judge (paper's 0/1 semantics, grader role) plus EM, token F1 and cover-EM.

    Args:
      judge: "auto" (grader role if configured, else the paper's judge when
        OPENAI_API_KEY is set, else off), "off", or a model name to use as judge.
      judge_aggregated: False when the task's metrics leave the judge out (no judge was
        planned when the task was built: `headline_metrics`); a judge that runs anyway is
        then said once in the log.
    """

    async def score(state: TaskState, target: Target) -> Score:
        pred, source = _final_answer(state, "factual")
        golds = [g for g in target.target if g is not None]
        value: dict[str, Any] = {
            "judge": math.nan,
            "em": exact_match(pred, golds),
            "f1": token_f1(pred, golds),
            "cover_em": cover_em(pred, golds),
        }
        metadata: dict[str, Any] = {"answer_source": source, "gold": golds}
        try:
            model, about = resolve_judge(judge)
        except Exception as ex:  # e.g. the judge's provider is not installed
            model, about = None, f"judge error: could not create the judge model: {ex}"
            metadata["judge"] = "error"
        else:
            metadata["judge"] = "on" if model is not None else JUDGE_OFF
            if model is None:
                _warn_once(about)
            elif not judge_aggregated:
                _warn_once(about, "factual_scorer: %s ran, but the task was built before it was configured, so its "
                                  "metrics show exact match (em) only; the verdicts are in each sample's score")
        explanation = about
        if model is not None and pred is None:
            value["judge"] = 0.0
            metadata["judge_model"] = str(model)
            explanation = f"{about}: no answer found in the output, judged 0 without a call"
        elif model is not None:
            metadata["judge_model"] = str(model)
            prompt = JUDGE_PROMPT.format(
                question=_question(state), gold=" | ".join(golds), prediction=pred
            )
            try:
                output = await model.generate(prompt, config=GenerateConfig(temperature=0))
                if output.error:
                    raise RuntimeError(output.error)
                reply = output.completion
                verdict = parse_judge_reply(reply)
                if verdict is None:
                    raise ValueError(f"unparseable judge reply: {reply[-300:]!r}")
                value["judge"] = float(verdict)
                metadata["judge_reply"] = reply
                explanation = f"{about}: {reply.strip()}"
            except Exception as ex:
                metadata["judge"] = "error"
                metadata["judge_error"] = f"{type(ex).__name__}: {ex}"
                explanation = f"judge error ({about}): {type(ex).__name__}: {ex}"
        metadata["decided_by"] = "judge" if not math.isnan(value["judge"]) else "exact_match"
        return Score(
            value=value,
            answer=pred,
            explanation=(
                f"{explanation}\nanswer {pred!r} ({source}); gold {' | '.join(golds)!r}; "
                f"em={value['em']:.0f} f1={value['f1']:.2f} cover_em={value['cover_em']:.0f}"
            ),
            metadata=metadata,
        )

    return score
