"""The client factory: where the kubeconfig and context come from, and one clear KubeError naming the server."""
import http.server
import json
import socket
import threading

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
        client.connect(path, None, timeout=2)
    assert str(info.value).startswith(f"Kubernetes API server {server} (kubeconfig {path}, context (current)) "
                                      "is unreachable (")
    env.setenv("K8S_AUTH_KUBECONFIG", path)  # the same error when the environment names the kubeconfig
    with pytest.raises(client.KubeError) as info:
        client.connect(timeout=2)
    assert str(info.value).startswith(f"Kubernetes API server {server} (kubeconfig {path}, context (current)) "
                                      "is unreachable (")


VERSION = {"major": "1", "minor": "36", "gitVersion": "v1.36.3", "gitCommit": "0", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64"}


class _ApiServer(http.server.BaseHTTPRequestHandler):
    """GET /version answers a version, or 401 when the token is not "t"."""

    def do_GET(self):  # noqa: N802 - http.server's name
        ok = self.headers.get("Authorization") == "Bearer t"
        body = json.dumps(VERSION if ok else {"kind": "Status", "code": 401}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_connect_probes_the_server_and_names_it(env, tmp_path, api_server):
    path = kubeconfig(tmp_path / "kc", {"up": api_server}, "up")
    reached = client.connect(path, timeout=5)
    assert (reached.server, reached.version) == (api_server, "v1.36.3")
    assert reached.api.configuration.host == api_server


def test_refused_credentials_are_one_error_naming_the_server(env, tmp_path, api_server):
    path = tmp_path / "kc"
    kubeconfig(path, {"up": api_server}, "up")
    path.write_text(path.read_text().replace("token: t", "token: wrong"))
    with pytest.raises(client.KubeError, match=rf"Kubernetes API server {api_server} .* refused the kubeconfig's "
                                               r"credentials \(HTTP 401\)"):
        client.connect(str(path), timeout=5)


def test_one_kube_error_everywhere():
    assert issubclass(client.KubeError, TidepoolError)
