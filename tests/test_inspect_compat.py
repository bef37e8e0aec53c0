"""Every inspect-ai internal the project uses (core/inspect_compat.py) still exists and behaves as relied on."""

from __future__ import annotations


from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import get_model
from inspect_ai.scorer import Score, Target, scorer, mean
from inspect_ai.solver import Generate, TaskState, solver
from inspect_ai.util import SandboxEnvironment

from agentdistill.core import inspect_compat as compat


def test_registry_lookups_and_bare_aliases():
    import agentdistill.registry  # noqa: F401  (the entry point: registers the package and its bare aliases)

    namespaced = compat.find_registered("solver", "agentdistill/agent_sag")
    assert namespaced is not None
    assert compat.find_registered("solver", "agent_sag") is namespaced  # the bare alias is the same object
    assert compat.find_registered("solver", "no_such_solver_anywhere") is None
    assert {"cot", "cot_sc", "rag", "agent", "agent_sag", "agent_ftp"} <= set(compat.registered_names("solver", "agentdistill"))
    assert callable(compat.create_solver("agentdistill/cot", max_tokens=16))


def test_docker_and_local_environments_are_sandbox_environments():
    assert issubclass(compat.DockerSandboxEnvironment, SandboxEnvironment)
    assert issubclass(compat.LocalSandboxEnvironment, SandboxEnvironment)
    assert compat.SandboxEnvironmentConfigType is not None


def test_unwrap_and_working_dir_fall_back_on_plain_objects():
    class Plain:
        pass

    plain = Plain()
    assert compat.unwrap_sandbox(plain) is plain
    assert compat.sandbox_working_dir(plain) is None


def test_active_sample_inside_and_outside_an_eval(tmp_path):
    assert compat.active_sample() is None
    seen: list[str | None] = []

    @solver
    def record_active():
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            active = compat.active_sample()
            seen.append(None if active is None else str(active.sample.id))
            return state

        return solve

    @scorer(metrics=[mean()])
    def zero():
        async def score(state: TaskState, target: Target) -> Score:
            return Score(value=0)

        return score

    task = Task(dataset=[Sample(id="s-1", input="q", target="a")], solver=record_active(), scorer=zero())
    [log] = eval(task, model=get_model("scripted/compat", script={"rules": [{"reply": "x"}]}), display="none",
                 log_dir=str(tmp_path))
    assert log.status == "success" and seen == ["s-1"]


def test_prerequisite_error_is_what_the_cli_prints_as_one_line():
    from agentdistill.core.errors import InputError

    assert issubclass(InputError, compat.PrerequisiteError)
    assert str(InputError("task argument judge='x': expected auto, off")) == "task argument judge='x': expected auto, off"
