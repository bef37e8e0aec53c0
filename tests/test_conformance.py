"""Conformance suite: every task folder and every registered solver, discovered, checked the same way.

Tasks: every folder under tasks/ holding a .py file and not starting with `_` or `.` (set AGENTDISTILL_TASKS_DIR
to check another tasks folder, e.g. a task being written elsewhere). For each: its data file matches its manifest's
sha256 and item count; sample ids are unique, non-empty and stable across loads; its README has the sections a user
needs (what it measures, source and license, item count, how to run, reported results); it runs end to end under
`inspect eval <task folder>` with the scripted model; a test task (name not ending in `_train`) ships an lm-eval twin
`<name>.yaml` that lm-eval loads and whose docs and prompts are the inspect task's.

Solvers: every solver registered from an `agentdistill.*` module once the package's inspect entry point is loaded
(AGENTDISTILL_EXTRA_SOLVERS, os.pathsep-separated .py files, loads solver modules not yet in the registry: see
CONTRIBUTING.md). Each runs a scripted episode on one math and one factual task and must get the scripted answer
scored correct.

A new task folder or solver is tested here with no test code written for it. The evals are shared: all selected
task checks run in one `inspect eval` call, all solver episodes in another.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml
from inspect_ai import eval
from inspect_ai._util import registry as inspect_registry
from inspect_ai.model import get_model

from agentdistill.tasks._core import find_benchmark
from agentdistill.tasks._core.data import load_local, read_rows, sha256_file

ROOT = Path(__file__).resolve().parent.parent
TASKS_DIR = Path(os.environ.get("AGENTDISTILL_TASKS_DIR") or ROOT / "tasks").resolve()
PACKAGE = "agentdistill"
TASK_LIMIT = 2

# Answers in every solver's expected form: agents call final_answer() in a code block (a raw string, so LaTeX golds
# survive), the FTP prefill is continued, CoT answers are boxed (math) or in <answer> tags (factual).
FINAL_ANSWER_CODE = "Code:\n```py\nfinal_answer(r'''{{target}}''')\n```<end_code>"
SCRIPT = {
    "rules": [
        {"match_system": "final_answer", "match_prefill": "Thought", "reply": "\n" + FINAL_ANSWER_CODE},
        {"match_system": "final_answer", "reply": "Thought: I know the answer.\n" + FINAL_ANSWER_CODE},
        {"domain": "math", "reply": "I work it out step by step.\n\nSo <answer>\\boxed{{{target}}}</answer>"},
        {"domain": "factual", "reply": "I recall the facts step by step.\n\nSo <answer>{{target}}</answer>"},
    ]
}

# README sections: (what, heading pattern). The checks on each section's text are in test_readme_sections.
README_SECTIONS = {
    "what it measures": r"what it measures|overview|description",
    "source and license": r"source",
    "item count": r"items|item count|size",
    "how to run": r"how to run|usage|running",
    "reported results": r"reported results|results",
}


# --------------------------------------------------------------------------- discovery


def discover_tasks(tasks_dir: Path = TASKS_DIR) -> list[str]:
    """Task folders: a .py file inside, name not starting with `_` or `.`."""
    if not tasks_dir.is_dir():
        return []
    return sorted(
        p.name for p in tasks_dir.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and any(p.glob("*.py"))
    )


def _load_extra_solvers() -> None:
    for path in filter(None, os.environ.get("AGENTDISTILL_EXTRA_SOLVERS", "").split(os.pathsep)):
        module_name = f"{PACKAGE}.solvers.{Path(path).stem}"
        if module_name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)


def discover_solvers() -> list[str]:
    """Solvers registered by `agentdistill.*` modules once the package's inspect entry point is loaded."""
    for ep in entry_points(group="inspect_ai"):
        if ep.name == PACKAGE:
            ep.load()
    _load_extra_solvers()
    names = set()
    for key, obj in list(inspect_registry._registry.items()):
        if key.startswith("solver:") and (getattr(obj, "__module__", "") or "").startswith(f"{PACKAGE}."):
            names.add(key.split(":", 1)[1].split("/")[-1])
    return sorted(names)


TASKS = discover_tasks()
SOLVERS = discover_solvers()


def bench(name: str):
    """The folder's declared benchmark (its own data, wherever the folder lives)."""
    return find_benchmark(name, TASKS_DIR)


def task_dir(name: str) -> Path:
    return TASKS_DIR / name


def data_dir(name: str) -> Path:
    return task_dir(name) / "data"


def domain_of(name: str) -> str:
    return bench(name).domain


def is_test_task(name: str) -> bool:
    return not name.endswith("_train")


def episode_tasks() -> dict[str, str]:
    """One math and one factual test task (the first of each, by name) for the solver episodes."""
    chosen: dict[str, str] = {}
    for name in TASKS:
        try:
            domain = domain_of(name)
        except Exception:
            continue
        if is_test_task(name):
            chosen.setdefault(domain, name)
    return chosen


def _scripted_model():
    return get_model("scripted/conformance", script=SCRIPT, memoize=False)


def _selected(request: pytest.FixtureRequest, test_name: str, param: str) -> list[str]:
    """The params of `test_name` that this pytest session runs (so `-k <task>` runs only that task's eval)."""
    values = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) == test_name and callspec is not None:
            values.append(callspec.params[param])
    return sorted(set(values))


@functools.cache
def _load_task_function(name: str):
    """The @task function of tasks/<name>/<name>.py (loaded by path, as `inspect eval` does)."""
    path = task_dir(name) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_conformance_task_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [obj for obj in vars(module).values() if inspect_registry.is_registry_object(obj, type="task")]
    named = [obj for obj in found if inspect_registry.registry_info(obj).name.split("/")[-1] == name]
    assert len(named or found) == 1, f"{path}: expected one @task (named {name!r}), found {len(found)}"
    return (named or found)[0]


def _run(tasks: list[Any], log_dir: Path, limit: int) -> list[Any]:
    return eval(
        tasks, model=_scripted_model(), limit=limit, log_dir=str(log_dir), display="none",
        max_tasks=4, log_samples=True, fail_on_error=False,
    )


# --------------------------------------------------------------------------- shared evals


@pytest.fixture(scope="session")
def no_judge():
    saved = os.environ.pop("OPENAI_API_KEY", None)  # the factual judge stays off: scored by exact match
    yield
    if saved is not None:
        os.environ["OPENAI_API_KEY"] = saved


@pytest.fixture(scope="session")
def task_logs(request, tmp_path_factory, no_judge) -> dict[str, Any]:
    """`inspect eval tasks/<name>` for every selected task, in one call (per task if that call fails)."""
    names = _selected(request, "test_task_runs_under_inspect_eval", "name")
    log_dir = tmp_path_factory.mktemp("conformance_tasks")
    cwd = os.getcwd()
    os.chdir(TASKS_DIR.parent)  # `tasks/<name>`, as a user types it from the repo root (inspect wants it relative)
    try:
        logs: dict[str, Any] = {}
        try:
            for log in _run([f"{TASKS_DIR.name}/{n}" for n in names], log_dir, TASK_LIMIT):
                logs[log.eval.task.split("/")[-1]] = log
        except Exception:  # one broken task must not hide the others
            for name in names:
                try:
                    [log] = _run([f"{TASKS_DIR.name}/{name}"], log_dir, TASK_LIMIT)
                    logs[name] = log
                except Exception as ex:
                    logs[name] = ex
        return logs
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def solver_logs(request, tmp_path_factory, no_judge) -> dict[tuple[str, str], Any]:
    """A scripted episode of every selected solver on one math and one factual task, in one eval call."""
    solvers = _selected(request, "test_solver_runs_a_scripted_episode", "solver")
    chosen = episode_tasks()
    log_dir = tmp_path_factory.mktemp("conformance_solvers")
    tasks, keys = [], []
    for solver in solvers:
        for domain, name in sorted(chosen.items()):
            tasks.append(_load_task_function(name)(solver=solver))
            keys.append((solver, domain))
    logs: dict[tuple[str, str], Any] = {}
    if tasks:
        results = _run(tasks, log_dir, 1)
        # results come back in task order
        logs.update(zip(keys, results))
    return logs


# --------------------------------------------------------------------------- tasks


def test_discovery_finds_the_tasks_and_solvers():
    assert TASKS, f"no task folders under {TASKS_DIR}"
    if TASKS_DIR == (ROOT / "tasks").resolve():
        shipped = {"hotpotqa", "bamboogle", "musique", "2wikimultihopqa", "math500", "gsm_hard", "aime", "olymmath",
                   "hotpotqa_train", "math_train"}
        assert shipped <= set(TASKS)
        assert {"cot", "cot_sc", "rag", "agent", "agent_sag", "agent_ftp"} <= set(SOLVERS)
    assert "_core" not in TASKS and "_groups" not in TASKS


def test_inspect_lists_exactly_the_task_folders():
    """`inspect eval tasks` finds one task per folder; YAML twins, groups and `_core` do not get in its way."""
    from inspect_ai._eval.list import list_tasks

    found = list_tasks(TASKS_DIR.name, root_dir=TASKS_DIR.parent)
    assert sorted(Path(t.file).parent.name for t in found) == TASKS
    assert sorted(t.name.split("/")[-1] for t in found) == TASKS


@pytest.mark.parametrize("name", TASKS)
def test_data_file_matches_manifest(name):
    folder = task_dir(name)
    assert (folder / f"{name}.py").is_file(), f"{folder}: the task file must be named {name}.py"
    manifest = bench(name).manifest()
    data_file = data_dir(name) / f"{name}.jsonl"
    assert manifest.get("file", data_file.name) == data_file.name
    assert data_file.is_file(), f"{data_file}: data file missing"
    assert sha256_file(data_file) == manifest["sha256"], f"{data_file}: sha256 differs from its manifest"
    assert len(read_rows(data_file)) == manifest["items"] > 0
    assert manifest.get("license"), f"{name}: the manifest must name the license"
    assert bench(name).domain in ("math", "factual")


@pytest.mark.parametrize("name", TASKS)
def test_sample_ids_unique_and_stable(name):
    first = load_local(bench(name))
    second = load_local(bench(name))
    ids = [s.id for s in first]
    assert all(isinstance(i, str) and i.strip() == i and i for i in ids), "ids must be non-empty strings, no padding"
    assert len(set(ids)) == len(ids), "duplicate sample ids"
    assert ids == [s.id for s in second], "ids must not change between loads"
    domain = domain_of(name)
    for sample in first:
        assert sample.metadata["task"] == name and sample.metadata["domain"] == domain
        targets = sample.target if isinstance(sample.target, list) else [sample.target]
        assert targets and all(str(t).strip() for t in targets), f"{sample.id}: empty gold"


def _sections(markdown: str) -> list[tuple[str, str]]:
    """(heading, body) for every heading of a README (any level)."""
    parts = re.split(r"^(#{1,6}[ \t]+.*)$", markdown, flags=re.MULTILINE)
    return [(parts[i].lstrip("#").strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


@pytest.mark.parametrize("name", TASKS)
def test_readme_sections(name):
    readme = task_dir(name) / "README.md"
    assert readme.is_file(), f"{readme} missing"
    sections = _sections(readme.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for what, pattern in README_SECTIONS.items():
        bodies = [body for heading, body in sections if re.search(pattern, heading, re.IGNORECASE)]
        assert bodies, f"{readme}: no section on {what!r} (a heading matching /{pattern}/)"
        found[what] = "\n".join(bodies)
    items = bench(name).manifest()["items"]
    assert re.search(rf"(?<![\d.]){items}(?![\d.])", found["item count"]), f"{readme}: the item count {items}"
    assert re.search(r"licen[cs]e", found["source and license"], re.IGNORECASE), f"{readme}: the license"
    assert f"inspect eval tasks/{name}" in found["how to run"], f"{readme}: the `inspect eval tasks/{name}` command"
    assert found["what it measures"].strip() and found["reported results"].strip()


@pytest.mark.parametrize("name", TASKS)
def test_task_runs_under_inspect_eval(name, task_logs):
    log = task_logs.get(name)
    if isinstance(log, Exception):
        raise log
    assert log is not None, f"inspect eval did not run {name}"
    assert log.status == "success", log.error
    assert log.eval.task.split("/")[-1] == name
    expected = [s.id for s in load_local(bench(name))[:TASK_LIMIT]]
    assert sorted(s.id for s in log.samples) == sorted(expected)
    # the default solver (registered as agentdistill/cot)
    assert [step.solver.split("/")[-1] for step in log.plan.steps] == ["cot"]
    scorer = "math_scorer" if domain_of(name) == "math" else "factual_scorer"
    for sample in log.samples:
        assert sample.error is None, sample.error
        # math: the project's grader and the paper's (reference) grader beside it
        assert set(sample.scores) == {scorer, "run_stats"} | ({"paper_accuracy"} if scorer == "math_scorer" else set())
        if scorer == "math_scorer":
            assert sample.scores[scorer].value == "C", sample.scores[scorer].explanation
            assert sample.scores["paper_accuracy"].value == "C", sample.scores["paper_accuracy"].explanation
        else:
            assert sample.scores[scorer].value["em"] == 1.0, sample.scores[scorer].explanation


def _yaml_load(path: Path) -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: "!function " + loader.construct_scalar(node))
    config = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
    if "include" in config:  # lm-eval's include: the base first, this file's keys on top
        config = {**_yaml_load(path.parent / config.pop("include")), **config}
    return config


@pytest.fixture(scope="session")
def lm_eval_tasks(request) -> dict[str, Any]:
    """The selected tasks' lm-eval twins, loaded by lm-eval's own TaskManager (as `--include_path tasks`)."""
    from lm_eval.tasks import TaskManager

    names = [n for n in _selected(request, "test_lm_eval_twin", "name") if (task_dir(n) / f"{n}.yaml").is_file()]
    if not names:
        return {}
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    try:
        return dict(manager.load(names)["tasks"])
    except Exception:  # one broken twin must not hide the others
        twins: dict[str, Any] = {}
        for name in names:
            try:
                twins.update(manager.load([name])["tasks"])
            except Exception as ex:
                twins[name] = ex
        return twins


@pytest.mark.parametrize("name", [n for n in TASKS if is_test_task(n)])
def test_lm_eval_twin(name, lm_eval_tasks):
    from agentdistill.tasks._core.prompts import COT_MAX_TOKENS, cot_messages

    path = task_dir(name) / f"{name}.yaml"
    assert path.is_file(), f"{path}: a test task ships its lm-eval twin (see CONTRIBUTING.md)"
    config = _yaml_load(path)
    assert config["task"] == name and config["dataset_kwargs"] == {"task": name}
    assert config["output_type"] == "generate_until"
    assert config["custom_dataset"] == "!function agentdistill.tasks._core.lm_eval_utils.load"
    assert config["generation_kwargs"]["max_gen_toks"] == COT_MAX_TOKENS  # the cot solver's limit
    assert config["generation_kwargs"]["do_sample"] is False

    task = lm_eval_tasks[name]
    if isinstance(task, Exception):
        raise task
    docs = list(task.test_docs())
    samples = load_local(bench(name))
    assert [d["id"] for d in docs] == [s.id for s in samples]  # the same items, in the same order
    for doc, sample in list(zip(docs, samples))[:3]:
        system, user = cot_messages(sample.input, sample.metadata["domain"])
        assert task.doc_to_text(doc) == user.text  # the cot solver's prompt
        assert doc["system"] == system.text
        gold = doc["golds"][0]
        boxed = f"<answer>\\boxed{{{gold}}}</answer>" if doc["domain"] == "math" else f"<answer>{gold}</answer>"
        assert task.process_results(doc, [f"Step by step.\n\n{boxed}"])["score"] == 1.0
        assert task.process_results(doc, ["I do not know."])["score"] == 0.0


# --------------------------------------------------------------------------- solvers


@pytest.mark.parametrize("domain", ["math", "factual"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_solver_runs_a_scripted_episode(solver, domain, solver_logs):
    if domain not in episode_tasks():
        pytest.skip(f"no {domain} task under {TASKS_DIR}")
    log = solver_logs[(solver, domain)]
    assert log.status == "success", log.error
    assert [step.solver.split("/")[-1] for step in log.plan.steps] == [solver]
    [sample] = log.samples
    assert sample.error is None, sample.error
    assert sample.output.completion, "the solver produced no output"
    if domain == "math":
        score = sample.scores["math_scorer"]
        assert score.value == "C", score.explanation
    else:
        score = sample.scores["factual_scorer"]
        assert score.value["em"] == 1.0, score.explanation
    assert "run_stats" in sample.scores
