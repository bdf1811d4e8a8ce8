"""The flux role (playbooks/flux.yml) on the `local` host against the whole local stack: check mode on a blank
slate creates nothing (objects and deploy keys counted), the first run installs Flux and registers its key once,
the rerun and a later check run change nothing. Uses a namespace and a repository of its own."""
from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration


def keys_of(git_server, full_name):
    req = urllib.request.Request(f"{git_server.api_url.rstrip('/')}/repos/{full_name}/keys?per_page=100",
                                 headers={"Authorization": f"token {git_server.token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def objects_in(kube_stack, ns):
    proc = kube_stack.kubectl("get", "-n", ns, "deployments,services,secrets,configmaps,roles,rolebindings",
                              "-l", "app.kubernetes.io/managed-by=tidepool.eks", "-o", "json", check=False)
    namespaced = json.loads(proc.stdout)["items"] if proc.returncode == 0 else []
    cluster = json.loads(kube_stack.kubectl("get", "clusterroles,clusterrolebindings", "-o", "json").stdout)["items"]
    return len(namespaced) + sum(1 for o in cluster if o["metadata"]["name"].startswith((f"{ns}-", f"tiller-{ns}")))


@pytest.fixture
def setup(local_stack_env, kube_stack, git_server, tmp_path):
    ns = "flux-r" + uuid.uuid4().hex[:6]
    repo = "cluster-r" + uuid.uuid4().hex[:6]
    git_server.create_repo(repo)
    extra = {"flux_namespace": ns, "github_repository": f"tidepool/{repo}", "flux_pki_dir": str(tmp_path / "pki")}
    yield ns, f"tidepool/{repo}", extra
    kube_stack.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)
    kube_stack.kubectl("delete", "clusterrole,clusterrolebinding", f"{ns}-flux", f"{ns}-flux-helm-operator",
                       "--ignore-not-found", check=False)
    kube_stack.kubectl("delete", "clusterrolebinding", f"tiller-{ns}", "--ignore-not-found", check=False)


def test_flux_role_check_install_rerun(setup, kube_stack, git_server, local_stack_env):
    ns, full_name, extra = setup
    playbook = REPO / "playbooks" / "flux.yml"

    check = run_playbook(playbook, limit="local", extra_vars=extra, check=True, diff=True, env=local_stack_env)
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
    assert objects_in(kube_stack, ns) == 0 and keys_of(git_server, full_name) == []

    first = run_playbook(playbook, limit="local", extra_vars=extra, env=local_stack_env)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert recap(first.stdout)["local"]["changed"] >= 2
    n = objects_in(kube_stack, ns)
    assert n >= 15
    keys = keys_of(git_server, full_name)
    assert [(k["title"], k["read_only"]) for k in keys] == [("flux key for local", False)]

    again = run_playbook(playbook, limit="local", extra_vars=extra, env=local_stack_env)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout)["local"]["changed"] == 0, again.stdout[-4000:]
    recheck = run_playbook(playbook, limit="local", extra_vars=extra, check=True, diff=True, env=local_stack_env)
    assert recheck.returncode == 0 and recap(recheck.stdout)["local"]["changed"] == 0, recheck.stdout[-4000:]
    assert objects_in(kube_stack, ns) == n and keys_of(git_server, full_name) == keys

    # rotation: the new key replaces the old one on the repository (still exactly one)
    rotated = run_playbook(playbook, limit="local", extra_vars={**extra, "flux_rotate_deploy_key": True},
                           env=local_stack_env)
    assert rotated.returncode == 0, rotated.stdout[-4000:]
    after = keys_of(git_server, full_name)
    assert len(after) == 1 and after[0]["key"] != keys[0]["key"]
