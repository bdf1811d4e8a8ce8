# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Server-side apply of a list of Kubernetes objects, with an honest check mode and a secret-safe diff.

The pieces follow kubernetes.core's split (client factory, service, waiter), over the ``kubernetes`` Python
client's dynamic client:

* the client comes from the one client factory (:func:`.client.connect`: kubeconfig, context, ``K8S_AUTH_*``) as
  a ``DynamicClient``;
* :class:`Applier` reads, server-side applies (field manager :data:`FIELD_MANAGER`, conflicts forced, as
  ``kubectl apply --server-side --force-conflicts``) and deletes objects. Every apply is first a server-side
  dry run (``dryRun=All``): the dry-run result compared with the live object decides whether anything
  changes (:func:`.changes.unchanged` with ``dry_run=True``), so the second identical run sends no write, and
  check mode sends nothing but dry runs;
* :func:`redact` / :func:`diff_entry` show objects for ``--diff`` with Secret values replaced by markers:
  key names only;
* :func:`wait_for` polls a condition with a deadline and a clear timeout message.

Errors are raised as :class:`KubeError` with one sentence naming the object; never a Secret's data.
"""
from __future__ import annotations

import copy
import hashlib
import time

from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import changes
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.client import (
    DynamicApiError,
    KubeError,
    NotFoundError,
    ResourceNotFoundError,
)
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import FIELD_MANAGER, ref as describe, strip_server_fields

(yaml,), YAML_IMPORT_ERROR = optional_import("yaml")  # Ansible itself needs PyYAML

HIDDEN = "<hidden>"
HIDDEN_CHANGED = "<hidden, changed>"


def _reason(exc) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            import json
            data = json.loads(body)
            return f"{data.get('reason', '')}: {data.get('message', '')}".strip(": ")
        except (ValueError, TypeError):
            pass
    return str(getattr(exc, "summary", lambda: exc)()) if hasattr(exc, "summary") else str(exc)


def redact(obj: dict | None, other: dict | None = None) -> dict | None:
    """``obj`` with every Secret value replaced by :data:`HIDDEN` (or :data:`HIDDEN_CHANGED` when it differs
    from the same key in ``other``). Secret ``data``/``stringData`` key names stay visible; values never do."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    if out.get("kind") == "Secret":
        other_data = (other or {}).get("data") or {}
        for field in ("data", "stringData"):
            if isinstance(out.get(field), dict):
                out[field] = {k: (HIDDEN if other is None or other_data.get(k) == v else HIDDEN_CHANGED)
                              for k, v in sorted(out[field].items())}
        meta = out.get("metadata", {})
        ann = meta.get("annotations") or {}
        if "kubectl.kubernetes.io/last-applied-configuration" in ann:
            ann["kubectl.kubernetes.io/last-applied-configuration"] = HIDDEN
    return out


def diff_entry(before: dict | None, after: dict | None) -> dict:
    """One ``--diff`` entry (Ansible's before/after with headers) for an object, Secret values hidden."""
    b = strip_server_fields(before)
    a = strip_server_fields(after)
    name = describe(after or before)
    return {"before_header": name if before else f"{name} (absent)", "after_header": name if after else f"{name} (absent)",
            "before": yaml.safe_dump(redact(b, a), sort_keys=True, default_flow_style=False) if b else "",
            "after": yaml.safe_dump(redact(a, b), sort_keys=True, default_flow_style=False) if a else ""}


def data_digest(obj: dict | None) -> str | None:
    """SHA-256 of a Secret's data (to tell whether it changed without showing it)."""
    if not obj:
        return None
    data = obj.get("data") or {}
    return hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()


class Applier:
    """Read, server-side apply and delete objects through a DynamicClient."""

    def __init__(self, client, field_manager: str = FIELD_MANAGER):
        self.client = client
        self.field_manager = field_manager

    def resource(self, obj: dict):
        try:
            return self.client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        except ResourceNotFoundError:
            raise KubeError(f"The API server does not serve {obj['apiVersion']} {obj['kind']} (needed for "
                            f"{describe(obj)}); is its CustomResourceDefinition installed?") from None

    def invalidate(self) -> None:
        """Forget the discovery cache (after a CustomResourceDefinition was created)."""
        try:
            self.client.resources.invalidate_cache()
        except Exception:  # noqa: BLE001 - older clients have no cache
            pass

    def get(self, obj: dict) -> dict | None:
        """The live object, or None when it does not exist (or its kind is not served yet)."""
        try:
            res = self.resource(obj)
        except KubeError:
            return None
        meta = obj["metadata"]
        try:
            return res.get(name=meta["name"], namespace=meta.get("namespace")).to_dict()
        except NotFoundError:
            return None
        except DynamicApiError as exc:
            raise KubeError(f"Reading {describe(obj)} failed: {_reason(exc)}") from None

    def apply(self, obj: dict, dry_run: bool = False) -> dict:
        """Server-side apply ``obj`` (``dryRun=All`` when ``dry_run``, ``fieldValidation=Strict``); returns the
        resulting object."""
        res = self.resource(obj)
        meta = obj["metadata"]
        # fieldValidation=Strict: an unknown or duplicate field is an error, not silently dropped.
        kwargs = {"field_manager": self.field_manager, "force_conflicts": True,
                  "query_params": [("fieldValidation", "Strict")]}
        if dry_run:
            kwargs["dry_run"] = "All"
        try:
            return res.server_side_apply(body=obj, name=meta["name"], namespace=meta.get("namespace"), **kwargs).to_dict()
        except DynamicApiError as exc:
            raise KubeError(f"{'Server-side dry run of' if dry_run else 'Applying'} {describe(obj)} was refused "
                            f"by the API server: {_reason(exc)}") from None

    def delete(self, obj: dict) -> bool:
        """Delete ``obj`` (background propagation); False when it was already gone."""
        res = self.resource(obj)
        meta = obj["metadata"]
        try:
            res.delete(name=meta["name"], namespace=meta.get("namespace"), propagation_policy="Background")
            return True
        except NotFoundError:
            return False
        except DynamicApiError as exc:
            raise KubeError(f"Deleting {describe(obj)} failed: {_reason(exc)}") from None

    def plan_apply(self, obj: dict, skip_dry_run: bool = False) -> dict:
        """What applying ``obj`` would do: ``{"object", "before", "after", "action"}`` with action
        ``create``, ``update`` or ``none``. ``after`` comes from a server-side dry run, unless
        ``skip_dry_run`` (the object's namespace does not exist yet in check mode), where it is ``obj``."""
        before = self.get(obj)
        after = obj if skip_dry_run else self.apply(obj, dry_run=True)
        if before is None:
            action = "create"
        elif changes.unchanged(after, before, dry_run=True):
            action = "none"
        else:
            action = "update"
        return {"object": obj, "before": before, "after": after, "action": action}


def wait_for(check, timeout: float, describe_wait: str, interval: float = 1.0, sleep=time.sleep, clock=time.monotonic):
    """Call ``check()`` until it returns ``(True, _)`` or ``timeout`` seconds passed.

    ``check`` returns ``(done, status)`` where ``status`` is a short text of the current state. Raises
    KubeError ``Timed out after <timeout> seconds waiting for <describe_wait> (<last status>)``.
    """
    deadline = clock() + timeout
    status = "not checked yet"
    while True:
        done, status = check()
        if done:
            return status
        if clock() >= deadline:
            raise KubeError(f"Timed out after {int(timeout)} seconds waiting for {describe_wait} ({status}).")
        sleep(interval)


def validate_objects(applier: Applier, objects: list, fallback_namespace: str = "default",
                     skip_unserved: bool = False) -> dict:
    """Server-side dry run (``dryRun=All``, server-side apply) of every object, to catch wrong fields before they
    are committed. Nothing is written.

    A namespaced object whose namespace does not exist yet is dry-run in ``fallback_namespace`` instead (the
    schema does not depend on the namespace). An object whose kind the server does not serve is an error, unless a
    CustomResourceDefinition among ``objects`` defines it or ``skip_unserved`` (then it is skipped). Returns ``{"validated": n, "skipped": [text],
    "errors": [text]}``; every error names the object and the server's reason.
    """
    namespaces = set()
    try:
        ns_res = applier.client.resources.get(api_version="v1", kind="Namespace")
        namespaces = {item["metadata"]["name"] for item in ns_res.get().to_dict().get("items", [])}
    except Exception as exc:  # noqa: BLE001 - report as one error: the server could not be listed
        return {"validated": 0, "skipped": [], "errors": [f"Listing namespaces failed: {_reason(exc)}"]}
    defined = {(o["spec"]["group"], o["spec"]["names"]["kind"]) for o in objects
               if o.get("kind") == "CustomResourceDefinition" and isinstance(o.get("spec"), dict)
               and "names" in o["spec"]}
    result = {"validated": 0, "skipped": [], "errors": []}
    for obj in objects:
        try:
            applier.resource(obj)
        except KubeError as exc:
            group = obj.get("apiVersion", "").rpartition("/")[0]
            if (group, obj.get("kind")) in defined:
                result["skipped"].append(f"{describe(obj)}: its CustomResourceDefinition is not installed yet")
            elif skip_unserved:
                result["skipped"].append(f"{describe(obj)}: {obj.get('apiVersion')} {obj.get('kind')} is not served")
            else:
                result["errors"].append(str(exc))
            continue
        candidate = obj
        ns = obj.get("metadata", {}).get("namespace")
        if ns and ns not in namespaces:
            candidate = copy.deepcopy(obj)
            candidate["metadata"]["namespace"] = fallback_namespace
        try:
            applier.apply(candidate, dry_run=True)
            result["validated"] += 1
        except KubeError as exc:
            result["errors"].append(str(exc).replace(describe(candidate), describe(obj)))
    return result
