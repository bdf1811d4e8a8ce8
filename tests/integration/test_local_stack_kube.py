"""The Kubernetes part of the local stack: a real kube-apiserver (envtest-style), etcd and
kube-controller-manager, with the reference CRDs installed and enforced by the server."""
import dataclasses
import json
import time
import uuid

import pytest
import yaml

from tests.support.helpers import SHARED  # noqa: F401  (tests/support/helpers.py)

pytestmark = pytest.mark.integration


_CREATED: list = []


@pytest.fixture(autouse=True, scope="module")
def _delete_namespaces_at_the_end():
    """Namespaces made by _ns() are deleted when the module's tests are done: the stack keeps nothing of them."""
    yield
    while _CREATED:
        kube, name = _CREATED.pop()
        kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def _ns(kube_stack, prefix="t"):
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kube_stack.kubectl("create", "namespace", name)
    _CREATED.append((kube_stack, name))
    return name


def test_server_version_and_admin_identity(kube_stack):
    import local_stack
    out = json.loads(kube_stack.kubectl("version", "-o", "json").stdout)
    want = local_stack.versions()["KUBERNETES_VERSION"]
    assert out["serverVersion"]["gitVersion"] == want
    assert out["clientVersion"]["gitVersion"] == want
    assert kube_stack.server.startswith("https://127.0.0.1:")
    review = json.loads(kube_stack.kubectl("auth", "whoami", "-o", "json").stdout)
    assert "system:masters" in review["status"]["userInfo"]["groups"]


def test_every_server_listens_on_loopback_only(kube_stack, moto_server, git_server):
    for stack in {id(s): s for s in (kube_stack.stack, git_server.stack)}.values():
        for name, addrs in stack.listening().items():
            assert addrs, name
            for addr in addrs:
                assert addr.startswith("127.0.0.1:"), f"{name} listens on {addr}"


def test_reference_crds_installed_and_established(kube_stack):
    import local_stack.kube as kube
    want = {c["metadata"]["name"] for c in kube.load_crds(SHARED / "reference" / "crds")}
    assert len(want) >= 20
    crds = json.loads(kube_stack.kubectl("get", "crd", "-o", "json").stdout)["items"]
    established = {c["metadata"]["name"] for c in crds
                   if any(k["type"] == "Established" and k["status"] == "True" for k in c["status"]["conditions"])}
    assert want <= established
    # The legacy apiextensions.k8s.io/v1beta1 CRDs (cert-manager 0.8) were converted and are served.
    res = kube_stack.kubectl("api-resources", "--api-group=certmanager.k8s.io", "-o", "name").stdout.split()
    assert "certificates.certmanager.k8s.io" in res and "clusterissuers.certmanager.k8s.io" in res


def test_server_validates_custom_resources(kube_stack):
    ns = _ns(kube_stack, "crd")
    good = {"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
            "metadata": {"name": "tidepool", "namespace": ns},
            "spec": {"releaseName": f"{ns}-tidepool",
                     "chart": {"git": "git@github.com:tidepool-org/development", "ref": "develop",
                               "path": "charts/tidepool"}}}
    kube_stack.kubectl("apply", "-f", "-", input=json.dumps(good))
    got = json.loads(kube_stack.kubectl("get", "helmrelease.helm.fluxcd.io", "tidepool", "-n", ns, "-o", "json").stdout)
    assert got["spec"]["releaseName"] == f"{ns}-tidepool"
    bad = dict(good, metadata={"name": "broken", "namespace": ns}, spec={"releaseName": "x"})  # no chart
    res = kube_stack.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert res.returncode != 0 and "chart" in res.stderr and "Required value" in res.stderr
    # A legacy cert-manager v1alpha1 object goes through the converted CRD, and its schema still applies.
    issuer = {"apiVersion": "certmanager.k8s.io/v1alpha1", "kind": "ClusterIssuer", "metadata": {"name": f"{ns}-self"},
              "spec": {"selfSigned": {}}}
    kube_stack.kubectl("apply", "-f", "-", input=json.dumps(issuer))
    kube_stack.kubectl("delete", "clusterissuer.certmanager.k8s.io", f"{ns}-self")


def test_namespace_deletion_and_garbage_collection(kube_stack):
    """Needs kube-controller-manager: a deleted namespace goes away, owned objects are collected."""
    ns = _ns(kube_stack, "gc")
    owner = json.loads(kube_stack.kubectl("create", "configmap", "owner", "-n", ns, "-o", "json").stdout)
    child = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "child", "namespace": ns, "ownerReferences": [
                 {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]}}
    kube_stack.kubectl("apply", "-f", "-", input=json.dumps(child))
    # The serviceaccount controller creates `default` in every namespace.
    deadline = time.monotonic() + 30
    while kube_stack.kubectl("get", "sa", "default", "-n", ns, check=False).returncode and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kube_stack.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0

    kube_stack.kubectl("delete", "configmap", "owner", "-n", ns)
    deadline = time.monotonic() + 60
    while kube_stack.kubectl("get", "configmap", "child", "-n", ns, check=False).returncode == 0:
        assert time.monotonic() < deadline, "garbage collector did not delete the dependent"
        time.sleep(0.5)

    kube_stack.kubectl("delete", "namespace", ns, "--wait=false")
    deadline = time.monotonic() + 90
    while kube_stack.kubectl("get", "namespace", ns, check=False).returncode == 0:
        assert time.monotonic() < deadline, "namespace stuck in Terminating (namespace controller)"
        time.sleep(0.5)
    # ... and can be created again.
    kube_stack.kubectl("create", "namespace", ns)
    kube_stack.kubectl("delete", "namespace", ns, "--wait=false")


def test_rbac_is_enforced(kube_stack, tmp_path):
    """Authorization is RBAC: a client certificate without bindings is authenticated but forbidden."""
    import local_stack.kube as kube
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    pki = kube_stack.stack.pki
    ca = x509.load_pem_x509_certificate((pki / "client-ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "client-ca.key").read_bytes(), None)
    key = kube.new_key()
    cert = kube.issue_cert("nobody", key, issuer=ca, issuer_key=ca_key, client=True)
    (tmp_path / "u.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "u.key").write_bytes(kube.key_pem(key))
    cfg = kube.kubeconfig_dict(kube_stack.stack, "nobody", tmp_path / "u.crt", tmp_path / "u.key")
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(cfg))
    import subprocess
    res = subprocess.run([str(kube_stack.kubectl_bin), "--kubeconfig", str(tmp_path / "kubeconfig"),
                          "get", "secrets", "-n", "kube-system"], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "Forbidden" in res.stderr and '"nobody"' in res.stderr


def test_python_client_and_ansible_env(kube_stack):
    import os
    from kubernetes import client
    assert os.environ["K8S_AUTH_KUBECONFIG"] == str(kube_stack.kubeconfig) == os.environ["KUBECONFIG"]
    names = [n.metadata.name for n in client.CoreV1Api(kube_stack.api_client()).list_namespace().items]
    assert {"default", "kube-system"} <= set(names)


def test_absent_means_not_found_never_could_not_ask(kube_stack, tmp_path):
    """KubeStack.get, the getter the "absent" assertions use: None only for NotFound; with the API server's address
    broken (a kubeconfig pointing at a closed port) the same question fails the test instead of reading as absent."""
    assert kube_stack.get("namespace", "zz-never-created") is None
    assert kube_stack.get("namespace", "default")["metadata"]["name"] == "default"
    broken = tmp_path / "kubeconfig"
    config = yaml.safe_load(kube_stack.kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:1"
    broken.write_text(yaml.safe_dump(config))
    elsewhere = dataclasses.replace(kube_stack, kubeconfig=broken)
    with pytest.raises(pytest.fail.Exception, match="127.0.0.1:1"):
        elsewhere.get("namespace", "zz-never-created")
    with pytest.raises(pytest.fail.Exception, match="resource type"):
        kube_stack.get("nosuchkinds", "x")


def test_services_of_twenty_environments_get_cluster_ips(kube_stack):
    """The Service range holds what 20 environments of the Tidepool chart and the shared services need (about 25
    Services each): with the first range, a /24, the 12th environment's install failed "range is full"."""
    import local_stack.kube as kube
    ns = _ns(kube_stack, "svc")
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "namespace": ns},
                 "spec": {"ports": [{"port": 80}]}} for i in range(300)]
    kube_stack.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": services}))
    ips = {s["spec"]["clusterIP"] for s in kube_stack.get("services", "-n", ns)["items"]}
    assert len(ips) == 300
    cidrs = {c["metadata"]["name"]: c["spec"]["cidrs"] for c in kube_stack.get("servicecidrs")["items"]}
    assert kube.SERVICE_CIDR in [cidr for each in cidrs.values() for cidr in each], cidrs
    # a second call finds the range allocatable and creates nothing
    assert kube.ensure_service_cidr(kube_stack.stack) is False
