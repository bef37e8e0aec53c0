"""The paper authors' prompt and judge texts (shipped verbatim in `core/reference_texts/`, see NOTICE.md there):
exact bytes, since the project must send models exactly what the paper's runs sent.

Only loading and rendering live here: the agent prompts are Jinja templates over `tools`, `managed_agents` and
`authorized_imports`, rendered with strict undefined variables as the reference renders them, so a template change
that needs a new variable fails loudly instead of sending a prompt with a hole in it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
import yaml

PACKAGE_DIR = "reference_texts"


def _read(name: str) -> str:
    """The file `core/reference_texts/<name>` byte for byte (UTF-8, no newline translation, nothing stripped)."""
    path = resources.files("agentdistill.core").joinpath(PACKAGE_DIR, name)
    if not path.is_file():
        raise FileNotFoundError(f"reference text {name!r} is missing from agentdistill/core/{PACKAGE_DIR}/")
    return path.read_bytes().decode("utf-8")


@lru_cache(maxsize=None)
def reference_text(name: str) -> str:
    """A reference text file as shipped (e.g. `judge_prompt.txt`)."""
    return _read(name)


def reference_yaml(name: str, key: str) -> Any:
    """One top-level key of a YAML reference text (e.g. `teacher_model.yaml`'s `system_prompt`)."""
    data = yaml.safe_load(reference_text(name))
    if not isinstance(data, dict) or key not in data:
        raise KeyError(f"reference text {name!r} has no top-level key {key!r}")
    return data[key]


@lru_cache(maxsize=None)
def code_agent_templates() -> dict[str, Any]:
    """`code_agent.yaml`: system_prompt (teacher), system_prompt_short (student), final_answer.{pre,post}_messages."""
    return yaml.safe_load(_read("code_agent.yaml"))


@lru_cache(maxsize=None)
def cot_system_prompt() -> str:
    """`teacher_model.yaml` `system_prompt`: the CoT prompt (its last line ends with a space)."""
    return yaml.safe_load(_read("teacher_model.yaml"))["system_prompt"]


@lru_cache(maxsize=None)
def agent_instruction() -> str:
    """Appended to every question of the agent (all domains); starts with a blank line."""
    return _read("agent_instruction.txt")


@lru_cache(maxsize=None)
def judge_prompt() -> str:
    """The factual judge prompt, with `{question}`, `{predicted}`, `{gold}` str.format fields."""
    return _read("judge_prompt.txt")


@lru_cache(maxsize=None)
def _tools_file() -> dict[str, Any]:
    return json.loads(_read("tools.json"))


def tool_specs() -> list[dict[str, Any]]:
    """The agent's tools as the reference declares them: web_search then final_answer (every domain)."""
    return [dict(spec) for spec in _tools_file()["tools"]]


def base_builtin_modules() -> list[str]:
    return list(_tools_file()["base_builtin_modules"])


def authorized_imports() -> list[str]:
    """The executor's allow-list: base modules + numpy, sympy, numpy.linalg, sorted (as the system prompt lists it)."""
    return sorted(set(base_builtin_modules()) | set(_tools_file()["additional_authorized_imports"]))


def render(template: str, **variables: Any) -> str:
    return jinja2.Template(template, undefined=jinja2.StrictUndefined).render(**variables)


class _Tool:
    """What the templates read of a tool (attribute access, `inputs` printed as a Python dict)."""

    def __init__(self, spec: dict[str, Any]):
        self.name = spec["name"]
        self.description = spec["description"]
        self.inputs = spec["inputs"]
        self.output_type = spec["output_type"]


def agent_system_prompt(variant: str) -> str:
    """`teacher` -> code_agent.yaml `system_prompt`; `student` -> `system_prompt_short`; rendered with both tools."""
    keys = {"teacher": "system_prompt", "student": "system_prompt_short"}
    if variant not in keys:
        raise ValueError(f"agent prompt must be one of {sorted(keys)}, got {variant!r}")
    tools = {spec["name"]: _Tool(spec) for spec in tool_specs()}
    return render(code_agent_templates()[keys[variant]], tools=tools, managed_agents={},
                  authorized_imports=str(authorized_imports()))


def stuck_system_prompt() -> str:
    """System turn of the call made when the steps run out (`final_answer.pre_messages`)."""
    return code_agent_templates()["final_answer"]["pre_messages"]


def stuck_user_prompt(task: str) -> str:
    """Last user text of that call: `final_answer.post_messages` over the task with its IMPORTANT part cut."""
    return render(code_agent_templates()["final_answer"]["post_messages"], task=task.split("\n\nIMPORTANT:")[0])
