"""The client factory: where the kubeconfig and context come from, and one clear KubeError naming the server."""
import socket

import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import options

ENV = ("K8S_AUTH_KUBECONFIG", "KUBECONFIG", "K8S_AUTH_CONTEXT")


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kubeconfig(path, servers: dict, current: str):
    """A kubeconfig with one context per ``{name: server URL}``."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": n, "cluster": {"server": url}} for n, url in servers.items()],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in servers]}))
    return str(path)


@pytest.fixture
def env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_resolution_order_options_then_k8s_auth_then_kubeconfig():
    assert options.resolve(None, None, env={}) == (None, None)
    assert options.resolve(None, None, env={"KUBECONFIG": "/k"}) == ("/k", None)
    both = {"KUBECONFIG": "/k", "K8S_AUTH_KUBECONFIG": "/auth", "K8S_AUTH_CONTEXT": "ctx"}
    assert options.resolve(None, None, env=both) == ("/auth", "ctx")
    assert options.resolve("/opt", "mine", env=both) == ("/opt", "mine")
    assert options.resolve(None, None, env={"K8S_AUTH_KUBECONFIG": "", "KUBECONFIG": "/k"}) == ("/k", None)


def test_the_environment_chooses_the_file_and_the_context(env, tmp_path):
    one = kubeconfig(tmp_path / "one", {"a": "https://10.0.0.1:6443", "b": "https://10.0.0.2:6443"}, "a")
    two = kubeconfig(tmp_path / "two", {"c": "https://10.0.0.3:6443"}, "c")
    env.setenv("KUBECONFIG", two)
    assert client.api_client(None).configuration.host == "https://10.0.0.3:6443"
    env.setenv("K8S_AUTH_KUBECONFIG", one)
    assert client.api_client(None).configuration.host == "https://10.0.0.1:6443"
    env.setenv("K8S_AUTH_CONTEXT", "b")
    assert client.api_client(None).configuration.host == "https://10.0.0.2:6443"
    assert client.describe_target(None, None) == f"kubeconfig {one}, context b"
    # the task's options win over the environment
    assert client.api_client(two, "c").configuration.host == "https://10.0.0.3:6443"


def test_a_missing_kubeconfig_option_names_the_path(env, tmp_path):
    with pytest.raises(client.KubeError, match=f"kubeconfig: {tmp_path}/nope does not exist"):
        client.api_client(str(tmp_path / "nope"))


def test_an_unreachable_server_is_one_error_naming_it(env, tmp_path):
    server = f"https://127.0.0.1:{dead_port()}"
    path = kubeconfig(tmp_path / "kc", {"dead": server}, "dead")
    with pytest.raises(client.KubeError) as info:
        client.check_reachable(path, None, timeout=2)
    assert str(info.value).startswith(f"Kubernetes API server {server} (kubeconfig {path}, context (current)) "
                                      "is unreachable (")
    env.setenv("K8S_AUTH_KUBECONFIG", path)
    with pytest.raises(client.KubeError, match=f"Cannot reach the Kubernetes API server {server} "):
        client.connect()


def test_one_kube_error_everywhere():
    assert issubclass(client.KubeError, TidepoolError)
