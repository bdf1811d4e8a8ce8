# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""OpenSSH public key lines (``"<type> <base64> [comment]"``): split, compare by material, fingerprint.

Standard library only, so the GitHub deploy-key API (``github/deploy_key.py``) compares keys without the key
generation of :mod:`crypto.ssh_keys`, which re-exports these names. Errors are :class:`SSHKeyError`, whose messages
never contain key material.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError


class SSHKeyError(TidepoolError, ValueError):
    """A key that cannot be used; the message never contains key material."""


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
