"""teardown's purge_deploy_key on each GitOps flavour: the Secret it reads (roles/teardown/tasks/purge_deploy_key.yml
and defaults, templated by Ansible with inventory_values.gitops as the inventory role publishes it) is the one the
flavour's bootstrap writes, and the public key it removes from GitHub is the one the Secret holds, so flavour 2's
deploy key (flux-system/flux-system) is removed too. Check mode stays honest: the Secret is only read, and the one
task that changes anything is tidepool.eks.github_deploy_key, which predicts its delete in check mode."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.tidepool.eks.plugins.filter.gitops_flavour import gitops_flavour
from ansible_collections.tidepool.eks.plugins.filter.ssh import ssh_public_key
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import bootstrap as v1
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import bootstrap as v2

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "teardown"
TASKS = yaml.safe_load((ROLE / "tasks" / "purge_deploy_key.yml").read_text())
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def _task(name_part: str) -> dict:
    return next(t for t in TASKS if name_part in t["name"])


def _template(text, variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))


def _variables(flux_version, secret=None) -> dict:
    inventory_values = {"gitops": gitops_flavour(flux_version), "cluster": {"metadata": {"name": "test1"}}}
    variables = {"inventory_values": inventory_values,
                 "_teardown_deploy_secret": {"resources": [secret] if secret else []},
                 "teardown_github_api_url": "", "teardown_github_repository": "tidepool-org/cluster-test1"}
    variables["teardown_flux_namespace"] = _template(DEFAULTS["teardown_flux_namespace"], variables)
    return variables


def _flux_v2_cli_key() -> bytes:
    """An ECDSA P-384 key in PEM, the kind `flux bootstrap` / `flux create secret git` generate by default."""
    return ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())


@pytest.mark.parametrize("flux_version, namespace, name", [(1, "flux", "flux-git-deploy"), (2, "flux-system", "flux-system")])
def test_reads_the_deploy_key_secret_of_the_flavour(flux_version, namespace, name):
    read = _task("Read the deploy key Secret")["kubernetes.core.k8s_info"]
    variables = _variables(flux_version)
    assert (_template(read["namespace"], variables), _template(read["name"], variables)) == (namespace, name)
    # the Secret the flavour's bootstrap writes
    written = (v1.deploy_key_secret({"namespace": namespace, "labels": {}}, b"") if flux_version == 1
               else v2.deploy_key_secret({}, b""))["metadata"]
    assert (written["namespace"], written["name"]) == (namespace, name)


@pytest.mark.parametrize("make_key", [lambda: ssh_keys.generate("ed25519")[0], lambda: ssh_keys.generate("rsa")[0],
                                      _flux_v2_cli_key], ids=["ed25519", "rsa", "flux-cli-ecdsa-p384"])
def test_flavour_2_removes_the_public_key_of_flux_system_secret(make_key):
    """The key passed to github_deploy_key is the identity.pub of the Secret flux-system/flux-system."""
    secret = v2.deploy_key_secret({"git_url": "ssh://git@github.com/tidepool-org/cluster-test1.git"}, make_key())
    variables = _variables(2, secret)
    has_key = _template(_task("Tell whether the Secret holds a deploy key")["ansible.builtin.set_fact"]
                        ["_teardown_has_deploy_key"], variables)
    assert has_key is True or str(has_key).strip() == "True"
    remove = _task("Remove the deploy key of Flux")["tidepool.eks.github_deploy_key"]
    data_expr, filter_call = remove["key"].split("| tidepool.eks.ssh_public_key", 1)
    assert filter_call.strip() == "(encoded=true) }}"
    encoded = _template(data_expr.strip() + " }}", variables)
    public = ssh_public_key(encoded, encoded=True)
    assert public + "\n" == base64.b64decode(secret["data"][v2.IDENTITY_PUB]).decode()
    assert remove["state"] == "absent"


def test_flavour_2_https_secret_without_a_key_is_reported_not_removed():
    """A flux-system Secret of an http(s) config repository holds username/password only: nothing to remove."""
    secret = v2.deploy_key_secret({"git_url": "https://github.com/tidepool-org/cluster-test1.git", "git_username": "git",
                                   "git_password": "t"}, b"")
    has_key = _template(_task("Tell whether the Secret holds a deploy key")["ansible.builtin.set_fact"]
                        ["_teardown_has_deploy_key"], _variables(2, secret))
    assert has_key is False or str(has_key).strip() == "False"


def test_check_mode_only_reads():
    read = _task("Read the deploy key Secret")
    assert read["check_mode"] is False and read.get("no_log") is True  # a read, run in check mode too; the private key
    changing = [t for t in TASKS if not any(k.startswith(("ansible.builtin.", "kubernetes.core.k8s_info"))
                                            for k in t if "." in k)]
    assert [next(k for k in t if "." in k) for t in changing] == ["tidepool.eks.github_deploy_key"]
    assert "check_mode" not in changing[0]  # so Ansible's check mode reaches it: it predicts, deletes nothing
    module = (REPO / "plugins" / "modules" / "github_deploy_key.py").read_text()
    assert re.search(r"check_mode:\s*\n\s*support: full", module)


def test_the_key_is_removed_before_the_cluster_is_deleted():
    tasks = yaml.safe_load((ROLE / "tasks" / "delete_cluster.yml").read_text())
    names = [t["name"] for t in tasks]
    purge = next(i for i, t in enumerate(tasks) if t.get("ansible.builtin.include_tasks") == "purge_deploy_key.yml")
    delete = next(i for i, t in enumerate(tasks) if "tidepool.eks.eksctl_cluster" in t)
    assert purge < delete, names
