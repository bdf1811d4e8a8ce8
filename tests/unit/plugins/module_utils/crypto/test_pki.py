"""Unit tests of the Tiller PKI primitives (plugins/module_utils/crypto/pki.py): no Ansible, no network."""
from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pki

KEY_SIZE = 2048
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
SPEC = {"cn": "helm-client", "sans": ["DNS:tiller-deploy.flux"]}


def test_make_ca_is_a_self_signed_ca():
    ca, key = pki.make_ca("test1", KEY_SIZE, 100, now=NOW)
    assert ca.subject.rfc4514_string() == "CN=tiller-ca.test1,O=tidepool.eks"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert pki.signed_by(ca, ca) and pki.key_matches_cert(key, ca)
    assert pki.not_after(ca) == NOW + datetime.timedelta(days=100)
    assert ca.not_valid_before_utc == NOW - pki.BACKDATE


def test_issue_leaf_is_signed_by_the_ca_and_capped_by_it():
    ca, ca_key = pki.make_ca("test1", KEY_SIZE, 10, now=NOW)
    cert, key = pki.issue_leaf(SPEC, ca, ca_key, KEY_SIZE, 365, now=NOW)
    assert pki.signed_by(cert, ca) and pki.key_matches_cert(key, cert)
    assert pki.not_after(cert) == pki.not_after(ca)
    assert pki.common_name(cert) == "helm-client" and pki.sans_of(cert) == ["DNS:tiller-deploy.flux"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH in eku
    other, _ = pki.make_ca("test1", KEY_SIZE, 10, now=NOW)
    assert not pki.signed_by(cert, other)
    assert not pki.key_matches_cert(ca_key, cert)


def test_pem_round_trip_and_unreadable_input():
    ca, key = pki.make_ca("test1", KEY_SIZE, 10, now=NOW)
    assert pki.load_cert(pki.cert_pem(ca)) == ca
    assert pki.load_cert(pki.cert_pem(ca).decode()) == ca
    assert pki.key_pem(key).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert pki.key_matches_cert(pki.load_key(pki.key_pem(key)), ca)
    for junk in (None, b"", "  ", b"not a pem"):
        assert pki.load_cert(junk) is None and pki.load_key(junk) is None


def test_describe_cert_is_metadata_only():
    ca, _ = pki.make_ca("test1", KEY_SIZE, 10, now=NOW)
    info = pki.describe_cert(ca)
    assert info["subject"] == info["issuer"] == "CN=tiller-ca.test1,O=tidepool.eks"
    assert info["not_after"] == "2030-01-11T00:00:00+00:00" and info["key_size"] == KEY_SIZE
    assert len(info["sha256_fingerprint"].split(":")) == 32 and info["sans"] == []
    assert "PRIVATE" not in repr(info)
