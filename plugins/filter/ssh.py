# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""SSH key filters, built on plugins/module_utils/crypto/ssh_keys.py.

Errors never contain key material: they name what is wrong with the input, never the input.
"""
from __future__ import annotations

DOCUMENTATION = r"""
name: ssh_public_key
short_description: OpenSSH public key line of an SSH private key
description:
  - Derives the public key line (C(<type> <base64> [comment])) from an unencrypted OpenSSH or PEM private key, for
    example the deploy key of Flux read from its Secret (key C(identity); C(flux/flux-git-deploy) on flavour 1,
    C(flux-system/flux-system) on flavour 2), so that the key can be removed from the config repository with
    M(tidepool.eks.github_deploy_key).
  - Error messages never contain the private key.
positional: _input
options:
  _input:
    description: The private key (OpenSSH or PEM text), or its base64 encoding with O(encoded=true).
    type: str
    required: true
  encoded:
    description: The input is base64-encoded (the C(data) of a Kubernetes Secret).
    type: bool
    default: false
  comment:
    description: Comment appended to the public key line.
    type: str
    default: ""
"""

EXAMPLES = r"""
public: "{{ secret.resources[0].data.identity | tidepool.eks.ssh_public_key(encoded=true) }}"
"""

RETURN = r"""
_value:
  description: The public key line, C(<type> <base64>) (then C(comment) when given).
  type: str
"""

import base64
import binascii

from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys


def ssh_public_key(private_key, encoded=False, comment=""):
    if private_key is None or (isinstance(private_key, (str, bytes)) and not private_key.strip()):
        raise AnsibleFilterError("ssh_public_key: no private key given (the input is empty)")
    if isinstance(private_key, str):
        data = private_key.encode("utf-8", "surrogateescape")
    elif isinstance(private_key, bytes):
        data = private_key
    else:
        raise AnsibleFilterError(f"ssh_public_key: the private key must be a string, not {type(private_key).__name__}")
    if encoded:
        try:
            data = base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise AnsibleFilterError("ssh_public_key: the input is not base64 (encoded=true)") from None
    if not ssh_keys.HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError("ssh_public_key needs the Python library cryptography on the controller")
    try:
        key = ssh_keys.load_private(data)
    except ssh_keys.SSHKeyError as exc:
        raise AnsibleFilterError(f"ssh_public_key: {exc}") from None
    try:
        return ssh_keys.public_line(key, str(comment or ""))
    except Exception:  # noqa: BLE001 - a key type without an OpenSSH public form; the message names no material
        raise AnsibleFilterError("ssh_public_key: the key has no OpenSSH public key form") from None


class FilterModule:
    def filters(self):
        return {"ssh_public_key": ssh_public_key}
