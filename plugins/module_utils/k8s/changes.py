# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one rule that decides whether a server-side apply of an object would change the live object.

Pure Python. :func:`unchanged` is used by both apply paths:

* the applier (:mod:`.apply`, ``flux_bootstrap``) asks the server for a dry run first and compares its
  result with the live object: ``unchanged(dry_run_result, live, dry_run=True)``; the server has already
  merged, defaulted and pruned, so both must be equal apart from server-owned metadata;
* the drift planner (:mod:`.drift`, ``apply_plan``) has only the rendered object and one LIST: the object is
  unchanged when every field it sets is on the live object with the same value (:func:`is_subset`) *and*
  the fields the field manager owns there are exactly the fields it sets (:func:`owned_paths`,
  :func:`desired_paths`): a field removed from the inventory is still a change, since server-side apply
  removes fields its manager no longer sets.
"""
from __future__ import annotations

import base64

from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import FIELD_MANAGER, strip_server_fields


def unchanged(want: dict, live: dict | None, manager: str = FIELD_MANAGER, *, dry_run: bool = False) -> bool:
    """True when applying ``want`` (field manager ``manager``) would change nothing on ``live``.

    ``dry_run``: ``want`` is the server's result of a server-side dry run of the apply; it is then compared
    whole with ``live`` (server metadata and ``status`` left out). Otherwise ``want`` is the rendered object
    and the subset-and-ownership rule of the module docstring applies. A missing ``live`` (None) is a change.
    """
    if live is None:
        return False
    if dry_run:
        return strip_server_fields(want) == strip_server_fields(live)
    if not is_subset(strip_server_fields(as_stored(want), deletion=True), strip_server_fields(live, deletion=True)):
        return False
    owned = manager_paths(live, manager)
    if owned is None:
        return False
    # An atomic map (a ClusterRoleBinding's roleRef, a label selector) is one field in managedFields:
    # a wanted path below an owned one counts as that owned path.
    wanted = set()
    for path in desired_paths(strip_server_fields(want, deletion=True)):
        wanted.add(next((path[:i] for i in range(1, len(path)) if path[:i] in owned), path))
    return owned == wanted


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
    return want == have


def as_stored(obj: dict) -> dict:
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
