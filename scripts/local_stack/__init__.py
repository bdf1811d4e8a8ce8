"""The local stack: moto (AWS), etcd + kube-apiserver + kube-controller-manager (Kubernetes), a git
daemon and a fake GitHub deploy-key API, all on 127.0.0.1. See docs/local-stack.md.

Used by ``scripts/local-stack`` (CLI) and by ``tests/conftest.py`` (pytest fixtures).
"""
from .stack import (  # noqa: F401
    COMPONENTS,
    Stack,
    StackError,
    cache_root,
    default_stack,
    free_port,
    reset_moto,
    versions,
)
