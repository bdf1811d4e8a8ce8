"""The runner policies published in docs/iam/ are IAM policy documents an operator can attach as they are once the
placeholders are replaced (docs/iam/README.md), and the README lists every file and statement."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "iam"
FILES = sorted(DOCS.glob("*.json"))
PLACEHOLDERS = {"<cluster>", "<account>", "<region>", "<seed-bucket>", "<peer-account>"}
ACTION = re.compile(r"\A[a-z0-9-]+:[A-Za-z0-9*]+\Z")
ARN = re.compile(r"\Aarn:aws:[a-z0-9-]+:[^:]*:[^:]*:.+\Z")
STEPS = ("preflight", "assets", "assets-seed", "cluster", "secrets", "flux", "helm_client", "peering", "teardown",
         "local-stack-irsa")


def test_one_file_per_step():
    assert sorted(p.stem for p in FILES) == sorted(STEPS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_valid_iam_policy_document(path):
    doc = json.loads(path.read_text())
    assert set(doc) == {"Version", "Statement"} and doc["Version"] == "2012-10-17"
    assert isinstance(doc["Statement"], list) and doc["Statement"]
    sids = [st["Sid"] for st in doc["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids), sids
    for st in doc["Statement"]:
        assert set(st) == {"Sid", "Effect", "Action", "Resource"}, st  # no Condition: see docs/iam/README.md
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert actions and all(ACTION.match(a) for a in actions) and len(actions) == len(set(actions)), actions
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), actions
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for res in resources:
            assert res == "*" or ARN.match(res), res
            assert set(re.findall(r"<[^>]*>", res)) <= PLACEHOLDERS, res
    assert len(path.read_text()) < 6144  # the managed-policy size limit (inline user policies: 2048 in total)


def test_the_readme_names_every_statement():
    readme = (DOCS / "README.md").read_text()
    for path in FILES:
        assert f"`{path.name}`" in readme, path.name
        for st in json.loads(path.read_text())["Statement"]:
            assert f"`{st['Sid']}`" in readme, (path.name, st["Sid"])
