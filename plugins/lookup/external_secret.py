# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: external_secret
short_description: Read a stored secret back as a Kubernetes Secret manifest
version_added: 0.1.0
description:
  - Reads the AWS Secrets Manager secret C(<cluster>/<namespace>/<name>) written by
    M(tidepool.eks.external_secret) and returns it as a valid Kubernetes C(Secret) manifest with
    base64 C(data) (or plaintext C(stringData)). Replaces the Tidepool helper C(get_external_secret),
    which printed plaintext under C(data) and evaluated the value through a shell.
  - Fails with one sentence naming the secret id when it does not exist, is scheduled for deletion,
    or is not a JSON object of strings.
  - The lookup logs nothing at any verbosity; mark tasks that print its result C(no_log).
options:
  _terms:
    description:
      - C(<namespace>/<name>) with O(cluster), or a full id C(<cluster>/<namespace>/<name>).
    required: true
    type: list
    elements: str
  cluster:
    description: Cluster name, the first part of the id when the terms are C(<namespace>/<name>).
    type: str
  output:
    description:
      - V(data) returns base64 values under C(data) (what C(kubectl get secret -o yaml) shows);
        V(stringData) returns the plaintext values under C(stringData).
    type: str
    choices: [data, stringData]
    default: data
extends_documentation_fragment:
  - tidepool.eks.aws.plugins
"""

EXAMPLES = r"""
- name: Apply the Secret behind an ExternalSecret by hand (what kubernetes-external-secrets would create)
  kubernetes.core.k8s:
    definition: "{{ lookup('tidepool.eks.external_secret', 'qa1/mongo', cluster='test1', region='us-west-2') }}"
  no_log: true

- name: Several at once (a list of manifests)
  ansible.builtin.set_fact:
    tidepool_secrets: "{{ query('tidepool.eks.external_secret', 'test1/qa1/auth', 'test1/qa1/user') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One Secret manifest per term (C(apiVersion v1), C(kind Secret), C(type Opaque), C(metadata.name/namespace)).
  type: list
  elements: dict
"""

import base64  # noqa: E402
import json  # noqa: E402

from ansible.errors import AnsibleError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming  # noqa: E402
from ansible_collections.tidepool.eks.plugins.module_utils.aws.connection import (  # noqa: E402
    CONNECTION_OPTIONS,
    AwsError,
    call,
    client,
    error_code,
)


def secret_manifest(secret_id_: str, secret_string: str | None, output: str = "data") -> dict:
    """SecretString of ``<cluster>/<namespace>/<name>`` -> Kubernetes Secret manifest (no value in errors)."""
    _cluster, namespace, name = naming.split_secret_id(secret_id_)
    try:
        values = json.loads(secret_string) if secret_string is not None else None
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise AnsibleError(f"Secret {secret_id_} does not hold a JSON object of key to value, so it is not a "
                           "Kubernetes Secret stored by tidepool.eks.external_secret.")
    text = {}
    for key, value in values.items():
        if isinstance(value, (dict, list)):
            raise AnsibleError(f"Secret {secret_id_}: key {key!r} holds a nested {type(value).__name__}, not a string.")
        if value is None:
            value = ""
        elif isinstance(value, bool):
            value = "true" if value else "false"
        text[key] = str(value)
    manifest = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": namespace}}
    if output == "stringData":
        manifest["stringData"] = dict(sorted(text.items()))
    else:
        manifest["data"] = {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in sorted(text.items())}
    return manifest


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        cluster = self.get_option("cluster")
        output = self.get_option("output")
        ids = []
        for term in terms:
            parts = str(term).split("/")
            if len(parts) == 2 and cluster:
                ids.append(naming.secret_id(cluster, parts[0], parts[1]))
            elif len(parts) == 3 and all(parts):
                ids.append(str(term))
            else:
                raise AnsibleError(f"external_secret lookup: term {term!r} must be <namespace>/<name> (with "
                                   "cluster=...) or <cluster>/<namespace>/<name>.")
        params = {name: self.get_option(name) for name in CONNECTION_OPTIONS}
        try:
            sm = client("secretsmanager", params)
        except AwsError as exc:
            raise AnsibleError(f"external_secret lookup: {exc}") from None
        results = []
        for sid in ids:
            try:
                resp = call(sm, "get_secret_value", sid, SecretId=sid)
            except AwsError as exc:
                code = error_code(exc)
                if code == "ResourceNotFoundException":
                    raise AnsibleError(f"external_secret lookup: secret {sid} does not exist in Secrets Manager "
                                       "(store it with tidepool.eks.external_secret, or check cluster and region)."
                                       ) from None
                if code == "InvalidRequestException":
                    raise AnsibleError(f"external_secret lookup: secret {sid} is scheduled for deletion; restore it "
                                       "(tidepool.eks.external_secret restores it when stored again).") from None
                raise AnsibleError(f"external_secret lookup: {exc}") from None
            results.append(secret_manifest(sid, resp.get("SecretString"), output))
        return results
