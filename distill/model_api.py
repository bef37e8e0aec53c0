"""inspect model APIs of the package (registered through `solvers/registry.py`).

- `agentdistill/smollm2-135m`: the embedded SmolLM2-135M-Instruct (converted once, cached).
- `agentdistill/<dir>`: a local transformers model folder, or a PEFT LoRA adapter folder whose
  base is a local folder or the embedded model; anything else is tried as a hub id.
- `scripted/<name>`: a deterministic scripted model for tests (`-M script=<file>`).

The heavy modules (torch, transformers) are imported only when a model is created, so
loading the registry for every `inspect` command stays fast.
"""

from __future__ import annotations

from inspect_ai.model import modelapi


@modelapi(name="agentdistill")
def agentdistill():
    from agentdistill.distill.hf_model import AgentDistillAPI

    return AgentDistillAPI


@modelapi(name="scripted")
def scripted():
    from agentdistill.distill.scripted import ScriptedModelAPI

    return ScriptedModelAPI
