# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""IRSA on a cluster that is not EKS: the API server's service account issuer, and the
``eks.amazonaws.com/role-arn`` annotation eksctl puts on each IRSA service account.

:func:`issuer` reads ``/.well-known/openid-configuration`` (the ``--service-account-issuer`` URL);
:func:`annotation_plan` lists the service accounts whose annotation differs (``[(object, before arn)]``);
:func:`annotate` server-side applies only the annotation, with its own field manager :data:`FIELD_MANAGER`, so
the apply of the accounts themselves (field manager ``tidepool.eks``, no annotation) and Flux's apply of the same
objects leave it alone. Raises :class:`k8s.client.KubeError` naming the object or the URL.
"""
from __future__ import annotations

import json

from ansible_collections.tidepool.eks.plugins.module_utils.k8s.client import KubeError

ROLE_ARN = "eks.amazonaws.com/role-arn"
FIELD_MANAGER = "tidepool.eks-irsa"
DISCOVERY = "/.well-known/openid-configuration"


def issuer(api) -> str:
    """The ``issuer`` of the API server's OIDC discovery document (a ``kubernetes.client.ApiClient``)."""
    try:
        resp = api.call_api(DISCOVERY, "GET", auth_settings=["BearerToken"], _return_http_data_only=True,
                            _preload_content=False, _request_timeout=10)
        doc = json.loads(resp.data)
    except Exception as exc:  # noqa: BLE001 - ApiException, urllib3 errors: one sentence
        raise KubeError(f"{api.configuration.host}{DISCOVERY} cannot be read ({type(exc).__name__}): the API "
                        "server's service account issuer is needed for IRSA; give issuer explicitly.") from None
    if not isinstance(doc, dict) or not doc.get("issuer"):
        raise KubeError(f"{api.configuration.host}{DISCOVERY} names no issuer; give issuer explicitly.")
    return doc["issuer"]


def desired(namespace: str, name: str, arn: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "annotations": {ROLE_ARN: arn}}}


def annotation_plan(applier, arns: dict) -> list:
    """``[(desired object, current arn or None)]`` for each ``{"<namespace>/<name>": arn}`` whose service account
    lacks that annotation (a missing account counts: applying creates it with the annotation)."""
    out = []
    for key, arn in sorted(arns.items()):
        namespace, name = key.split("/", 1)
        obj = desired(namespace, name, arn)
        live = applier.get(obj)
        current = ((live or {}).get("metadata") or {}).get("annotations") or {}
        if current.get(ROLE_ARN) != arn:
            out.append((obj, current.get(ROLE_ARN)))
    return out


def annotate(applier, planned: list) -> None:
    """Server-side apply the annotation of each planned service account (:func:`annotation_plan`)."""
    for obj, _before in planned:
        applier.apply(obj)
