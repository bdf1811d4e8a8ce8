# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Step 1 of the migration: Helm release records held by Tiller.

Tiller (Helm 2) keeps one record per release revision in its own namespace: a ConfigMap (Tiller's default
storage; a Secret with ``--storage=secret``) labelled ``OWNER=TILLER``, ``NAME=<release>``, ``VERSION=<n>``.
helm-controller (Helm 3) reads only Helm 3 records (Secrets ``sh.helm.release.v1.<release>.v<n>`` labelled
``owner=helm``, ``name=<release>``, in the release's namespace). A release still held by Tiller alone would be
*installed again* by helm-controller instead of adopted: it must first be converted with the ``helm 2to3``
plugin (``helm 2to3 convert <release> --tiller-ns <namespace>``), which writes the Helm 3 records and keeps the
Helm 2 ones. A release counts as converted when a Helm 3 record of the same name exists in any namespace.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.migrate.errors import MigrationError

TILLER_SELECTOR = "OWNER=TILLER"
HELM3_SELECTOR = "owner=helm"


def _labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def releases(records) -> dict:
    """``{release name: [revisions as text, ascending]}`` of Tiller's ``records`` (ConfigMaps or Secrets labelled
    ``OWNER=TILLER``); a record without a ``NAME`` label is named by its object name."""
    out: dict = {}
    for rec in records:
        labels = _labels(rec)
        name = labels.get("NAME") or rec["metadata"]["name"].rsplit(".v", 1)[0]
        out.setdefault(name, []).append(str(labels.get("VERSION", "")))
    return {name: sorted(v, key=lambda r: (len(r), r)) for name, v in sorted(out.items())}


def helm3_names(secrets) -> set:
    """Names of the releases that have a Helm 3 record among ``secrets`` (labelled ``owner=helm``)."""
    return {_labels(s).get("name") for s in secrets if _labels(s).get("owner") == "helm"} - {None}


def check(records, helm3_secrets, tiller_namespace: str, converted: bool = False) -> dict:
    """The preflight of Tiller's records: ``{"releases": {name: revisions}, "unconverted": [names],
    "converted_by_operator": bool}``. Raises :class:`MigrationError` naming every unconverted release and the
    command that converts it, unless ``converted`` (the operator says the records were converted elsewhere)."""
    held = releases(records)
    done = helm3_names(helm3_secrets)
    missing = [name for name in held if name not in done]
    if missing and not converted:
        commands = "; ".join(f"helm 2to3 convert {name} --tiller-ns {tiller_namespace}" for name in missing)
        raise MigrationError(
            f"Tiller in namespace {tiller_namespace} still holds the Helm 2 records of {len(missing)} release(s) "
            f"without a Helm 3 record: {', '.join(missing)}. helm-controller would install them again instead of "
            f"adopting them. Convert each one first ({commands}), then run the migration again; or set "
            "migrate_helm2_converted: true if they were converted in another way. Nothing was changed.")
    return {"releases": held, "unconverted": missing, "converted_by_operator": bool(missing and converted)}
