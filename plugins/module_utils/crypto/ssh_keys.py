# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""SSH deploy keys: generate, load, describe (OpenSSH formats, with ``cryptography``).

Used by flux_bootstrap (the key Flux uses to read and write the config repository) and github_deploy_key
(compares keys by material). Private keys are only ever returned to the caller that stores them; nothing
here logs or formats them into messages.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.common.optional_import import optional_import

(serialization, ed25519, rsa), CRYPTOGRAPHY_IMPORT_ERROR = optional_import(
    "cryptography.hazmat.primitives.serialization", "cryptography.hazmat.primitives.asymmetric.ed25519",
    "cryptography.hazmat.primitives.asymmetric.rsa")
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None

KEY_TYPES = ("ed25519", "rsa")
#: Smallest RSA size accepted (GitHub rejects smaller deploy keys; OpenSSH's own minimum is 1024).
MIN_RSA_BITS = 2048
DEFAULT_RSA_BITS = 4096


class SSHKeyError(TidepoolError, ValueError):
    """A key that cannot be used; the message never contains key material."""


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


def split_public(line: str) -> tuple[str, str]:
    """``(type, base64 blob)`` of an OpenSSH public key line (the comment is dropped).

    Raises SSHKeyError when the line is not an OpenSSH public key (the blob must name the same type).
    """
    parts = (line or "").strip().split()
    if len(parts) < 2:
        raise SSHKeyError("the key is not an OpenSSH public key line ('<type> <base64> [comment]')")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (n,) = struct.unpack(">I", blob[:4])
        inner = blob[4:4 + n].decode()
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise SSHKeyError("the key is not an OpenSSH public key line: its base64 part does not decode") from None
    if inner != parts[0]:
        raise SSHKeyError(f"the key is not an OpenSSH public key line: type {parts[0]!r} does not match its data")
    return parts[0], parts[1]


def material(line: str) -> str:
    """The comparable part of a public key line: ``"type base64"`` (GitHub drops the comment too)."""
    return " ".join(split_public(line))


def fingerprint(line: str) -> str:
    """OpenSSH SHA256 fingerprint (``ssh-keygen -l``): ``SHA256:<unpadded base64>``."""
    blob = split_public(line)[1]
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
