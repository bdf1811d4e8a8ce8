"""Unit tests of the Tiller CA stores (plugins/module_utils/gitops/flux_v1/ca_store.py): no Ansible, no network."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1 import ca_store


def test_secretsmanager_store_round_trip(secretsmanager):
    store = ca_store.SecretsManagerCAStore(secretsmanager, "test1", kms_key_id="alias/k", tags={"team": "ops"})
    assert (store.source, store.cert_ref, store.key_ref) == ("secretsmanager", "test1/flux/ca.pem",
                                                             "test1/flux/ca-key.pem")
    assert store.load() is None
    store.save(b"CERT", b"KEY")
    assert store.load() == (b"CERT", b"KEY")
    assert [c for c in secretsmanager.calls if c[0] == "create"] == [("create", "test1/flux/ca-key.pem"),
                                                                    ("create", "test1/flux/ca.pem")]


def test_secretsmanager_store_never_overwrites(secretsmanager):
    secretsmanager.secrets["test1/flux/ca-key.pem"] = "KEY"
    with pytest.raises(pki.HelmTLSError, match="appeared while creating"):
        ca_store.SecretsManagerCAStore(secretsmanager, "test1").save(b"CERT", b"NEW")
    assert secretsmanager.secrets == {"test1/flux/ca-key.pem": "KEY"}


def test_incomplete_ca_is_an_error(secretsmanager):
    secretsmanager.secrets["test1/flux/ca.pem"] = "x"
    with pytest.raises(pki.HelmTLSError, match="incomplete"):
        ca_store.SecretsManagerCAStore(secretsmanager, "test1").load()


def test_scheduled_for_deletion_is_a_clear_error(secretsmanager):
    def deleted(SecretId):
        raise secretsmanager.Error("InvalidRequestException")
    secretsmanager.get_secret_value = deleted
    with pytest.raises(pki.HelmTLSError, match="restore-secret"):
        ca_store.SecretsManagerCAStore(secretsmanager, "test1").load()


def test_half_created_ca_is_rolled_back(secretsmanager):
    orig = secretsmanager.create_secret

    def failing(Name, SecretString, **kw):
        if Name.endswith("/ca.pem"):
            raise secretsmanager.Error("AccessDeniedException")
        return orig(Name, SecretString, **kw)
    secretsmanager.create_secret = failing
    with pytest.raises(pki.HelmTLSError, match="AccessDenied"):
        ca_store.SecretsManagerCAStore(secretsmanager, "test1").save(b"CERT", b"KEY")
    assert secretsmanager.secrets == {}


def test_file_store_round_trip_and_modes(tmp_path):
    store = ca_store.FileCAStore(str(tmp_path / "pki"))
    assert store.source == "files" and store.cert_ref == str(tmp_path / "pki" / "ca.pem")
    assert store.load() is None
    store.save(b"CERT", b"KEY")
    assert store.load() == (b"CERT", b"KEY")
    assert stat.S_IMODE(os.stat(store.key_ref).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.cert_ref).st_mode) == 0o600
    with pytest.raises(pki.HelmTLSError, match="Refusing to overwrite"):
        store.save(b"OTHER", b"OTHER")


def test_file_store_incomplete_names_the_missing_file(tmp_path):
    store = ca_store.FileCAStore(str(tmp_path))
    (tmp_path / "ca.pem").write_bytes(b"CERT")
    with pytest.raises(pki.HelmTLSError, match="ca-key.pem does not"):
        store.load()
