"""Every filter of the collection is documented for `ansible-doc -t filter` under its own name.

ansible-core (utils/plugin_docs.py, get_plugin_docs) reads the DOCUMENTATION of the Python file that holds the
filter and looks for plugins/filter/<name>.yml only when that file has none. So a file holding one filter may carry
its DOCUMENTATION; a file holding several carries none, and each of its filters has its own <name>.yml (otherwise
every filter of the file would show the text written for one of them, and a <name>.yml beside it would never be
read)."""
from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
FILTERS = REPO / "plugins" / "filter"


def _filters() -> list[tuple[str, str]]:
    out = []
    for path in sorted(FILTERS.glob("*.py")):
        module = importlib.import_module(f"ansible_collections.tidepool.eks.plugins.filter.{path.stem}")
        out += [(path.stem, name) for name in module.FilterModule().filters()]
    return out


def _py_doc(path: Path) -> dict | None:
    match = re.search(r'^DOCUMENTATION\s*=\s*r?"""(.*?)"""', path.read_text(), re.S | re.M)
    return yaml.safe_load(match.group(1)) if match else None


def _shown_doc(file: str, name: str) -> tuple[Path, dict]:
    """The file ansible-doc reads for filter ``name`` of ``file``.py, and its DOCUMENTATION."""
    py = FILTERS / f"{file}.py"
    doc = _py_doc(py)
    if doc is not None:
        return py, doc
    own = FILTERS / f"{name}.yml"
    return own, (yaml.safe_load(own.read_text()) or {}).get("DOCUMENTATION", {}) if own.exists() else {}


@pytest.mark.parametrize("file, name", _filters())
def test_filter_documented_under_its_own_name(file, name):
    source, doc = _shown_doc(file, name)
    assert doc.get("name") == name, (
        f"ansible-doc shows filter {name} ({file}.py) with the documentation of {doc.get('name')!r} ({source.name}): "
        f"give it plugins/filter/{name}.yml" + (f" and remove the DOCUMENTATION of {file}.py" if source.suffix == ".py"
                                                 else ""))
    assert doc.get("short_description") and doc.get("description") and "_input" in doc.get("options", {})
    if source.suffix == ".yml":
        whole = yaml.safe_load(source.read_text())
        assert whole.get("EXAMPLES") and (whole.get("RETURN") or {}).get("_value"), f"{source.name}: EXAMPLES, RETURN"


@pytest.mark.parametrize("path", sorted(FILTERS.glob("*.py")), ids=lambda p: p.name)
def test_documentation_in_python_only_for_a_file_of_one_filter(path):
    module = importlib.import_module(f"ansible_collections.tidepool.eks.plugins.filter.{path.stem}")
    names = sorted(module.FilterModule().filters())
    if _py_doc(path) is not None:
        assert len(names) == 1, f"{path.name} holds {names}: move its DOCUMENTATION to plugins/filter/<name>.yml"
        assert not (FILTERS / f"{names[0]}.yml").exists(), f"{names[0]}.yml is never read beside {path.name}'s DOCUMENTATION"


def test_no_doc_file_without_its_filter():
    names = {name for _file, name in _filters()}
    assert {p.stem for p in FILTERS.glob("*.yml")} <= names


def test_ansible_doc_shows_each_filter_under_its_own_name():
    """What an operator sees: `ansible-doc -t filter --json` of every filter, through this checkout's ansible.cfg."""
    names = [f"tidepool.eks.{name}" for _file, name in _filters()]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    ansible_doc = Path(sys.executable).with_name("ansible-doc")
    if not ansible_doc.exists():
        pytest.skip(f"no ansible-doc beside {sys.executable}")
    res = subprocess.run([str(ansible_doc), "-t", "filter", "--json", *names], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    shown = json.loads(res.stdout)
    assert sorted(shown) == sorted(names)
    wrong = {fq: entry["doc"].get("name") for fq, entry in shown.items()
             if entry["doc"].get("name") != fq.rsplit(".", 1)[1]}
    assert not wrong, f"shown with another filter's documentation: {wrong}"
