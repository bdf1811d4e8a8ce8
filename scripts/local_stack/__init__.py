"""The local stack: moto (AWS), etcd + kube-apiserver + kube-controller-manager (Kubernetes), kube-scheduler +
kwok (simulated nodes), a git daemon, a smart-HTTP git server and a fake GitHub deploy-key API, a chart repository,
Flux's source-, kustomize- and helm-controller and the External Secrets Operator (GitOps), all on 127.0.0.1. See docs/local-stack.md.

Used by ``scripts/local-stack`` (CLI) and by ``tests/conftest.py`` (pytest fixtures).
"""
from .common import (  # noqa: F401
    COMPONENTS,
    DEFAULT_PORTS,
    GROUPS,
    REPO,
    StackError,
    cache_root,
    free_port,
    versions,
)
from .stack import Stack, default_stack, reset_moto  # noqa: F401
