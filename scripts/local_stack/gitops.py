"""GitOps part of the local stack: Flux v2's source-controller, kustomize-controller and helm-controller and the
External Secrets Operator, run as loopback processes against the stack's kube-apiserver (there is no kubelet to run
their Deployments), built by build.sh at the versions of versions.env.

* source-controller fetches GitRepositories (smart HTTP: git_http.py) into ``<state>/source-controller``
  and serves the artifacts on ``127.0.0.1:<source-controller-storage>``;
* kustomize-controller downloads them from there and applies Kustomizations (server-side apply, prune);
* helm-controller installs HelmReleases from the HelmCharts source-controller pulls (the stack's chart repository:
  charts.py); their workloads run on the simulated nodes (nodes.py);
* external-secrets turns ExternalSecrets into Secrets, reading moto's Secrets Manager and STS
  (``AWS_SECRETSMANAGER_ENDPOINT`` / ``AWS_STS_ENDPOINT``: ESO takes custom AWS endpoints only from there).

The Flux controllers run with the scaling and multi-tenancy lockdown flags a flavour-2 cluster's Deployments get
(:func:`controller_flags`: the collection's ``gitops/flux_v2/customization``, which reads ``scaling.FLAGS`` and
``lockdown.FLAGS``, the one place that holds each, in the order the rendered Deployments carry them), so the stack
proves what a cluster enforces: kustomize-controller and helm-controller refuse a ``sourceRef`` into
another namespace and impersonate each Kustomization's / HelmRelease's service account (``default`` when it names
none).

Each runs with ``KUBECONFIG`` = the stack's admin kubeconfig (the controllers' ``--kubeconfig`` flag is not
wired), leader election off, every listener on 127.0.0.1. Their CRDs come from the module each was built from
(``<bin>/<component>-<version>/crds``, copied by build.sh) and replace the reference CRDs of the same name
while they run (``crd_dirs``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .common import HOST, REGION, REPO, StackError, http_ok, wait_for

# component -> the versions.env key of its pin
VERSION_KEYS = {
    "source-controller": "SOURCE_CONTROLLER_VERSION",
    "kustomize-controller": "KUSTOMIZE_CONTROLLER_VERSION",
    "helm-controller": "HELM_CONTROLLER_VERSION",
    "external-secrets": "EXTERNAL_SECRETS_VERSION",
}
# Flux's own namespace: the controllers read it from RUNTIME_NAMESPACE (events, leader-election lease).
RUNTIME_NAMESPACE = "flux-system"
#: ``--concurrent`` of the External Secrets Operator: the value the flavour-2 render gives its chart
#: (plugins/module_utils/gitops/flux_v2/charts.py ESO_CONCURRENT; tests/unit/scripts/local_stack/test_gitops_args.py).
ESO_CONCURRENT = 8
#: ``--client-qps`` / ``--client-burst`` of the operator: the chart's ``extraArgs`` in the render (ESO_CLIENT_QPS /
#: ESO_CLIENT_BURST there).
ESO_CLIENT_QPS = 150
ESO_CLIENT_BURST = 300


def controller_flags(name: str) -> list[str]:
    """The extra flags of Flux controller ``name`` in the order its rendered Deployment carries them (the scaling
    flags, then the lockdown's; none for a controller both leave alone), read from the collection of this checkout
    (its ``.collections`` link, as pytest and ansible use): ``gitops/flux_v2/customization.controller_flags``."""
    path = str(REPO / ".collections")
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import customization
    return customization.controller_flags(name)


def addr(stack, port_name: str) -> str:
    return f"{HOST}:{stack.ports[port_name]}"


def health_url(stack, name: str) -> str:
    """The URL ``status`` and ``up`` probe: the Flux controllers' ``--health-addr`` /readyz; ESO's root
    command has no health probe, its metrics endpoint answers once the manager runs."""
    path = "/metrics" if name == "external-secrets" else "/readyz"
    return f"http://{addr(stack, name)}{path}"


def healthy(stack, name: str) -> bool:
    return http_ok(health_url(stack, name), timeout=3.0)


def crd_dirs(stack, components) -> list[Path]:
    """The CRD directories of the built ``components`` (those without a built binary are left out)."""
    out = []
    for name in components:
        d = stack.gitops_bin(name).parent / "crds"
        if name in VERSION_KEYS and d.is_dir():
            out.append(d)
    return out


def _env(stack, **extra) -> dict:
    """The controllers' environment: the stack's kubeconfig, no AWS credentials or endpoints of the user's
    shell (a real cluster's controller has none either; ESO gets its credentials from its SecretStores)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG"))}
    env.update(KUBECONFIG=str(stack.kubeconfig), RUNTIME_NAMESPACE=RUNTIME_NAMESPACE, **extra)
    return env


def _start(stack, name: str, argv: list[str], env: dict, timeout: float) -> None:
    binary = Path(argv[0])
    if not os.access(binary, os.X_OK):
        raise StackError(f"{name}: {binary} missing (run `scripts/local-stack build gitops`)")
    pid = stack.spawn(name, argv, env)
    wait_for(name, lambda: healthy(stack, name), timeout, pid, stack.run / f"{name}.log")


def start_source_controller(stack, timeout: float) -> None:
    storage = stack.state / "source-controller"
    storage.mkdir(parents=True, exist_ok=True)  # --storage-path must exist
    storage_addr = addr(stack, "source-controller-storage")
    argv = [str(stack.gitops_bin("source-controller")),
            f"--metrics-addr={addr(stack, 'source-controller-metrics')}",
            f"--health-addr={addr(stack, 'source-controller')}",
            f"--storage-path={storage}", f"--storage-addr={storage_addr}", f"--storage-adv-addr={storage_addr}",
            "--log-level=info", "--log-encoding=console", *controller_flags("source-controller")]
    _start(stack, "source-controller", argv, _env(stack), timeout)


def start_kustomize_controller(stack, timeout: float) -> None:
    argv = [str(stack.gitops_bin("kustomize-controller")),
            f"--metrics-addr={addr(stack, 'kustomize-controller-metrics')}",
            f"--health-addr={addr(stack, 'kustomize-controller')}",
            "--log-level=info", "--log-encoding=console", *controller_flags("kustomize-controller")]
    _start(stack, "kustomize-controller", argv, _env(stack), timeout)


def start_helm_controller(stack, timeout: float) -> None:
    """helm-controller on every namespace, with the lockdown flags; ``--events-addr=`` (empty): no
    notification-controller on the stack to post events to (they are still recorded as Kubernetes Events)."""
    argv = [str(stack.gitops_bin("helm-controller")),
            f"--metrics-addr={addr(stack, 'helm-controller-metrics')}",
            f"--health-addr={addr(stack, 'helm-controller')}",
            "--events-addr=", "--watch-all-namespaces=true",
            "--log-level=info", "--log-encoding=console", *controller_flags("helm-controller")]
    _start(stack, "helm-controller", argv, _env(stack), timeout)


def start_external_secrets(stack, timeout: float) -> None:
    if "moto" not in stack.ports:
        raise StackError("external-secrets: the stack has no moto port")
    argv = [str(stack.gitops_bin("external-secrets")),
            f"--metrics-addr={addr(stack, 'external-secrets')}", "--enable-leader-election=false",
            f"--concurrent={ESO_CONCURRENT}", f"--client-qps={ESO_CLIENT_QPS}",
            f"--client-burst={ESO_CLIENT_BURST}",
            "--loglevel=info", "--zap-time-encoding=iso8601"]
    env = _env(stack, AWS_SECRETSMANAGER_ENDPOINT=stack.aws_endpoint, AWS_STS_ENDPOINT=stack.aws_endpoint,
               AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
    _start(stack, "external-secrets", argv, env, timeout)


# What Stack.up calls to start each GitOps component: (stack, timeout seconds) -> None.
STARTERS = {"source-controller": start_source_controller, "kustomize-controller": start_kustomize_controller,
            "helm-controller": start_helm_controller, "external-secrets": start_external_secrets}
