"""Parse one agent turn: `Thought: ...` + `Code:` + a ```py block closed by ```<end_code>.

Lenient with the variants small models write: ```python / ```py3 / bare ``` fences, a missing `Code:` label, a
missing closing fence (the stop sequence or max tokens cut it), `<code>...</code>` tags, several code blocks (joined),
or a reply that is nothing but valid Python. Anything else raises `ParseError`, whose message tells the model what was
wrong and shows the expected format; the loop feeds it back as the observation.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from agentdistill.solvers.agent.prompts import END_CODE, PARSE_ERROR_MESSAGE


class ParseError(ValueError):
    """The model's turn has no usable code; `str(error)` is the observation sent back to the model."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(PARSE_ERROR_MESSAGE.format(reason=reason))


@dataclass(frozen=True)
class ParsedAction:
    thought: str
    code: str


_FENCE_CLOSED = re.compile(r"```[ \t]*(?:py|python|python3|py3|Python)?[ \t]*\n(.*?)```", re.DOTALL)
_FENCE_OPEN = re.compile(r"```[ \t]*(?:py|python|python3|py3|Python)?[ \t]*\n(.*)\Z", re.DOTALL)
_CODE_TAG = re.compile(r"<code>(.*?)(?:</code>|\Z)", re.DOTALL)
_THOUGHT = re.compile(r"^\s*(?:\*\*)?Thoughts?\s*(?::\s*\*\*|\*\*\s*:|:)\s*", re.IGNORECASE)
_CODE_LABEL = re.compile(r"(?:\*\*)?Code\s*(?::\s*\*\*|\*\*\s*:|:)\s*\Z", re.IGNORECASE)


def _thought_before(text: str, start: int) -> str:
    head = text[:start].rstrip()
    head = _CODE_LABEL.sub("", head).rstrip()
    return _THOUGHT.sub("", head).strip()


def _check_syntax(code: str) -> None:
    try:
        ast.parse(code)
    except SyntaxError as err:
        line = f" (line {err.lineno})" if err.lineno else ""
        detail = f": {err.text.strip()}" if err.text else ""
        raise ParseError(f"the code is not valid Python: {err.msg}{line}{detail}") from None


def parse_action(text: str) -> ParsedAction:
    """Split a turn into thought and code; raise `ParseError` when there is no runnable code."""
    body = text.replace(END_CODE, "").replace("\r\n", "\n")
    if not body.strip():
        raise ParseError("the reply was empty.")

    blocks = [(m.start(), m.group(1)) for m in _FENCE_CLOSED.finditer(body)]
    if not blocks:
        tags = [(m.start(), m.group(1)) for m in _CODE_TAG.finditer(body)]
        if tags:
            blocks = tags
    if not blocks:
        match = _FENCE_OPEN.search(body)
        if match:  # an unclosed block: the stop sequence or max tokens cut the closing fence
            blocks = [(match.start(), match.group(1))]
    if blocks:
        code = "\n\n".join(block.strip("\n") for _, block in blocks if block.strip())
        if not code.strip():
            raise ParseError("the code block was empty.")
        _check_syntax(code)
        return ParsedAction(thought=_thought_before(body, blocks[0][0]), code=code)

    # No fence at all: accept the reply if it is valid Python with at least one statement beyond a bare name,
    # else explain.
    stripped = body.strip()
    if _THOUGHT.match(body):  # "Thought: x" would parse as an annotated assignment
        raise ParseError('there was a "Thought:" but no code block after it.')
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        tree = None
    if tree is not None and tree.body and not all(
        isinstance(node, ast.Expr) and isinstance(node.value, (ast.Name, ast.Constant)) for node in tree.body
    ):
        return ParsedAction(thought="", code=stripped)
    raise ParseError("no code block was found.")


def normalize_turn(text: str) -> str:
    """The assistant turn as it is recorded: stripped, and closed with ```<end_code> when a code block is open.

    The stop sequence removes `<end_code>` from the completion; putting it back keeps the recorded trajectory (and so
    the distillation target) in the exact format the prompt asks for.
    """
    turn = text.rstrip()
    if turn.endswith(END_CODE):
        return turn
    if turn.endswith("```"):
        return turn + END_CODE
    fences = turn.count("```")
    if fences % 2 == 1:  # an open block (cut before its closing fence)
        return turn + "\n```" + END_CODE
    return turn
