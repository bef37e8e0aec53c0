"""What the CodeAct agent sends the model, as the paper's runs sent it (Kang et al., 2025; their smolagents fork).

The texts themselves are the reference's data files (`core/reference_texts`); this module builds the turns from
them: the user turn `New task:\\n` + question + the IMPORTANT instruction (every domain), the observation and error
turns of `memory.py`, the parse-error text of `parse_code_blobs`, and the call made when the steps run out.
"""

from __future__ import annotations

from agentdistill.core import reference as reference_texts

END_CODE = "<end_code>"

# The stop sequences of every agent step (`CodeAgent.step`).
STOP_SEQUENCES = [END_CODE, "Observation:", "Calling tools:"]

RETRY_NOTE = ("\nNow let's retry: take care not to repeat previous errors! If you have retried several times, "
              "try a completely different approach.\n")

# First-thought prefix (FTP): "Thought: " + the first paragraph of the CoT answer + the blank line after it.
FTP_THOUGHT_PREFIX = "Thought: "
FTP_PARAGRAPH_END = "\n\n"
# The CoT call the prefix is cut from uses the CoT run's settings (`run_cot_*.sh`: max_tokens 4096, greedy).
FTP_COT_MAX_TOKENS = 4096


def system_prompt(variant: str) -> str:
    """`teacher` (code_agent.yaml system_prompt, few-shot) or `student` (system_prompt_short); same for all domains."""
    return reference_texts.agent_system_prompt(variant)


def task_text(question: str) -> str:
    """The task the agent runs: the question plus the instruction (`processors/agent.py`)."""
    return question + reference_texts.agent_instruction()


def user_turn(question: str) -> str:
    return "New task:\n" + task_text(question)


def call_id(step_number: int) -> str:
    """Tool-call id of the step: memory steps so far, the task step included (the first action is call_1)."""
    return f"call_{step_number}"


def observation_success(step_number: int, logs: str, last_output: str) -> str:
    """`last_output` as the sandbox gives it (already cut to head + tail as the reference cut it)."""
    return (f"Call id: {call_id(step_number)}\nObservation:\nExecution logs:\n{logs}"
            f"Last output from code snippet:\n{last_output}")


def observation_error(step_number: int | None, logs: str, error: str) -> str:
    """An execution error (with the prints before it, when any) or, with no step number, a parse error.

    The observation and the error are two tool-response messages in the reference; the server model class merges
    consecutive same-role turns with no separator, so they arrive as this one user turn.
    """
    text = ""
    if step_number is not None and logs:
        text += f"Call id: {call_id(step_number)}\nObservation:\nExecution logs:\n{logs}"
    if step_number is not None:
        text += f"Call id: {call_id(step_number)}\n"
    return text + "Error:\n" + error + RETRY_NOTE


def parse_error_message(reason: str) -> str:
    """`CodeAgent.step`'s wrapper around the parser's message."""
    return f"Error in code parsing:\n{reason}\nMake sure to provide correct code blobs."
