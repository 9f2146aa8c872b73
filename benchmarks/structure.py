"""The package's structural figures: module sizes, long functions, wide signatures, the internal import graph.

    python benchmarks/structure.py [--root initlab] [--json]

Lines are a file's physical lines. A function's (or method's) length runs from its ``def`` line to its last
line, decorators excluded; nested functions are measured on their own. Parameters count positional, keyword-only
and ``*args``/``**kwargs`` one each, a leading ``self``/``cls`` excluded. An edge A -> B is counted once per pair
of modules whenever A imports B anywhere (top level, under ``if`` or in a function); files in the graph are the
modules with at least one edge; levels are the modules on the longest import chain. Function-level imports are
the import statements inside a function that name at least one of the package's own modules.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path

BIG_FILE, LONG_FUNCTION, MANY_PARAMS = 400, 60, 8
ACCEPTED = {("cli", "build_parser"): "the argparse table"}  # (module within the package, function): reason
Modules = dict[str, tuple[Path, ast.Module, int]]  # dotted name: path, syntax tree, line count
Nodes = Iterator[tuple[ast.AST, str, bool]]


def load(root: Path) -> Modules:
    """Every module under ``root`` by dotted name: its path, syntax tree and line count."""
    modules: Modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text(encoding="utf-8")
        modules[name] = (path, ast.parse(text, str(path)), len(text.splitlines()))
    return modules


def _nodes(node: ast.AST, prefix: str = "", in_function: bool = False) -> Nodes:
    """Each node below ``node`` with the qualified name prefix of its scope and whether a function encloses it."""
    for child in ast.iter_child_nodes(node):
        yield child, prefix, in_function
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _nodes(child, f"{prefix}{child.name}.", True)
        elif isinstance(child, ast.ClassDef):
            yield from _nodes(child, f"{prefix}{child.name}.", in_function)
        else:
            yield from _nodes(child, prefix, in_function)


def _param_count(args: ast.arguments) -> int:
    """Parameters of a signature, ``*args`` and ``**kwargs`` one each, a leading ``self``/``cls`` left out."""
    positional = [*args.posonlyargs, *args.args]
    skip = 1 if positional and positional[0].arg in ("self", "cls") else 0
    return len(positional) - skip + len(args.kwonlyargs) + (args.vararg is not None) + (args.kwarg is not None)


def functions(modules: Modules, root: Path) -> list[dict]:
    """Every function and method: where it is, its length in lines and its parameter count."""
    found = []
    for module, (path, tree, _) in modules.items():
        inner = module.partition(".")[2]
        for node, prefix, _ in _nodes(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(
                    {
                        "name": prefix + node.name,
                        "where": f"{path.relative_to(root.parent)}:{node.lineno}",
                        "lines": node.end_lineno - node.lineno + 1,
                        "params": _param_count(node.args),
                        "exception": ACCEPTED.get((inner, prefix + node.name)),
                    }
                )
    return found


def _targets(module: str, node: ast.AST, modules: Modules, is_package: bool) -> set[str]:
    """The package's modules that an import statement in ``module`` names (the nearest enclosing module if needed)."""
    top = module.split(".")[0]

    def nearest(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.split(".")[0] == top]
        return {nearest(n) for n in names} - {module}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        package = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
        base = f"{package}.{base}" if base else package
    if base.split(".")[0] != top:
        return set()
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else nearest(base) for a in node.names} - {module}


def imports(modules: Modules) -> tuple[set[tuple[str, str]], int]:
    """The import edges among the package's modules and the count of function-level imports of them."""
    edges: set[tuple[str, str]] = set()
    in_functions = 0
    for module, (path, tree, _) in modules.items():
        for node, _, in_function in _nodes(tree):
            targets = _targets(module, node, modules, path.name == "__init__.py")
            edges.update((module, target) for target in targets)
            in_functions += bool(targets and in_function)
    return edges, in_functions


def levels(edges: set[tuple[str, str]]) -> tuple[int, list[str] | None]:
    """The modules on the longest import chain, or 0 and a cycle if the graph has one."""
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    depth: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt in stack:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in depth and (cycle := visit(nxt)):
                return cycle
        depth[node] = 1 + max((depth[n] for n in graph.get(node, [])), default=0)
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in depth and (cycle := visit(node)):
            return 0, cycle
    return max(depth.values(), default=0), None


def measure(root: Path) -> dict:
    """All the figures of the package at ``root`` as one JSON-ready dictionary."""
    modules = load(root)
    sizes = sorted(((name, lines) for name, (_, _, lines) in modules.items()), key=lambda s: (-s[1], s[0]))
    found = functions(modules, root)
    edges, in_functions = imports(modules)
    depth, cycle = levels(edges)
    return {
        "root": str(root),
        "modules": len(modules),
        "total_lines": sum(lines for _, lines in sizes),
        "lines": dict(sizes),
        "big_files": [name for name, lines in sizes if lines > BIG_FILE],
        "long_functions": sorted((f for f in found if f["lines"] > LONG_FUNCTION), key=lambda f: -f["lines"]),
        "many_params": sorted((f for f in found if f["params"] > MANY_PARAMS), key=lambda f: -f["params"]),
        "edges": len(edges),
        "files_in_graph": len({m for edge in edges for m in edge}),
        "levels": depth,
        "cycle": cycle,
        "function_level_imports": in_functions,
    }


def report(figures: dict) -> str:
    """The figures as a plain-text report."""
    width = max(map(len, figures["lines"]), default=6)
    out = [f"{'module':<{width}}  lines", *(f"{m:<{width}}  {n:>5}" for m, n in figures["lines"].items())]
    out += [f"total: {figures['total_lines']} lines in {figures['modules']} modules", ""]
    out += [f"files over {BIG_FILE} lines: {len(figures['big_files'])}", *(f"  {m}" for m in figures["big_files"])]
    out += [f"functions over {LONG_FUNCTION} lines: {len(figures['long_functions'])}"]
    for f in figures["long_functions"]:
        note = f"  (accepted exception: {f['exception']})" if f["exception"] else ""
        out.append(f"  {f['lines']:>4}  {f['where']}  {f['name']}{note}")
    out += [f"functions with more than {MANY_PARAMS} parameters: {len(figures['many_params'])}"]
    out += [f"  {f['params']:>4}  {f['where']}  {f['name']}" for f in figures["many_params"]]
    chain = f"cycle: {' -> '.join(figures['cycle'])}" if figures["cycle"] else f"levels: {figures['levels']}"
    out += [f"import edges: {figures['edges']}, files in graph: {figures['files_in_graph']}, {chain}"]
    out += [f"function-level imports of the package's modules: {figures['function_level_imports']}"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Print the figures of the package given by ``--root`` (default: the one beside this script)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1] / "initlab")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    figures = measure(args.root.resolve())
    print(json.dumps(figures, indent=2) if args.json else report(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
