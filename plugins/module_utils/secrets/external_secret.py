# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Core of ``tidepool.eks.external_secret``: Kubernetes Secret manifests <-> AWS Secrets Manager.

Plan -> diff -> apply, as plain Python (DESIGN.md "Style"):

* :func:`secrets.documents.load_documents` / :func:`secrets.documents.parse_secrets` validate the input (every
  document, every key) before anything is written, so bad input never leaves AWS half-changed;
* :func:`read_state` reads what exists in a few calls: ``ListSecrets`` (name-prefix filter per
  namespace, planned deletions included) for existence, deletion state and tags, then
  ``BatchGetSecretValue`` (20 ids per call) for values (create-only mode reads them for their key names);
* :func:`make_plan` compares parsed JSON (key order and whitespace do not matter) and decides
  create / update / restore / delete / unchanged per secret; in create-only mode an existing secret only gets
  the keys it lacks (its values are kept);
* :func:`plan_diff` renders ``--diff`` output with key names only (values redacted);
* :func:`apply_plan` performs the writes and, when one fails, raises :class:`PartialFailure` saying how far it
  got; :func:`sync` ties it together for the module and the benchmark (manifests only for stored secrets);
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
__all__ = ["ENCODINGS", "MANIFEST_FORMATS", "InputError", "PartialFailure", "SecretDoc", "load_documents",
           "parse_secrets", "sync", "external_secret_manifest", "read_state", "make_plan", "plan_diff", "apply_plan"]

#: ``manifest_format`` values of the secret manifests of every flavour, default first (the option's choices;
#: a flavour refuses the formats it has no equivalent for).
MANIFEST_FORMATS = tuple(dict.fromkeys(f for fl in registry.FLAVOURS.values() for f in fl.SECRET_MANIFEST_FORMATS))
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


class PartialFailure(AwsError):
    """A write of :func:`apply_plan` failed: the changes of the plan before ``index`` were applied, the one at
    ``index`` failed (possibly half-done: restored but not updated), the rest were not attempted. :func:`sync`
    fills ``result`` (the module's failed result: what was stored, ``failed_secrets``, ``not_attempted``)."""

    def __init__(self, cause: AwsError, index: int):
        super().__init__(str(cause), code=cause.code, operation=cause.operation)
        self.index = index
        self.result: dict = {}


# ---------------------------------------------------------------------------------------------
# Secret manifests
# ---------------------------------------------------------------------------------------------

def external_secret_manifest(doc: SecretDoc, region: str | None = None, manifest_format: str = "spec",
                             role_arn: str | None = None, flux_version: int = 1) -> dict:
    """The manifest of flavour ``flux_version`` reading ``doc`` back from Secrets Manager (Flux v1: the
    kubernetes-external-secrets ``ExternalSecret``; Flux v2: the External Secrets Operator's): one entry per key,
    keys sorted. No value is part of it. Raises :class:`InputError` for a ``manifest_format`` not in
    :data:`MANIFEST_FORMATS`, TidepoolError for an option the flavour has no equivalent for."""
    if manifest_format not in MANIFEST_FORMATS:
        raise InputError(f"Option manifest_format must be one of {', '.join(MANIFEST_FORMATS)}.")
    flavour = registry.flavour(flux_version)
    return flavour.secret_manifest(doc.metadata, doc.secret_id, doc.values or {}, secret_type=doc.secret_type,
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
    for found in list_existing(client, cluster, sorted({f"{cluster}/{d.namespace}/" for d in docs})):
        if found.secret_id in state:  # the name filter is a case-insensitive prefix match: keep exact names
            state[found.secret_id] = found
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


def list_existing(client, cluster: str, prefixes: list):
    """Yield an :class:`Existing` (no value) per secret whose name starts with one of ``prefixes`` (the filter is
    case-insensitive: callers keep exact names), planned deletions included; ``ListSecrets`` with 10 prefixes and
    100 secrets per call."""
    for start in range(0, len(prefixes), LIST_FILTER_VALUES_MAX):
        chunk = prefixes[start:start + LIST_FILTER_VALUES_MAX]
        token = None
        while True:
            kwargs = {"Filters": [{"Key": "name", "Values": chunk}], "IncludePlannedDeletion": True,
                      "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = call(client, "list_secrets", f"{cluster}/ ({len(chunk)} prefixes)", **kwargs)
            for entry in page.get("SecretList", []):
                yield Existing(entry.get("Name"), exists=True, deleted=bool(entry.get("DeletedDate")),
                               tags={t["Key"]: t.get("Value", "") for t in entry.get("Tags") or []},
                               arn=entry.get("ARN"))
            token = page.get("NextToken")
            if not token:
                break


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
        elif not overwrite:
            ch.added, ch.put_value = _missing_keys(cur, desired)
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


def _missing_keys(cur: Existing, desired: dict) -> tuple[list, dict | None]:
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
        elif ch.put_value is not None:  # create-only: only the added keys are shown
            before = {"state": "present", "keys": {}}
            after = {"state": "present", "keys": {k: NEW_VALUE for k in ch.added}}
        elif "complete" in ch.actions:
            before = {"state": "scheduled for deletion"}
            after = {"state": "present", "keys_added_if_missing": desired}
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
    """Perform the writes of ``plan`` in order (botocore retries throttling). The first other failure stops
    the batch: raises :class:`PartialFailure` with the index of the change that failed."""
    for index, ch in enumerate(plan):
        try:
            _apply_change(client, ch, kms_key_id, description, recovery_window, force_delete)
        except AwsError as exc:
            raise PartialFailure(exc, index) from None


def _apply_change(client, ch: Change, kms_key_id, description, recovery_window, force_delete) -> None:
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
        elif action == "complete":
            _complete_restored(client, ch)
        elif action == "update":
            call(client, "put_secret_value", sid, SecretId=sid,
                 SecretString=serialise(values if ch.put_value is None else ch.put_value))
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


def _complete_restored(client, ch: Change) -> None:
    """Create-only mode, after restoring ``ch``'s secret: add the keys of the manifest its value lacks (the
    stored values are kept; a value that is not a JSON object is left alone)."""
    restored = Existing(ch.secret_id, exists=True)
    _store_value(restored, call(client, "get_secret_value", ch.secret_id, SecretId=ch.secret_id))
    added, value = _missing_keys(restored, ch.doc.values or {})
    if added:
        call(client, "put_secret_value", ch.secret_id, SecretId=ch.secret_id, SecretString=serialise(value))


# ---------------------------------------------------------------------------------------------
# One call for the module shell and the benchmark
# ---------------------------------------------------------------------------------------------

def sync(client, cluster: str, docs: list, *, state: str = "present", overwrite: bool = True,
         check_mode: bool = False, tags: dict | None = None, kms_key_id: str | None = None,
         description: str | None = None, recovery_window: int = 30, force_delete: bool = False,
         dest: str | None = None, region: str | None = None, manifest_format: str = "spec",
         role_arn: str | None = None, flux_version: int = 1) -> dict:
    """Read, plan, (unless ``check_mode``) apply; -> the module result (no values in it).

    When a write fails mid-batch, raises :class:`PartialFailure` whose ``result`` lists what was stored before
    it, ``failed_secrets`` and ``not_attempted``; the manifest files of the stored (or deleted) secrets are
    written (removed) first, those of the others are left as they were."""
    present = state == "present"
    if not present:
        check_recovery_window(recovery_window, force_delete)
    want_values = {d.secret_id for d in docs} if present else set()
    current = read_state(client, cluster, docs, want_values) if docs else {}
    plan = make_plan(docs, current, present=present, overwrite=overwrite, tags=tags, force_delete=force_delete)
    manifests = [external_secret_manifest(d, region=region, manifest_format=manifest_format, role_arn=role_arn,
                                          flux_version=flux_version) for d in docs] if present else []
    file_changes = files.plan_files(docs, manifests or [None] * len(docs), dest, present) if dest else []
    warnings = [] if overwrite else [
        f"{sid} holds a value that is not a JSON object: create-only mode (overwrite=false) leaves it alone, so "
        "its ExternalSecret may name keys it lacks; fix it or run with overwrite=true."
        for sid, cur in sorted(current.items()) if cur.value_read and not cur.value_is_object]
    if not check_mode:
        try:
            apply_plan(client, plan, kms_key_id=kms_key_id, description=description,
                       recovery_window=recovery_window, force_delete=force_delete)
        except PartialFailure as exc:
            exc.result = partial_result(exc, plan, docs, manifests, file_changes, dest)
            raise
        if file_changes:
            files.write_files(file_changes)
    result = summarise(plan)
    result["changed"] = any(ch.actions for ch in plan) or bool(file_changes)
    result["manifests"] = manifests
    result["files"] = [path for path, _new, _old in file_changes]
    result["diff"] = plan_diff(plan) + files.files_diff(file_changes)
    if warnings:
        result["warnings"] = warnings
    return result


def check_recovery_window(recovery_window: int, force_delete: bool) -> None:
    """Raises :class:`InputError` unless ``recovery_window`` is 0 or 7 to 30 days (or ``force_delete``)."""
    if not (force_delete or recovery_window == 0) and not 7 <= recovery_window <= 30:
        raise InputError(f"Option recovery_window must be 0 (delete now) or 7 to 30 days, got {recovery_window}.")


def partial_result(exc: PartialFailure, plan: list, docs: list, manifests: list, file_changes: list,
                   dest: str | None) -> dict:
    """The failed result of :func:`sync` after ``exc``; writes the manifest files of the settled secrets (those
    applied before the failure, and those that needed no change) and rewrites ``exc``'s message."""
    failed = plan[exc.index]
    settled = plan[:exc.index] + [ch for ch in plan[exc.index + 1:] if not ch.actions]
    settled_ids = {ch.secret_id for ch in settled}
    not_attempted = [ch.secret_id for ch in plan[exc.index + 1:] if ch.actions]
    paths = {files.manifest_path(dest, d) for d in docs if d.secret_id in settled_ids} if dest else set()
    written = [change for change in file_changes if change[0] in paths]
    if written:
        files.write_files(written)
    result = summarise(settled)
    done = [sid for key in ("created", "updated", "restored", "deleted") for sid in result[key]]
    result.update(
        changed=bool(done or written), failed_secrets=[failed.secret_id], not_attempted=not_attempted,
        manifests=[m for d, m in zip(docs, manifests) if d.secret_id in settled_ids],
        files=[change[0] for change in written])
    exc.message = (f"{exc.message.rstrip('.')}. Stopped at {failed.secret_id}: {len(done)} secret(s) changed before "
                   f"it ({', '.join(done) or 'none'}), {len(not_attempted)} not attempted "
                   f"({', '.join(not_attempted) or 'none'})"
                   + ("; manifest files were written for the stored secrets only" if dest else "")
                   + ". Fix the cause and run again.")
    return result
