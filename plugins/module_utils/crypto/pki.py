# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Tiller PKI primitives: create the Tiller CA, issue leaf certificates, parse, compare and describe them.

Plain functions over ``cryptography`` objects, used by the Tiller TLS plan (:mod:`helm_tls`), the CA stores
(:mod:`gitops.flux_v1.ca_store`) and the Flux v1 bootstrap (which checks the certificates it deploys). Keys are RSA; PEM is
PKCS#1 for keys (as cfssl and eksctl wrote them). Nothing here reads or writes files or prints key material.
``cryptography`` is optional at import time: :data:`HAS_CRYPTOGRAPHY` is False without it and the module
shells report :data:`CRYPTOGRAPHY_IMPORT_ERROR`.
"""
from __future__ import annotations

import datetime

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import

(x509, crypto_exceptions, hashes, serialization, rsa), CRYPTOGRAPHY_IMPORT_ERROR = optional_import(
    "cryptography.x509", "cryptography.exceptions", "cryptography.hazmat.primitives.hashes",
    "cryptography.hazmat.primitives.serialization", "cryptography.hazmat.primitives.asymmetric.rsa")
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None

#: Backdate notBefore a little so that a client with a slightly late clock accepts a fresh cert.
BACKDATE = datetime.timedelta(minutes=5)


class HelmTLSError(TidepoolError):
    """An error of the Tiller TLS code, reported as one sentence (no traceback)."""


def utcnow() -> datetime.datetime:
    """The current time, timezone-aware UTC."""
    return datetime.datetime.now(datetime.timezone.utc)


def not_after(cert) -> datetime.datetime:
    """The certificate's expiry (notAfter), timezone-aware UTC."""
    return cert.not_valid_after_utc


def _to_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8")


def cert_pem(cert) -> bytes:
    """The certificate as PEM bytes."""
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    """The private key as unencrypted PEM bytes."""
    # PKCS#1 (PEM label "RSA PRIVATE KEY"), as cfssl and eksctl wrote Tiller/Helm keys.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def generate_key(key_size: int):
    """A new RSA private key of ``key_size`` bits."""
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def load_cert(data):
    """Parse a PEM certificate; ``None`` when the data is empty or not a certificate."""
    data = _to_bytes(data)
    if not data.strip():
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def load_key(data):
    """Parse an unencrypted PEM private key; ``None`` when empty, encrypted or not a key."""
    data = _to_bytes(data)
    if not data.strip():
        return None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_cert(key, cert) -> bool:
    """True when ``key`` is the private key of ``cert``'s public key."""
    return _public_der(key.public_key()) == _public_der(cert.public_key())


def fingerprint(cert) -> str:
    """SHA-256 fingerprint, upper-case hex pairs joined by colons."""
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def sans_of(cert) -> list:
    """Subject alternative names as ``["DNS:<name>", "IP:<address>", ...]`` (``[]`` when none)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    out = []
    for name in ext.value:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        else:
            out.append(str(name.value))
    return out


def common_name(cert) -> str | None:
    """The subject CN (``None`` when there is none)."""
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def describe_cert(cert) -> dict:
    """Public metadata of a certificate (what results and diffs show)."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": sans_of(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after(cert).isoformat(),
        "serial": format(cert.serial_number, "x"),
        "sha256_fingerprint": fingerprint(cert),
        "key_size": getattr(cert.public_key(), "key_size", None),
    }


def signed_by(cert, ca_cert) -> bool:
    """True when ``cert`` names ``ca_cert`` as issuer and its signature verifies with the CA key."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, crypto_exceptions.InvalidSignature):
        return False
    return True


def make_ca(cluster: str, key_size: int, validity_days: int, now=None):
    """A self-signed CA (basicConstraints CA:TRUE, pathlen 0). Returns ``(cert, key)``."""
    now = now or utcnow()
    key = generate_key(key_size)
    name = x509.Name([
        x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "tidepool.eks"),
        x509.NameAttribute(x509.NameOID.COMMON_NAME, f"tiller-ca.{cluster}"),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_leaf(spec: dict, ca_cert, ca_key, key_size: int, validity_days: int, now=None):
    """A leaf certificate as cfssl's make_cert profile made it: signing, key encipherment,
    server auth, client auth. Its notAfter never passes the CA's. Returns ``(cert, key)``."""
    now = now or utcnow()
    key = generate_key(key_size)
    expires = min(now + datetime.timedelta(days=validity_days), not_after(ca_cert))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, spec["cn"])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH,
                                              x509.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    try:
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    builder = builder.add_extension(aki, critical=False)
    if spec["sans"]:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s[len("DNS:"):]) for s in spec["sans"]]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key
