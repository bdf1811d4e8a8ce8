"""scripts/local_stack has no import circle, and its modules call each other by public names only.

The graph is read from the source (ast), every import statement counted, also those inside functions (the
lazy imports of ``kube`` and ``git``): a circle that only closes at run time is still a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import local_stack

PACKAGE = Path(local_stack.__file__).resolve().parent


def import_graph(package: Path) -> dict[str, set[str]]:
    """``{module: {modules of the same package it imports}}``; the package itself is ``__init__``."""
    name = package.name
    modules = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}

    def resolve(target: str | None, names: list[str]) -> set[str]:
        if target:  # from .x import y / import pkg.x -> x
            first = target.split(".")[0]
            return {first} if first in modules else set()
        # from . import x, y: a submodule each, or a name of the package itself
        return {n if n in modules else "__init__" for n in names}

    for module in modules:
        tree = ast.parse((package / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
                if node.level == 1:
                    graph[module] |= resolve(node.module, names)
                elif node.level == 0 and node.module and node.module.split(".")[0] == name:
                    rest = node.module.partition(".")[2]
                    graph[module] |= resolve(rest or None, names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    head, _, rest = alias.name.partition(".")
                    if head == name:
                        graph[module] |= resolve(rest or "__init__", [])
    for module in graph:
        graph[module].discard(module)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None."""
    state: dict[str, str] = {}  # "open" while on the DFS path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def private_calls(package: Path) -> list[str]:
    """``module:line name`` of each use of another object's or module's private name (``x._y``,
    ``from .m import _y``); ``self._y``/``cls._y`` and dunders are fine."""
    out = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(package.name)):
                out += [f"{path.stem}:{node.lineno} {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                  and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                out.append(f"{path.stem}:{node.lineno} {node.attr}")
    return out


def test_local_stack_has_no_import_circle():
    graph = import_graph(PACKAGE)
    assert {"stack", "kube", "git", "common", "cli"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_parts_build_on_common_not_on_each_other():
    graph = import_graph(PACKAGE)
    assert "common" in graph["kube"] and "common" in graph["git"]
    assert graph["common"] <= {"procs"}
    for part in ("kube", "git"):
        assert not graph[part] & {"stack", "cli", "__init__"}, (part, graph[part])
    assert {"kube", "git"} <= graph["stack"]  # the stack starts the parts, never the other way round


def test_modules_call_each_other_by_public_names():
    assert private_calls(PACKAGE) == []


def test_the_checks_see_a_circle_and_a_private_call(tmp_path):
    """The checks above are not vacuous: a circle through a function-level import and a private call are found."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import run\n")
    (pkg / "a.py").write_text("from .b import helper\n\ndef run():\n    return helper()\n")
    (pkg / "b.py").write_text("def helper():\n    from . import a\n    return a._private\n")
    (pkg / "c.py").write_text("import pkg.b\n")
    graph = import_graph(pkg)
    assert graph == {"__init__": {"a"}, "a": {"b"}, "b": {"a"}, "c": {"b"}}
    assert find_cycle(graph) == ["a", "b", "a"]
    assert private_calls(pkg) == ["b:3 _private"]
    (pkg / "b.py").write_text("def helper():\n    return 1\n")
    assert find_cycle(import_graph(pkg)) is None
