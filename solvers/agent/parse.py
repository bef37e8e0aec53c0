"""Parse one agent turn into the code to run. Two parsers, chosen by the solvers' `parser` option:

- `reference` (default): what the paper's runs did (`parse_code_blobs` + `fix_final_answer_code` of their
  smolagents fork): every ```py / ```python / ``` block closed by a newline + fence, joined by a blank line; else the
  whole turn when it is valid Python; else a `ParseError` with the reference's message (two variants: one when the
  words "final" and "answer" both occur).
- `lenient`: the project's parser for the variants small models write (```py3 fences, no `Code:` label, an unclosed
  block, `<code>` tags); a syntax error in the block is a parse error; its messages show the expected format.

`recorded_turn` is the assistant turn as the trajectory records it in both cases.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from agentdistill.solvers.agent.prompts import END_CODE, parse_error_message

PARSERS = ("reference", "lenient")


class ParseError(ValueError):
    """The model's turn has no usable code; `str(error)` is the error text sent back to the model."""

    def __init__(self, message: str, reason: str = ""):
        self.reason = reason or message
        super().__init__(message)


@dataclass(frozen=True)
class ParsedAction:
    thought: str
    code: str


def recorded_turn(text: str) -> str:
    """`<end_code>` appended when the stripped text ends with a fence (the stop sequence removed it), then stripped.

    The reference appends to the raw text, so a turn ending in a fence + newline keeps that newline before
    `<end_code>`; the stripped text is what later turns see and what the student is trained on.
    """
    return with_end_code(text).strip()


def with_end_code(text: str) -> str:
    return text + END_CODE if text and text.strip().endswith("```") else text


# --- the reference parser -------------------------------------------------------------------------------------

_REFERENCE_PATTERN = r"```(?:py|python)?\n(.*?)\n```"
_FINAL_ANSWER_ASSIGNMENT = re.compile(r"(?<!\.)(?<!\w)\bfinal_answer\s*=")
_FINAL_ANSWER_TARGET = re.compile(r"(?<!\.)(?<!\w)(\bfinal_answer)(\s*=)")
_FINAL_ANSWER_USE = re.compile(r"(?<!\.)(?<!\w)(\bfinal_answer\b)(?!\s*\()")


def _reference_message(text: str) -> str:
    # Built like the reference: an indented template dedented AFTER the model's text is put in, so a multi-line
    # text (whose later lines are not indented) leaves the template's indentation in place, as it did there.
    if "final" in text and "answer" in text:
        tail = """
                It seems like you're trying to return the final answer, you can do it as follows:
                Code:
                ```py
                final_answer("YOUR FINAL ANSWER HERE")
                ```<end_code>
                """
        head_indent = " " * 16
    else:
        tail = """
            Make sure to include code with the correct pattern, for instance:
            Thoughts: Your thoughts
            Code:
            ```py
            # Your python code here
            ```<end_code>
            """
        head_indent = " " * 12
    body = (f"\n{head_indent}Your code snippet is invalid, because the regex pattern {_REFERENCE_PATTERN} was not "
            f"found in it.\n{head_indent}Here is your code snippet:\n{head_indent}{text}" + tail)
    return textwrap.dedent(body).strip()


def fix_final_answer_code(code: str) -> str:
    """A variable named `final_answer` would shadow the tool: rename it when the block also calls the tool."""
    if "final_answer(" not in code or not _FINAL_ANSWER_ASSIGNMENT.search(code):
        return code
    code = _FINAL_ANSWER_TARGET.sub(r"final_answer_variable\2", code)
    return _FINAL_ANSWER_USE.sub("final_answer_variable", code)


def parse_reference(text: str) -> ParsedAction:
    """`text` is the turn with `<end_code>` appended (`with_end_code`), unstripped, as the reference parses it."""
    blocks = re.findall(_REFERENCE_PATTERN, text, re.DOTALL)
    if blocks:
        code = "\n\n".join(block.strip() for block in blocks)
    else:
        try:
            ast.parse(text)
        except SyntaxError:
            reason = _reference_message(text)
            raise ParseError(parse_error_message(reason), reason) from None
        code = text
    thought = text.split("```", 1)[0].strip() if blocks else ""
    return ParsedAction(thought=thought, code=fix_final_answer_code(code))


# --- the lenient parser ---------------------------------------------------------------------------------------

LENIENT_ERROR = """\
Your reply could not be used: {reason}
Reply in exactly this format:
Thought: your reasoning
Code:
```py
# your python code here
```<end_code>"""

_FENCE_CLOSED = re.compile(r"```[ \t]*(?:py|python|python3|py3|Python)?[ \t]*\n(.*?)```", re.DOTALL)
_FENCE_OPEN = re.compile(r"```[ \t]*(?:py|python|python3|py3|Python)?[ \t]*\n(.*)\Z", re.DOTALL)
_CODE_TAG = re.compile(r"<code>(.*?)(?:</code>|\Z)", re.DOTALL)
_THOUGHT = re.compile(r"^\s*(?:\*\*)?Thoughts?\s*(?::\s*\*\*|\*\*\s*:|:)\s*", re.IGNORECASE)
_CODE_LABEL = re.compile(r"(?:\*\*)?Code\s*(?::\s*\*\*|\*\*\s*:|:)\s*\Z", re.IGNORECASE)


def _lenient_error(reason: str) -> ParseError:
    return ParseError(LENIENT_ERROR.format(reason=reason), reason)


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
        raise _lenient_error(f"the code is not valid Python: {err.msg}{line}{detail}") from None


def parse_action(text: str) -> ParsedAction:
    """The lenient parser: split a turn into thought and code; raise `ParseError` when there is no runnable code."""
    body = text.replace(END_CODE, "").replace("\r\n", "\n")
    if not body.strip():
        raise _lenient_error("the reply was empty.")

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
            raise _lenient_error("the code block was empty.")
        _check_syntax(code)
        return ParsedAction(thought=_thought_before(body, blocks[0][0]), code=code)

    # No fence at all: accept the reply if it is valid Python with at least one statement beyond a bare name.
    stripped = body.strip()
    if _THOUGHT.match(body):  # "Thought: x" would parse as an annotated assignment
        raise _lenient_error('there was a "Thought:" but no code block after it.')
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        tree = None
    if tree is not None and tree.body and not all(
        isinstance(node, ast.Expr) and isinstance(node.value, (ast.Name, ast.Constant)) for node in tree.body
    ):
        return ParsedAction(thought="", code=stripped)
    raise _lenient_error("no code block was found.")


def normalize_turn(text: str) -> str:
    """The lenient parser's recorded turn: stripped, closed with ```<end_code> also when a block was left open."""
    turn = text.rstrip()
    if turn.endswith(END_CODE):
        return turn
    if turn.endswith("```"):
        return turn + END_CODE
    if turn.count("```") % 2 == 1:  # an open block (cut before its closing fence)
        return turn + "\n```" + END_CODE
    return turn


def parse_turn(raw: str, parser: str = "reference") -> tuple[str, ParsedAction | ParseError]:
    """(the recorded assistant turn, the parsed action or the parse error) of a raw completion (prefill included)."""
    if parser == "reference":
        text = with_end_code(raw)
        try:
            return text.strip(), parse_reference(text)
        except ParseError as err:
            return text.strip(), err
    if parser == "lenient":
        turn = normalize_turn(raw)
        try:
            return turn, parse_action(turn)
        except ParseError as err:
            return turn, err
    raise ValueError(f"agent: parser must be one of {PARSERS}, got {parser!r}")
