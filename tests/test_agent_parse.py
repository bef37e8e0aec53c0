"""Parsing of agent turns: the formats small models write, and the errors fed back to them."""

from __future__ import annotations

import pytest

from agentdistill.solvers.agent.loop import first_paragraph, make_candidate
from agentdistill.solvers.agent.parse import ParseError, normalize_turn, parse_action
from agentdistill.solvers.agent.prompts import PARSE_ERROR_MESSAGE, STOP_SEQUENCES


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
def test_parse_variants(text, thought, code):
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
def test_parse_errors_tell_the_model_what_was_wrong(text, reason):
    with pytest.raises(ParseError) as info:
        parse_action(text)
    message = str(info.value)
    assert reason in message
    assert "Thought:" in message and "```py" in message and "<end_code>" in message  # shows the expected format
    assert message.startswith(PARSE_ERROR_MESSAGE.split("{reason}")[0])


def test_normalize_turn_closes_the_block_for_the_recorded_trajectory():
    assert normalize_turn("Thought: a\nCode:\n```py\nx=1\n```").endswith("```<end_code>")
    assert normalize_turn("Thought: a\nCode:\n```py\nx=1\n```<end_code>").count("<end_code>") == 1
    assert normalize_turn("Thought: a\nCode:\n```py\nx=1").endswith("x=1\n```<end_code>")
    assert normalize_turn("Thought: only") == "Thought: only"


def test_stop_sequences_cover_end_code_and_observation():
    assert "<end_code>" in STOP_SEQUENCES
    assert any("Observation:" in s for s in STOP_SEQUENCES)


def test_candidate_keeps_prefill_and_parse_failure():
    cand = make_candidate(3, " the capital.\nCode:\n```py\nfinal_answer('Paris')\n```", "Thought: Paris is")
    assert cand.text.startswith("Thought: Paris is the capital.")
    assert cand.code == "final_answer('Paris')" and cand.thought == "Paris is the capital."
    bad = make_candidate(0, "I don't know", None)
    assert bad.code is None and "no code block" in bad.parse_error and bad.observation == bad.parse_error


def test_first_paragraph():
    assert first_paragraph("\n  First line\nsecond line.\n\nNext paragraph.") == "First line\nsecond line."
    assert first_paragraph("single") == "single"
