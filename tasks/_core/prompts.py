"""The CoT prompt: how a benchmark question is put to a model for the CoT baseline, as the paper's runs put it.

The reference (`processors/reasoning.py` in the authors' code) sends `teacher_model.yaml`'s `system_prompt` as the
system turn and the bare question as the user turn, the same in every domain; RAG puts the retrieved documents
string, a newline, then the question in the user turn. Both are proven byte for byte against
`tests/goldens/cot_rag_prompts.json` by `tests/test_reference_parity_cot.py`.

It lives with the tasks because both harnesses send it: inspect's `cot`/`rag`/`cot_sc` solvers and the lm-eval twins
(`lm_eval_utils`). `cot_messages()` also gives the agent's first-thought prefix its CoT call.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai.model import ChatMessage, ChatMessageSystem, ChatMessageUser

from agentdistill.core.reference import reference_yaml

# Verbatim: its last line ends with a space ("...the following question: "), and the question follows it in the
# next turn, not on that line.
COT_SYSTEM_PROMPT: str = reference_yaml("teacher_model.yaml", "system_prompt")

COT_MAX_TOKENS = 4096  # run_cot_student.sh: --max_tokens 4096


def cot_messages(question: str, domain: str, passages: str | None = None) -> list[ChatMessage]:
    """System + user messages of the CoT prompt.

    `domain` does not change the prompt (the reference sends one prompt to every domain; its math instruction is a
    line of the system prompt); it stays in the signature so callers need not know that. With `passages` (RAG) the
    user turn is `passages + "\\n" + question`, passages as `rag_documents()` formats them. The question is sent
    as given (not stripped), as the reference does.
    """
    del domain  # one prompt for every domain (see above)
    user = question if passages is None else passages + "\n" + question
    return [ChatMessageSystem(content=COT_SYSTEM_PROMPT), ChatMessageUser(content=user)]


def rag_documents(contents: Sequence[str]) -> str:
    """The RAG documents string: one `Doc i(Title: t) text` line per passage (1-based), each ending in a newline.

    Passages are wiki-18's `"Title"\\ntext` form: the title is the first line, quotes kept; the text is the rest.
    This is the format of the goldens (Search-R1's passage string, which the reference's precomputed
    `data_processor/retrieved_documents/*.json` files are assumed to hold: those files are not in its repository).
    """
    lines = []
    for index, passage in enumerate(contents, start=1):
        title, _, text = passage.partition("\n")
        lines.append(f"Doc {index}(Title: {title}) {text}\n")
    return "".join(lines)
