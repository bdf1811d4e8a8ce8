# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The Kubernetes connection options of a task (documented by the ``tidepool.eks.kubernetes`` doc fragment).

Light on purpose (no ``kubernetes`` import, ~0.3 s): module shells that only sometimes talk to a cluster
(``preflight``) import this, and the client factory (:mod:`.client`) the moment they connect.
"""
from __future__ import annotations

import os

#: Environment variables read when the kubeconfig option is unset, first set wins (as ``kubernetes.core``).
KUBECONFIG_ENV = ("K8S_AUTH_KUBECONFIG", "KUBECONFIG")
#: Environment variables read when the context option is unset.
CONTEXT_ENV = ("K8S_AUTH_CONTEXT",)


def argument_spec() -> dict:
    """The options ``kubeconfig`` (path) and ``context`` (str), both optional."""
    return dict(kubeconfig=dict(type="path"), context=dict(type="str"))


def resolve(kubeconfig: str | None = None, context: str | None = None, env=None) -> tuple:
    """``(kubeconfig path or None, context or None)`` of a task: each option when set, else the first set
    variable of :data:`KUBECONFIG_ENV` / :data:`CONTEXT_ENV` in ``env`` (default ``os.environ``); None means the
    client's default (``~/.kube/config``, the kubeconfig's current context)."""
    env = os.environ if env is None else env
    path = kubeconfig or next((env[name] for name in KUBECONFIG_ENV if env.get(name)), None)
    ctx = context or next((env[name] for name in CONTEXT_ENV if env.get(name)), None)
    return path, ctx
