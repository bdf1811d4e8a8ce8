"""Flavour 1 renders byte for byte as it did: test1's config repository files, as the ``config`` role commits them
(``tidepool.eks.config_render``, whose output ``site.yml -l test1`` writes: tests/integration/test_config_role.py),
against a record of their sha256 digests.

The record (``golden/test1_flavour1.json``) was taken on 2026-12-06, after the issues that must not change flavour 1
(the module_utils layers, the Tidepool chart 0.26 and the maintained charts of flavour 2, the trust fixes); its
digests equal those of the render of 71572ff, before them. A change of flavour 1's render is a decision: make it on
purpose, say so in the changelog, and take the record again with

    PYTHONPATH=.collections .venv/bin/python -m tests.unit.plugins.filter.test_flavour1_render

Two variants: test1 as its inventory says, and test1 with every package of its ``pkgs`` enabled (so a package test1
leaves off is covered too).
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from ansible_collections.tidepool.eks.plugins.filter import config as filters
from tests.support.inventory import load_values

RECORD = Path(__file__).parent / "golden" / "test1_flavour1.json"


def _every_package(values: dict) -> dict:
    values = copy.deepcopy(values)
    for pkg in values.get("pkgs") or {}:
        values["pkgs"][pkg] = dict(values["pkgs"][pkg] or {}, enabled=True)
    return values


VARIANTS = {"test1": lambda v: v, "test1 every package": _every_package}


def render(variant: str) -> dict:
    """``{path: sha256 of the file's bytes}`` of the variant's render."""
    files = filters.config_render(VARIANTS[variant](load_values("test1")))["files"]
    return {path: hashlib.sha256(text.encode()).hexdigest() for path, text in sorted(files.items())}


def test_test1_is_flavour_1():
    assert load_values("test1").get("flux_version") in (None, 1)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_flavour_1_renders_byte_for_byte_as_recorded(variant):
    recorded = json.loads(RECORD.read_text())[variant]
    now = render(variant)
    assert sorted(set(now) - set(recorded)) == [], "files flavour 1 renders now and did not before"
    assert sorted(set(recorded) - set(now)) == [], "files flavour 1 rendered before and does not now"
    changed = sorted(p for p in now if now[p] != recorded[p])
    assert changed == [], "files of flavour 1 whose bytes changed (see the module docstring before taking a new record)"


def test_the_record_notices_a_changed_byte(monkeypatch):
    real = filters.to_manifest_yaml
    monkeypatch.setattr(filters, "to_manifest_yaml", lambda obj: real(obj).replace("upsert-only", "sync"))
    recorded = json.loads(RECORD.read_text())["test1"]
    now = render("test1")
    assert [p for p in now if now[p] != recorded[p]] == [
        "clusters/test1/flux/shared/external-dns/helmrelease-external-dns.yaml"]


if __name__ == "__main__":
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps({v: render(v) for v in sorted(VARIANTS)}, indent=1, sort_keys=True) + "\n")
    print(f"recorded {RECORD}")
