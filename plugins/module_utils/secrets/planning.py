# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Planning of ``tidepool.eks.external_secret``: what Secrets Manager holds against the Secret manifests, as a list
of changes (plain data, no AWS call).

:func:`make_plan` compares parsed JSON (key order and whitespace do not matter) and decides create / update / restore /
delete / unchanged per secret; in create-only mode an existing secret only gets the keys it lacks (its values are
kept, :func:`missing_keys`). :class:`Existing` is what the Secrets Manager adapter (:mod:`.secrets_manager`) read,
:class:`Change` one planned operation; :func:`summarise` sorts the ids by outcome. No value leaves the plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.documents import SecretDoc


@dataclass
class Existing:
    """What Secrets Manager holds for one id (``value`` is None when it was not read or is not JSON)."""
    secret_id: str
    exists: bool = False
    deleted: bool = False
    value: dict | None = None
    value_read: bool = False
    value_is_object: bool = True
    tags: dict = field(default_factory=dict)
    arn: str | None = None


@dataclass
class Change:
    """One planned operation. ``actions`` is an ordered subset of create/restore/complete/update/tag/delete
    (``complete``: after a restore in create-only mode, add the keys the restored value lacks). ``put_value``:
    the value an ``update`` writes when it is not the manifest's (create-only: the stored value plus the
    missing keys)."""
    secret_id: str
    doc: SecretDoc
    actions: list = field(default_factory=list)
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    tags_to_set: dict = field(default_factory=dict)
    value_unknown: bool = False
    put_value: dict | None = None

    @property
    def outcome(self) -> str:
        for name, outcome in (("delete", "deleted"), ("create", "created"), ("update", "updated"),
                              ("tag", "updated"), ("restore", "restored")):
            if name in self.actions:
                return outcome
        return "unchanged"


def make_plan(docs: list, state: dict, present: bool = True, overwrite: bool = True, tags: dict | None = None,
              force_delete: bool = False) -> list:
    """-> ``[Change]`` in input order. Pure function of the input and :func:`read_state`'s result."""
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    plan = []
    for doc in docs:
        cur = state.get(doc.secret_id) or Existing(doc.secret_id)
        ch = Change(doc.secret_id, doc)
        if not present:
            if cur.exists and (not cur.deleted or force_delete):
                ch.actions.append("delete")
            plan.append(ch)
            continue
        desired = doc.values or {}
        if not cur.exists:
            ch.actions.append("create")
            ch.added = sorted(desired)
            ch.tags_to_set = dict(tags)
            plan.append(ch)
            continue
        if cur.deleted:
            ch.actions.append("restore")
            if overwrite:
                # The value of a secret scheduled for deletion cannot be read before it is restored.
                ch.actions.append("update")
                ch.value_unknown = True
                ch.changed = sorted(desired)
        elif not overwrite:
            ch.added, ch.put_value = missing_keys(cur, desired)
            if ch.added:
                ch.actions.append("update")
        else:
            if not cur.value_read:
                raise AwsError(f"internal error: the value of {doc.secret_id} was not read.")
            if not cur.value_is_object:
                ch.actions.append("update")
                ch.value_unknown = True
                ch.changed = sorted(desired)
            else:
                old = cur.value or {}
                ch.added = sorted(k for k in desired if k not in old)
                ch.removed = sorted(k for k in old if k not in desired)
                ch.changed = sorted(k for k in desired if k in old and old[k] != desired[k])
                if ch.added or ch.removed or ch.changed:
                    ch.actions.append("update")
        if cur.deleted and not overwrite:
            ch.actions.append("complete")  # the restored value is read, then the keys it lacks are added
        if overwrite or cur.deleted:
            missing = {k: v for k, v in tags.items() if cur.tags.get(k) != v}
            if missing:
                ch.actions.append("tag")
                ch.tags_to_set = missing
        plan.append(ch)
    return plan


def missing_keys(cur: Existing, desired: dict) -> tuple[list, dict | None]:
    """Create-only mode on an existing secret: ``(keys of desired it lacks, its value plus them)`` (values
    generated for them now, every stored value kept); ``([], None)`` when nothing lacks or the stored value is
    not a JSON object (left alone)."""
    if not cur.value_read or not cur.value_is_object:
        return [], None
    old = cur.value or {}
    added = sorted(k for k in desired if k not in old)
    return (added, dict(old, **{k: desired[k] for k in added})) if added else ([], None)


def summarise(plan: list) -> dict:
    out = {"created": [], "updated": [], "restored": [], "unchanged": [], "deleted": []}
    for ch in plan:
        outcome = ch.outcome
        out[outcome].append(ch.secret_id)
        if outcome != "restored" and "restore" in ch.actions:
            out["restored"].append(ch.secret_id)
    return out
