# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Which context of a kubeconfig is the inventory's cluster (plain Python, reads the file only).

Resolved once per run by the role ``tidepool.eks.inventory`` (``tasks_from: kubernetes``, fact
``inventory_kubernetes``) and passed explicitly to every Kubernetes task, so a later change of the kubeconfig's
``current-context`` cannot redirect a run:

* ``kubeconfig_context`` (or ``K8S_AUTH_CONTEXT``) when set: it must exist in the kubeconfig;
* ``cluster_provider: eksctl``: the context eksctl writes for the cluster. eksctl names it
  ``<iam identity>@<cluster>.<region>.eksctl.io``; the identity part is not known offline, so the context is the
  one whose cluster entry is ``<cluster>.<region>.eksctl.io`` (when several are, the current context if it is one
  of them, else an error asking for ``kubeconfig_context``);
* ``cluster_provider: existing``: the kubeconfig's current context.
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.options import CONTEXT_ENV, KUBECONFIG_ENV

PROVIDERS = ("eksctl", "existing")


class ContextError(TidepoolError):
    """The kubeconfig cannot be read, or holds no context for the inventory's cluster."""


def eksctl_cluster_entry(cluster: str, region: str) -> str:
    """The name eksctl gives the cluster entry of ``cluster`` in ``region``: ``<cluster>.<region>.eksctl.io``."""
    return f"{cluster}.{region}.eksctl.io"


def load(path: str) -> dict:
    """The kubeconfig at ``path`` (``~`` expanded) as a dict. Raises :class:`ContextError` naming the file."""
    import yaml

    path = os.path.expanduser(path)
    if not os.path.exists(path):
        raise ContextError(f"kubeconfig: {path} does not exist; set kubeconfig to the file of the cluster (for the "
                           "local stack: run `scripts/local-stack up`, which writes it)")
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise ContextError(f"kubeconfig: {path} cannot be read ({exc.strerror}); set kubeconfig to the file of "
                           "the cluster (for the local stack: run `scripts/local-stack up`, which writes it)") from None
    except yaml.YAMLError as exc:
        raise ContextError(f"kubeconfig: {path} is not valid YAML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ContextError(f"kubeconfig: {path} is not a kubeconfig (a mapping with clusters and contexts)")
    return data


def _named(data: dict, key: str) -> dict:
    return {e.get("name"): (e.get(key[:-1]) or {}) for e in data.get(key) or [] if isinstance(e, dict)}


def resolve(kubeconfig: str | None, provider: str, cluster: str, region: str, context: str | None = None,
            env=None) -> dict:
    """``{kubeconfig, context, cluster_entry, server, ca_data}`` of the inventory's cluster.

    ``kubeconfig``: path (else ``K8S_AUTH_KUBECONFIG`` / ``KUBECONFIG`` / ``~/.kube/config``); ``provider``: one of
    :data:`PROVIDERS`; ``cluster`` / ``region``: ``cluster.metadata``; ``context``: ``kubeconfig_context`` (else
    ``K8S_AUTH_CONTEXT``). ``server`` is the cluster entry's URL, ``ca_data`` its ``certificate-authority-data``
    (None when it names a file instead). Raises :class:`ContextError` naming the kubeconfig and what to set."""
    env = os.environ if env is None else env
    path = kubeconfig or next((env[n] for n in KUBECONFIG_ENV if env.get(n)), None) or "~/.kube/config"
    path = os.path.expanduser(path.split(os.pathsep)[0])
    context = context or next((env[n] for n in CONTEXT_ENV if env.get(n)), None)
    data = load(path)
    contexts, clusters = _named(data, "contexts"), _named(data, "clusters")
    current = data.get("current-context") or None
    entry = eksctl_cluster_entry(cluster, region) if provider == "eksctl" else None
    if context:
        if context not in contexts:
            raise ContextError(f"kubeconfig {path} has no context {context!r} (kubeconfig_context); its contexts: "
                               f"{', '.join(sorted(map(str, contexts))) or 'none'}")
    elif provider == "eksctl":
        found = sorted(n for n, c in contexts.items() if c.get("cluster") == entry)
        if len(found) == 1 or (found and current in found):
            context = found[0] if len(found) == 1 else current
        elif found:
            raise ContextError(f"kubeconfig {path} has several contexts of the EKS cluster {entry} "
                               f"({', '.join(found)}); set kubeconfig_context to one of them")
        else:
            raise ContextError(f"kubeconfig {path} has no context of the EKS cluster {entry} (eksctl writes "
                               f"<identity>@{entry} when it creates the cluster); run the cluster step, or "
                               f"`eksctl utils write-kubeconfig --cluster {cluster} --region {region}`, or set "
                               "kubeconfig_context")
    else:
        if not current or current not in contexts:
            raise ContextError(f"kubeconfig {path} has no current context; set kubeconfig_context to the context "
                               "of the cluster")
        context = current
    cluster_name = contexts[context].get("cluster")
    if cluster_name not in clusters:
        raise ContextError(f"kubeconfig {path}: context {context!r} names the cluster entry {cluster_name!r}, "
                           "which it does not define")
    info = clusters[cluster_name]
    return {"kubeconfig": path, "context": context, "cluster_entry": cluster_name, "server": info.get("server"),
            "ca_data": info.get("certificate-authority-data")}
