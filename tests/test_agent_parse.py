"""Parsing of agent turns: the reference parser (default) and the lenient option, and the errors fed back."""

from __future__ import annotations

import pytest

from agentdistill.solvers.agent.loop import first_paragraph, ftp_prefix_text, make_candidate
from agentdistill.solvers.agent.parse import (
    LENIENT_ERROR,
    ParseError,
    fix_final_answer_code,
    normalize_turn,
    parse_action,
    parse_reference,
    parse_turn,
)
from agentdistill.solvers.agent.prompts import STOP_SEQUENCES


@pytest.mark.parametrize(
    ("text", "thought", "code"),
    [
        ("Thought: add\nCode:\n```py\nx = 1 + 1\nprint(x)\n```<end_code>", "add", "x = 1 + 1\nprint(x)"),
        ("Thought: add\nCode:\n```py\nx = 2\n```", "add", "x = 2"),  # stop sequence removed <end_code>
        ("Thought: go\n```python\nprint('hi')\n```", "go", "print('hi')"),  # no "Code:" label, ```python
        ("**Thought:** go\n**Code:**\n```py\nprint(1)\n```", "go", "print(1)"),  # markdown bold labels
        ("Thought: cut\nCode:\n```py\ny = 3\nprint(y)", "cut", "y = 3\nprint(y)"),  # unclosed (max tokens)
        ("Thought: two\n```py\na = 1\n```\nthen\n```py\nprint(a)\n```", "two", "a = 1\n\nprint(a)"),
        ("Thought: tags\n<code>print(5)</code>", "tags", "print(5)"),
        ("import math\nprint(math.pi)", "", "import math\nprint(math.pi)"),  # bare valid python
    ],
)
def test_lenient_parse_variants(text, thought, code):
    action = parse_action(text)
    assert action.thought == thought
    assert action.code == code


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("Thought: the answer is Paris", "no code block"),  # also: "Thought: x" would be an annotation
        ("The answer is 42.", "no code block"),
        ("Paris", "no code block"),  # a bare name is not an action
        ("Thought: t\nCode:\n```py\nprint((1)\n```", "not valid Python"),
        ("Thought: t\nCode:\n```py\n\n```", "empty"),
    ],
)
def test_lenient_parse_errors_tell_the_model_what_was_wrong(text, reason):
    with pytest.raises(ParseError) as info:
        parse_action(text)
    message = str(info.value)
    assert reason in message
    assert "Thought:" in message and "```py" in message and "<end_code>" in message  # shows the expected format
    assert message.startswith(LENIENT_ERROR.split("{reason}")[0])


def test_normalize_turn_closes_the_block_for_the_recorded_trajectory():
    assert normalize_turn("Thought: a\nCode:\n```py\nx=1\n```").endswith("```<end_code>")
    assert normalize_turn("Thought: a\nCode:\n```py\nx=1\n```<end_code>").count("<end_code>") == 1
    assert normalize_turn("Thought: a\nCode:\n```py\nx=1").endswith("x=1\n```<end_code>")
    assert normalize_turn("Thought: only") == "Thought: only"


def test_stop_sequences_are_the_references():
    assert STOP_SEQUENCES == ["<end_code>", "Observation:", "Calling tools:"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Thought: a\nCode:\n```py\nx = 1\n```<end_code>", "x = 1"),
        ("```python\nprint(2)\n```\nthen\n```\nprint(3)\n```", "print(2)\n\nprint(3)"),  # joined by a blank line
        ("import math\nprint(math.pi)", "import math\nprint(math.pi)"),  # a reply that is Python as a whole
        ("Thought: cut\nCode:\n```py\ny = 3", None),  # no closing fence: the reference does not run it
        ("Thought: t\nCode:\n```py3\nprint(1)\n```", None),  # ```py3 is not one of its fences
    ],
)
def test_reference_parser(text, code):
    if code is None:
        with pytest.raises(ParseError):
            parse_reference(text)
    else:
        assert parse_reference(text).code == code


def test_reference_parse_error_texts():
    with pytest.raises(ParseError) as plain:
        parse_reference("Thought: I think it is 42.")
    assert str(plain.value).startswith("Error in code parsing:\nYour code snippet is invalid, because the regex")
    assert "Thoughts: Your thoughts" in str(plain.value)
    assert str(plain.value).endswith("\nMake sure to provide correct code blobs.")
    with pytest.raises(ParseError) as final:
        parse_reference("Thought: the final answer is 42")
    assert 'final_answer("YOUR FINAL ANSWER HERE")' in str(final.value)


def test_final_answer_variable_is_renamed_only_when_the_tool_is_called():
    assert fix_final_answer_code("final_answer = 3\nfinal_answer(final_answer)") == \
        "final_answer_variable = 3\nfinal_answer(final_answer_variable)"
    assert fix_final_answer_code("final_answer = 3") == "final_answer = 3"


def test_recorded_turn_appends_end_code_to_the_raw_text_then_strips():
    turn, _ = parse_turn("Thought: a\nCode:\n```py\nx=1\n```\n")
    assert turn == "Thought: a\nCode:\n```py\nx=1\n```\n<end_code>"  # the reference's quirk, kept
    turn, _ = parse_turn("Thought: only")
    assert turn == "Thought: only"


def test_candidate_keeps_prefill_and_parse_failure():
    cand = make_candidate(3, " the capital.\nCode:\n```py\nfinal_answer('Paris')\n```", "Thought: Paris is")
    assert cand.text.startswith("Thought: Paris is the capital.")
    assert cand.code == "final_answer('Paris')"
    bad = make_candidate(0, "I don't know", None)
    assert bad.code is None and "regex pattern" in bad.parse_error
    assert bad.observation.startswith("Error:\nError in code parsing:")  # no call id on a parse error
    lenient = make_candidate(0, "I don't know", None, parser="lenient")
    assert "no code block" in lenient.parse_error


def test_first_paragraph_and_ftp_prefix_keep_the_blank_line():
    assert first_paragraph("First line\nsecond line.\n\nNext paragraph.") == "First line\nsecond line."
    assert first_paragraph("single") == "single"
    assert ftp_prefix_text("Plan it.\n\nThen more.") == "Thought: Plan it.\n\n"
    assert ftp_prefix_text("\n\nLate start") == "Thought: \n\n"  # as the reference's split gives it
