# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""How flavour-2 clusters read secrets: the External Secrets Operator (``external-secrets.io/v1``).

* One ``SecretStore`` per namespace that has secrets (provider ``aws``, service ``SecretsManager``, the cluster's
  region), authenticated as that namespace's service account :data:`STORE_ACCOUNT` (``auth.jwt``), whose IRSA role
  (:func:`reader_account`, in the ClusterConfig's ``iam.serviceAccounts``) may read only
  ``<cluster>/<namespace>/*``: no store and no role lets one namespace read another namespace's secrets, and the
  operator itself holds no AWS permission.
* One ``ExternalSecret`` per Secret, reading the Secrets Manager secret ``<cluster>/<namespace>/<name>`` (a JSON
  object) through its namespace's store: one ``data`` entry per key (``remoteRef.property``), the keys the
  kubernetes-external-secrets manifest of flavour 1 exposes, and the Secret's type when not Opaque.

:func:`manifest` writes an ExternalSecret, :func:`rendered_source` reads one back (as the API server returns it)
by rendering it again: the key mapping is written once, here, for the render and for ``flux_wait``'s value check
(``secret_values.py``).
"""
from __future__ import annotations

import copy

API_VERSION = "external-secrets.io/v1"
KIND = "ExternalSecret"
STORE_KIND = "SecretStore"
STORE_NAME = "aws-secrets-manager"
STORE_ACCOUNT = "secret-store"
REFRESH_INTERVAL = "1h"
MANIFEST_FORMATS = ("spec",)
#: Fields the CRD defaults in a ``remoteRef`` (the API server fills them in); at these values they change nothing.
REF_DEFAULTS = {"conversionStrategy": "Default", "decodingStrategy": "None", "metadataPolicy": "None"}
#: ``target.template`` fields that leave the Secret's data as ESO fetched it (``mergePolicy`` at its default only).
PLAIN_TEMPLATE = {"type": None, "engineVersion": None, "metadata": None, "mergePolicy": "Replace"}


def secret_store(namespace: str, region: str) -> dict:
    """The namespace's ``SecretStore`` for AWS Secrets Manager in ``region``."""
    return {"apiVersion": API_VERSION, "kind": STORE_KIND, "metadata": {"name": STORE_NAME, "namespace": namespace},
            "spec": {"provider": {"aws": {"service": "SecretsManager", "region": region,
                                          "auth": {"jwt": {"serviceAccountRef": {"name": STORE_ACCOUNT}}}}}}}


def reader_policy(cluster: str, namespace: str, region: str, account: str) -> dict:
    """IAM policy of a namespace's store role: read (``GetSecretValue``, ``DescribeSecret``) the secrets
    ``arn:aws:secretsmanager:<region>:<account>:secret:<cluster>/<namespace>/*`` only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": f"arn:aws:secretsmanager:{region}:{account}:secret:{cluster}/{namespace}/*"}]}


def reader_account(cluster: str, namespace: str, region: str, account: str) -> dict:
    """The ClusterConfig ``iam.serviceAccounts`` entry of a namespace's store (eksctl creates the role)."""
    return {"metadata": {"name": STORE_ACCOUNT, "namespace": namespace, "labels": {"aws-usage": "secrets-reading"}},
            "attachPolicy": reader_policy(cluster, namespace, region, account)}


def manifest(metadata: dict, store_id: str, keys, *, secret_type: str | None = None) -> dict:
    """The ``ExternalSecret`` writing the Secret ``metadata`` from ``store_id``: one ``data`` entry per key (sorted);
    ``target.template.type`` for a non-Opaque type. No value is part of it."""
    target = {"name": metadata["name"], "creationPolicy": "Owner"}
    if secret_type and secret_type != "Opaque":
        target["template"] = {"type": secret_type}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": copy.deepcopy(metadata),
            "spec": {"refreshInterval": REFRESH_INTERVAL,
                     "secretStoreRef": {"kind": STORE_KIND, "name": STORE_NAME},
                     "target": target,
                     "data": [{"secretKey": key, "remoteRef": {"key": store_id, "property": key}}
                              for key in sorted(keys)]}}


def rendered_source(external_secret: dict) -> tuple[str, list[str]] | None:
    """``(store_id, keys)`` when ``external_secret`` (a dict, as written or as the API server returns it with the
    CRD's defaults) is what :func:`manifest` renders: its Secret holds, under each key, the property of that name
    of the Secrets Manager secret ``store_id`` (a JSON object). None for any other form (``dataFrom``, another
    mapping, a template or a reference field that changes the data): nothing is guessed."""
    spec = external_secret.get("spec") or {}
    data = spec.get("data") or []
    template = (spec.get("target") or {}).get("template") or {}
    if spec.get("dataFrom") or not data or not isinstance(template, dict) or any(
            key not in PLAIN_TEMPLATE or PLAIN_TEMPLATE[key] not in (None, value) for key, value in template.items()):
        return None
    store_id = (data[0].get("remoteRef") or {}).get("key")
    keys = [item.get("secretKey") for item in data]
    if not isinstance(store_id, str) or not all(isinstance(key, str) and key for key in keys):
        return None
    live = [dict(item, remoteRef={k: v for k, v in (item.get("remoteRef") or {}).items() if REF_DEFAULTS.get(k) != v})
            for item in data]
    if live != manifest({"name": "-"}, store_id, keys)["spec"]["data"]:
        return None
    return store_id, keys
