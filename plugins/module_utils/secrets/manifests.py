# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The bridge of ``tidepool.eks.external_secret`` to the GitOps flavour: the manifest that reads a stored secret back
into the cluster (its shape is the flavour's, :mod:`gitops.flavour`); :mod:`.files` writes those manifests under
``dest``.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.secrets.documents import InputError, SecretDoc

#: ``manifest_format`` values of the secret manifests of every flavour, default first (the option's choices;
#: a flavour refuses the formats it has no equivalent for).
MANIFEST_FORMATS = tuple(dict.fromkeys(f for fl in registry.FLAVOURS.values() for f in fl.SECRET_MANIFEST_FORMATS))


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
