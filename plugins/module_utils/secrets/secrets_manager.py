# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The AWS Secrets Manager adapter of ``tidepool.eks.external_secret``: read what exists, perform a plan.

* :func:`read_state` reads what exists in a few calls: ``ListSecrets`` (:func:`list_existing`: name-prefix filter per
  namespace, planned deletions included) for existence, deletion state and tags, then ``BatchGetSecretValue`` (20 ids
  per call) for values (create-only mode reads them for their key names);
* :func:`apply_plan` performs the writes of a plan (:mod:`.planning`) in order and, when one fails, raises
  :class:`PartialFailure` saying how far it got.

Secret values go only into the request bodies sent to AWS: exception messages carry secret ids and error codes.
"""
from __future__ import annotations

import json

from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import AwsError, call, error_code
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.documents import serialise
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.planning import Change, Existing, missing_keys

#: Secrets Manager limits.
BATCH_GET_MAX = 20
LIST_FILTER_VALUES_MAX = 10
DEFAULT_DESCRIPTION = "Kubernetes Secret {namespace}/{name}, managed by tidepool.eks"


class PartialFailure(AwsError):
    """A write of :func:`apply_plan` failed: the changes of the plan before ``index`` were applied, the one at
    ``index`` failed (possibly half-done: restored but not updated), the rest were not attempted. :func:`sync`
    fills ``result`` (the module's failed result: what was stored, ``failed_secrets``, ``not_attempted``)."""

    def __init__(self, cause: AwsError, index: int):
        super().__init__(str(cause), code=cause.code, operation=cause.operation)
        self.index = index
        self.result: dict = {}


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
            store_value(state[sid], entry)
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


def store_value(existing: Existing, entry: dict) -> None:
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
    store_value(restored, call(client, "get_secret_value", ch.secret_id, SecretId=ch.secret_id))
    added, value = missing_keys(restored, ch.doc.values or {})
    if added:
        call(client, "put_secret_value", ch.secret_id, SecretId=ch.secret_id, SecretString=serialise(value))
