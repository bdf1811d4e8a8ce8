"""An "absent" answer of the test helpers cannot come from a question that could not be asked (issue 27).

Every module's object getter (``kget`` / ``get`` in test_site_local_*, test_migrate_flux_v2, test_flux_bootstrap*,
test_local_stack_gitops) is ``KubeStack.get`` of tests/conftest.py: ``None`` only when the API server answers
NotFound. Here the API server's address is broken in the helper's kubeconfig (a loopback port nothing listens on),
the kind is unknown or an argument is wrong: each fails the test with kubectl's message, so an ``is None``
assertion fails instead of passing. The same holds for the config repository's commits (test_config_role)."""
from __future__ import annotations

import dataclasses
import subprocess
import uuid

import pytest
import yaml

import local_stack

from tests.integration.test_config_role import ConfigRepo

pytestmark = pytest.mark.integration


def with_dead_api_server(kube, tmp_path):
    """``kube`` with its kubeconfig's server moved to a free loopback port (connection refused)."""
    cfg = yaml.safe_load(kube.kubeconfig.read_text())
    dead = f"https://127.0.0.1:{local_stack.free_port()}"
    for cluster in cfg["clusters"]:
        cluster["cluster"]["server"] = dead
    path = tmp_path / "kubeconfig-dead"
    path.write_text(yaml.safe_dump(cfg))
    return dataclasses.replace(kube, kubeconfig=path, server=dead), dead


def test_absent_is_none_only_when_the_api_server_says_not_found(kube_stack):
    assert kube_stack.get("namespace", f"zz-never-created-{uuid.uuid4().hex[:8]}") is None
    assert kube_stack.get("namespace", "default")["metadata"]["name"] == "default"


def test_a_broken_api_server_address_fails_an_absent_assertion(kube_stack, tmp_path):
    dead, server = with_dead_api_server(kube_stack, tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"kubectl get namespace qa1 failed \(exit 1\): .*127\.0\.0\.1") as err:
        assert dead.get("namespace", "qa1") is None  # the pattern of the "absent" assertions
    assert "refused" in str(err.value), str(err.value)
    assert server.rsplit(":", 1)[1] in str(err.value)


def test_an_unknown_kind_or_a_bad_argument_fails_instead_of_reading_as_absent(kube_stack):
    with pytest.raises(pytest.fail.Exception, match="doesn't have a resource type"):
        kube_stack.get("helmreleases.nosuch.example.org", "tidepool", "-n", "qa1")
    with pytest.raises(pytest.fail.Exception, match="unknown flag"):
        kube_stack.get("namespace", "qa1", "--no-such-flag")


def test_commits_of_a_broken_config_repository_fail_instead_of_reading_as_none(tmp_path):
    repo = ConfigRepo(tmp_path)
    assert repo.commits() == []  # a valid bare repository without master yet: truly no commit
    (repo.bare / "HEAD").unlink()  # no longer a repository
    with pytest.raises(subprocess.CalledProcessError):
        repo.commits()
