"""Every fact the docs name is true against the code (issue 28): links, paths, commands, tags, hosts, make targets,
variables and pinned versions of README.md, docs/**/*.md and roles/*/README.md (tests/support/doc_facts.py), and
no doc points outside the collection. test_readme_content.py and test_architecture.py check README's content table
and docs/architecture.md's package table; this checks the facts in the prose and the commands."""
from __future__ import annotations

import dataclasses

import pytest

from tests.support import doc_facts

SYNTHETIC = """# Synthetic

See [the charts](../../shared/reference/charts) and [a page](nowhere.md) and [a heading](flux.md#no-such-heading).

```bash
ansible-playbook playbooks/nope.yml -l test9 --tags nosuchtag
make nosuchtarget
scripts/local-stack build nosuchbinary
```

Set `flux_no_such_variable: true` or `-e teardown_bogus=1`; read `roles/nope/defaults/main.yml`; export
`TIDEPOOL_NO_SUCH_SETTING`. The notes are research §7.1.
The tools role installs eksctl 0.1.0; the stack runs kwok v9.9.9 and the Tidepool chart 0.27.0.
"""


def _messages(findings):
    return "\n".join(findings)


@pytest.fixture(scope="module")
def code():
    return doc_facts.load_code()


def test_the_docs_name_only_true_facts(code):
    findings = doc_facts.check(code=code)
    assert findings == [], "wrong facts in the docs (file:line):\n" + _messages(findings)


def test_a_synthetic_doc_with_wrong_facts_is_reported_line_by_line(tmp_path, code):
    doc = tmp_path / "synthetic.md"
    doc.write_text(SYNTHETIC, encoding="utf-8")
    found = _messages(doc_facts.check({"docs/synthetic.md": doc.read_text(encoding="utf-8")}, code=code))
    expected = [
        "docs/synthetic.md:3: points outside the collection: '../shared'",
        "docs/synthetic.md:3: link ../../shared/reference/charts: outside the collection",
        "docs/synthetic.md:3: link nowhere.md: no such file",
        "docs/synthetic.md:3: link flux.md#no-such-heading: no heading #no-such-heading in docs/flux.md",
        "docs/synthetic.md:6: ansible-playbook playbooks/nope.yml: no such playbook",
        "docs/synthetic.md:6: --tags nosuchtag: no such tag",
        "docs/synthetic.md:6: -l test9: no such host",
        "docs/synthetic.md:7: make nosuchtarget: no such Makefile target",
        "docs/synthetic.md:8: scripts/local-stack build nosuchbinary: build takes no 'nosuchbinary'",
        "docs/synthetic.md:11: `flux_no_such_variable`: no role default",
        "docs/synthetic.md:11: `teardown_bogus`: no role default",
        "docs/synthetic.md:11: roles/nope/defaults/main.yml: no such file",
        "docs/synthetic.md:12: TIDEPOOL_NO_SUCH_SETTING: no code reads this environment variable",
        "docs/synthetic.md:12: points outside the collection: 'research §'",
        "docs/synthetic.md:13: 'eksctl 0.1.0': eksctl is pinned at 0.230.0",
        "docs/synthetic.md:13: 'kwok v9.9.9': kwok is pinned at",
        "docs/synthetic.md:13: 'Tidepool chart 0.27.0': Tidepool chart is pinned at",
    ]
    missing = [e for e in expected if e not in found]
    assert missing == [], f"not reported:\n{_messages(missing)}\n--- reported:\n{found}"


def test_a_synthetic_doc_with_true_facts_is_not_reported(code):
    eksctl = next(iter(code.pins["eksctl"][1]))
    doc = (f"[flux](flux.md#flux-v2-and-external-secrets-operator) [stack](local-stack.md#where-things-live)\n"
           f"`ansible-playbook site.yml -l test1 --tags config --skip-tags tools`, `ansible-playbook "
           f"tidepool.eks.delete_cluster -e confirm_delete=test1`, `make local`, `scripts/local-stack up gitops`,\n"
           f"`flux_version: 2`, `purge_buckets`, `config_repo_url`, `roles/tools/defaults/main.yml`, "
           f"`TIDEPOOL_STACK_DIR`; eksctl {eksctl}, Flux v2, the Tidepool chart 0.26.\n")
    found = doc_facts.check({"docs/synthetic.md": doc}, code=code)
    assert [f for f in found if "flux.md#" not in f] == []


def _pins(code, label, version):
    return {**code.pins, label: (code.pins[label][0], {version: "test"})}


@pytest.mark.parametrize("doc, change, expected", [
    ("docs/howto/teardown.md", lambda c: dataclasses.replace(c, names=c.names - {"confirm_delete"}),
     "`confirm_delete`: no role default"),
    ("docs/inventory.md", lambda c: dataclasses.replace(c, names=c.names - {"flux_version"}),
     "`flux_version`: no role default"),
    ("docs/howto/add-environment.md", lambda c: dataclasses.replace(c, make_targets=c.make_targets - {"local"}),
     "make local: no such Makefile target"),
    ("docs/inventory.md", lambda c: dataclasses.replace(c, tags=c.tags - {"config"}), "--tags config: no such tag"),
    ("docs/eks.md", lambda c: dataclasses.replace(c, hosts=c.hosts - {"test1"}), "-l test1: no such host"),
    ("docs/eks.md", lambda c: dataclasses.replace(c, playbooks=c.playbooks - {"site.yml"}),
     "ansible-playbook site.yml: no such playbook"),
    ("docs/tools.md", lambda c: dataclasses.replace(c, pins=_pins(c, "eksctl", "0.231.0")),
     "'eksctl 0.230.0': eksctl is pinned at 0.231.0 (test)"),
    ("docs/tools.md", lambda c: dataclasses.replace(c, pins=_pins(c, "helm", "3.15.0")),
     "'helm 3.14.4': helm is pinned at 3.15.0 (test)"),
], ids=["variable", "flux_version", "make-target", "tag", "host", "playbook", "eksctl-version", "helm-version"])
def test_a_real_doc_fails_when_the_code_changes(code, doc, change, expected):
    """A fact a real doc names, removed from or changed in the code (the set load_code read), is reported."""
    text = (doc_facts.REPO / doc).read_text(encoding="utf-8")
    assert doc_facts.check({doc: text}, code=code) == [], f"{doc} is wrong already"
    found = _messages(doc_facts.check({doc: text}, code=change(code)))
    assert expected in found, found


def test_every_doc_fact_source_is_read(code):
    """The pins come from their files: the local stack's versions.env, the tools role, the catalogues."""
    assert code.pins["etcd"][1] and code.pins["kwok"][1] and code.pins["External Secrets Operator"][1]
    assert any("roles/tools" in s for s in code.pins["flux"][1].values())
    assert any("tidepool_chart.py" in s for s in code.pins["Tidepool chart"][1].values())
    assert {"local", "test", "unit", "lint"} <= code.make_targets and {"config", "tools"} <= code.tags
    assert {"test1", "test2", "local"} <= code.hosts and "confirm_delete" in code.names


def test_eksctl_has_one_version():
    """The tools role and the local stack pin the same eksctl release (roles/tools/defaults/main.yml says so)."""
    _, versions = doc_facts.pins()["eksctl"]
    assert len(versions) == 1, versions
