# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The bridge of ``tidepool.eks.external_secret`` to the GitOps flavour: the manifest that reads a stored secret back
into the cluster (its shape is the flavour's, :mod:`gitops.flavour`); :mod:`.files` writes those manifests under
``dest``.

The caller passes the flavour (``gitops.registry.flavour(flux_version)``, as the module shell does), so this package
never imports ``gitops`` (docs/architecture.md, "Layers").
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.secrets.documents import InputError, SecretDoc


def external_secret_manifest(doc: SecretDoc, flavour, region: str | None = None, manifest_format: str = "spec",
                             role_arn: str | None = None) -> dict:
    """The manifest of ``flavour`` (a :class:`gitops.flavour.Flavour`) reading ``doc`` back from Secrets Manager
    (Flux v1: the kubernetes-external-secrets ``ExternalSecret``; Flux v2: the External Secrets Operator's): one
    entry per key, keys sorted. No value is part of it. Raises :class:`InputError` for a ``manifest_format`` the
    flavour has no equivalent for (``flavour.SECRET_MANIFEST_FORMATS``), TidepoolError for another option the
    flavour has no equivalent for."""
    if manifest_format not in flavour.SECRET_MANIFEST_FORMATS:
        raise InputError(f"Option manifest_format must be one of {', '.join(flavour.SECRET_MANIFEST_FORMATS)} for "
                         f"{flavour.NAME}.")
    return flavour.secret_manifest(doc.metadata, doc.secret_id, doc.values or {}, secret_type=doc.secret_type,
                                   region=region, role_arn=role_arn, manifest_format=manifest_format)
