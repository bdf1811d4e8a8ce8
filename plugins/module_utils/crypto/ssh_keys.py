# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""SSH deploy keys: generate, load, describe (OpenSSH formats, with ``cryptography``).

Used by flux_bootstrap (the key Flux uses to read and write the config repository). Public key lines (split,
material, fingerprint, :class:`SSHKeyError`) are :mod:`common.ssh_public_key`'s, re-exported here. Private keys
are only ever returned to the caller that stores them; nothing here logs or formats them into messages.
"""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import
from ansible_collections.tidepool.eks.plugins.module_utils.common.ssh_public_key import (  # re-exported; noqa: F401  # pylint: disable=unused-import
    SSHKeyError, fingerprint, material, split_public)

(serialization, ed25519, rsa), CRYPTOGRAPHY_IMPORT_ERROR = optional_import(
    "cryptography.hazmat.primitives.serialization", "cryptography.hazmat.primitives.asymmetric.ed25519",
    "cryptography.hazmat.primitives.asymmetric.rsa")
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None

KEY_TYPES = ("ed25519", "rsa")
#: Smallest RSA size accepted (GitHub rejects smaller deploy keys; OpenSSH's own minimum is 1024).
MIN_RSA_BITS = 2048
DEFAULT_RSA_BITS = 4096


def generate(key_type: str = "ed25519", bits: int = DEFAULT_RSA_BITS, comment: str = "") -> tuple[bytes, str]:
    """New key pair: ``(private key in OpenSSH PEM format, public key line "type base64 [comment]")``.

    ``bits`` is only used for RSA (>= 2048). Raises SSHKeyError for an unknown type or a too-small size.
    """
    if key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "rsa":
        if int(bits) < MIN_RSA_BITS:
            raise SSHKeyError(f"deploy_key_bits={bits} is too small for an RSA deploy key; use {MIN_RSA_BITS} or more.")
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(bits))
    else:
        raise SSHKeyError(f"deploy_key_type={key_type!r} is not supported; use one of {', '.join(KEY_TYPES)}.")
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    return private, public_line(key, comment)


def public_line(private_key, comment: str = "") -> str:
    """``"type base64 [comment]"`` of a loaded private key."""
    line = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                 serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip() if comment else line


def load_private(data: bytes):
    """Load an unencrypted OpenSSH (or PEM) private key. Raises SSHKeyError when it is not one."""
    for loader in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            return loader(data, password=None)
        except (ValueError, TypeError, Exception):  # noqa: BLE001 - any parse failure means "not a key"
            continue
    raise SSHKeyError("the stored deploy key is not an unencrypted OpenSSH or PEM private key")


def key_type_of(private_key) -> str:
    """``ed25519`` or ``rsa`` (anything else is reported as its class name)."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "rsa"
    return type(private_key).__name__
