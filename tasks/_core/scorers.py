"""Scorers of the benchmark tasks.

- `math_scorer()`: the solver's explicit final answer (`state.metadata["final_answer"]`) or
  the answer extracted from the completion, checked with `math_equal` against every gold.
- `factual_scorer(judge=...)`: exact match, token F1 and cover-EM always, plus the paper's LLM judge run
  through inspect's `grader` model role: the reference's prompt (`core/reference_texts/judge_prompt.txt`, from
  `score_answers.py`) as the one user message, answered as JSON `{explanation, score}`, asked for with inspect's
  structured output (`ResponseSchema`, enforced by providers that support it, ignored by the others) and read
  with a tolerant parser (`parse_judge_reply`). The judge is on when the user configured that role
  (`--model-role grader=...`), or when an OPENAI_API_KEY is present (then the paper's judge, pinned:
  PAPER_JUDGE_MODEL). It is never the model under test by default. With no judge, the `judge` value is NaN and
  the score says so.

Judge decisions and where they differ from the reference (README "Reproduction"): the judge sees the answer the
reference would have sent (the solver's `final_answer`, else the first `<answer>` tag of the completion, else the
whole completion); temperature 0 is sent (the reference sends none); a reply with no usable 0/1 score (the
reference's run aborts on most of them) is a recorded judge failure scored 0, never correct; a failing judge call
makes only that sample's judge NaN. `judge_failed` counts both.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Any

import anyio
from inspect_ai.model import GenerateConfig, Model, ResponseSchema, get_model, model_roles
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
from inspect_ai.util import JSONSchema
from pydantic import BaseModel

from agentdistill.core.errors import InputError
from agentdistill.core.inspect_compat import active_sample
from agentdistill.core.stats import STAT_KEYS
from agentdistill.core.answers import cover_em, exact_match, extract_answer, math_equal, token_f1
from agentdistill.core.answers.paper_grader import paper_extract, paper_math_equal
from agentdistill.core.reference import reference_text

logger = logging.getLogger(__name__)

# processors/reasoning.py reads the first tag (non-greedy, across lines)
_FIRST_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)

PAPER_JUDGE_MODEL = "openai/gpt-4o-mini-2024-07-18"  # the reference sends the undated "gpt-4o-mini"
GRADER_ROLE = "grader"
JUDGE_OFF = "off"

# Verbatim from the reference; str.format fields {question}, {predicted}, {gold}.
JUDGE_PROMPT = reference_text("judge_prompt.txt")


# The reference's `ResponseFormat`: what the judge is asked to return. (No docstring: pydantic would send it as the
# schema's description, which the reference's schema does not have.)
class JudgeResponse(BaseModel):
    explanation: str
    score: int


# The reference passes its pydantic class to the openai client, which sends it as a strict json_schema named
# "ResponseFormat". inspect's JSONSchema keeps every constraint of it but not pydantic's `title` annotations.
JUDGE_RESPONSE_SCHEMA = ResponseSchema(
    name="ResponseFormat",
    json_schema=JSONSchema.model_validate({**JudgeResponse.model_json_schema(), "additionalProperties": False}),
    strict=True,
)


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


def _paper_output(state: TaskState) -> tuple[str, bool]:
    """What the reference grades, and whether it is a CoT output: an agent's final answer as the reference's
    agent returned it (the `final_answer` value, or the stuck call's raw text), else the model's whole completion."""
    agent = state.metadata.get("agent")
    if isinstance(agent, dict) and agent.get("generated_answer") is not None:
        return str(agent["generated_answer"]), False
    return (state.output.completion if state.output else "") or "", True


@scorer(metrics=[accuracy(), stderr()], name="paper_accuracy")
def paper_math_scorer(timeout_s: float = 10.0):
    """The paper's math score: the reference grader's extraction and equivalence (Qwen2.5-Math style, quirks
    included: percent forms x100, relative tolerance on integers), reimplemented in `core/answers/paper_grader.py`.
    Reported beside `math_scorer` (the project's grader) so a run is comparable with the paper's numbers."""

    async def score(state: TaskState, target: Target) -> Score:
        output, cot = _paper_output(state)
        golds = [g for g in target.target if g is not None]
        pred = paper_extract(output, cot=cot)
        correct = await anyio.to_thread.run_sync(lambda: any(paper_math_equal(pred, gold, timeout_s) for gold in golds))
        return Score(
            value=CORRECT if correct else INCORRECT,
            answer=pred,
            explanation=f"paper grader: {'equal' if correct else 'not equal'}: {pred!r} vs {' | '.join(golds)!r}",
            metadata={"decided_by": "paper_grader", "graded_output": "cot" if cot else "agent_answer"},
        )

    return score


# --------------------------------------------------------------------------- judge

@dataclass(frozen=True)
class JudgeVerdict:
    """A judge reply as read: `score` 0/1 when usable, else None with `failure` saying why."""

    score: int | None
    explanation: str = ""
    failure: str | None = None


def _json_objects(text: str) -> list[Any]:
    """Every JSON object in the text, outermost first: the whole text, a fenced block, or one inside prose."""
    decoder = json.JSONDecoder()
    found = []
    index = text.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        found.append(value)
        index = text.find("{", end)
    return found


def _as_binary(score: Any) -> int | None:
    """0 or 1 from an int, a whole float or a numeric string; None for anything else (2, "yes", true)."""
    if isinstance(score, bool):
        return None
    if isinstance(score, (int, float)) and score in (0, 1):
        return int(score)
    if isinstance(score, str) and score.strip() in ("0", "1"):
        return int(score.strip())
    return None


def parse_judge_reply(reply: str | None) -> JudgeVerdict:
    """Read the judge's `{explanation, score}` JSON reply.

    Accepted (the decisions of `tests/goldens/judge.json`): keys in any order, extra keys, `score` as 1, 1.0 or
    "1". Tolerated beyond the reference (whose openai client raises on them, aborting its scoring run): the JSON
    object inside a code fence or prose, a missing explanation. A failure (score None, never counted correct): no
    JSON object with a `score`, or a score other than 0/1 (the reference counts `2` as two correct answers).
    """
    text = (reply or "").strip()
    if not text:
        return JudgeVerdict(None, failure="empty judge reply")
    objects = [o for o in _json_objects(text) if isinstance(o, dict) and "score" in o]
    if not objects:
        return JudgeVerdict(None, failure=f"no JSON object with a 'score' in the judge reply: {text[-300:]!r}")
    answer = objects[0]
    explanation = answer.get("explanation")
    explanation = explanation if isinstance(explanation, str) else ""
    score = _as_binary(answer["score"])
    if score is None:
        return JudgeVerdict(None, explanation, failure=f"judge score is not 0 or 1: {answer['score']!r}")
    return JudgeVerdict(score, explanation)


def judge_prediction(state: TaskState) -> str | None:
    """The answer the reference's judge would see: the solver's final answer (agents), else the first `<answer>`
    tag's content of the completion, stripped, else the whole completion (`processors/reasoning.py`); None when
    there is no output at all."""
    final = state.metadata.get("final_answer")
    if final is not None:
        return str(final)
    completion = state.output.completion if state.output else ""
    if not completion:
        return None
    tag = _FIRST_ANSWER_TAG.search(completion)
    return tag.group(1).strip() if tag else completion


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
# A Task's metrics replace those of every scorer, so the run stats' own metrics are repeated here.
NO_JUDGE_METRICS: dict[str, list[Any]] = {"em": [mean(), stderr()], "f1": [mean()], "cover_em": [mean()],
                                          **{key: [mean()] for key in STAT_KEYS}}


JUDGE_OFF_VALUES = (JUDGE_OFF, "none", "false", "no", "0")
JUDGE_AUTO_VALUES = ("auto", "on", "true", "grader")


def check_judge(judge: str | None) -> None:
    """Refuse a judge that is neither auto/off nor a `provider/model` name (a typo would fail on every sample)."""
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


def judge_prompt(question: str, prediction: str, golds: list[str]) -> str:
    """The reference's judge prompt for one answer (golds joined by " | "; the reference's sets have one gold)."""
    return JUDGE_PROMPT.format(question=question, predicted=prediction, gold=" | ".join(golds))


# Sent with every judge call: structured output where the provider supports it; temperature 0 is a documented
# difference (the reference sends none, so gpt-4o-mini samples at its default of 1).
JUDGE_CONFIG = GenerateConfig(temperature=0, response_schema=JUDGE_RESPONSE_SCHEMA)


@scorer(
    metrics={
        "judge": [mean(), stderr()],
        "em": [mean(), stderr()],
        "f1": [mean()],
        "cover_em": [mean()],
        "judge_failed": [mean()],
    }
)
def factual_scorer(judge: str | None = "auto", judge_aggregated: bool = True):
    """LLM judge (the reference's prompt and JSON answer, grader role) plus EM, token F1 and cover-EM.

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
            "judge_failed": 0.0,
        }
        metadata: dict[str, Any] = {"answer_source": source, "gold": golds}
        try:
            model, about = resolve_judge(judge)
        except Exception as ex:  # e.g. the judge's provider is not installed
            model, about = None, f"judge error: could not create the judge model: {ex}"
            metadata["judge"] = "error"
            value["judge_failed"] = 1.0
        else:
            metadata["judge"] = "on" if model is not None else JUDGE_OFF
            if model is None:
                _warn_once(about)
            elif not judge_aggregated:
                _warn_once(about, "factual_scorer: %s ran, but the task was built before it was configured, so its "
                                  "metrics show exact match (em) only; the verdicts are in each sample's score")
        explanation = about
        judged = judge_prediction(state)
        if model is not None and judged is None:
            value["judge"] = 0.0
            metadata["judge_model"] = str(model)
            explanation = f"{about}: no output to judge, judged 0 without a call"
        elif model is not None:
            metadata["judge_model"] = str(model)
            metadata["judge_prediction"] = judged
            try:
                output = await model.generate(judge_prompt(_question(state), judged, golds), config=JUDGE_CONFIG)
                if output.error:
                    raise RuntimeError(output.error)
            except Exception as ex:
                # like a malformed reply: scored 0 and counted in judge_failed, so the judge's mean (the headline)
                # stays a number and says how many verdicts are missing, instead of turning NaN
                value["judge"] = 0.0
                metadata["judge"] = "error"
                metadata["judge_error"] = f"{type(ex).__name__}: {ex}"
                value["judge_failed"] = 1.0
                explanation = f"judge error ({about}), scored 0: {type(ex).__name__}: {ex}"
            else:
                reply = output.completion
                metadata["judge_reply"] = reply
                verdict = parse_judge_reply(reply)
                if verdict.score is None:
                    # the reference's scoring run aborts here; one bad reply must not lose a whole run
                    value["judge"] = 0.0
                    value["judge_failed"] = 1.0
                    metadata["judge"] = "failed"
                    metadata["judge_error"] = verdict.failure
                    explanation = f"judge failure ({about}), scored 0: {verdict.failure}"
                else:
                    value["judge"] = float(verdict.score)
                    explanation = f"{about}: score {verdict.score}: {verdict.explanation}"
        if metadata["judge"] in ("failed", "error"):
            metadata["decided_by"] = "judge_failure"
        else:
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
