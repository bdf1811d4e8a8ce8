# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Small Kubernetes manifest builders the renderer's packages and environments share (a Namespace; a role and its
binding to a service account)."""
from __future__ import annotations


def namespace(name: str, labels: dict | None = None, annotations: dict | None = None) -> dict:
    """A ``v1`` Namespace; ``labels`` / ``annotations`` only when given (an empty dict adds nothing)."""
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def rbac(name: str, ns: str, service_account: str, rules: list, cluster_scope: bool = True) -> list:
    """``[role, binding]``: a ClusterRole and ClusterRoleBinding (or, with ``cluster_scope`` false, a Role and
    RoleBinding in ``ns``) named ``name`` granting ``rules`` to the ServiceAccount ``ns/service_account``."""
    kind, bkind = ("ClusterRole", "ClusterRoleBinding") if cluster_scope else ("Role", "RoleBinding")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}, "rules": rules}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": bkind, "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": ns}],
    }
    if not cluster_scope:
        role["metadata"]["namespace"] = ns
        binding["metadata"]["namespace"] = ns
    return [role, binding]
