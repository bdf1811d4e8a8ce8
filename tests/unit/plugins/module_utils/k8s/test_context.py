"""k8s/context.py: the context of the inventory's cluster, resolved from the kubeconfig once per run."""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.k8s import context


def kubeconfig(tmp_path, current, *contexts):
    """contexts: (context name, cluster entry, server)"""
    data = {"apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": [{"name": e, "cluster": {"server": s, "certificate-authority-data": "Q0E="}}
                         for _, e, s in contexts],
            "contexts": [{"name": n, "context": {"cluster": e, "user": "u"}} for n, e, _ in contexts]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(data))
    return str(path)


EKS = ("arn:aws:iam::123456789012:user/alice@test1.us-west-2.eksctl.io", "test1.us-west-2.eksctl.io", "https://eks")
OTHER = ("prod", "prod", "https://prod")


def test_eksctl_finds_the_context_of_the_cluster_entry_whatever_the_current_context(tmp_path):
    path = kubeconfig(tmp_path, "prod", OTHER, EKS)
    got = context.resolve(path, "eksctl", "test1", "us-west-2", env={})
    assert got == {"kubeconfig": path, "context": EKS[0], "cluster_entry": EKS[1], "server": "https://eks",
                   "ca_data": "Q0E="}


def test_eksctl_without_its_context_says_how_to_write_it(tmp_path):
    path = kubeconfig(tmp_path, "prod", OTHER)
    with pytest.raises(context.ContextError, match=r"has no context of the EKS cluster test1.us-west-2.eksctl.io"):
        context.resolve(path, "eksctl", "test1", "us-west-2", env={})


def test_eksctl_with_several_contexts_takes_the_current_one_else_asks(tmp_path):
    second = ("bob@test1.us-west-2.eksctl.io", EKS[1], EKS[2])
    path = kubeconfig(tmp_path, second[0], EKS, second)
    assert context.resolve(path, "eksctl", "test1", "us-west-2", env={})["context"] == second[0]
    path = kubeconfig(tmp_path, "prod", EKS, second, OTHER)
    with pytest.raises(context.ContextError, match="several contexts.*set kubeconfig_context"):
        context.resolve(path, "eksctl", "test1", "us-west-2", env={})


def test_existing_takes_the_current_context_and_the_named_one_wins(tmp_path):
    path = kubeconfig(tmp_path, "prod", OTHER, ("local", "local", "https://127.0.0.1:1"))
    assert context.resolve(path, "existing", "local", "us-east-1", env={})["context"] == "prod"
    got = context.resolve(path, "existing", "local", "us-east-1", "local", env={})
    assert (got["context"], got["server"]) == ("local", "https://127.0.0.1:1")
    assert context.resolve(path, "existing", "local", "us-east-1", env={"K8S_AUTH_CONTEXT": "local"})["context"] == "local"
    with pytest.raises(context.ContextError, match=r"has no context 'nope' \(kubeconfig_context\); its contexts: local, prod"):
        context.resolve(path, "existing", "local", "us-east-1", "nope", env={})


def test_unreadable_or_without_current_context(tmp_path):
    with pytest.raises(context.ContextError, match="does not exist; set kubeconfig"):
        context.resolve(str(tmp_path / "missing"), "existing", "c", "r", env={})
    path = kubeconfig(tmp_path, None, OTHER)
    with pytest.raises(context.ContextError, match="has no current context; set kubeconfig_context"):
        context.resolve(path, "existing", "c", "r", env={})
