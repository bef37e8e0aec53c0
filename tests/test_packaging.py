"""The distribution installs the rooms under `agentdistill.*` only, with their data, and registers itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("core", "models", "tasks", "solvers", "distill", "leaderboard")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _shipped_as_data(folder: Path) -> bool:
    """A folder whose files ship as package data (e.g. the sandbox image's build files) is not a package."""
    for package, patterns in _pyproject()["tool"]["setuptools"]["package-data"].items():
        base = ROOT.joinpath(*package.split(".")[1:])
        if any(folder == base / pattern.split("/")[0] for pattern in patterns if pattern.endswith("/*")):
            return True
    return False


def test_every_room_is_a_package_linked_into_src():
    # setuptools finds the packages under src/ (the rooms are symlinked there), so a room that is not linked, or a
    # sub-folder without __init__.py, would silently be missing from the wheel.
    found = set(_pyproject()["tool"]["setuptools"]["packages"]["find"]["where"])
    assert found == {"src"}
    for room in ROOMS:
        link = ROOT / "src" / "agentdistill" / room
        assert link.is_symlink() and link.resolve() == (ROOT / room).resolve(), room
        for folder in (ROOT / room).rglob("*.py"):
            parent = folder.parent
            if parent == ROOT / room or "__pycache__" in parent.parts:
                continue
            is_task_folder = room == "tasks" and parent.parent == ROOT / "tasks" and not parent.name.startswith("_")
            assert is_task_folder or _shipped_as_data(parent) or (parent / "__init__.py").exists(), \
                f"{parent} needs an __init__.py (or ship it as package data)"


def test_no_generic_top_level_modules(tmp_path):
    # From a neutral directory, the bare names must not resolve to this project.
    code = (
        "import importlib.util as u, agentdistill.tasks, agentdistill.solvers;"
        "print([n for n in ('core','models','tasks','solvers','distill','leaderboard','src') if u.find_spec(n)])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_inspect_entry_point_registers_solvers_models_and_sandboxes():
    eps = [ep for ep in entry_points(group="inspect_ai") if ep.name == "agentdistill"]
    assert eps and eps[0].value == "agentdistill.registry"
    eps[0].load()
    from inspect_ai._util.registry import registry_find, registry_lookup, registry_unqualified_name

    def found(kind: str, name: str) -> bool:
        # model APIs and sandboxes are looked up by their unqualified name
        return bool(registry_find(lambda i: i.type == kind and registry_unqualified_name(i) == name))

    for solver in ("cot", "cot_sc", "rag", "agent", "agent_sag", "agent_ftp"):
        assert registry_lookup("solver", f"agentdistill/{solver}") is not None, solver
        assert registry_lookup("solver", solver) is not None, f"bare alias for {solver}"
    for api in ("agentdistill", "scripted"):
        assert found("modelapi", api), api
    assert found("sandboxenv", "bwrap")


def test_console_script_lists_commands():
    exe = Path(sys.executable).with_name("agentdistill")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("prepare-model", "trajectories", "train", "leaderboard", "regress"):
        assert command in out, command


def test_wheel_ships_task_data_and_worker(tmp_path):
    # Build from a copy: an in-tree build leaves an egg-info in the checkout, which then
    # shadows the editable install's metadata for anything run from the repo root.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", "logs"))
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("agentdistill-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.split("/")[0] in ROOMS], "rooms must install under agentdistill/"
    for task in ("hotpotqa", "gsm_hard", "2wikimultihopqa", "math_train"):
        assert any(n.startswith(f"agentdistill/tasks/{task}/data/") for n in names), task
        assert f"agentdistill/tasks/{task}/{task}.py" in names
    assert "agentdistill/solvers/sandbox/worker.py" in names
    assert "agentdistill/core/answers/sympy_worker.py" in names and "agentdistill/models/apis.py" in names
    assert "agentdistill/registry.py" in names and "agentdistill/cli.py" in names
    assert any(n.startswith("agentdistill/solvers/retrieval/data/") for n in names)
    assert "agentdistill/leaderboard/paper_numbers.yaml" in names and "agentdistill/leaderboard/grids/paper.yaml" in names
