"""The import layers of plugins/module_utils (docs/architecture.md, "Layers"), read from every file's imports.

Each package imports only packages of the layers below its own, never one of its own layer; module_utils never
imports a module, filter or lookup; and no two packages import each other through any path. A failure names the file, its line and the import at fault.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
PREFIX = "ansible_collections.tidepool.eks.plugins"

#: Lowest first. A package may import any package of a lower layer.
LAYERS = (
    ("common",),
    ("config", "repository", "k8s"),
    ("aws", "crypto", "github"),
    ("gitops", "preflight", "secrets"),
)


def _rank(layers=LAYERS) -> dict:
    return {pkg: i for i, layer in enumerate(layers) for pkg in layer}


def _imports(path: Path, root: Path):
    """``(line, imported dotted name)`` of every import of ``path`` (module level and inside functions), relative
    imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = ["ansible_collections", "tidepool", "eks", "plugins", root.name,
            *path.relative_to(root).with_suffix("").parts]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # ``from pkg import sub`` may name a sub-package: judge each name as pkg.name
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def edges(root: Path = ROOT):
    """``[(importer package, imported package or None, "path:line", import)]`` of every import of the collection's
    plugins from module_utils; ``None``: the import leaves module_utils (a module, filter or lookup)."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            continue
        pkg = rel.parts[0]
        for line, name in _imports(path, root):
            if not name.startswith(PREFIX + "."):
                continue
            rest = name[len(PREFIX) + 1:].split(".")
            target = rest[1] if rest[0] == root.name and len(rest) > 1 else None
            if target != pkg:
                out.append((pkg, target, f"plugins/module_utils/{rel.as_posix()}:{line}", name))
    return out


def layer_violations(root: Path = ROOT, layers=LAYERS) -> list[str]:
    """One message per import against the layer order (module docstring)."""
    rank, out = _rank(layers), []
    for pkg, target, where, name in edges(root):
        if target is None:
            out.append(f"{where}: imports {name}: module_utils never imports plugins above it")
        elif pkg not in rank or target not in rank:
            out.append(f"{where}: imports {name}: {pkg if pkg not in rank else target}/ has no layer "
                       "(add it to LAYERS and to docs/architecture.md)")
        elif rank[target] > rank[pkg]:
            out.append(f"{where}: imports {name}: {pkg}/ (layer {rank[pkg]}) may not import {target}/ "
                       f"(layer {rank[target]}, above it)")
        elif rank[target] == rank[pkg]:
            out.append(f"{where}: imports {name}: {pkg}/ and {target}/ share layer {rank[pkg]}: neither imports "
                       "the other (move the shared part down, or let the caller pass it)")
    return out


def package_cycles(root: Path = ROOT) -> list[str]:
    """One message per package-level cycle, naming one import of each of its arrows."""
    graph, example = {}, {}
    for pkg, target, where, name in edges(root):
        if target is not None:
            graph.setdefault(pkg, set()).add(target)
            example.setdefault((pkg, target), f"{where} imports {name}")
    out, seen = [], set()

    def visit(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    arrows = "; ".join(example[(a, b)] for a, b in zip(cycle, cycle[1:]))
                    out.append(f"cycle {' -> '.join(cycle)}: {arrows}")
            else:
                visit(nxt, path + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    return out


PLUGINS = ROOT.parent


def _mentions_version(node) -> bool:
    """Whether ``node`` reads a flavour number: a name or attribute ``flux_version`` / ``VERSION``, or a
    subscript or call ``...["flux_version"]`` / ``.get("flux_version")``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == "flux_version":
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in ("flux_version", "VERSION"):
            return True
        if isinstance(sub, ast.Constant) and sub.value == "flux_version":
            return True
    return False


def flavour_number_tests(plugins: Path = PLUGINS) -> list[str]:
    """``path:line: source`` of every place outside ``module_utils/gitops/`` that decides on a flavour number:
    a comparison of a flavour number with a literal, or a flavour looked up by a literal number."""
    out = []
    for path in sorted(plugins.rglob("*.py")):
        rel = path.relative_to(plugins).as_posix()
        if rel.startswith("module_utils/gitops/"):
            continue
        src = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(src)):
            literal = [isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool)
                       for n in getattr(node, "comparators", [])]
            if isinstance(node, ast.Compare) and (
                    (any(literal) and _mentions_version(node.left))
                    or (isinstance(node.left, ast.Constant) and isinstance(node.left.value, int)
                        and any(_mentions_version(c) for c in node.comparators))):
                out.append(f"plugins/{rel}:{node.lineno}: {ast.get_source_segment(src, node)}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "flavour"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                out.append(f"plugins/{rel}:{node.lineno}: {ast.get_source_segment(src, node)}")
    return out


def test_no_python_outside_gitops_decides_on_a_flavour_number():
    found = flavour_number_tests()
    assert not found, "flavour numbers tested outside gitops/ (ask the flavour instead):\n" + "\n".join(found)


def test_the_flavour_number_check_can_fail(tmp_path):
    _write(tmp_path, "module_utils/config/a.py", "def f(values, flavour, registry):\n"
           "    if int(values.get('flux_version') or 1) == 2:\n        pass\n"
           "    if flavour.VERSION != 1:\n        pass\n"
           "    return registry.flavour(2)\n")
    _write(tmp_path, "module_utils/gitops/b.py", "def f(v):\n    return v.VERSION == 2\n")
    assert [m.split(": ")[0] for m in flavour_number_tests(tmp_path)] == [
        "plugins/module_utils/config/a.py:2", "plugins/module_utils/config/a.py:4", "plugins/module_utils/config/a.py:6"]


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(_rank()), "docs/architecture.md's Layers and LAYERS must list every package"


def test_imports_follow_the_layers():
    problems = layer_violations()
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_no_package_level_cycle():
    cycles = package_cycles()
    assert not cycles, "package-level cycles:\n" + "\n".join(cycles)


# ---------------------------------------------------------------------------------------- the checks can fail

def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture()
def fake_root(tmp_path):
    root = tmp_path / "module_utils"
    for pkg in ("common", "config", "gitops", "aws", "crypto"):
        _write(root, f"{pkg}/__init__.py", "")
    return root


def test_an_upward_import_is_named_with_its_file_and_line(fake_root):
    _write(fake_root, "config/tree.py", "import os\n\n"
           "from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry\n")
    [msg] = layer_violations(fake_root)
    assert msg.startswith("plugins/module_utils/config/tree.py:3: imports "
                          "ansible_collections.tidepool.eks.plugins.module_utils.gitops.registry: config/ (layer 1) "
                          "may not import gitops/")


def test_imports_inside_functions_and_relative_ones_count(fake_root):
    _write(fake_root, "common/preflight.py", "def f():\n"
           "    from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection\n")
    _write(fake_root, "config/irsa.py", "from ..gitops import registry\n")
    assert [m.split(": imports")[0] for m in layer_violations(fake_root)] == [
        "plugins/module_utils/common/preflight.py:2", "plugins/module_utils/config/irsa.py:1"]


def test_sideways_imports_and_imports_of_modules_fail(fake_root):
    _write(fake_root, "aws/ca.py", "from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki\n"
           "from ansible_collections.tidepool.eks.plugins.modules import preflight\n")
    msgs = layer_violations(fake_root)
    assert "aws/ and crypto/ share layer 2: neither imports the other" in msgs[0]
    assert "never imports plugins above it" in msgs[1]


def test_a_package_cycle_names_each_arrow(fake_root):
    _write(fake_root, "config/a.py", "from ansible_collections.tidepool.eks.plugins.module_utils.gitops import b\n")
    _write(fake_root, "gitops/b.py", "from ansible_collections.tidepool.eks.plugins.module_utils.config import a\n")
    [msg] = package_cycles(fake_root)
    assert msg.startswith("cycle config -> gitops -> config: plugins/module_utils/config/a.py:1 imports")
    assert "plugins/module_utils/gitops/b.py:1 imports" in msg
