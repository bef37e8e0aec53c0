"""inspect model APIs of the package (registered through `src/agentdistill/registry.py`).

- `agentdistill/smollm2-135m`: the embedded SmolLM2-135M-Instruct (converted once, cached).
- `agentdistill/<dir>`: a local transformers model folder, or a PEFT LoRA adapter folder whose
  base is a local folder or the embedded model; anything else is tried as a hub id.
- `scripted/<name>`: a deterministic scripted model for tests (`-M script=<file>`).
- `programmatic/teacher`: a programmatic STAND-IN for the 32B teacher (writes correct agent/CoT completions from
  the computation bignum items store; see `programmatic.py`).

The heavy modules (torch, transformers) are imported only when a model is created, so
loading the registry for every `inspect` command stays fast.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    ModelOutput,
    ModelUsage,
    modelapi,
)


def build_output(
    model_name: str,
    rows: list[tuple[str, str]],
    input_tokens: int,
    output_tokens: int,
    **extra: Any,
) -> ModelOutput:
    """A ModelOutput with one choice per (text, stop_reason) row, and its token usage."""
    return ModelOutput(
        model=model_name,
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=text, model=model_name, source="generate"),
                stop_reason=reason,  # type: ignore[arg-type]
            )
            for text, reason in rows
        ],
        usage=ModelUsage(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens),
        **extra,
    )


@modelapi(name="agentdistill")
def agentdistill():
    from agentdistill.models.hf_model import AgentDistillAPI

    return AgentDistillAPI


@modelapi(name="scripted")
def scripted():
    from agentdistill.models.scripted import ScriptedModelAPI

    return ScriptedModelAPI


@modelapi(name="programmatic")
def programmatic():
    from agentdistill.models.programmatic import ProgrammaticTeacherAPI

    return ProgrammaticTeacherAPI
