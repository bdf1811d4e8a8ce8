# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Plan a server-side apply of rendered objects against what a cluster holds (pure Python, no I/O).

On clusters without Flux (``cluster_provider: existing``) the roles apply the config repository's objects
themselves, standing in for Flux. This module decides, from one LIST per kind, which objects need that apply:

* an object is **unchanged** when every field it sets is already on the live object with the same value
  (:func:`is_subset`) *and* the set of fields the field manager ``tidepool.eks`` owns there equals the set
  the object sets (:func:`owned_paths`, :func:`desired_paths`): a field removed from the inventory is then
  still seen as a change, since server-side apply removes fields its manager no longer sets;
* everything else goes to ``apply`` (applied by ``kubernetes.core.k8s`` with server-side apply);
* in check mode, objects in a namespace that does not exist yet (and that the same run creates) cannot be
  dry-run by the server (``namespaces "x" not found``): they are reported as ``create`` instead;
* **orphans** are live objects labelled for this cluster and part (:func:`labels`) that are no longer
  rendered, e.g. the namespace of an environment removed from the inventory.

Objects are dicts as in a manifest (``apiVersion``, ``kind``, ``metadata.name``, ``metadata.namespace``).
"""
from __future__ import annotations

import base64
import copy

FIELD_MANAGER = "tidepool.eks"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_CLUSTER = "tidepool.org/cluster"
LABEL_PART = "tidepool.org/config-part"
#: Read-only or server-owned metadata: never part of a comparison.
_IGNORED_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp",
                     "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


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
    """``Kind namespace/name`` (or ``Kind name``) for messages."""
    _api_version, kind, ns, name = obj_or_key if isinstance(obj_or_key, tuple) else key(obj_or_key)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def is_subset(want, have) -> bool:
    """True when every field of ``want`` is in ``have`` with an equal value (lists compared whole,
    element by element with the same rule, so server-defaulted fields inside list items are allowed)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return False
        return all(k in have and is_subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            is_subset(w, h) for w, h in zip(want, have))
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return want == have
    return want == have


def _strip(obj: dict) -> dict:
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _IGNORED_METADATA}
    out["metadata"] = meta
    return out


def _as_stored(obj: dict) -> dict:
    """``obj`` as the API server stores it, where that differs from the manifest: a Secret's ``stringData``
    is merged into ``data``, base64-encoded."""
    if obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1" and obj.get("stringData"):
        out = dict(obj)
        data = dict(out.get("data") or {})
        for k, v in out.pop("stringData").items():
            data[k] = base64.b64encode(str(v).encode("utf-8")).decode("ascii")
        out["data"] = data
        return out
    return obj


def desired_paths(obj, prefix=()) -> set:
    """Field paths an object sets, down to (and including) lists, which count as one field each.
    ``apiVersion``/``kind`` and the identity fields ``metadata.name``/``namespace`` are left out, as in
    managedFields."""
    out = set()
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            path = prefix + (k,)
            if path in (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"), ("status",)):
                continue
            if isinstance(v, dict) and v:
                out |= desired_paths(v, path)  # a map of identity fields only adds nothing
            elif v is not None:
                out.add(path)
    return out


def owned_paths(fields_v1, prefix=()) -> set:
    """Field paths of a managedFields ``fieldsV1`` entry, in the form of :func:`desired_paths`: ``f:`` keys
    are descended into; a list (``k:``, ``v:`` or ``i:`` members below a field) ends the path there."""
    out = set()
    if not isinstance(fields_v1, dict):
        return out
    for k, v in fields_v1.items():
        if k == ".":
            continue
        if not k.startswith("f:"):
            # A member of a list: the field above is the list, counted whole.
            return {prefix} if prefix else set()
        path = prefix + (k[2:],)
        sub = owned_paths(v, path) if isinstance(v, dict) and v else set()
        out |= sub or {path}
    return out


def manager_paths(live: dict, manager: str = FIELD_MANAGER) -> set | None:
    """Field paths ``manager`` owns on ``live`` through server-side apply, or None when it owns none."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            return owned_paths(entry.get("fieldsV1") or {})
    return None


def unchanged(want: dict, live: dict, manager: str = FIELD_MANAGER) -> bool:
    """True when a server-side apply of ``want`` by ``manager`` would change nothing on ``live``."""
    if not is_subset(_strip(_as_stored(want)), _strip(live)):
        return False
    owned = manager_paths(live, manager)
    if owned is None:
        return False
    # An atomic map (a ClusterRoleBinding's roleRef, a label selector) is one field in managedFields:
    # a wanted path below an owned one counts as that owned path.
    wanted = set()
    for path in desired_paths(_strip(want)):
        wanted.add(next((path[:i] for i in range(1, len(path)) if path[:i] in owned), path))
    return owned == wanted


class Plan:
    """The outcome of :func:`plan`; every list keeps the order of the desired objects."""

    def __init__(self):
        self.apply: list = []          # objects to apply (missing or different)
        self.create_later: list = []   # check mode only: objects in namespaces the run has yet to create
        self.unchanged: list = []      # keys of objects already as rendered
        self.orphans: list = []        # live objects labelled for this cluster/part, no longer rendered

    def as_dict(self) -> dict:
        return {
            "apply": self.apply,
            "create_later": self.create_later,
            "unchanged": len(self.unchanged),
            "orphans": self.orphans,
        }


def plan(desired: list, live: dict, namespaces: set, *, labelled: list = (), part: str = "",
         check_mode: bool = False, manager: str = FIELD_MANAGER) -> Plan:
    """Decide what to apply.

    ``desired``: objects (with :func:`labels` already on them), in apply order.
    ``live``: ``{key(obj): live object dict}`` for every desired object that exists.
    ``namespaces``: names of the namespaces that exist.
    ``labelled``: live objects carrying this cluster's labels; those of ``part`` not desired are orphans.
    ``check_mode``: objects whose namespace is missing go to ``create_later`` rather than ``apply``,
    since a server-side dry run cannot place them; they are reported as to be created.
    """
    out = Plan()
    wanted = set()
    for obj in desired:
        k = key(obj)
        wanted.add(k)
        have = live.get(k)
        if have is not None and unchanged(obj, have, manager):
            out.unchanged.append(k)
        elif check_mode and k[2] and k[2] not in namespaces:
            out.create_later.append(obj)
        else:
            out.apply.append(obj)
    for obj in labelled:
        k = key(obj)
        if k not in wanted and ((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_PART) == part:
            out.orphans.append({"apiVersion": k[0], "kind": k[1], "namespace": k[2], "name": k[3]})
    # Deletion order: namespaced objects first, namespaces last (deleting a namespace deletes its content).
    out.orphans.sort(key=lambda o: o["kind"] == "Namespace")
    return out
