"""CONTRIBUTING.md, followed literally: its `guide:run` blocks run in order, as written, in a temporary copy.

The copy is a folder with `tasks/` copied from the repository and `.venv`, `tests`, `pyproject.toml` linked to the
real ones, plus `src/agentdistill/registry.py` copied (the guide appends its registry line there, never to the real file).
AGENTDISTILL_TASKS_DIR points the conformance suite (and the lm-eval loader) at the copied `tasks/`. Checked:
every block exits 0; `inspect eval` wrote a log of the new task with all items scored correct; the conformance suite
discovered the new task and the new solver and passed them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "CONTRIBUTING.md"
BLOCK = re.compile(r"^<!-- guide:run -->\n(`{3,})bash\n(.*?)^\1$", re.MULTILINE | re.DOTALL)


def guide_blocks() -> list[str]:
    return [match.group(2) for match in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_guide_has_the_steps():
    blocks = guide_blocks()
    text = "\n".join(blocks)
    assert len(blocks) >= 9
    for step in ("tasks/tinyarith/data/tinyarith.jsonl", "manifest.json", "tasks/tinyarith/tinyarith.py",
                 "tasks/tinyarith/README.md", "tasks/tinyarith/tinyarith.yaml", "inspect eval tasks/tinyarith",
                 "test_conformance.py -k tinyarith", "solvers/direct.py", "src/agentdistill/registry.py"):
        assert step in text, step


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(ROOT / "tasks", repo / "tasks", ignore=shutil.ignore_patterns("__pycache__", "tinyarith"))
    (repo / "solvers").mkdir()
    (repo / "src" / "agentdistill").mkdir(parents=True)
    shutil.copy(ROOT / "src" / "agentdistill" / "registry.py", repo / "src" / "agentdistill" / "registry.py")
    for name in (".venv", "tests", "pyproject.toml"):
        (repo / name).symlink_to(ROOT / name)
    return repo


def test_following_the_guide_adds_a_task_and_a_solver(repo_copy, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "PYTEST_CURRENT_TEST",
                                                             "PYTEST_ADDOPTS")}
    env.update(AGENTDISTILL_TASKS_DIR=str(repo_copy / "tasks"), HF_HUB_OFFLINE="1", INSPECT_LOG_DIR=str(tmp_path / "logs"),
               INSPECT_DISPLAY="plain")
    outputs = []
    for number, block in enumerate(guide_blocks(), start=1):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=repo_copy, env=env, capture_output=True,
                                text=True, timeout=300, stdin=subprocess.DEVNULL)
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, f"guide block {number} failed:\n{block}\n---\n{outputs[-1][-3000:]}"

    # the task folder the guide describes
    folder = repo_copy / "tasks" / "tinyarith"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "data", "tinyarith.py", "tinyarith.yaml"]
    assert json.loads((folder / "data" / "manifest.json").read_text())["items"] == 3

    # inspect eval ran it: every item scored correct by the scripted model
    [log_file] = list((tmp_path / "logs").glob("*tinyarith*"))
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(log_file))
    assert log.status == "success" and log.eval.task.split("/")[-1] == "tinyarith"
    assert sorted(s.id for s in log.samples) == ["ta-1", "ta-2", "ta-3"]
    assert all(s.scores["math_scorer"].value == "C" for s in log.samples)

    # the conformance suite discovered and passed the new task (5 checks) and the new solver (math + factual)
    task_checks = next(o for o, b in zip(outputs, guide_blocks()) if "-k tinyarith" in b)
    assert re.search(r"\b5 passed\b", task_checks) and "failed" not in task_checks, task_checks[-2000:]
    solver_checks = next(o for o, b in zip(outputs, guide_blocks()) if "-k direct" in b)
    assert re.search(r"\b2 passed\b", solver_checks) and "failed" not in solver_checks, solver_checks[-2000:]

    # the registry line went to the copy, and is valid Python
    registry = (repo_copy / "src" / "agentdistill" / "registry.py").read_text()
    line = "from agentdistill.solvers import direct  # noqa: F401  (direct)"
    assert registry.count(line) == 1
    assert registry.index(line) < registry.index("\nregister_bare_aliases(")  # with the other imports
    compile(registry, "registry.py", "exec")
    assert "direct" not in (ROOT / "src" / "agentdistill" / "registry.py").read_text()
