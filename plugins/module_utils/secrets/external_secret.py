# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Core of ``tidepool.eks.external_secret``: Kubernetes Secret manifests <-> AWS Secrets Manager.

Plan -> diff -> apply, as plain Python (DESIGN.md "Style"), one concern per file of ``secrets/``:

* :mod:`.documents` validates the input (every document, every key) before anything is written, so bad input never
  leaves AWS half-changed;
* :mod:`.secrets_manager` (the AWS adapter) reads what exists (``read_state``) and performs a plan
  (``apply_plan``; :class:`PartialFailure` when a write fails);
* :mod:`.planning` decides create / update / restore / delete / unchanged per secret (``make_plan``);
* :mod:`.diff` renders ``--diff`` output with key names only (values redacted);
* :mod:`.manifests` asks the GitOps flavour for the object that reads a stored secret back into the cluster;
  :mod:`.files` writes those manifests under ``dest``;
* this file ties them together for the module and the benchmark (:func:`sync`; manifests only for stored secrets).

Secret values never leave these modules except in the request bodies sent to AWS: results, diffs, warnings and
exception messages carry secret ids and key names only.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.secrets import files
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.diff import NEW_VALUE, OLD_VALUE, REDACTED, plan_diff
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.documents import (
    ENCODINGS,
    InputError,
    SecretDoc,
    load_documents,
    parse_secrets,
)
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.manifests import external_secret_manifest
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.planning import make_plan, summarise
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.secrets_manager import (
    PartialFailure,
    apply_plan,
    list_existing,
    read_state,
)

#: The module shell, the filters and the tests reach the parts through this module too.
__all__ = ["ENCODINGS", "NEW_VALUE", "OLD_VALUE", "REDACTED", "InputError", "PartialFailure",
           "SecretDoc", "load_documents", "parse_secrets", "sync", "external_secret_manifest", "read_state",
           "list_existing", "make_plan", "summarise", "plan_diff", "apply_plan", "check_recovery_window",
           "partial_result"]


def sync(client, cluster: str, docs: list, *, flavour, state: str = "present", overwrite: bool = True,
         check_mode: bool = False, tags: dict | None = None, kms_key_id: str | None = None,
         description: str | None = None, recovery_window: int = 30, force_delete: bool = False,
         dest: str | None = None, region: str | None = None, manifest_format: str = "spec",
         role_arn: str | None = None) -> dict:
    """Read, plan, (unless ``check_mode``) apply; -> the module result (no values in it). ``flavour``: the GitOps
    flavour whose manifests are written (``gitops.registry.flavour(flux_version)``).

    When a write fails mid-batch, raises :class:`PartialFailure` whose ``result`` lists what was stored before
    it, ``failed_secrets`` and ``not_attempted``; the manifest files of the stored (or deleted) secrets are
    written (removed) first, those of the others are left as they were."""
    present = state == "present"
    if not present:
        check_recovery_window(recovery_window, force_delete)
    want_values = {d.secret_id for d in docs} if present else set()
    current = read_state(client, cluster, docs, want_values) if docs else {}
    plan = make_plan(docs, current, present=present, overwrite=overwrite, tags=tags, force_delete=force_delete)
    manifests = [external_secret_manifest(d, flavour, region=region, manifest_format=manifest_format,
                                          role_arn=role_arn) for d in docs] if present else []
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
