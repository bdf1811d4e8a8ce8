"""README's "Content" table names every module, role, playbook, filter and lookup of the collection, and nothing that
does not exist (Galaxy convention: the table of all content)."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _table() -> dict[str, set[str]]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Content\n", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("kind", "---"):
            continue
        kind = cells[0].split()[0]
        out.setdefault(kind, set()).update(re.findall(r"`(?:tidepool\.eks\.)?([a-z0-9_./<>]+)`", cells[1]))
    return out


def test_content_table_matches_the_collection():
    table = _table()
    modules = {p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    roles = {p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir()}
    playbooks = {p.stem for p in (REPO / "playbooks").glob("*.yml")} | {"site.yml"}
    lookups = {p.stem for p in (REPO / "plugins" / "lookup").glob("*.py") if p.stem != "__init__"}
    filters = set()
    for path in (REPO / "plugins" / "filter").glob("*.py"):
        module = importlib.import_module(f"ansible_collections.tidepool.eks.plugins.filter.{path.stem}")
        filters |= set(module.FilterModule().filters())
    assert table["module"] == modules
    assert table["role"] == roles
    assert table["playbook"] - {"<step>"} == playbooks
    assert table["lookup"] == lookups
    assert table["filter"] == filters
