"""The rooms import one way only (CONTRIBUTING.md, "Layers"): no module imports a higher layer, siblings do not
import each other, no import cycle between modules, and no function-level import of the project unless it is listed
below with its reason. Parses every module's imports (no import side effects), so a new cycle fails here by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first; rooms in one tuple are siblings that must not import each other. "agentdistill" is the package's own
# modules in src/agentdistill (the CLI and the inspect entry point that registers everything).
LAYERS: list[tuple[str, ...]] = [("core",), ("models",), ("tasks",), ("solvers",), ("distill", "leaderboard"),
                                 ("agentdistill",)]
ROOMS = [room for layer in LAYERS for room in layer]

# (module file, imported module): why the import is inside a function. Nothing here may be there to dodge a cycle.
DEFERRED_ALLOWED = {
    ("models/apis.py", "agentdistill.models.hf_model"): "torch + transformers load only when a model is created, "
    "so `inspect` commands that never use the model stay fast (the entry point imports apis.py on every command)",
    ("models/apis.py", "agentdistill.models.scripted"): "the same: the registry imports only the factory",
    ("models/apis.py", "agentdistill.models.programmatic"): "the same: the registry imports only the factory",
    ("src/agentdistill/cli.py", "agentdistill.core.errors"): "`agentdistill --help` and the dispatch stay instant: "
    "the error helpers import inspect-ai (seconds), needed only once a command runs",
}


def room_of_file(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return "agentdistill" if rel.parts[0] == "src" else rel.parts[0]


def room_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "agentdistill":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "agentdistill"


def project_files(root: Path) -> list[Path]:
    files = [p for room in ROOMS if room != "agentdistill" for p in (root / room).rglob("*.py")]
    files += [p for p in (root / "src" / "agentdistill").glob("*.py")]
    return sorted(p for p in files if "__pycache__" not in p.parts)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    parts = list(rel.parts[2:] if rel.parts[0] == "src" else rel.parts)
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["agentdistill", *parts])


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for every import of `agentdistill...` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module]
                # `from agentdistill.x import y` may import a submodule y
                names += [f"{child.module}.{alias.name}" for alias in child.names]
            for name in names:
                if name.startswith("agentdistill"):
                    found.append((name, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def check(root: Path) -> list[str]:
    """Every violation of the layer rules under `root`, as readable lines (empty: the house is in order)."""
    rank = {room: i for i, layer in enumerate(LAYERS) for room in layer}
    files = project_files(root)
    modules = {module_name(p, root): p for p in files}
    problems: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        source_room = room_of_file(path, root)
        rel = path.relative_to(root).as_posix()
        for name, line, in_function in imports_of(path):
            target_room = room_of_module(name)
            if target_room is None:
                continue
            target = name if name in modules else None
            if target is None:  # `from pkg import function`: the module is the longest known prefix
                parts = name.split(".")
                target = next((".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1) if ".".join(parts[:i]) in modules), None)
            if rank[target_room] > rank[source_room]:
                problems.append(f"{rel}:{line} imports {name}: layer '{target_room}' is above '{source_room}'")
            elif rank[target_room] == rank[source_room] and target_room != source_room:
                problems.append(f"{rel}:{line} imports {name}: siblings '{source_room}' and '{target_room}' must not "
                                "import each other")
            if in_function and (rel, name) not in DEFERRED_ALLOWED and name in modules:
                problems.append(f"{rel}:{line} imports {name} inside a function (move it to the top, or list it in "
                                "DEFERRED_ALLOWED with its reason)")
            if target is not None and target != module_name(path, root) and not in_function:
                graph[module_name(path, root)].add(target)
    problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component) + [sorted(component)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_house_imports_one_way():
    problems = check(ROOT)
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_every_room_is_linked_into_the_package():
    for room in ROOMS:
        if room != "agentdistill":
            link = ROOT / "src" / "agentdistill" / room
            assert link.is_symlink() and link.resolve() == (ROOT / room).resolve(), room


def _tiny_house(root: Path, extra: dict[str, str]) -> Path:
    files = {"core/__init__.py": "", "core/paths.py": "X = 1\n", "tasks/__init__.py": "",
             "tasks/t.py": "from agentdistill.core.paths import X\n", "src/agentdistill/__init__.py": "", **extra}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for room in ROOMS:
        (root / room).mkdir(exist_ok=True)
    return root


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, None),
        ({"core/paths.py": "from agentdistill.tasks.t import Y\n"}, "layer 'tasks' is above 'core'"),
        ({"core/a.py": "from agentdistill.core.b import B\nA = 1\n", "core/b.py": "from agentdistill.core.a import A\nB = 1\n"},
         "import cycle: agentdistill.core.a -> agentdistill.core.b"),
        ({"core/a.py": "def f():\n    from agentdistill.core.paths import X\n    return X\n"}, "inside a function"),
        ({"distill/__init__.py": "", "leaderboard/__init__.py": "", "leaderboard/x.py": "import agentdistill.distill\n"},
         "siblings 'leaderboard' and 'distill'"),
    ],
)
def test_the_checker_catches_each_kind_of_violation(tmp_path, extra, expected):
    problems = check(_tiny_house(tmp_path, extra))
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems
