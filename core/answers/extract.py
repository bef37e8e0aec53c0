"""Where a completion states its final answer: `<answer>` tags, `\\boxed{}`, "the answer is" phrases."""

from __future__ import annotations

import re


_BOX_COMMANDS = ("\\boxed", "\\fbox")


def matching_brace(text: str, open_index: int) -> int | None:
    """Index of the `}` closing the `{` at open_index (None when unbalanced)."""
    depth = 0
    for i in range(open_index, len(text)):
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` / `\\fbox{...}` (nested braces matched).

    Also accepts the brace-less form `\\boxed 5`. None when there is none (or the last
    one is never closed, e.g. a completion cut off by the token limit).
    """
    best = -1
    command = ""
    for cmd in _BOX_COMMANDS:
        index = text.rfind(cmd)
        if index > best:
            best, command = index, cmd
    if best < 0:
        return None
    rest_start = best + len(command)
    rest = text[rest_start:]
    stripped = rest.lstrip()
    if stripped.startswith("{"):
        open_index = rest_start + (len(rest) - len(stripped))
        close = matching_brace(text, open_index)
        if close is None:
            return None
        return text[open_index + 1 : close].strip()
    if rest.startswith(" "):
        match = re.match(r"\s*([^\s$]+)", rest)
        return match.group(1).strip() if match else None
    return None


def unwrap_command(text: str, command: str, keep: bool = True) -> str:
    """Replace every `\\command{X}` with X (keep) or with nothing."""
    while True:
        index = text.find(command + "{")
        if index < 0:
            return text
        open_index = index + len(command)
        close = matching_brace(text, open_index)
        if close is None:
            return text
        inner = text[open_index + 1 : close] if keep else ""
        text = text[:index] + inner + text[close + 1 :]


def unwrap_text(text: str) -> str:
    for command in ("\\text", "\\textbf", "\\mathrm", "\\mathbf", "\\textit", "\\operatorname", "\\mbox"):
        text = unwrap_command(text, command)
    return text


_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?:\n|$)", re.IGNORECASE
)
# Minerva's closing line: "The final answer is $X$. I hope it is correct."
_MINERVA = re.compile(r"final answer is\s*\$+(.+?)\$+\s*\.?\s*I hope it is correct", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def _answer_tag(text: str) -> str | None:
    matches = _ANSWER_TAG.findall(text)
    if matches:
        return matches[-1].strip()
    # a completion stopped at "</answer>" (stop sequence) or cut off inside the tag
    index = text.lower().rfind("<answer>")
    if index >= 0:
        return text[index + len("<answer>") :].strip()
    return None


def _clean_phrase(phrase: str) -> str:
    # "$X$. More words": the maths between the dollars
    math_span = re.match(r"\s*\$+([^$]+)\$+", phrase)
    if math_span:
        phrase = math_span.group(1)
    phrase = re.sub(r"\.?\s*I hope it is correct\.?\s*$", "", phrase, flags=re.IGNORECASE)
    previous = None
    while phrase != previous:
        previous = phrase
        phrase = phrase.strip().strip("*").strip().rstrip(".")
        phrase = re.sub(r"^\$+|\$+$", "", phrase)
    return phrase.strip()


def extract_answer(text: str, domain: str) -> str | None:
    """The final answer stated in a completion, or None when it states none.

    math: last `\\boxed{}`/`\\fbox{}` anywhere; else the `<answer>` tag content; else Minerva's
    "The final answer is $X$. I hope it is correct."; else "the answer is X" (the maths between dollars when
    it starts with one); else the last number. factual: the `<answer>` tag; else a boxed
    answer; else "the answer is X"; else the last non-empty line.
    """
    try:
        if not isinstance(text, str) or not text.strip():
            return None
        tag = _answer_tag(text)
        if domain == "math":
            boxed = last_boxed(text)
            if boxed is not None:
                return boxed
            if tag:
                return _clean_phrase(tag)
            minerva = _MINERVA.findall(text)
            if minerva:
                return minerva[-1].strip()
            matches = _ANSWER_IS.findall(text)
            if matches and _clean_phrase(matches[-1]):
                return _clean_phrase(matches[-1])
            numbers = _NUMBER.findall(text)
            return numbers[-1].replace(",", "") if numbers else None
        if tag:
            inner = last_boxed(tag)
            return _clean_phrase(inner if inner is not None else tag)
        boxed = last_boxed(text)
        if boxed is not None:
            return _clean_phrase(unwrap_text(boxed))
        matches = _ANSWER_IS.findall(text)
        if matches and _clean_phrase(matches[-1]):
            return _clean_phrase(matches[-1])
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return _clean_phrase(lines[-1]) if lines else None
    except Exception:
        return None
