# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The cluster as the migration steps see it: :class:`k8s.apply.Applier` (get, server-side apply, delete) plus
listing a kind across namespaces, deleting with a chosen propagation policy (``Orphan`` keeps the dependents:
the garbage collector removes their owner reference instead of deleting them) and JSON merge patches (a replica
count, one label) that take no field ownership of anything else.

The unit tests replace it with an in-memory stand-in that has the same five methods and the garbage collector's
rules (``tests/unit/plugins/module_utils/gitops/migrate/fake_kube.py``).
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.tidepool.eks.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.client import DynamicApiError, KubeError, NotFoundError
from ansible_collections.tidepool.eks.plugins.module_utils.k8s.objects import ref as describe

PROPAGATION = ("Background", "Foreground", "Orphan")


class Kube(k8s_apply.Applier):
    """An :class:`~k8s.apply.Applier` with :meth:`list`, :meth:`delete_with` and :meth:`merge_patch`."""

    def list(self, api_version: str, kind: str, *, namespace: str | None = None,
             label_selector: str | None = None) -> list:
        """Objects of a kind (all namespaces unless ``namespace``), as plain dicts with ``apiVersion``/``kind``;
        [] when the kind is not served (its CRD is not installed)."""
        return k8s_client.list_objects(self.client, api_version, kind, label_selector=label_selector,
                                       namespace=namespace)

    def delete_with(self, obj: dict, propagation: str) -> bool:
        """Delete ``obj`` with ``propagation`` (one of :data:`PROPAGATION`); False when it was already gone."""
        if propagation not in PROPAGATION:
            raise ValueError(propagation)
        res = self.resource(obj)
        meta = obj["metadata"]
        try:
            res.delete(name=meta["name"], namespace=meta.get("namespace"), propagation_policy=propagation)
            return True
        except NotFoundError:
            return False
        except DynamicApiError as exc:
            raise KubeError(f"Deleting {describe(obj)} ({propagation}) failed: {k8s_apply._reason(exc)}") from None

    def merge_patch(self, obj: dict, patch: dict) -> dict:
        """JSON merge patch of ``obj`` (RFC 7386); returns the patched object."""
        res = self.resource(obj)
        meta = obj["metadata"]
        try:
            return res.patch(body=patch, name=meta["name"], namespace=meta.get("namespace"),
                             content_type="application/merge-patch+json").to_dict()
        except DynamicApiError as exc:
            raise KubeError(f"Patching {describe(obj)} failed: {k8s_apply._reason(exc)}") from None
