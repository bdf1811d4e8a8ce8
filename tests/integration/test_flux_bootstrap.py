"""tidepool.eks.flux_bootstrap through ansible-playbook against the local stack's kube-apiserver.

Each test installs into a namespace of its own (so cluster-scoped names are prefixed with it) and removes it.
No kubelet runs in the stack: the Deployments are accepted but never become available, so the runs use
``wait: false`` except the one that checks the timeout message.
"""
from __future__ import annotations

import base64
import datetime
import json
import uuid

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys

from tests.support.helpers import REPO, run_playbook
from tests.support.pki import write_tiller_tls

pytestmark = pytest.mark.integration

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "flux_bootstrap.yml"
NOW = datetime.datetime.now(datetime.timezone.utc)


def play(flux: dict, *, check=False, diff=False, verbosity=0, json_out=True):
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_out else {}
    proc = run_playbook(PLAYBOOK, limit="local", extra_vars={"flux": flux}, check=check, diff=diff,
                        verbosity=verbosity, env=env)
    if not json_out:
        return proc, None
    assert proc.stdout.lstrip().startswith("{"), proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    return proc, data["plays"][0]["tasks"][0]["hosts"]["local"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_tiller_tls(tmp_path_factory.mktemp("flux-pki"), ca_name="itest", namespace="fluxit", now=NOW)


@pytest.fixture
def install(kube_stack, pki):
    ns = "fluxit-" + uuid.uuid4().hex[:6]
    cluster = "c" + uuid.uuid4().hex[:6]
    args = {"cluster": cluster, "namespace": ns, "git_url": "git@github.com:tidepool-org/cluster-itest.git",
            "git_email": "flux@example.com", "kubeconfig": str(kube_stack.kubeconfig), "wait": False, **pki}
    yield args
    kube_stack.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)
    kube_stack.kubectl("delete", "clusterrole,clusterrolebinding", f"{ns}-flux", f"{ns}-flux-helm-operator",
                       "--ignore-not-found", check=False)
    kube_stack.kubectl("delete", "clusterrolebinding", f"tiller-{ns}", "--ignore-not-found", check=False)


def get(kube_stack, *args):
    """None only on NotFound; a kubectl failure fails the test (KubeStack.get)."""
    return kube_stack.get(*args, "--show-managed-fields")


def count_objects(kube_stack, ns):
    listed = get(kube_stack, "-n", ns, "deployments,services,secrets,configmaps,serviceaccounts,roles,rolebindings")
    cluster = get(kube_stack, "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/managed-by=tidepool.eks")
    mine = [o for o in (cluster or {"items": []})["items"] if o["metadata"]["name"].startswith((ns, f"tiller-{ns}"))]
    return len((listed or {"items": []})["items"]) + len(mine) + (1 if get(kube_stack, "namespace", ns) else 0)


def test_install_rerun_check_mode_and_removal(kube_stack, install):
    ns = install["namespace"]
    # check mode on a blank namespace: predicts, creates nothing
    _, checked = play(install, check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] and checked["deploy_key"]["public_key"] is None
    assert count_objects(kube_stack, ns) == 0

    _, first = play(install)
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] and first["deploy_key"]["action"] == "create"
    public = first["deploy_key"]["public_key"]

    flux = get(kube_stack, "-n", ns, "deployment", "flux")
    args = flux["spec"]["template"]["spec"]["containers"][0]["args"]
    for arg in (f"--git-url={install['git_url']}", "--git-branch=master", f"--git-path=clusters/{install['cluster']}/flux",
                f"--git-label={install['cluster']}", "--git-poll-interval=1m", "--sync-interval=1m",
                "--sync-garbage-collection=true", "--git-email=flux@example.com"):
        assert arg in args
    managers = {m["manager"] for m in flux["metadata"]["managedFields"]}
    assert "tidepool.eks" in managers
    secret = get(kube_stack, "-n", ns, "secret", "flux-git-deploy")
    key = ssh_keys.load_private(base64.b64decode(secret["data"]["identity"]))
    assert ssh_keys.public_line(key) == public
    tiller = get(kube_stack, "-n", ns, "secret", "tiller-secret")
    assert set(tiller["data"]) == {"ca.crt", "tls.crt", "tls.key"}
    with open(f"{install['tiller_tls_dir']}/cert.pem", "rb") as handle:
        assert base64.b64decode(tiller["data"]["tls.crt"]) == handle.read()
    assert get(kube_stack, "-n", ns, "secret", "flux-helm-tls-cert")["type"] == "kubernetes.io/tls"
    assert get(kube_stack, "-n", ns, "secret", "flux-helm-repositories")
    env = {e["name"]: e["value"] for e in get(kube_stack, "-n", ns, "deployment", "tiller-deploy")
           ["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TILLER_TLS_VERIFY"] == "1" and env["TILLER_HISTORY_MAX"] == "10"
    crd = get(kube_stack, "crd", "helmreleases.helm.fluxcd.io")
    assert any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"])
    n_objects = count_objects(kube_stack, ns)
    version = flux["metadata"]["resourceVersion"]

    # second run: no change, same key, nothing written
    _, second = play(install)
    assert not second["changed"], [o for o in second["objects"] if o["action"] != "none"]
    assert second["deploy_key"]["public_key"] == public and second["deploy_key"]["action"] == "keep"
    assert get(kube_stack, "-n", ns, "deployment", "flux")["metadata"]["resourceVersion"] == version

    # check mode with a changed branch: predicts an update of the Flux Deployment only, changes nothing
    proc, changed = play(dict(install, git_branch="develop"), check=True, diff=True)
    updates = [(o["kind"], o["name"]) for o in changed["objects"] if o["action"] != "none"]
    assert updates == [("Deployment", "flux")]
    assert "--git-branch=master" in get(kube_stack, "-n", ns, "deployment", "flux")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert count_objects(kube_stack, ns) == n_objects

    # -vvvv --diff with a key rotation: no private key material in the output, Secret values hidden
    proc, _ = play(dict(install, rotate_deploy_key=True), diff=True, verbosity=4, json_out=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    new_secret = get(kube_stack, "-n", ns, "secret", "flux-git-deploy")
    new_private = base64.b64decode(new_secret["data"]["identity"]).decode()
    output = proc.stdout + proc.stderr
    body_lines = [line for line in new_private.splitlines() if line and "-----" not in line]
    assert body_lines and not any(line in output for line in body_lines)
    assert new_secret["data"]["identity"] not in output and secret["data"]["identity"] not in output
    assert "<hidden, changed>" in output
    with open(f"{install['tiller_tls_dir']}/key.pem") as handle:
        assert handle.read().splitlines()[1] not in output

    # absent, keeping the key: workloads gone, key and namespace stay, CRD stays; reinstall reuses the key
    _, removed = play(dict(install, state="absent", keep_deploy_key=True))
    assert removed["changed"]
    assert get(kube_stack, "-n", ns, "deployment", "flux") is None
    assert get(kube_stack, "-n", ns, "secret", "flux-git-deploy")["data"] == new_secret["data"]
    assert get(kube_stack, "crd", "helmreleases.helm.fluxcd.io")
    assert get(kube_stack, "clusterrole", f"{ns}-flux") is None
    _, back = play(install)
    assert back["deploy_key"]["action"] == "keep"
    assert ssh_keys.fingerprint(back["deploy_key"]["public_key"]) == back["deploy_key"]["fingerprint"]
    _, removed = play(dict(install, state="absent"))
    assert removed["changed"] and removed["deploy_key"]["action"] == "delete"
    assert get(kube_stack, "-n", ns, "deployment", "tiller-deploy") is None
    ns_obj = get(kube_stack, "namespace", ns)
    assert ns_obj is None or ns_obj["metadata"].get("deletionTimestamp")


def test_wait_times_out_clearly_without_kubelet(kube_stack, install):
    _, result = play(dict(install, wait=True, wait_timeout=3))
    assert result.get("failed")
    assert result["msg"].startswith(f"Timed out after 3 seconds waiting for Deployment {install['namespace']}/memcached")
    assert "wait: false" in result["msg"]


def test_bad_input_changes_nothing(kube_stack, install):
    _, result = play(dict(install, git_path="/"))
    assert result.get("failed") and "git_path" in result["msg"]
    _, result = play(dict(install, tiller_tls_dir="/nonexistent"))
    assert result.get("failed") and "tiller_tls_dir" in result["msg"]
    assert count_objects(kube_stack, install["namespace"]) == 0


def test_check_mode_in_an_existing_namespace_is_a_server_dry_run(kube_stack, install):
    """With the namespace present, check mode sends every object as a server-side dry run: all are predicted
    as creations (the namespace itself is already there and only gains the collection's labels) and none is
    created."""
    kube_stack.kubectl("create", "namespace", install["namespace"])
    _, checked = play(install, check=True)
    assert not checked.get("failed"), checked.get("msg")
    actions = {(o["kind"], o["name"]): o["action"] for o in checked["objects"]}
    assert actions.pop(("Namespace", install["namespace"])) == "update"
    assert "tidepool.org/cluster" not in get(kube_stack, "namespace", install["namespace"])["metadata"].get("labels", {})
    actions.pop(("CustomResourceDefinition", "helmreleases.helm.fluxcd.io"))
    assert set(actions.values()) == {"create"}
    assert get(kube_stack, "-n", install["namespace"], "deployments,secrets,services,roles,rolebindings")["items"] == []
    assert get(kube_stack, "clusterrole", f"{install['namespace']}-flux") is None
