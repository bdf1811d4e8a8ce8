# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Kubernetes objects as plain dicts (manifests): who applies them, how they are named, what the server owns.

Pure Python, no client: the one place for the field manager, the labels the roles put on what they apply,
object references for messages, and the metadata the API server writes itself. Used by the applier
(:mod:`.apply`), the drift planner (:mod:`.drift`), the change rule (:mod:`.changes`) and the renderers.

An object is a dict as in a manifest: ``apiVersion``, ``kind``, ``metadata.name``, ``metadata.namespace``
(absent for cluster-scoped kinds).
"""
from __future__ import annotations

import copy
import os

from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import

(yaml,), YAML_IMPORT_ERROR = optional_import("yaml")  # Ansible itself needs PyYAML

#: Field manager of every server-side apply the collection makes (and the ``managed-by`` label value).
FIELD_MANAGER = "tidepool.eks"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_CLUSTER = "tidepool.org/cluster"
LABEL_PART = "tidepool.org/config-part"

#: Metadata the API server writes on every object; never part of a comparison or a diff.
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")

#: Metadata the API server writes on an object being deleted (left out when comparing with a rendered object).
DELETION_METADATA = ("deletionTimestamp", "deletionGracePeriodSeconds")


def labels(cluster: str, part: str) -> dict:
    """Labels put on every object the roles apply directly: who applied it, for which cluster and part
    (``cluster``, ``shared``, ``environments``, ``external-secrets``). Orphans are found by them."""
    return {LABEL_MANAGED_BY: FIELD_MANAGER, LABEL_CLUSTER: cluster, LABEL_PART: part}


def label_selector(cluster: str) -> str:
    """Selector of every object applied for ``cluster`` (all parts: a part's objects are told apart by
    :data:`LABEL_PART` after the LIST, since namespaces are applied by several parts)."""
    return f"{LABEL_MANAGED_BY}={FIELD_MANAGER},{LABEL_CLUSTER}={cluster}"


def object_part(obj: dict, part: str) -> str:
    """The part an object belongs to: namespaces always to ``cluster`` (the cluster step creates every
    namespace first, and the shared services and environments apply the very same Namespace objects again, so
    the labels of all applies must agree); everything else to the part applying it."""
    return "cluster" if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1" else part


def with_labels(obj: dict, cluster: str, part: str) -> dict:
    """A copy of ``obj`` carrying :func:`labels` (its own labels win on a clash)."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    meta["labels"] = {**labels(cluster, object_part(obj, part)), **(meta.get("labels") or {})}
    return out


def key(obj: dict) -> tuple:
    """``(apiVersion, kind, namespace, name)`` of an object; namespace is '' for cluster-scoped ones."""
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def ref(obj_or_key) -> str:
    """``Kind namespace/name`` (or ``Kind name`` when cluster-scoped), for messages; takes an object or a
    :func:`key`."""
    _api_version, kind, ns, name = obj_or_key if isinstance(obj_or_key, tuple) else key(obj_or_key)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def strip_server_fields(obj: dict | None, deletion: bool = False) -> dict | None:
    """``obj`` without ``status`` and the metadata in :data:`SERVER_METADATA` (and :data:`DELETION_METADATA`
    when ``deletion``): what comparisons and diffs look at. A shallow copy (top level and ``metadata``); None
    stays None."""
    if obj is None:
        return None
    ignored = SERVER_METADATA + DELETION_METADATA if deletion else SERVER_METADATA
    out = {k: v for k, v in obj.items() if k != "status"}
    if "metadata" in out:
        out["metadata"] = {k: v for k, v in (out["metadata"] or {}).items() if k not in ignored}
    return out


def read_manifests(path: str, kind: str) -> list:
    """Documents of ``kind`` in the ``*.yaml`` / ``*.yml`` files under directory ``path`` (searched recursively,
    in path order). Raises OSError or ``yaml.YAMLError`` when a file cannot be read."""
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(f for f in files if f.endswith((".yaml", ".yml"))):
            with open(os.path.join(root, name), encoding="utf-8") as fh:
                out += [d for d in yaml.safe_load_all(fh) if isinstance(d, dict) and d.get("kind") == kind]
    return out
