"""The CoT prompt: how a benchmark question is put to a model for the CoT baseline.

It lives with the tasks because both harnesses send it: inspect's `cot`/`rag`/`cot_sc` solvers and the lm-eval twins
(`lm_eval_utils`). `cot_messages()` also gives the agent's first-thought prefix its CoT call.
"""

from __future__ import annotations

from inspect_ai.model import ChatMessage, ChatMessageSystem, ChatMessageUser

COT_SYSTEM_PROMPT = "You are a helpful assistant who solves problems by reasoning carefully, step by step."

COT_MATH_PROMPT = (
    "Solve the following math problem. Think step by step and show your reasoning. "
    "At the end, give the final answer inside <answer></answer> tags, written as an exact "
    "value in \\boxed{}, for example <answer>\\boxed{42}</answer>.\n\n"
    "Problem: {question}"
)

COT_FACTUAL_PROMPT = (
    "Answer the following question. Think step by step and show your reasoning. "
    "At the end, give the final answer inside <answer></answer> tags: a short phrase such as "
    "a name, a date, a number or yes/no, for example <answer>Paris</answer>.\n\n"
    "Question: {question}"
)

COT_PASSAGES_PROMPT = "Here are passages that may help you answer:\n\n{passages}\n\n"

COT_MAX_TOKENS = 4096

def cot_messages(question: str, domain: str, passages: str | None = None) -> list[ChatMessage]:
    """System + user messages of the CoT prompt (`passages` prepended to the question for RAG)."""
    template = COT_MATH_PROMPT if domain == "math" else COT_FACTUAL_PROMPT
    user = template.replace("{question}", question.strip())
    if passages:
        user = COT_PASSAGES_PROMPT.replace("{passages}", passages.strip()) + user
    return [ChatMessageSystem(content=COT_SYSTEM_PROMPT), ChatMessageUser(content=user)]
