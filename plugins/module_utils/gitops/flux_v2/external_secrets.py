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
