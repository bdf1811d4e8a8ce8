"""tidepool.eks.flux_bootstrap with flux_version 2 through ansible-playbook against the local stack's kube-apiserver.

The components file is the offline assembly (gitops/flux_v2/components.py: the reference CRDs plus the controllers'
objects), so no network is used. No kubelet runs in the stack: ``wait: false``.
"""
from __future__ import annotations

import base64
import json
import uuid

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import components

from tests.integration.test_flux_bootstrap import PLAYBOOK, play
from tests.support.helpers import run_playbook
from tests.support.schemas import REF

pytestmark = pytest.mark.integration

NS = "flux-system"


def get(kube_stack, *args):
    """None only on NotFound; a kubectl failure fails the test (KubeStack.get)."""
    return kube_stack.get(*args)


@pytest.fixture
def install(kube_stack, tmp_path):
    path = tmp_path / "install.yaml"
    path.write_text(components.dump(components.assemble(components.crd_files(str(REF / "crds" / "flux2")))))
    cluster = "c" + uuid.uuid4().hex[:6]
    args = {"cluster": cluster, "flux_version": 2, "git_url": "git@github.com:tidepool-org/cluster-itest.git",
            "git_email": "flux@example.com", "components_path": str(path), "kubeconfig": str(kube_stack.kubeconfig),
            "wait": False}
    yield args
    kube_stack.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false", check=False)
    # the next test installs into the same namespace: a namespace still terminating refuses new objects
    gone = kube_stack.kubectl("wait", "--for=delete", f"namespace/{NS}", "--timeout=180s", check=False)
    assert gone.returncode == 0 or "not found" in gone.stderr, f"namespace {NS} still terminating: {gone.stderr}"
    kube_stack.kubectl("delete", "clusterrolebinding", f"crd-controller-{NS}", f"cluster-reconciler-{NS}",
                       "--ignore-not-found", check=False)
    kube_stack.kubectl("delete", "clusterrole", f"crd-controller-{NS}", "--ignore-not-found", check=False)


def test_v2_install_rerun_check_mode_and_removal(kube_stack, install):
    # check mode on a blank cluster: predicts, creates nothing
    _, checked = play(install, check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] and checked["deploy_key"]["public_key"] is None
    assert get(kube_stack, "namespace", NS) is None

    _, first = play(install)
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] and first["deploy_key"]["action"] == "create"
    assert first["deploy_key"]["secret"] == "flux-system/flux-system"
    git = get(kube_stack, "-n", NS, "gitrepository", "flux-system")
    assert git["spec"]["url"] == "ssh://git@github.com/tidepool-org/cluster-itest.git"
    assert git["spec"]["secretRef"] == {"name": "flux-system"}
    kust = get(kube_stack, "-n", NS, "kustomization.kustomize.toolkit.fluxcd.io", "flux-system")
    assert kust["spec"]["path"] == f"./clusters/{install['cluster']}/flux" and kust["spec"]["prune"] is True
    # the multi-tenancy lockdown, as flux-system/kustomization.yaml patches the components
    assert kust["spec"]["serviceAccountName"] == "kustomize-controller"
    for name in ("kustomize-controller", "helm-controller"):
        deploy = get(kube_stack, "-n", NS, "deployment", name)
        assert deploy["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
            "--no-cross-namespace-refs=true", "--default-service-account=default"], name
    source = get(kube_stack, "-n", NS, "deployment", "source-controller")
    assert not any("cross-namespace" in a for a in source["spec"]["template"]["spec"]["containers"][0]["args"])
    deployments = {d["metadata"]["name"] for d in get(kube_stack, "-n", NS, "deployments")["items"]}
    assert {"source-controller", "kustomize-controller", "helm-controller", "notification-controller"} <= deployments
    secret = get(kube_stack, "-n", NS, "secret", "flux-system")
    assert set(secret["data"]) == {"identity", "identity.pub", "known_hosts"}
    key = ssh_keys.load_private(base64.b64decode(secret["data"]["identity"]))
    assert ssh_keys.public_line(key) == first["deploy_key"]["public_key"]
    assert base64.b64decode(secret["data"]["identity.pub"]).decode().strip() == first["deploy_key"]["public_key"]
    version = get(kube_stack, "-n", NS, "deployment", "helm-controller")["metadata"]["resourceVersion"]

    # second run: nothing written
    _, second = play(install)
    assert not second["changed"], [o for o in second["objects"] if o["action"] != "none"]
    assert second["deploy_key"]["action"] == "keep"
    assert get(kube_stack, "-n", NS, "deployment", "helm-controller")["metadata"]["resourceVersion"] == version

    # check mode with another branch: the GitRepository only, nothing changes
    _, changed = play(dict(install, git_branch="develop"), check=True, diff=True)
    assert [(o["kind"], o["name"]) for o in changed["objects"] if o["action"] != "none"] == [
        ("GitRepository", "flux-system")]
    assert get(kube_stack, "-n", NS, "gitrepository", "flux-system")["spec"]["ref"] == {"branch": "master"}

    # -vvvv --diff with a rotation: the private key appears nowhere in the output
    proc, _ = play(dict(install, rotate_deploy_key=True), diff=True, verbosity=4, json_out=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    new_secret = get(kube_stack, "-n", NS, "secret", "flux-system")
    output = proc.stdout + proc.stderr
    for data in (new_secret["data"]["identity"], secret["data"]["identity"]):
        body = [line for line in base64.b64decode(data).decode().splitlines() if line and "-----" not in line]
        assert body and not any(line in output for line in body)
        assert data not in output

    # absent: sync objects, controllers, key and namespace go; the CRDs stay
    _, removed = play(dict(install, state="absent"))
    assert removed["changed"] and removed["deploy_key"]["action"] == "delete"
    assert [o["kind"] for o in removed["objects"]][:2] == ["Kustomization", "GitRepository"]
    assert get(kube_stack, "-n", NS, "gitrepository", "flux-system") is None
    assert get(kube_stack, "-n", NS, "deployment", "source-controller") is None
    assert get(kube_stack, "clusterrole", f"crd-controller-{NS}") is None
    assert get(kube_stack, "crd", "gitrepositories.source.toolkit.fluxcd.io")
    ns_obj = get(kube_stack, "namespace", NS)
    assert ns_obj is None or ns_obj["metadata"].get("deletionTimestamp")


TOKEN = "ghp_ModuleToKeN0123456789abcdef"


@pytest.mark.parametrize("given", ["url", "userinfo"])
def test_an_https_token_goes_to_the_secret_never_to_the_gitrepository_or_the_output(kube_stack, install, given,
                                                                                    tmp_path):
    """Issue 24: with a token in git_url (or in the no_log option git_userinfo, what the flux role passes), the
    GitRepository holds the URL without it and reads it through secretRef; -vvvv --diff output and the result hold
    neither the token nor its base64."""
    public = "https://github.com/tidepool-org/cluster-itest.git"
    args = dict(install, git_url=public.replace("https://", f"https://x-access-token:{TOKEN}@"))
    if given == "userinfo":
        args.update(git_url=public, git_userinfo=f"x-access-token:{TOKEN}")
    # the options from a file, as a vaulted variable or an AWX credential would bring them (-e on the command line
    # is echoed by ansible-playbook itself at -vvvv)
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps({"flux": args}))
    proc = run_playbook(PLAYBOOK, limit="local", diff=True, verbosity=4, args=["-e", f"@{varsfile}"])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert TOKEN not in output and base64.b64encode(TOKEN.encode()).decode() not in output
    assert public in output   # the GitRepository's URL, in the diff and the result
    git = get(kube_stack, "-n", NS, "gitrepository", "flux-system")
    assert git["spec"]["url"] == public and git["spec"]["secretRef"] == {"name": "flux-system"}
    assert TOKEN not in json.dumps(git)
    data = get(kube_stack, "-n", NS, "secret", "flux-system")["data"]
    assert base64.b64decode(data["username"]) == b"x-access-token" and base64.b64decode(data["password"]) == TOKEN.encode()
    assert {"identity", "identity.pub", "known_hosts"} <= set(data)   # the deploy key stays beside them

    # back to the SSH URL: the Secret loses username and password
    _, ssh = play(install)
    assert not ssh.get("failed"), ssh.get("msg")
    assert "password" not in get(kube_stack, "-n", NS, "secret", "flux-system")["data"]
