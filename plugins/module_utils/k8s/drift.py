# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Plan a server-side apply of rendered objects against what a cluster holds (pure Python; I/O only in
:func:`read_live`).

On clusters without Flux (``cluster_provider: existing``) the roles apply the config repository's objects
themselves, standing in for Flux. This module decides, from one LIST per kind, which objects need that apply:

* an object is **unchanged** by the one change rule, :func:`.changes.unchanged` (rendered object against the
  live one: every field it sets is already there with the same value *and* the set of fields the field
  manager ``tidepool.eks`` owns there equals the set the object sets);
* everything else goes to ``apply`` (applied by ``kubernetes.core.k8s`` with server-side apply);
* in check mode, objects in a namespace that does not exist yet (and that the same run creates) cannot be
  dry-run by the server (``namespaces "x" not found``): they are reported as ``create`` instead;
* **orphans** are live objects labelled for this cluster and part (:func:`labels`) that are no longer
  rendered, e.g. the namespace of an environment removed from the inventory.

:func:`read_live` reads what the plan needs (one LIST per kind).

Objects are dicts as in a manifest (``apiVersion``, ``kind``, ``metadata.name``, ``metadata.namespace``).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common import plan as base
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.changes import unchanged
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import FIELD_MANAGER, LABEL_PART, key, label_selector


def kinds(objects: list, extra: list = ()) -> list:
    """``[(apiVersion, kind)]`` of ``objects`` then of ``extra`` (``"apiVersion/Kind"`` strings), each once, in
    order of first appearance."""
    out = []
    for item in [(o.get("apiVersion", ""), o.get("kind", "")) for o in objects] + [tuple(k.rsplit("/", 1)) for k in extra]:
        if item not in out:
            out.append(item)
    return out


def read_live(dyn, desired: list, cluster: str, extra_kinds: list = (), namespaces: bool = False) -> tuple:
    """What the cluster holds for a plan: ``(labelled, live, namespace names)``.

    One LIST per kind of ``desired`` and ``extra_kinds`` (label selector of ``cluster``): ``labelled`` is every
    object found, ``live`` maps :func:`key` to it. ``namespaces`` (check mode): also LIST the namespaces, else
    the set is empty. Raises :class:`.client.KubeError`."""
    # imported here: the planner itself is pure Python, also used by the filters on the controller
    from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client

    selector = label_selector(cluster)
    labelled = []
    for api_version, kind in kinds(desired, extra_kinds):
        labelled += client.list_objects(dyn, api_version, kind, label_selector=selector)
    live = {key(o): o for o in labelled}
    names = set()
    if namespaces:
        names = {(n.get("metadata") or {}).get("name") for n in client.list_objects(dyn, "v1", "Namespace")}
    return labelled, live, names


class Plan(base.Plan):
    """The outcome of :func:`plan`; every list keeps the order of the desired objects. ``changed``: something
    is to apply or delete; no ``--diff`` (the applying task shows it)."""

    def __init__(self):
        self.apply: list = []          # objects to apply (missing or different)
        self.create_later: list = []   # check mode only: objects in namespaces the run has yet to create
        self.unchanged: list = []      # keys of objects already as rendered
        self.orphans: list = []        # live objects labelled for this cluster/part, no longer rendered

    @property
    def changed(self) -> bool:
        return bool(self.apply or self.create_later or self.orphans)

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
