"""The local stack as one object: components, ports, state directory, start/stop/status/env."""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

from . import moto_state, procs
from .common import (COMPONENTS, DEFAULT_PORTS, DEFAULT_TOKEN, GROUPS, HOST, REGION, StackError, cache_root,
                     expand_components, free_port, http_ok, port_in_use, shared_dir, versions, wait_for)

# Where each server answers ({port}: its port in Stack.ports).
URLS = {
    "moto": "http://{host}:{port}",
    "etcd": "http://{host}:{port}",
    "kube-apiserver": "https://{host}:{port}",
    "git-daemon": "git://{host}:{port}/",
    "git-http": "http://{host}:{port}/",
    "fake-github": "http://{host}:{port}",
    "chart-repo": "http://{host}:{port}",
}


def reset_moto(endpoint: str | None = None) -> None:
    """Forget every AWS resource in the moto server (POST /moto-api/reset) and its recording, so the
    next start does not bring them back (moto_state.py)."""
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise StackError("reset_moto: no endpoint given and AWS_ENDPOINT_URL is unset")
    req = urllib.request.Request(endpoint.rstrip("/") + "/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as resp:
        if resp.status != 200:
            raise StackError(f"moto reset answered HTTP {resp.status}")
    moto_state.forget(endpoint)


class Stack:
    """One local stack: a state directory (pid files, logs, certs, etcd data, git repos) and ports.

    ``Stack.default()`` is the user's stack (``<cache>/stack``, fixed ports, left running by ``up``);
    tests build throw-away ones on free ports with ``die_with_parent=True``.
    """

    def __init__(self, state_dir: Path, ports: dict[str, int], *, bin_dir: Path | None = None,
                 token: str = DEFAULT_TOKEN, die_with_parent: bool = False, python: str | None = None):
        self.state = Path(state_dir)
        self.ports = dict(ports)
        self.bin_root = Path(bin_dir) if bin_dir else cache_root() / "bin"
        self.token = token
        self.die_with_parent = die_with_parent
        self.python = python or sys.executable
        self.run = self.state / "run"
        self.pki = self.state / "pki"
        self.git_root = self.state / "git"
        self.kubeconfig = self.state / "kubeconfig"
        self.etcd_data = self.state / "etcd"  # etcd's --data-dir: every object of the cluster, nothing else
        self.stack_json = self.state / "stack.json"
        self.moto_replayed: tuple[int, float] | None = None
        # What runs the moto server (default: moto_eks_shim.py) and extra environment for it; tests set these to
        # start a moto that enforces IAM (tests/support/iam_moto.py).
        self.moto_program: Path = Path(__file__).with_name("moto_eks_shim.py")
        self.moto_env: dict[str, str] = {}

    # ---------------------------------------------------------------- construction
    @classmethod
    def default(cls, **kw) -> "Stack":
        ports = {name: int(os.environ.get(var) or port) for name, (var, port) in DEFAULT_PORTS.items()}
        return cls(Path(os.environ.get("TIDEPOOL_STACK_DIR") or cache_root() / "stack"), ports, **kw)

    @classmethod
    def ephemeral(cls, state_dir: Path, **kw) -> "Stack":
        ports = {}
        while len(set(ports.values())) != len(DEFAULT_PORTS):
            ports = {name: free_port() for name in DEFAULT_PORTS}
        return cls(state_dir, ports, die_with_parent=True, **kw)

    # ---------------------------------------------------------------- addresses
    def url(self, component: str) -> str:
        """Where ``component`` answers, e.g. ``https://127.0.0.1:16443`` for the kube-apiserver (URLS)."""
        return URLS[component].format(host=HOST, port=self.ports[component])

    aws_endpoint = property(lambda self: self.url("moto"), doc="moto's endpoint (AWS_ENDPOINT_URL)")
    etcd_url = property(lambda self: self.url("etcd"), doc="etcd's client URL")
    apiserver_url = property(lambda self: self.url("kube-apiserver"), doc="the API server (https)")
    git_url = property(lambda self: self.url("git-daemon"), doc="git daemon base URL, ending in /")
    git_http_url = property(lambda self: self.url("git-http"),
                            doc="smart-HTTP base URL of the same repositories (what Flux fetches), ending in /")
    github_api_url = property(lambda self: self.url("fake-github"), doc="the fake GitHub REST API")
    charts_url = property(lambda self: self.url("chart-repo"),
                          doc="the chart repository (a HelmRepository's spec.url), no trailing slash")

    def bin(self, component: str, name: str) -> Path:
        v = versions()
        version = {"kubernetes": v["KUBERNETES_VERSION"], "etcd": v["ETCD_VERSION"]}[component]
        return Path(os.environ.get(f"TIDEPOOL_STACK_{name.upper().replace('-', '_')}") or
                    self.bin_root / f"{component}-{version}" / name)

    def binaries(self) -> dict[str, Path]:
        return {
            "etcd": self.bin("etcd", "etcd"),
            "kube-apiserver": self.bin("kubernetes", "kube-apiserver"),
            "kube-controller-manager": self.bin("kubernetes", "kube-controller-manager"),
            "kubectl": self.bin("kubernetes", "kubectl"),
        }

    def gitops_bin(self, name: str) -> Path:
        """The binary of GitOps component ``name`` (gitops.py), e.g. ``<bin>/source-controller-v1.9.6/
        source-controller``; ``TIDEPOOL_STACK_SOURCE_CONTROLLER`` etc. override it."""
        from .gitops import VERSION_KEYS
        return Path(os.environ.get(f"TIDEPOOL_STACK_{name.upper().replace('-', '_')}") or
                    self.bin_root / f"{name}-{versions()[VERSION_KEYS[name]]}" / name)

    def missing_binaries(self, components="kube") -> list[str]:
        """The binaries the given components (default: the kube group; None: everything) need and that are
        not built yet."""
        comps = expand_components(components)
        paths = list(self.binaries().values()) if any(c in comps for c in GROUPS["kube"]) else []
        paths += [self.gitops_bin(c) for c in GROUPS["gitops"] if c in comps]
        if "kube-scheduler" in comps:
            paths.append(self.bin("kubernetes", "kube-scheduler"))
        files = []  # data files the build writes beside a binary
        if "kwok" in comps:
            from .nodes import kwok_bin
            paths.append(kwok_bin(self))
            files.append(kwok_bin(self).parent / "stages.yaml")
        if "chart-repo" in comps:
            from .charts import helm_bin
            paths.append(helm_bin(self))
        return [str(p) for p in paths if not os.access(p, os.X_OK)] + [str(f) for f in files if not f.is_file()]

    # ---------------------------------------------------------------- env
    def env(self, components=None) -> dict[str, str]:
        comps = set(expand_components(components))
        env = {}
        if "moto" in comps:
            env.update({
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
            })
        if "kube-apiserver" in comps:
            env.update({"KUBECONFIG": str(self.kubeconfig), "K8S_AUTH_KUBECONFIG": str(self.kubeconfig)})
        # Where this stack lives; inventories/host_vars/local reads its kubeconfig from here.
        env["TIDEPOOL_STACK_DIR"] = str(self.state)
        if "git-http" in comps:
            env["TIDEPOOL_GIT_HTTP_URL"] = self.git_http_url
        if "chart-repo" in comps:
            env["TIDEPOOL_STACK_CHARTS_URL"] = self.charts_url
        if "fake-github" in comps:
            env.update({
                "TIDEPOOL_GIT_URL": self.git_url,
                "GITHUB_API_URL": self.github_api_url,
                "GITHUB_TOKEN": self.token,
            })
        return env

    # ---------------------------------------------------------------- lifecycle
    def spawn(self, name: str, argv: list[str], env: dict | None = None) -> int:
        """Start server ``name`` (procs.spawn: own process group, log and pid file in ``<state>/run``);
        return its pid. Raises StackError when its port is taken by a program that is not this stack's."""
        port = self.ports.get(name)
        if port and not self.is_running(name) and port_in_use(port):
            raise StackError(f"{name}: port {HOST}:{port} is already in use by another program; "
                             f"set {DEFAULT_PORTS[name][0]} to another port")
        return procs.spawn(name, argv, self.run, env=env, die_with_parent=self.die_with_parent)

    def is_running(self, name: str) -> bool:
        return procs.alive(procs.read_pid(self.run, name))

    def healthy(self, name: str) -> bool:
        if not self.is_running(name):
            return False
        return self._health_check(name)()

    def _health_check(self, name: str):
        def kube():  # lazy: cryptography/kubernetes are only needed for the Kubernetes part
            from . import kube as mod
            return mod
        checks = {
            # /moto-api/config: a few bytes whatever the state holds (data.json grows with it: seconds at 4 MB)
            "moto": lambda: http_ok(self.aws_endpoint + "/moto-api/config"),
            "etcd": lambda: http_ok(self.etcd_url + "/health"),
            "kube-apiserver": lambda: kube().apiserver_ready(self),
            "kube-controller-manager": lambda: kube().kcm_ready(self),
            "git-daemon": lambda: port_in_use(self.ports["git-daemon"]),
            "git-http": lambda: http_ok(self.git_http_url + "_health"),
            "fake-github": lambda: http_ok(self.github_api_url + "/_fake/health"),
        }
        if name in GROUPS["gitops"]:
            from . import gitops
            return lambda: gitops.healthy(self, name)
        if name in GROUPS["nodes"]:
            from . import nodes
            return lambda: nodes.healthy(self, name)
        if name in GROUPS["charts"]:
            from . import charts
            return lambda: charts.healthy(self)
        return checks[name]

    def up(self, components=None, *, timeout: float = 120.0, log=None) -> "Stack":
        """Start the given components (default: all) unless they already run healthy; idempotent."""
        log = log or (lambda msg: None)
        comps = expand_components(components)
        self.state.mkdir(parents=True, exist_ok=True)
        missing = self.missing_binaries(comps)
        if missing:
            raise StackError("binaries missing (run `scripts/local-stack build`): " + ", ".join(missing))
        needs_api = [c for c in comps if c in GROUPS["gitops"] + GROUPS["nodes"]]
        if needs_api and not ("kube-apiserver" in comps or self.is_running("kube-apiserver")):
            raise StackError(f"{', '.join(needs_api)} need the API server: start the kube group too "
                             "(scripts/local-stack up kube nodes git charts gitops)")
        crds_done = False
        for name in comps:
            if name in GROUPS["gitops"] and not crds_done:
                self._install_crds(comps, log)  # the controllers need their CRDs before they start
                crds_done = True
            if name == "chart-repo":
                from . import charts  # rebuilt only when a chart changed; a running server serves the new files
                charts.build_repository(self, log=log)
            if self.is_running(name):
                # Never restart a server that runs: a busy one may answer slowly, and a restart loses
                # what it holds in memory. Wait for it; only one that stays unanswering is restarted.
                try:
                    wait_for(f"{name} (running, pid {procs.read_pid(self.run, name)})", self._health_check(name),
                             min(timeout, 30.0), procs.read_pid(self.run, name), self.run / f"{name}.log")
                    log(f"{name}: already running")
                    continue
                except StackError as exc:
                    log(f"{name}: restarting: {str(exc).splitlines()[0]}")
                    procs.stop(self.run, name)
            t0 = time.monotonic()
            self._start(name, timeout)
            log(f"{name}: ready on {HOST}:{self.ports.get(name)} ({time.monotonic() - t0:.1f}s)")
            if name == "moto" and self.moto_replayed:
                log(f"moto: AWS state restored: {self.moto_replayed[0]} recorded requests replayed "
                    f"({self.moto_replayed[1]:.1f}s; {self.moto_recording})")
        if "kube-apiserver" in comps:
            self._link_kubectl()
            if not crds_done:
                self._install_crds(comps, log)
        if "kwok" in comps:
            from . import nodes
            nodes.ensure_nodes(self, timeout=max(timeout, 60.0), log=log)
        self.write_stack_json()
        return self

    def _install_crds(self, comps, log) -> None:
        """Every time (idempotent: unchanged CRDs are skipped): the reference CRDs, then the CRDs of the GitOps
        controllers that start now or run already, which win over a reference CRD of the same name (a running
        controller needs the schema and served versions of its own release: the status it writes and the
        versions it watches). Without the controllers, the reference CRDs are (re)installed."""
        from . import gitops, kube
        t0 = time.monotonic()
        running = [c for c in GROUPS["gitops"] if c in comps or self.is_running(c)]
        dirs = [shared_dir() / "reference" / "crds", *gitops.crd_dirs(self, running)]
        n = kube.install_crds(self, *dirs)
        log(f"CRDs: {n} from {', '.join(str(d) for d in dirs)} applied and Established "
            f"({time.monotonic() - t0:.1f}s)")

    @property
    def bin_dir(self) -> Path:
        """``<state>/bin``: the stack's own kubectl (same minor as its API server), put first on PATH by
        ``scripts/local-stack env``."""
        return self.state / "bin"

    def _link_kubectl(self) -> None:
        """Link the stack's kubectl into :attr:`bin_dir`, and its flux CLI when built (``build flux-cli``, the Flux
        release of the stack's controllers)."""
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        links = {"kubectl": self.binaries()["kubectl"],
                 "flux": self.bin_root / f"flux-{versions()['FLUX_VERSION']}" / "flux"}
        for name, target in links.items():
            link = self.bin_dir / name
            if name == "flux" and not target.exists():
                continue
            if not link.is_symlink() or os.readlink(link) != str(target):
                tmp = self.bin_dir / f".{name}.tmp"
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(target)
                tmp.replace(link)

    def down(self, components=None, *, log=None) -> list[str]:
        """Stop the given components (default: all), reverse start order. Returns what was running."""
        log = log or (lambda msg: None)
        stopped = []
        for name in reversed(expand_components(components)):
            if procs.stop(self.run, name):
                stopped.append(name)
                log(f"{name}: stopped")
        if not any(self.is_running(c) for c in COMPONENTS):
            self.stack_json.unlink(missing_ok=True)
        else:
            self.write_stack_json()
        return stopped

    def status(self) -> dict[str, dict]:
        out = {}
        for name in COMPONENTS:
            pid = procs.read_pid(self.run, name)
            running = procs.alive(pid)
            out[name] = {
                "running": running,
                "healthy": running and self._health_check(name)(),
                "pid": pid if running else None,
                "port": self.ports.get(name),
                "rss_mib": round(procs.rss_kib(pid) / 1024, 1) if running else 0,
            }
        return out

    def listening(self) -> dict[str, list[str]]:
        """``{component: ["127.0.0.1:port", ...]}``: the TCP sockets each running server listens on."""
        return {name: procs.listening_sockets(procs.read_pid(self.run, name))
                for name in COMPONENTS if self.is_running(name)}

    def write_stack_json(self) -> None:
        running = [c for c in COMPONENTS if self.is_running(c)]
        data = {"env": self.env(running), "ports": self.ports, "components": running,
                "state_dir": str(self.state), "versions": versions()}
        tmp = self.stack_json.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.stack_json)

    def purge(self) -> None:
        """Remove the stack's state (etcd data, certs, git repos). Only when everything is down."""
        if any(self.is_running(c) for c in COMPONENTS):
            raise StackError("purge: stop the stack first (down)")
        if self.state.exists():
            shutil.rmtree(self.state)

    #: What reads or writes the cluster's objects: stopped before etcd's data goes (wipe_etcd).
    API_USERS = GROUPS["kube"] + GROUPS["nodes"] + GROUPS["gitops"]

    def wipe_etcd(self) -> bool:
        """Delete etcd's data directory (``<state>/etcd``): every object of the cluster goes, and nothing else - the
        certificates and kubeconfig, the git repositories, moto's recorded AWS state and the fake GitHub's deploy
        keys stay (a lost cluster whose config repository and Secrets Manager survive:
        docs/howto/disaster-recovery.md). The next ``up kube`` starts an empty cluster. Refused while etcd or
        anything that talks to the API server runs (:data:`API_USERS`: the kube, nodes and gitops groups): a
        controller would write its cached objects back. True when there was data to delete."""
        running = [c for c in self.API_USERS if self.is_running(c)]
        if running:
            raise StackError(f"wipe_etcd: stop {', '.join(running)} first "
                             "(scripts/local-stack down kube nodes gitops)")
        if not self.etcd_data.exists():
            return False
        shutil.rmtree(self.etcd_data)
        return True

    # ---------------------------------------------------------------- components
    @property
    def moto_recording(self) -> Path:
        return moto_state.recording_path(self.state)

    def _start_moto(self, timeout: float) -> None:
        """Start moto and bring back the AWS state of its earlier runs (moto_state.py)."""
        recording = self.moto_recording
        moto_state.prepare(recording)
        kept, _ = moto_state.compact(recording)
        env = dict(os.environ, MOTO_PORT=str(self.ports["moto"]), MOTO_RECORDER_FILEPATH=str(recording))
        env.pop("MOTO_ENABLE_RECORDING", None)  # recording starts after the replay, not before
        env.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        env["LOCAL_STACK_KUBECONFIG"] = str(self.kubeconfig)  # EKS clusters answer the local API server (shim)
        env.update(self.moto_env)
        # moto.server plus EKS DescribeClusterVersions (eksctl needs it): moto_eks_shim.py
        argv = [self.python, str(self.moto_program), "-H", HOST, "-p", str(self.ports["moto"])]
        pid = self.spawn("moto", argv, env)
        wait_for("moto server", self._health_check("moto"), timeout, pid, self.run / "moto.log")
        if kept:
            t0 = time.monotonic()
            moto_state.replay(self.aws_endpoint, timeout=max(timeout, 600.0))
            self.moto_replayed = (kept, time.monotonic() - t0)
        moto_state.start_recording(self.aws_endpoint)

    def _start(self, name: str, timeout: float) -> None:
        if name == "moto":
            self._start_moto(timeout)
        elif name in GROUPS["kube"]:
            from . import kube  # lazy: cryptography/kubernetes are only needed for the Kubernetes part
            kube.STARTERS[name](self, timeout)
        elif name in GROUPS["gitops"]:
            from . import gitops
            gitops.STARTERS[name](self, timeout)
        elif name in GROUPS["nodes"]:
            from . import nodes
            nodes.STARTERS[name](self, timeout)
        elif name in GROUPS["charts"]:
            from . import charts
            charts.STARTERS[name](self, timeout)
        else:
            from . import git
            git.STARTERS[name](self, timeout)


def default_stack() -> Stack:
    return Stack.default()
