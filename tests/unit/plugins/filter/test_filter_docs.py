"""Every filter of the collection is documented for `ansible-doc -t filter` under its own name: the DOCUMENTATION of
its Python file when that names it, else plugins/filter/<name>.yml (how ansible-core documents the filters of a file
that holds several). A filter documented under another filter's text would show the wrong description."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

FILTERS = Path(__file__).resolve().parents[4] / "plugins" / "filter"


def _filters() -> list[tuple[str, str]]:
    out = []
    for path in sorted(FILTERS.glob("*.py")):
        module = importlib.import_module(f"ansible_collections.tidepool.eks.plugins.filter.{path.stem}")
        out += [(path.stem, name) for name in module.FilterModule().filters()]
    return out


def _doc(path: Path) -> dict:
    if path.suffix == ".yml":
        return yaml.safe_load(path.read_text())["DOCUMENTATION"]
    match = re.search(r'DOCUMENTATION\s*=\s*r?"""(.*?)"""', path.read_text(), re.S)
    return yaml.safe_load(match.group(1)) if match else {}


@pytest.mark.parametrize("file, name", _filters())
def test_filter_documented_under_its_own_name(file, name):
    own = FILTERS / f"{name}.yml"
    doc = _doc(own) if own.exists() else _doc(FILTERS / f"{file}.py")
    assert doc.get("name") == name, f"filter {name} ({file}.py) has no documentation of its own: add {own.name}"
    assert doc.get("short_description") and doc.get("description") and "_input" in doc.get("options", {})


def test_no_doc_file_without_its_filter():
    names = {name for _file, name in _filters()}
    assert {p.stem for p in FILTERS.glob("*.yml")} <= names
