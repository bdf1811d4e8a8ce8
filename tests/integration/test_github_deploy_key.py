"""tidepool.eks.github_deploy_key through ansible-playbook against the local stack's GitHub-compatible API."""
from __future__ import annotations

import json
import uuid

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys

from tests.support.helpers import REPO, github_api, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "github_deploy_key.yml"


def play(gdk: dict, *, check=False, diff=False, env=None):
    proc = run_playbook(PLAYBOOK, limit="local", extra_vars={"gdk": gdk}, check=check, diff=diff,
                        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", **(env or {})})
    data = json.loads(proc.stdout)
    return proc, data["plays"][0]["tasks"][0]["hosts"]["local"]


def all_keys(git_server, full_name):
    keys, page = [], 1
    while True:
        chunk = github_api(git_server, "GET", f"/repos/{full_name}/keys?per_page=100&page={page}")
        keys += chunk
        if len(chunk) < 100:
            return keys
        page += 1


@pytest.fixture
def repo(git_server):
    name = "gdk-" + uuid.uuid4().hex[:8]
    git_server.create_repo(name)
    return f"tidepool/{name}"


def test_registered_once_idempotent_and_check_mode(git_server, repo):
    key = ssh_keys.generate("ed25519", comment="flux@itest")[1]
    _, checked = play({"repository": repo, "key": key, "cluster": "itest"}, check=True)
    assert checked["changed"] and checked["operation"] == "create"
    assert all_keys(git_server, repo) == []

    _, first = play({"repository": f"git@github.com:{repo}.git", "key": key, "cluster": "itest"})
    assert first["changed"] and first["operation"] == "create" and first["key"]["id"]
    _, second = play({"repository": repo, "key": key, "cluster": "itest"}, diff=True)
    assert not second["changed"] and second["key"]["id"] == first["key"]["id"]
    keys = all_keys(git_server, repo)
    assert [(k["title"], k["read_only"], k["key"]) for k in keys] == [("flux key for itest", False, ssh_keys.material(key))]

    # drift: read_only flips -> replaced, still exactly one key
    _, drift = play({"repository": repo, "key": key, "cluster": "itest", "read_only": True})
    assert drift["changed"] and drift["operation"] == "replace"
    keys = all_keys(git_server, repo)
    assert len(keys) == 1 and keys[0]["read_only"] is True and keys[0]["id"] == drift["key"]["id"]

    # absent in check mode deletes nothing; then for real
    _, gone = play({"repository": repo, "key": key, "title": "x", "state": "absent"}, check=True)
    assert gone["changed"] and len(all_keys(git_server, repo)) == 1
    play({"repository": repo, "key": key, "title": "x", "state": "absent"})
    assert all_keys(git_server, repo) == []


def test_found_beyond_the_first_page(git_server, repo):
    for i in range(105):
        github_api(git_server, "POST", f"/repos/{repo}/keys", {"title": f"k{i}", "key": ssh_keys.generate()[1]})
    key = ssh_keys.generate()[1]
    github_api(git_server, "POST", f"/repos/{repo}/keys", {"title": "flux key for itest", "key": key, "read_only": False})
    _, result = play({"repository": repo, "key": key, "cluster": "itest"})
    assert not result["changed"] and result["operation"] == "none"
    assert len(all_keys(git_server, repo)) == 106


def test_in_use_elsewhere_and_bad_token(git_server, repo):
    other = "tidepool/gdk-" + uuid.uuid4().hex[:8]
    git_server.create_repo(other.split("/")[1])
    key = ssh_keys.generate()[1]
    play({"repository": other, "key": key, "cluster": "itest"})
    proc, failed = play({"repository": repo, "key": key, "cluster": "itest"})
    assert failed.get("failed") and "key is already in use" in failed["msg"]
    assert all_keys(git_server, repo) == []

    proc, denied = play({"repository": repo, "key": key, "cluster": "itest", "token": "wrong-token-XYZ"})
    assert denied.get("failed") and "401 Bad credentials" in denied["msg"]
    assert "wrong-token-XYZ" not in proc.stdout + proc.stderr

    proc, missing = play({"repository": "tidepool/does-not-exist", "key": key, "cluster": "itest"})
    assert missing.get("failed") and "not found" in missing["msg"]


def test_rate_limit_and_bad_gateway_are_retried_and_never_read_as_admin_rights(git_server, repo):
    key = ssh_keys.generate()[1]
    secondary = {"status": 403, "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                 "before you try again.", "headers": {"Retry-After": "1"}}
    # one secondary rate limit, then one 502: both retried, the key is added once
    github_api(git_server, "POST", "/_fake/fail", secondary)
    github_api(git_server, "POST", "/_fake/fail", {"status": 502, "message": "Server Error"})
    _, added = play({"repository": repo, "key": key, "cluster": "itest"})
    assert added["changed"] and added["operation"] == "create"
    assert [k["key"] for k in all_keys(git_server, repo)] == [ssh_keys.material(key)]

    # a rate limit that lasts: one message saying so (not "needs admin rights"), nothing changed
    github_api(git_server, "POST", "/_fake/fail", dict(secondary, count=3))
    _, limited = play({"repository": repo, "key": key, "cluster": "itest", "state": "absent", "retries": 2})
    assert limited.get("failed") and "rate limit stopped listing the deploy keys" in limited["msg"]
    assert "retry after 1 s" in limited["msg"] and "admin rights" not in limited["msg"]
    assert len(all_keys(git_server, repo)) == 1
