"""Simulated nodes of the local stack: kube-scheduler binds pods, kwok plays the kubelet of a few Nodes, so what a chart
installs is scheduled, Running and Available without a container runtime (helm's wait and Flux's health checks pass).

* kube-scheduler (the stack's Kubernetes release, build.sh ``kube-scheduler``): user ``system:kube-scheduler`` (a client
  certificate of the stack's client CA; the bootstrap RBAC roles bind it, as kubeadm does), no leader election,
  serving ``/healthz`` on 127.0.0.1 only (a self-signed certificate in ``<state>/scheduler-certs``).
* kwok (``sigs.k8s.io/kwok``, build.sh ``kwok``): manages the Nodes annotated ``kwok.x-k8s.io/node=fake`` only, with
  the stage definitions copied next to its binary (node initialize + heartbeat, pod ready/complete/delete); its
  server (``/healthz``) on 127.0.0.1; pod IPs from :data:`POD_CIDR` are only written into pod status.
* :func:`ensure_nodes` creates :data:`NODE_COUNT` Nodes ``kwok-node-<i>`` (capacity :data:`NODE_CAPACITY`) once and
  waits until each is Ready without the ``node.kubernetes.io/not-ready`` taint (kube-controller-manager's
  node-lifecycle controller removes it once kwok reports the Node Ready).
"""
from __future__ import annotations

import os
import ssl
import time
from pathlib import Path

from .common import HOST, StackError, http_ok, versions, wait_for

#: The annotation kwok selects its Nodes by (``--manage-nodes-with-annotation-selector``).
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
NODE_COUNT = 3
NODE_PREFIX = "kwok-node-"
#: Capacity (= allocatable) of each simulated Node: room for the whole platform's requests on three nodes.
NODE_CAPACITY = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
POD_CIDR = "10.244.0.0/16"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"


def kwok_bin(stack) -> Path:
    """``<bin>/kwok-<KWOK_VERSION>/kwok`` (``TIDEPOOL_STACK_KWOK`` overrides it); its stages.yaml lies beside it."""
    return Path(os.environ.get("TIDEPOOL_STACK_KWOK") or
                stack.bin_root / f"kwok-{versions()['KWOK_VERSION']}" / "kwok")


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed serving certificate on loopback; only /healthz is asked
    return ctx


def healthy(stack, name: str) -> bool:
    """kube-scheduler: ``GET https://127.0.0.1:<port>/healthz``; kwok: ``GET http://127.0.0.1:<port>/healthz``."""
    if name == "kube-scheduler":
        return http_ok(f"https://{HOST}:{stack.ports[name]}/healthz", context=_insecure())
    return http_ok(f"http://{HOST}:{stack.ports[name]}/healthz")


def start_scheduler(stack, timeout: float) -> None:
    from . import kube  # PKI and kubeconfigs (cryptography is only needed for the Kubernetes part)
    binary = stack.bin("kubernetes", "kube-scheduler")
    if not os.access(binary, os.X_OK):
        raise StackError(f"kube-scheduler: {binary} missing (run `scripts/local-stack build kube-scheduler`)")
    kc = kube.ensure_client_cert(stack, "scheduler", "system:kube-scheduler")
    argv = [str(binary), f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            f"--bind-address={HOST}", f"--secure-port={stack.ports['kube-scheduler']}",
            f"--cert-dir={stack.state / 'scheduler-certs'}", "--leader-elect=false", *kube.CLIENT_RATE_FLAGS, "--v=1"]
    pid = stack.spawn("kube-scheduler", argv)
    wait_for("kube-scheduler", lambda: healthy(stack, "kube-scheduler"), timeout, pid, stack.run / "kube-scheduler.log")


def start_kwok(stack, timeout: float) -> None:
    binary = kwok_bin(stack)
    stages = binary.parent / "stages.yaml"
    for path in (binary, stages):
        if not path.exists():
            raise StackError(f"kwok: {path} missing (run `scripts/local-stack build kwok`)")
    key, value = KWOK_ANNOTATION
    argv = [str(binary), f"--kubeconfig={stack.kubeconfig}", f"--config={stages}",
            "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={key}={value}",
            f"--node-ip={HOST}", f"--cidr={POD_CIDR}", f"--server-address={HOST}:{stack.ports['kwok']}"]
    pid = stack.spawn("kwok", argv)
    wait_for("kwok", lambda: healthy(stack, "kwok"), timeout, pid, stack.run / "kwok.log")


def node_manifest(name: str) -> dict:
    """The Node ``name`` as created: kwok's annotation and the usual node labels, capacity = allocatable =
    :data:`NODE_CAPACITY`."""
    key, value = KWOK_ANNOTATION
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
                         "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "type": "kwok",
                                    "node.kubernetes.io/instance-type": "kwok.16x64"}},
            "spec": {},
            "status": {"capacity": dict(NODE_CAPACITY), "allocatable": dict(NODE_CAPACITY),
                       "nodeInfo": {"kubeletVersion": versions()["KUBERNETES_VERSION"], "operatingSystem": "linux",
                                    "architecture": "amd64", "kubeProxyVersion": "fake",
                                    "containerRuntimeVersion": "kwok", "osImage": "kwok",
                                    "kernelVersion": "kwok", "machineID": "", "systemUUID": "", "bootID": ""}}}


def _schedulable(node) -> bool:
    ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
    tainted = any(t.key == NOT_READY_TAINT for t in (node.spec.taints or []))
    return ready and not tainted


def ensure_nodes(stack, *, count: int = NODE_COUNT, timeout: float = 90.0, log=None) -> list[str]:
    """Create the Nodes ``kwok-node-0..count-1`` that are missing (existing ones are left alone) and wait until every
    one is Ready and untainted. Returns the names created now. Raises StackError after ``timeout`` seconds."""
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(stack.kubeconfig)))
    names = [f"{NODE_PREFIX}{i}" for i in range(count)]
    created = []
    for name in names:
        try:
            api.read_node(name)
        except ApiException as exc:
            if exc.status != 404:
                raise StackError(f"Node {name}: {exc.status} {exc.reason}") from exc
            api.create_node(node_manifest(name))
            created.append(name)
    t0 = time.monotonic()
    deadline = t0 + timeout
    pending = list(names)
    while pending and time.monotonic() < deadline:
        pending = [n for n in pending if not _schedulable(api.read_node(n))]
        if pending:
            time.sleep(0.5)
    if pending:
        raise StackError(f"simulated Nodes not Ready (or still tainted {NOT_READY_TAINT}) after {timeout:.0f}s: "
                         f"{', '.join(pending)}; see {stack.run / 'kwok.log'} and kube-controller-manager.log")
    if log:
        log(f"nodes: {', '.join(names)} Ready ({len(created)} created; {time.monotonic() - t0:.1f}s; "
            f"each {NODE_CAPACITY['cpu']} CPU, {NODE_CAPACITY['memory']}, {NODE_CAPACITY['pods']} pods)")
    return created


# What Stack.up calls to start each node component: (stack, timeout seconds) -> None.
STARTERS = {"kube-scheduler": start_scheduler, "kwok": start_kwok}
