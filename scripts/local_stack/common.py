"""What every part of the local stack shares: its components and ports, its paths, the pinned versions,
the one error type and the small network helpers (port probes, HTTP health checks, waiting for a server).

Imports nothing else of the package but ``procs``: ``stack``, ``kube``, ``git`` and ``cli`` import from here,
never from each other in a circle (tests/unit/scripts/local_stack/test_imports.py keeps it so).
"""
from __future__ import annotations

import os
import random
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import procs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COMPONENTS = ("moto", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "git-daemon",
              "git-http", "fake-github", "chart-repo", "source-controller", "kustomize-controller", "helm-controller",
              "external-secrets")
GROUPS = {
    "moto": ("moto",),
    "kube": ("etcd", "kube-apiserver", "kube-controller-manager"),
    # Simulated nodes (nodes.py): the scheduler binds pods, kwok plays the kubelet of the stack's Nodes.
    "nodes": ("kube-scheduler", "kwok"),
    "git": ("git-daemon", "git-http", "fake-github"),
    # The chart repository built from the pinned chart copies (charts.py).
    "charts": ("chart-repo",),
    # The GitOps controllers (gitops.py): they need the kube group, git-http and (ESO) moto running.
    "gitops": ("source-controller", "kustomize-controller", "helm-controller", "external-secrets"),
}
# Fixed default ports (override with the environment variable named beside each), 127.0.0.1 only.
DEFAULT_PORTS = {
    "moto": ("TIDEPOOL_STACK_MOTO_PORT", 15566),
    "etcd": ("TIDEPOOL_STACK_ETCD_PORT", 12379),
    "etcd-peer": ("TIDEPOOL_STACK_ETCD_PEER_PORT", 12380),
    "kube-apiserver": ("TIDEPOOL_STACK_APISERVER_PORT", 16443),
    "kube-controller-manager": ("TIDEPOOL_STACK_KCM_PORT", 20257),
    "kube-scheduler": ("TIDEPOOL_STACK_SCHEDULER_PORT", 20259),
    "kwok": ("TIDEPOOL_STACK_KWOK_PORT", 20260),
    "git-daemon": ("TIDEPOOL_STACK_GIT_PORT", 19418),
    "git-http": ("TIDEPOOL_STACK_GIT_HTTP_PORT", 19419),
    "fake-github": ("TIDEPOOL_STACK_GITHUB_PORT", 18080),
    "chart-repo": ("TIDEPOOL_STACK_CHARTS_PORT", 19420),
    # GitOps controllers: the port of each component is its health probe (--health-addr / --live-addr);
    # the others are their metrics endpoints and source-controller's artifact storage server.
    "source-controller": ("TIDEPOOL_STACK_SOURCE_HEALTH_PORT", 19440),
    "source-controller-metrics": ("TIDEPOOL_STACK_SOURCE_METRICS_PORT", 19441),
    "source-controller-storage": ("TIDEPOOL_STACK_SOURCE_STORAGE_PORT", 19442),
    "kustomize-controller": ("TIDEPOOL_STACK_KUSTOMIZE_HEALTH_PORT", 19443),
    "kustomize-controller-metrics": ("TIDEPOOL_STACK_KUSTOMIZE_METRICS_PORT", 19444),
    "external-secrets": ("TIDEPOOL_STACK_ESO_HEALTH_PORT", 19445),
    "external-secrets-metrics": ("TIDEPOOL_STACK_ESO_METRICS_PORT", 19446),
    "helm-controller": ("TIDEPOOL_STACK_HELM_HEALTH_PORT", 19447),
    "helm-controller-metrics": ("TIDEPOOL_STACK_HELM_METRICS_PORT", 19448),
}
HOST = "127.0.0.1"
DEFAULT_TOKEN = "tidepool-local-token"
REGION = "us-east-1"


class StackError(RuntimeError):
    """A server of the local stack is missing or would not start."""


def cache_root() -> Path:
    """``$TIDEPOOL_EKS_CACHE``, else ``~/.cache/tidepool-eks``: binaries, build caches, the default stack."""
    return Path(os.environ.get("TIDEPOOL_EKS_CACHE") or Path.home() / ".cache" / "tidepool-eks")


def shared_dir() -> Path:
    """``$TIDEPOOL_EKS_SHARED``, else ``<repo>/../shared``: the reference files (CRDs)."""
    return Path(os.environ.get("TIDEPOOL_EKS_SHARED") or REPO.parent / "shared")


def versions() -> dict:
    """The pins of ``versions.env`` as ``{"KUBERNETES_VERSION": "v1.36.3", ...}``."""
    out = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def expand_components(components) -> list[str]:
    """Component and group names (a string, a list, or None for all) -> component names in start order.
    Raises StackError for an unknown name."""
    if components is None:
        return list(COMPONENTS)
    out = []
    for c in ([components] if isinstance(components, str) else components):
        for name in GROUPS.get(c, (c,)):
            if name not in COMPONENTS:
                raise StackError(f"unknown component {c!r}; known: {', '.join(list(GROUPS) + list(COMPONENTS))}")
            if name not in out:
                out.append(name)
    return [c for c in COMPONENTS if c in out]


# Ports handed out by free_port in this process: never handed out twice.
_HANDED_OUT: set[int] = set()
# Where free_port looks: below the kernel's ephemeral range (which starts at 32768 by default), so no outgoing
# connection of a busy test run (git, kubectl, boto3, the controllers) takes a port between the moment it is chosen
# and the moment the server binds it; above the fixed DEFAULT_PORTS. CI failed once on exactly that race:
# source-controller, given a port from the ephemeral range, lost it and exited.
PORT_POOL = (21000, 32767)


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_slice(pool: tuple[int, int] | None = None, spec: str | None = None) -> tuple[int, int]:
    """The part of ``pool`` this process draws from: ``$TIDEPOOL_PORT_SLICE`` = ``"n/k"`` (1-based) gives slice n of
    k equal slices, so k test processes running at once (scripts/run_tests.py) never pick the same port; unset or
    malformed: the whole pool. Returns (first, last), inclusive."""
    spec = os.environ.get("TIDEPOOL_PORT_SLICE", "") if spec is None else spec
    lo, hi = pool or PORT_POOL
    try:
        n, k = (int(x) for x in spec.split("/"))
    except ValueError:
        return lo, hi
    if not 1 <= n <= k:
        return lo, hi
    size = (hi - lo + 1) // k
    return lo + (n - 1) * size, lo + n * size - 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now and was not handed out before by this process: a random one
    of this process's slice of PORT_POOL (port_slice), outside the kernel's ephemeral range; where that range
    starts below the pool's end, a port the kernel picks (bind to port 0)."""
    lo, hi = port_slice()
    if _ephemeral_start() > hi:
        for _ in range(200):
            port = random.randint(lo, hi)
            if port in _HANDED_OUT:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind((HOST, port))
                except OSError:
                    continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    _HANDED_OUT.add(port)
    return port


def port_in_use(port: int) -> bool:
    """True if something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def http_ok(url: str, *, timeout: float = 2.0, context=None, method: str = "GET") -> bool:
    """True if ``url`` answers 2xx within ``timeout`` seconds; False on any error."""
    try:
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _log_tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log and log.exists() else ""


def wait_for(what: str, check, timeout: float, proc_pid: int | None = None, log: Path | None = None):
    """Poll ``check()`` every 0.2 s until it is true. Raises StackError (with the last 3000 characters of
    ``log``) when ``proc_pid`` exits first or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc_pid is not None and not procs.alive(proc_pid):
            raise StackError(f"{what} exited during start-up; last output ({log}):\n{_log_tail(log)}")
        time.sleep(0.2)
    raise StackError(f"{what} not ready after {timeout:.0f}s; last output ({log}):\n{_log_tail(log)}")
