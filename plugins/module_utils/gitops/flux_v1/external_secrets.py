# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""How Flux v1 clusters read secrets: kubernetes-external-secrets ``ExternalSecret`` objects
(``kubernetes-client.io/v1``, backend ``secretsManager``), as the Tidepool helpers wrote them."""
from __future__ import annotations

import copy

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming

API_VERSION = "kubernetes-client.io/v1"
KIND = "ExternalSecret"
BACKEND_TYPE = "secretsManager"
#: ``spec``: the kubernetes-external-secrets CRD schema (KES >= 3, validated by the API server);
#: ``secretDescriptor``: the legacy field of KES 1.x/2.x that the Tidepool helpers printed.
MANIFEST_FORMATS = ("spec", "secretDescriptor")
#: Namespace annotation: the regular expression every Secrets Manager key an ExternalSecret of the namespace
#: names must match (enforced by KES with ``ENFORCE_NAMESPACE_ANNOTATIONS``, :data:`ENFORCE_ENV`).
PERMITTED_KEY_ANNOTATION = "externalsecrets.kubernetes-client.io/permitted-key-name"
#: Environment of the KES controller (chart value ``env``): any value makes it refuse ExternalSecrets of a
#: namespace without :data:`PERMITTED_KEY_ANNOTATION` and keys that do not match it.
ENFORCE_ENV = {"ENFORCE_NAMESPACE_ANNOTATIONS": "true"}


#: The kubernetes-external-secrets controller's own service account (its IRSA role reads the cluster's secrets).
READER_NAMESPACE = "external-secrets"
READER_ACCOUNT = "external-secrets"


def reader_policy(cluster: str, region: str, account: str) -> dict:
    """IAM policy of the controller's role: read every secret ``<cluster>/*`` except the Tiller CA key. That key
    would let anyone who can create an ExternalSecret mint Tiller client certificates (cluster-admin): research
    section 22.5. Secrets Manager appends ``-XXXXXX`` to ARNs."""
    _ca_cert_id, ca_key_id = naming.tiller_ca_ids(cluster)
    arn = f"arn:aws:secretsmanager:{region}:{account}:secret:"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": f"{arn}{naming.secret_prefix(cluster)}*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": f"{arn}{ca_key_id}-*"},
    ]}


def reader_account(cluster: str, region: str, account: str) -> dict:
    """The ClusterConfig ``iam.serviceAccounts`` entry of the controller (eksctl creates the role)."""
    return {"metadata": {"name": READER_ACCOUNT, "namespace": READER_NAMESPACE,
                         "labels": {"aws-usage": "secrets-management"}},
            "attachPolicy": reader_policy(cluster, region, account)}


def namespace_annotations(cluster: str, namespace: str) -> dict:
    """``{PERMITTED_KEY_ANNOTATION: "^<cluster>/<namespace>/.*"}``: the namespace reads only its own secrets
    (``<cluster>/<namespace>/<name>``, :func:`common.naming.secret_id`)."""
    return {PERMITTED_KEY_ANNOTATION: f"^{cluster}/{namespace}/.*"}


def manifest(metadata: dict, store_id: str, keys, *, secret_type: str | None = None, region: str | None = None,
             role_arn: str | None = None, manifest_format: str = "spec") -> dict:
    """The ``ExternalSecret`` reading ``store_id`` back from Secrets Manager into the Secret ``metadata``: one
    ``{key, name, property}`` per key, keys sorted; ``template.type`` for a non-Opaque type (``spec`` format
    only). No value is part of it."""
    descriptor = {"backendType": BACKEND_TYPE}
    if region:
        descriptor["region"] = region
    if role_arn:
        descriptor["roleArn"] = role_arn
    if secret_type and secret_type != "Opaque" and manifest_format == "spec":
        descriptor["template"] = {"type": secret_type}
    descriptor["data"] = [{"key": store_id, "name": key, "property": key} for key in sorted(keys)]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": copy.deepcopy(metadata),
        manifest_format: descriptor,
    }
