"""The platform half of the GitOps loop on the local stack: the stack's chart repository serves the pinned charts,
source-controller pulls one, helm-controller installs it (helm waiting for its workloads), the Deployment's pod is
scheduled on a simulated kwok Node and the Deployment turns Available; deleting the HelmRelease uninstalls it.
The chart repository is rebuilt only when a chart changes."""
import json
import shutil
import time
import uuid

import pytest
import yaml

from local_stack import charts, nodes

from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

CHART, CHART_VERSION = "reloader", "2.2.16"
# Fully qualified: the reference CRDs also hold Flux v1's helm.fluxcd.io HelmRelease, which `helmrelease` may mean.
HR = "helmreleases.helm.toolkit.fluxcd.io"


def wait(what, check, timeout=120.0, on_timeout=lambda: ""):
    return wait_for(what, check, timeout, on_timeout)


def apply(kube, doc: dict):
    kube.kubectl("apply", "-f", "-", input=json.dumps(doc))


def logs(stack, *names):
    return "\n".join(f"--- {n}.log (tail)\n" + (stack.run / f"{n}.log").read_text(errors="replace")[-3000:]
                     for n in names if (stack.run / f"{n}.log").exists())


def condition(obj, kind="Ready"):
    for c in (obj or {}).get("status", {}).get("conditions", []):
        if c["type"] == kind:
            return c
    return None


def test_the_simulated_nodes_are_ready_and_sized(platform_stack):
    kube = platform_stack.kube
    found = kube.get("nodes")["items"]
    sim = [n for n in found if n["metadata"].get("annotations", {}).get(nodes.KWOK_ANNOTATION[0]) == "fake"]
    assert sorted(n["metadata"]["name"] for n in sim) == [f"kwok-node-{i}" for i in range(nodes.NODE_COUNT)]
    for node in sim:
        assert condition(node)["status"] == "True"
        assert not any(t["key"] == nodes.NOT_READY_TAINT for t in node["spec"].get("taints", []))
        assert node["status"]["allocatable"]["cpu"] == nodes.NODE_CAPACITY["cpu"]
        assert node["status"]["allocatable"]["pods"] == nodes.NODE_CAPACITY["pods"]
    # idempotent: a second call creates nothing
    assert nodes.ensure_nodes(platform_stack.stack) == []


def test_the_chart_repository_serves_every_pinned_chart_on_loopback(platform_stack):
    import urllib.request
    stack = platform_stack.stack
    assert stack.charts_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(stack.charts_url + "/index.yaml", timeout=10) as resp:
        index = yaml.safe_load(resp.read())
    pinned = {(d.parent.name, d.name) for d in charts.chart_dirs(charts.charts_root())}
    served = {(name, v["version"]) for name, versions in index["entries"].items() for v in versions}
    assert served == pinned
    for versions in index["entries"].values():
        for v in versions:
            assert all(u.startswith(stack.charts_url + "/") for u in v["urls"]), v["urls"]
    assert all(listen.startswith("127.0.0.1:") for listen in stack.listening()["chart-repo"])


def test_a_helmrelease_from_the_chart_repository_installs_and_its_deployment_runs_on_a_kwok_node(platform_stack):
    kube, stack = platform_stack.kube, platform_stack.stack
    ns = f"helm-{uuid.uuid4().hex[:6]}"
    kube.kubectl("create", "namespace", ns)
    # The lockdown: helm-controller impersonates the HelmRelease's service account (this one may install the chart's
    # ClusterRole and binding) and refuses a chart source in another namespace.
    apply(kube, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "installer", "namespace": ns}})
    apply(kube, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": f"{ns}-installer"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                 "subjects": [{"kind": "ServiceAccount", "name": "installer", "namespace": ns}]})
    apply(kube, {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                 "metadata": {"name": "stack-charts", "namespace": ns},
                 "spec": {"url": stack.charts_url, "interval": "10m"}})
    apply(kube, {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                 "metadata": {"name": CHART, "namespace": ns},
                 "spec": {"interval": "10m", "serviceAccountName": "installer", "timeout": "2m",
                          "chart": {"spec": {"chart": CHART, "version": CHART_VERSION,
                                             "sourceRef": {"kind": "HelmRepository", "name": "stack-charts"}}}}})
    diag = lambda: (json.dumps(kube.get(HR, "-n", ns, CHART), indent=1)[-2500:]  # noqa: E731
                    + "\n" + kube.kubectl("get", "pods,deploy,helmchart,helmrepository", "-n", ns, "-o", "wide",
                                          check=False).stdout
                    + logs(stack, "helm-controller", "source-controller", "kube-scheduler", "kwok"))
    t0 = time.monotonic()
    wait("HelmRelease Ready",
         lambda: (condition(kube.get(HR, "-n", ns, CHART)) or {}).get("status") == "True",
         timeout=180, on_timeout=diag)
    installed_in = time.monotonic() - t0
    release = kube.get(HR, "-n", ns, CHART)
    assert release["status"]["history"][0]["chartVersion"] == CHART_VERSION
    deployments = kube.get("deployments", "-n", ns)["items"]
    assert deployments, diag()
    for dep in deployments:
        assert (condition(dep, "Available") or {}).get("status") == "True", diag()
    pods = kube.get("pods", "-n", ns)["items"]
    assert pods and all(p["spec"].get("nodeName", "").startswith(nodes.NODE_PREFIX) for p in pods), diag()
    assert all(p["status"]["phase"] == "Running" for p in pods), diag()
    print(f"HelmRelease {ns}/{CHART} Ready (installed, Deployment Available) in {installed_in:.1f}s")

    kube.kubectl("delete", HR, "-n", ns, CHART, "--wait=true", "--timeout=120s")
    wait("the chart's Deployment uninstalled", lambda: not kube.get("deployments", "-n", ns)["items"],
         timeout=60, on_timeout=diag)
    kube.kubectl("delete", "clusterrolebinding", f"{ns}-installer")
    kube.kubectl("delete", "namespace", ns, "--wait=false")


def test_the_chart_repository_is_rebuilt_only_when_a_chart_changes(platform_stack, tmp_path, monkeypatch):
    src = tmp_path / "charts"
    shutil.copytree(charts.charts_root() / CHART / CHART_VERSION, src / CHART / CHART_VERSION)

    class Throwaway:  # a stack object of its own: the session's chart repository is not touched
        state = tmp_path / "state"
        bin_root = platform_stack.stack.bin_root
        ports = {"chart-repo": 1}
    monkeypatch.setattr(charts, "charts_root", lambda: src)
    stack = Throwaway()
    assert charts.build_repository(stack) is True
    index = charts.repo_dir(stack) / "index.yaml"
    first = index.read_text()
    assert charts.build_repository(stack) is False
    assert index.read_text() == first
    values = src / CHART / CHART_VERSION / "values.yaml"
    values.write_text(values.read_text() + "\n# changed\n")
    assert charts.build_repository(stack) is True
    assert yaml.safe_load(index.read_text())["entries"][CHART][0]["digest"] != \
        yaml.safe_load(first)["entries"][CHART][0]["digest"]
