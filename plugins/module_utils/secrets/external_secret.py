# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Core of ``tidepool.eks.external_secret``: Kubernetes Secret manifests <-> AWS Secrets Manager.

Plan -> diff -> apply, as plain Python (DESIGN.md "Style"):

* :func:`secrets.documents.load_documents` / :func:`secrets.documents.parse_secrets` validate the input (every
  document, every key) before anything is written, so bad input never leaves AWS half-changed;
* :func:`read_state` reads what exists in a few calls: ``ListSecrets`` (name-prefix filter per
  namespace, planned deletions included) for existence, deletion state and tags, then
  ``BatchGetSecretValue`` (20 ids per call) for values, only where a value comparison is needed
  (create-only mode never reads values);
* :func:`make_plan` compares parsed JSON (key order and whitespace do not matter) and decides
  create / update / restore / delete / unchanged per secret;
* :func:`plan_diff` renders ``--diff`` output with key names only (values redacted);
* :func:`apply_plan` performs the writes; :func:`sync` ties it together for the module and the benchmark;
* :func:`external_secret_manifest` asks the GitOps flavour (:mod:`gitops.flavour`) for the object that reads a
  stored secret back into the cluster; :mod:`secrets.files` writes those manifests under ``dest``.

Secret values never leave this module except in the request bodies sent to AWS: results, diffs,
warnings and exception messages carry secret ids and key names only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError, call, error_code
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import files
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.documents import (
    ENCODINGS,
    InputError,
    SecretDoc,
    load_documents,
    parse_secrets,
    serialise,
)

#: The module shell and the filters reach the input parsing through this module too.
__all__ = ["ENCODINGS", "MANIFEST_FORMATS", "InputError", "SecretDoc", "load_documents", "parse_secrets", "sync",
           "external_secret_manifest", "read_state", "make_plan", "plan_diff", "apply_plan"]

#: The GitOps flavour whose secret manifests are written (the install guide's: Flux v1).
FLAVOUR = registry.flavour()
#: ``manifest_format`` values of the flavour's secret manifests, default first.
MANIFEST_FORMATS = FLAVOUR.SECRET_MANIFEST_FORMATS
#: Secrets Manager limits.
BATCH_GET_MAX = 20
LIST_FILTER_VALUES_MAX = 10
REDACTED = "<redacted>"
OLD_VALUE = "<old value>"
NEW_VALUE = "<new value>"
DEFAULT_DESCRIPTION = "Kubernetes Secret {namespace}/{name}, managed by tidepool.eks"


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
    """One planned operation. ``actions`` is an ordered subset of create/restore/update/tag/delete."""
    secret_id: str
    doc: SecretDoc
    actions: list = field(default_factory=list)
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    tags_to_set: dict = field(default_factory=dict)
    value_unknown: bool = False

    @property
    def outcome(self) -> str:
        for name, outcome in (("delete", "deleted"), ("create", "created"), ("update", "updated"),
                              ("tag", "updated"), ("restore", "restored")):
            if name in self.actions:
                return outcome
        return "unchanged"


# ---------------------------------------------------------------------------------------------
# Secret manifests
# ---------------------------------------------------------------------------------------------

def external_secret_manifest(doc: SecretDoc, region: str | None = None, manifest_format: str = "spec",
                             role_arn: str | None = None) -> dict:
    """The flavour's manifest reading ``doc`` back from Secrets Manager (Flux v1: the kubernetes-external-secrets
    ``ExternalSecret``): one entry per key, keys sorted. No value is part of it. Raises :class:`InputError` for a
    ``manifest_format`` not in :data:`MANIFEST_FORMATS`."""
    if manifest_format not in MANIFEST_FORMATS:
        raise InputError(f"Option manifest_format must be one of {', '.join(MANIFEST_FORMATS)}.")
    return FLAVOUR.secret_manifest(doc.metadata, doc.secret_id, doc.values or {}, secret_type=doc.secret_type,
                                   region=region, role_arn=role_arn, manifest_format=manifest_format)


# ---------------------------------------------------------------------------------------------
# Reading state
# ---------------------------------------------------------------------------------------------

def read_state(client, cluster: str, docs: list, want_values: set) -> dict:
    """-> ``{secret_id: Existing}`` for every doc.

    ``ListSecrets`` with a name-prefix filter per namespace (planned deletions included) gives
    existence, deletion state and tags; ``BatchGetSecretValue`` then reads the values of the ids in
    ``want_values`` that exist and are not scheduled for deletion.
    """
    wanted = {d.secret_id for d in docs}
    state = {sid: Existing(sid) for sid in wanted}
    prefixes = sorted({f"{cluster}/{d.namespace}/" for d in docs})
    for start in range(0, len(prefixes), LIST_FILTER_VALUES_MAX):
        chunk = prefixes[start:start + LIST_FILTER_VALUES_MAX]
        token = None
        while True:
            kwargs = {"Filters": [{"Key": "name", "Values": chunk}], "IncludePlannedDeletion": True,
                      "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = call(client, "list_secrets", f"{cluster}/ ({len(chunk)} namespaces)", **kwargs)
            for entry in page.get("SecretList", []):
                sid = entry.get("Name")
                if sid in state:  # the name filter is a case-insensitive prefix match: keep exact names
                    state[sid] = Existing(sid, exists=True, deleted=bool(entry.get("DeletedDate")),
                                          tags={t["Key"]: t.get("Value", "") for t in entry.get("Tags") or []},
                                          arn=entry.get("ARN"))
            token = page.get("NextToken")
            if not token:
                break
    to_read = sorted(sid for sid in want_values if sid in state and state[sid].exists and not state[sid].deleted)
    for start in range(0, len(to_read), BATCH_GET_MAX):
        chunk = to_read[start:start + BATCH_GET_MAX]
        resp = call(client, "batch_get_secret_value", f"{len(chunk)} secrets from {chunk[0]}", SecretIdList=chunk)
        for entry in resp.get("SecretValues", []):
            sid = entry.get("Name")
            if sid not in state:
                continue
            _store_value(state[sid], entry)
        for err in resp.get("Errors", []):
            sid, code = err.get("SecretId"), err.get("ErrorCode")
            if code == "ResourceNotFoundException" and sid in state:
                state[sid] = Existing(sid)  # deleted between the two calls
                continue
            if code == "InvalidRequestException" and sid in state:
                state[sid].deleted = True  # scheduled for deletion between the two calls
                continue
            raise AwsError(f"secretsmanager.BatchGetSecretValue on {sid} failed: {code}: "
                           f"{(err.get('Message') or '').rstrip('.')}.", code=code,
                           operation="secretsmanager.BatchGetSecretValue")
    return state


def _store_value(existing: Existing, entry: dict) -> None:
    existing.value_read = True
    text = entry.get("SecretString")
    if text is None:
        existing.value, existing.value_is_object = None, False
        return
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        existing.value, existing.value_is_object = parsed, True
    else:
        existing.value, existing.value_is_object = None, False


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

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
        elif overwrite:
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
        if overwrite or cur.deleted:
            missing = {k: v for k, v in tags.items() if cur.tags.get(k) != v}
            if missing:
                ch.actions.append("tag")
                ch.tags_to_set = missing
        plan.append(ch)
    return plan


def summarise(plan: list) -> dict:
    out = {"created": [], "updated": [], "restored": [], "unchanged": [], "deleted": []}
    for ch in plan:
        outcome = ch.outcome
        out[outcome].append(ch.secret_id)
        if outcome != "restored" and "restore" in ch.actions:
            out["restored"].append(ch.secret_id)
    return out


def plan_diff(plan: list) -> list:
    """Ansible ``diff`` entries (one per changed secret) showing key names only; values redacted.

    Unchanged keys show ``<redacted>`` on both sides, changed keys ``<old value>`` -> ``<new value>``.
    """
    diffs = []
    for ch in plan:
        if not ch.actions:
            continue
        header = f"secretsmanager:{ch.secret_id}"
        desired = sorted((ch.doc.values or {}).keys())
        if "delete" in ch.actions:
            diffs.append({"before_header": header, "after_header": header + " (deleted)",
                          "before": {"state": "present"}, "after": {"state": "absent"}})
            continue
        if "create" in ch.actions:
            before = {"state": "absent"}
            after = {"state": "present", "keys": {k: NEW_VALUE for k in desired}}
        else:
            before = {"state": "scheduled for deletion" if "restore" in ch.actions else "present", "keys": {}}
            after = {"state": "present", "keys": {}}
            if ch.value_unknown:
                before["keys"] = {"(unknown)": OLD_VALUE}
                after["keys"] = {k: NEW_VALUE for k in desired}
            else:
                for k in sorted(set(desired) | set(ch.removed)):
                    if k in ch.added:
                        after["keys"][k] = NEW_VALUE
                    elif k in ch.removed:
                        before["keys"][k] = OLD_VALUE
                    elif k in ch.changed:
                        before["keys"][k], after["keys"][k] = OLD_VALUE, NEW_VALUE
                    else:
                        before["keys"][k] = after["keys"][k] = REDACTED
                if not before["keys"] and not after["keys"] and "update" not in ch.actions:
                    before.pop("keys"), after.pop("keys")
        if ch.tags_to_set:
            after["tags"] = dict(sorted(ch.tags_to_set.items()))
        diffs.append({"before_header": header, "after_header": header, "before": before, "after": after})
    return diffs


# ---------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------

def apply_plan(client, plan: list, kms_key_id: str | None = None, description: str | None = None,
               recovery_window: int = 30, force_delete: bool = False) -> None:
    """Perform the writes of ``plan`` (botocore retries throttling; any other error stops with one sentence)."""
    for ch in plan:
        sid, values = ch.secret_id, ch.doc.values or {}
        for action in ch.actions:
            if action == "create":
                kwargs = {"Name": sid, "SecretString": serialise(values),
                          "Description": description or DEFAULT_DESCRIPTION.format(namespace=ch.doc.namespace,
                                                                                   name=ch.doc.name)}
                if kms_key_id:
                    kwargs["KmsKeyId"] = kms_key_id
                if ch.tags_to_set:
                    kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(ch.tags_to_set.items())]
                call(client, "create_secret", sid, **kwargs)
            elif action == "restore":
                call(client, "restore_secret", sid, SecretId=sid)
            elif action == "update":
                call(client, "put_secret_value", sid, SecretId=sid, SecretString=serialise(values))
            elif action == "tag":
                call(client, "tag_resource", sid, SecretId=sid,
                     Tags=[{"Key": k, "Value": v} for k, v in sorted(ch.tags_to_set.items())])
            elif action == "delete":
                kwargs = {"SecretId": sid}
                if force_delete or recovery_window == 0:
                    kwargs["ForceDeleteWithoutRecovery"] = True
                else:
                    kwargs["RecoveryWindowInDays"] = recovery_window
                try:
                    call(client, "delete_secret", sid, **kwargs)
                except AwsError as exc:
                    if error_code(exc) != "ResourceNotFoundException":
                        raise


# ---------------------------------------------------------------------------------------------
# One call for the module shell and the benchmark
# ---------------------------------------------------------------------------------------------

def sync(client, cluster: str, docs: list, *, state: str = "present", overwrite: bool = True,
         check_mode: bool = False, tags: dict | None = None, kms_key_id: str | None = None,
         description: str | None = None, recovery_window: int = 30, force_delete: bool = False,
         dest: str | None = None, region: str | None = None, manifest_format: str = "spec",
         role_arn: str | None = None) -> dict:
    """Read, plan, (unless ``check_mode``) apply; -> the module result (no values in it)."""
    present = state == "present"
    if not present and not (force_delete or recovery_window == 0) and not 7 <= recovery_window <= 30:
        raise InputError(f"Option recovery_window must be 0 (delete now) or 7 to 30 days, got {recovery_window}.")
    want_values = {d.secret_id for d in docs} if present and overwrite else set()
    current = read_state(client, cluster, docs, want_values) if docs else {}
    plan = make_plan(docs, current, present=present, overwrite=overwrite, tags=tags, force_delete=force_delete)
    manifests = [external_secret_manifest(d, region=region, manifest_format=manifest_format, role_arn=role_arn)
                 for d in docs] if present else []
    file_changes = files.plan_files(docs, manifests or [None] * len(docs), dest, present) if dest else []
    if not check_mode:
        apply_plan(client, plan, kms_key_id=kms_key_id, description=description,
                   recovery_window=recovery_window, force_delete=force_delete)
        if file_changes:
            files.write_files(file_changes)
    result = summarise(plan)
    result["changed"] = any(ch.actions for ch in plan) or bool(file_changes)
    result["manifests"] = manifests
    result["files"] = [path for path, _new, _old in file_changes]
    result["diff"] = plan_diff(plan) + files.files_diff(file_changes)
    return result
