"""Stack.wipe_etcd (and `scripts/local-stack down --wipe-etcd`): the cluster's objects go, nothing else of the state,
and never while something that talks to the API server runs. No server is started: a state directory is laid out
by hand, and "running" is a pid file naming this (live) test process."""
from __future__ import annotations

import os

import pytest

from local_stack import GROUPS, StackError, cli
from local_stack.stack import Stack

KEPT = ("pki/ca.crt", "kubeconfig", "git/cluster-local.git/HEAD", "moto/recording.jsonl", "fake-github.json",
        "source-controller/artifact.tar.gz")


def _state(root):
    for rel in KEPT + ("etcd/member/snap/db", "etcd/member/wal/0.wal"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return Stack(root, {})


def test_only_etcd_s_data_directory_goes(tmp_path):
    stack = _state(tmp_path / "state")
    assert stack.etcd_data == stack.state / "etcd"
    assert stack.wipe_etcd() is True
    assert not stack.etcd_data.exists()
    for rel in KEPT:
        assert (stack.state / rel).read_text() == rel, rel
    assert stack.wipe_etcd() is False  # nothing left to delete: not an error


@pytest.mark.parametrize("component", Stack.API_USERS)
def test_refused_while_etcd_or_an_api_server_client_runs(tmp_path, component):
    stack = _state(tmp_path / "state")
    stack.run.mkdir()
    (stack.run / f"{component}.pid").write_text(str(os.getpid()))
    with pytest.raises(StackError, match=f"stop {component} first"):
        stack.wipe_etcd()
    assert (stack.etcd_data / "member" / "snap" / "db").exists()


def test_the_users_are_the_kube_nodes_and_gitops_groups_and_not_the_servers_that_keep_the_sources():
    assert set(Stack.API_USERS) == set(GROUPS["kube"] + GROUPS["nodes"] + GROUPS["gitops"])
    assert not set(Stack.API_USERS) & set(GROUPS["moto"] + GROUPS["git"] + GROUPS["charts"])


def test_the_cli_stops_the_groups_then_wipes(tmp_path, monkeypatch, capsys):
    stack = _state(tmp_path / "state")
    monkeypatch.setenv("TIDEPOOL_STACK_DIR", str(stack.state))  # Stack.default(): this directory, nothing running
    assert cli.main(["down", "kube", "nodes", "gitops", "--wipe-etcd"]) == 0
    assert not stack.etcd_data.exists() and (stack.state / "kubeconfig").exists()
    assert "etcd's data deleted" in capsys.readouterr().err
