# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Where the Tiller CA of Flux v1 (helm-operator's Tiller) lives: a directory of two PEM files, or two AWS Secrets
Manager secrets.

Both stores have the same interface: ``source`` (the ``ca_source`` option value), ``cert_ref`` and ``key_ref``
(paths or secret ids, shown in results and messages), ``load()`` -> ``(cert PEM bytes, key PEM bytes)`` or
``None`` when there is no CA, and ``save(cert, key)`` which creates the CA and never overwrites one. Both raise
:class:`~pki.HelmTLSError` for an incomplete or unreadable CA.
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.aws import connection as aws
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.crypto.pem_files import (
    CA_FILE, CERT_MODE, KEY_MODE, file_state, write_atomic)
from ansible_collections.tidepool.eks.plugins.module_utils.crypto.pki import HelmTLSError

#: File names of the CA in a ``ca_source: files`` directory (as eksctl's PKI directory has them).
CA_KEY_FILE = "ca-key.pem"


class FileCAStore:
    """The CA as two PEM files in a directory: ``ca.pem`` and ``ca-key.pem`` (eksctl's PKI layout)."""

    source = "files"

    def __init__(self, directory: str):
        self.directory = os.path.abspath(os.path.expanduser(directory))
        self.cert_ref = os.path.join(self.directory, CA_FILE)
        self.key_ref = os.path.join(self.directory, CA_KEY_FILE)

    def load(self):
        cert = file_state(self.cert_ref)
        key = file_state(self.key_ref)
        if not cert["exists"] and not key["exists"]:
            return None
        if not (cert["exists"] and key["exists"]):
            present, missing = (self.cert_ref, self.key_ref) if cert["exists"] else (self.key_ref, self.cert_ref)
            raise HelmTLSError(
                f"The Tiller CA is incomplete: {present} exists but {missing} does not; restore the missing "
                f"file or remove both to create a new CA.")
        return cert["content"], key["content"]

    def save(self, cert_data: bytes, key_data: bytes) -> None:
        if os.path.exists(self.cert_ref) or os.path.exists(self.key_ref):
            raise HelmTLSError(f"Refusing to overwrite the Tiller CA in {self.directory}.")
        write_atomic(self.key_ref, key_data, KEY_MODE)
        write_atomic(self.cert_ref, cert_data, CERT_MODE)


class SecretsManagerCAStore:
    """The CA in AWS Secrets Manager as raw PEM strings ``<cluster>/flux/ca.pem`` and ``ca-key.pem``.

    An existing CA secret is never overwritten: create-only.
    """

    source = "secretsmanager"

    def __init__(self, client, cluster: str, kms_key_id: str | None = None, tags: dict | None = None):
        self.client = client
        self.cluster = cluster
        self.kms_key_id = kms_key_id
        self.tags = tags or {}
        self.cert_ref, self.key_ref = naming.tiller_ca_ids(cluster)

    @staticmethod
    def _code(exc) -> str:
        return aws.error_code(exc) or getattr(exc, "response", {}).get("Error", {}).get("Code", "")

    def _get(self, secret_id: str):
        try:
            resp = self.client.get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore ClientError; botocore is optional for the unit tests
            code = self._code(exc)
            if code == "ResourceNotFoundException":
                return None
            if code == "InvalidRequestException":
                raise HelmTLSError(
                    f"Secrets Manager secret {secret_id} cannot be read (it is probably scheduled for deletion); "
                    f"restore it with `aws secretsmanager restore-secret --secret-id {secret_id}` and run again.")
            raise HelmTLSError(str(aws.describe_error(exc, "secretsmanager.GetSecretValue", secret_id))) from None
        if "SecretString" in resp:
            return resp["SecretString"].encode("utf-8")
        return resp.get("SecretBinary")

    def load(self):
        cert = self._get(self.cert_ref)
        key = self._get(self.key_ref)
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            present, missing = (self.cert_ref, self.key_ref) if cert is not None else (self.key_ref, self.cert_ref)
            raise HelmTLSError(
                f"The Tiller CA is incomplete: Secrets Manager has {present} but not {missing}; restore the "
                f"missing secret, or delete {present} (force, without recovery) to create a new CA.")
        return cert, key

    def _create(self, name: str, value: bytes, what: str) -> None:
        kwargs = {
            "Name": name,
            "SecretString": value.decode("utf-8"),
            "Description": f"Tiller CA {what} of cluster {self.cluster} (PEM; tidepool.eks helm_tls_cert)",
        }
        if self.kms_key_id:
            kwargs["KmsKeyId"] = self.kms_key_id
        if self.tags:
            kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in sorted(self.tags.items())]
        try:
            self.client.create_secret(**kwargs)
        except Exception as exc:
            code = self._code(exc)
            if code == "ResourceExistsException":
                raise HelmTLSError(f"Secrets Manager secret {name} appeared while creating the Tiller CA "
                                   f"(another run?); run again to reuse it.")
            raise HelmTLSError(str(aws.describe_error(exc, "secretsmanager.CreateSecret", name))) from None

    def save(self, cert_data: bytes, key_data: bytes) -> None:
        self._create(self.key_ref, key_data, "private key")
        try:
            self._create(self.cert_ref, cert_data, "certificate")
        except Exception:
            # Do not leave half a CA behind: the next run would refuse to go on.
            try:
                self.client.delete_secret(SecretId=self.key_ref, ForceDeleteWithoutRecovery=True)
            except Exception:  # pragma: no cover - best effort
                pass
            raise
