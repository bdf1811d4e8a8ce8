"""Session fixtures for the local stack (scripts/local_stack, docs/local-stack.md).

* ``moto_server``  - AWS endpoint URL; sets AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID/SECRET=testing and
  AWS_DEFAULT_REGION=us-east-1 in os.environ for the session (ansible-playbook subprocesses inherit them).
* ``moto_reset``   - function scope: resets moto before the test, yields the endpoint URL.
* ``kube_stack``   - etcd + kube-apiserver + kube-controller-manager with the reference CRDs installed;
  sets KUBECONFIG / K8S_AUTH_KUBECONFIG.
* ``git_server``   - git daemon + smart-HTTP git + fake GitHub deploy-key API; sets TIDEPOOL_GIT_URL,
  TIDEPOOL_GIT_HTTP_URL, GITHUB_API_URL, GITHUB_TOKEN.
* ``gitops_stack`` - all of the above plus Flux's source-, kustomize- and helm-controller and the External Secrets
  Operator (their CRDs replace the reference CRDs of the same name for the rest of the session).
* ``platform_stack`` - ``gitops_stack`` plus kube-scheduler, kwok with its simulated Nodes and the chart repository.
* ``local_stack_env`` - all of the above; the env dict of the whole stack.

The fixtures always start their own servers on free ports, in a temporary directory, and stop them at the
end of the session (process groups; the servers also die with the pytest process). A stack started by
``scripts/local-stack up`` (what `make local` leaves running) is never touched: `make local && make test`
leaves it holding only what the main job put there.

When the Kubernetes binaries are missing (`scripts/local-stack build` not run), tests that need them are
skipped with the reason - except with CI=true, where that is a failure.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
if str(REPO) not in sys.path:  # the support package is imported one way: `from tests.support... import ...`
    sys.path.insert(0, str(REPO))

import local_stack  # noqa: E402  (scripts/local_stack)

CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


class _StackManager:
    """One ephemeral stack for the session, started group by group as tests ask for them."""

    def __init__(self, tmp_root: Path):
        self.tmp_root = tmp_root
        self.user = local_stack.Stack.default()
        self.own: local_stack.Stack | None = None
        self.started: list[str] = []
        self.saved_env: dict[str, str | None] = {}
        atexit.register(self.close)

    def ensure(self, group: str) -> local_stack.Stack:
        names = local_stack.GROUPS[group]
        if self.own is None:
            self.own = local_stack.Stack.ephemeral(self.tmp_root / "stack")
        stack = self.own
        if not all(n in self.started for n in names):
            stack.up(group)
            self.started += [n for n in names if n not in self.started]
        self._export(stack.env(group))
        return stack

    def _export(self, env: dict[str, str]) -> None:
        for key, value in env.items():
            self.saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def close(self) -> None:
        if self.own is not None and self.started:
            self.own.down(self.started)
            self.started = []
        for key, value in self.saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self.saved_env = {}


@pytest.fixture(scope="session")
def _stack_manager(tmp_path_factory):
    manager = _StackManager(tmp_path_factory.mktemp("local-stack"))
    yield manager
    manager.close()


def _unavailable(reason: str):
    if CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def moto_server(_stack_manager) -> str:
    """The moto server's endpoint URL (http://127.0.0.1:<port>); AWS_* set in os.environ."""
    return _stack_manager.ensure("moto").aws_endpoint


@pytest.fixture
def moto_reset(moto_server) -> str:
    """Reset moto (forget every AWS resource) before the test; yields the endpoint URL."""
    local_stack.reset_moto(moto_server)
    return moto_server


@dataclass
class KubeStack:
    kubeconfig: Path
    server: str
    kubectl_bin: Path
    stack: local_stack.Stack = field(repr=False)

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """Run kubectl against the stack; text output."""
        return subprocess.run([str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), *args],
                              capture_output=True, text=True, check=check, input=input, timeout=120)

    def get(self, *args: str) -> dict | None:
        """``kubectl get -o json <args>``, parsed. ``None`` only when the API server answered NotFound; any other
        failure (API server unreachable, unknown kind, bad arguments) fails the test with kubectl's message, so an
        "absent" assertion cannot pass because the question could not be asked."""
        proc = self.kubectl("get", "-o", "json", *args, check=False)
        if proc.returncode == 0:
            return json.loads(proc.stdout)
        if "(NotFound)" in proc.stderr:
            return None
        pytest.fail(f"kubectl get {' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip()}")

    def api_client(self):
        """A kubernetes.client.ApiClient for the stack's admin user."""
        from kubernetes import config
        return config.new_client_from_config(config_file=str(self.kubeconfig))


@pytest.fixture(scope="session")
def kube_stack(_stack_manager) -> KubeStack:
    """etcd + kube-apiserver + kube-controller-manager, reference CRDs installed; KUBECONFIG set."""
    missing = _stack_manager.user.missing_binaries("kube")
    if missing:
        _unavailable("Kubernetes control-plane binaries not built (run `scripts/local-stack build`): "
                     + ", ".join(missing))
    stack = _stack_manager.ensure("kube")
    return KubeStack(kubeconfig=stack.kubeconfig, server=stack.apiserver_url,
                     kubectl_bin=stack.binaries()["kubectl"], stack=stack)


@dataclass
class GitServer:
    git_url: str          # base URL of the repositories, e.g. git://127.0.0.1:19418/
    http_url: str         # the same repositories over smart HTTP, e.g. http://127.0.0.1:19419/
    api_url: str          # GitHub-compatible REST API (deploy keys)
    token: str            # accepted by the API as `Authorization: token <t>` or `Bearer <t>`
    root: Path            # directory of the bare repositories
    stack: local_stack.Stack = field(repr=False)

    def create_repo(self, name: str) -> str:
        """Create (if missing) the bare repository ``<name>.git``; return its clone URL."""
        from local_stack import git
        git.create_bare_repo(self.root, name)
        return f"{self.git_url}{name}.git"


@pytest.fixture(scope="session")
def git_server(_stack_manager) -> GitServer:
    stack = _stack_manager.ensure("git")
    return GitServer(git_url=stack.git_url, http_url=stack.git_http_url, api_url=stack.github_api_url,
                     token=stack.token, root=stack.git_root, stack=stack)


@dataclass
class GitOpsStack:
    kube: KubeStack
    git: GitServer
    aws_endpoint: str
    stack: local_stack.Stack = field(repr=False)


@pytest.fixture(scope="session")
def gitops_stack(_stack_manager, moto_server, kube_stack, git_server) -> GitOpsStack:
    """source-controller, kustomize-controller, helm-controller and external-secrets running against the session's
    stack, with the simulated nodes (kube-scheduler, kwok and the Nodes ``kwok-node-*``) and the chart repository of
    the pinned charts (``stack.charts_url``, TIDEPOOL_STACK_CHARTS_URL): host `local` installs its HelmReleases from
    it and its flux step waits for them (flux_wait_releases), as `make local` does."""
    missing = _stack_manager.user.missing_binaries(["gitops", "nodes", "charts"])
    if missing:
        _unavailable("GitOps controllers, kube-scheduler, kwok or helm not built (run `scripts/local-stack build "
                     "local`): " + ", ".join(missing))
    stack = _stack_manager.ensure("gitops")
    _stack_manager.ensure("nodes")
    _stack_manager.ensure("charts")
    return GitOpsStack(kube=kube_stack, git=git_server, aws_endpoint=moto_server, stack=stack)


@pytest.fixture(scope="session")
def platform_stack(_stack_manager, gitops_stack) -> GitOpsStack:
    """``gitops_stack``, which has the simulated nodes and the chart repository (the name the platform tests use)."""
    return gitops_stack


ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "KUBECONFIG",
            "K8S_AUTH_KUBECONFIG", "TIDEPOOL_STACK_DIR", "TIDEPOOL_GIT_URL", "TIDEPOOL_GIT_HTTP_URL", "GITHUB_API_URL",
            "GITHUB_TOKEN")


@pytest.fixture(scope="session")
def local_stack_env(moto_server, kube_stack, git_server) -> dict[str, str]:
    """The whole stack; the environment a user gets from `eval "$(scripts/local-stack env)"`
    (already exported to os.environ, so ansible-playbook subprocesses see it)."""
    return {k: os.environ[k] for k in ENV_KEYS}


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    """Tests that use the GitOps controllers (``gitops_stack``) run last: once started, Flux and the External Secrets
    Operator keep reconciling the session's stack (a Flux v2 install, ESO-owned Secrets, the controllers' CRDs), which
    the flavour-1 modules of `local` that push to the same config repository must not meet.

    A shuffled run (``scripts/run_tests.py --random-order-bucket=module [--random-order-seed=N]``, pytest-random-order)
    moves whole modules: the tests of a module keep their order (they are the steps of one story), the modules' order
    is random within each of the two groups above (this wrapper sorts after the shuffle; the sort is stable)."""
    for item in items:
        item.add_marker(pytest.mark.random_order(disabled=True))
    result = yield
    items.sort(key=lambda item: "gitops_stack" in getattr(item, "fixturenames", ()))
    return result
