"""Unit tests of the kubeconfig helpers (plugins/module_utils/aws/eksctl/kubeconfig.py)."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.aws.eksctl import kubeconfig


def test_kubeconfig_path_expansion(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kubeconfig.expand_path("~/.kube/config") == str(tmp_path / ".kube" / "config")
    assert kubeconfig.expand_path("$HOME/.kube/config") == str(tmp_path / ".kube" / "config")
    assert kubeconfig.expand_path("${HOME}/k") == str(tmp_path / "k")
    assert kubeconfig.expand_path(None) is None


def test_kubeconfig_checker(tmp_path):
    path = tmp_path / "config"
    has = kubeconfig.kubeconfig_checker(str(path))
    assert not has("https://k")
    path.write_text("clusters:\n- name: c\n  cluster: {server: 'https://k'}\n")
    assert has("https://k") and not has("https://other") and not has(None)
    path.write_text("clusters: [unclosed\n")
    assert not has("https://k")
