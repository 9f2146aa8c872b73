"""The package's import graph: no cycles, no upward imports, measuring below training.

Function-level imports count as edges too, and their number is kept from growing.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "initlab"

# Each package's level: a module imports only from its own package or from lower levels.
LEVELS = {
    "initlab": 0,
    "initlab._tf_quiet": 0,
    "initlab.errors": 0,
    "initlab.paths": 0,
    "initlab.files": 0,
    "initlab.workers": 0,
    "initlab.stats": 1,
    "initlab.report": 1,
    "initlab.sources": 1,
    "initlab.convergence": 1,
    "initlab.plots": 1,
    "initlab.data": 2,
    "initlab.claims": 2,
    "initlab.nets": 3,
    "initlab.theory": 3,
    "initlab.training": 4,
    "initlab.probe": 5,
    "initlab.findings": 6,
    "initlab.pipeline": 7,
    "initlab.cli": 8,
}
# Measuring a built network never trains one.
MEASURING = ("initlab.probe.measure", "initlab.probe.float64", "initlab.probe.symmetry")
# Function-level imports of the package's own modules: at most this many (each one hides an edge). The five
# left are the command line's: its commands that need TensorFlow import it when they run, not at start-up.
MAX_FUNCTION_LEVEL = 5


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> set[str]:
    return {_module_name(p) for p in PACKAGE.rglob("*.py")}


def _targets(node: ast.AST, modules: set[str]) -> list[str]:
    """The package's modules an import statement names (``from pkg import sub`` names ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "initlab"]
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "initlab":
        subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
        return subs if len(subs) == len(node.names) else [node.module, *subs]
    return []


def _graph() -> tuple[dict[str, set[str]], int]:
    """Edges between the package's modules, and how many import statements sit inside functions."""
    modules, graph, nested = _modules(), {}, 0
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        edges = graph.setdefault(module, set())
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            targets = [t for t in _targets(node, modules) if t != module]
            edges.update(targets)
            nested += bool(targets) and id(node) not in top and not _under_top_level_if(tree, node)
    return graph, nested


def _under_top_level_if(tree: ast.Module, node: ast.AST) -> bool:
    return any(isinstance(n, (ast.If, ast.Try)) and node in list(ast.walk(n)) for n in tree.body)


def _level(module: str) -> int:
    while module not in LEVELS:
        module = module.rsplit(".", 1)[0]
    return LEVELS[module]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt in graph and not state.get(nxt):
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if not state.get(start):
            found = visit(start, [start])
            if found:
                return found
    return None


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_levels_name_every_module() -> None:
    assert {m.split(".")[1] if "." in m else m for m in _modules()} >= {"training", "probe", "pipeline"}
    assert _level("initlab.training.study") == 4 and _level("initlab.plots.curves") == 1


def test_no_import_cycles() -> None:
    graph, _ = _graph()
    assert "initlab.training.study" in graph and "initlab.data.download" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_upward_imports() -> None:
    graph, _ = _graph()
    upward = sorted(
        f"{a} -> {b}"
        for a, edges in graph.items()
        for b in edges
        if _level(b) > _level(a) and not b.startswith(a + ".")
    )
    assert not upward, upward


def test_measuring_sits_below_training() -> None:
    graph, _ = _graph()
    for module in MEASURING:
        reached = _reachable(graph, module)
        assert not any(m.startswith("initlab.training") for m in reached), (module, sorted(reached))


def test_function_level_imports_do_not_grow() -> None:
    _, nested = _graph()
    assert nested <= MAX_FUNCTION_LEVEL, f"{nested} function-level imports of initlab modules"
