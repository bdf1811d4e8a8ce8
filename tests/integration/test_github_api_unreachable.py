"""tidepool.eks.github_deploy_key (the flux role's "Deploy key of Flux" task) when its api_url is a 127.0.0.1 port
nothing listens on: one clear failure naming that URL, no retries against it, and no key registered anywhere - not
on the local stack's GitHub-compatible API either, which GITHUB_API_URL (set by the git_server fixture) names: an
explicit api_url is never swapped for the environment's."""
from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys

from tests.support.helpers import REPO, github_api, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "github_deploy_key.yml"
TOKEN = "unreachable-test-token-Q7"


@pytest.fixture
def dead_api_url():
    """http://127.0.0.1:<port>/api/v3 of a port bound (so nothing else takes it) but not listening: connections to it
    are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/v3"
    sock.close()


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_unreachable_api_fails_naming_the_url_and_registers_nothing(git_server, dead_api_url, check):
    name = "gdk-" + uuid.uuid4().hex[:8]
    git_server.create_repo(name)
    repo = f"tidepool/{name}"
    key = ssh_keys.generate("ed25519", comment="flux@itest")[1]

    started = time.monotonic()
    proc = run_playbook(PLAYBOOK, limit="local", check=check, timeout=300, extra_vars={"gdk": {
        "repository": f"git@github.com:{repo}.git", "key": key, "cluster": "itest", "api_url": dead_api_url,
        "token": TOKEN}}, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    elapsed = time.monotonic() - started
    assert proc.returncode != 0
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["local"]
    assert result.get("failed") is True and result.get("changed") is False, result
    assert result["msg"] == f"Cannot reach the GitHub API at {dead_api_url}: [Errno 111] Connection refused; " \
                            "check api_url.", result["msg"]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    assert elapsed < 60  # a refused connection is final: not retried with backoff like a 5xx answer

    assert github_api(git_server, "GET", f"/repos/{repo}/keys") == []  # the stack's API (GITHUB_API_URL) untouched
