"""docs/architecture.md's package table matches plugins/module_utils/: every package has a row, each row lists every
file (and sub-package) of its package, and no row lists one that does not exist; and no file there is over 400 lines."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "architecture.md"
MODULE_UTILS = REPO / "plugins" / "module_utils"
MAX_LINES = 400


def table() -> dict[str, list[str]]:
    """``{package path with a trailing "/": [names in its files cell]}`` of the table under the
    ``plugins/module_utils/`` heading (names as written: ``x.py`` or ``sub/``)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## `plugins/module_utils/`", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[a-z0-9_/]+/`", cells[0]):
            continue
        package = cells[0].strip("`")
        assert package not in rows, f"docs/architecture.md: two rows for {package}"
        rows[package] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def packages() -> dict[str, list[str]]:
    """``{package path with a trailing "/": [its .py files but __init__.py, and its sub-packages with "/"]}``."""
    out = {}
    for init in sorted(MODULE_UTILS.rglob("__init__.py")):
        directory = init.parent
        if directory == MODULE_UTILS:
            continue
        files = [p.name for p in directory.glob("*.py") if p.name != "__init__.py"]
        subs = [f"{p.name}/" for p in directory.iterdir() if (p / "__init__.py").is_file()]
        out[f"{directory.relative_to(MODULE_UTILS).as_posix()}/"] = sorted(files + subs)
    return out


def test_the_table_parses():
    rows = table()
    assert "common/" in rows and "gitops/flux_v2/" in rows and all(rows.values()), rows


def test_every_package_has_a_row_and_no_row_names_a_missing_package():
    rows, real = table(), packages()
    assert sorted(set(real) - set(rows)) == [], "packages without a row in docs/architecture.md"
    assert sorted(set(rows) - set(real)) == [], "rows of docs/architecture.md naming no package"


@pytest.mark.parametrize("package", sorted(packages()))
def test_each_row_lists_exactly_the_files_of_its_package(package):
    listed = table().get(package, [])
    real = packages()[package]
    assert sorted(set(real) - set(listed)) == [], f"{package}: files missing from docs/architecture.md's row"
    assert sorted(set(listed) - set(real)) == [], f"{package}: docs/architecture.md lists files that do not exist"
    assert len(listed) == len(set(listed)), f"{package}: a file listed twice"


def test_no_module_utils_file_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in MODULE_UTILS.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"over {MAX_LINES} lines (split by concern)"
