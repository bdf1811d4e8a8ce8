"""Unit tests of the tidepool.eks.ssh_public_key filter (plugins/filter/ssh.py)."""
from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization

from ansible_collections.tidepool.eks.plugins.filter import ssh as filters
from ansible_collections.tidepool.eks.plugins.module_utils.crypto import ssh_keys


@pytest.mark.parametrize("key_type,bits", [("ed25519", 0), ("rsa", 2048)])
def test_public_line_of_openssh_key_plain_and_base64(key_type, bits):
    private, public = ssh_keys.generate(key_type, bits=bits or ssh_keys.DEFAULT_RSA_BITS)
    assert filters.ssh_public_key(private.decode()) == public
    assert filters.ssh_public_key(private) == public
    assert filters.ssh_public_key(base64.b64encode(private).decode(), encoded=True) == public
    assert filters.ssh_public_key(private.decode(), comment="flux@test1") == f"{public} flux@test1"
    assert ssh_keys.material(public) == public  # no comment unless asked


def test_pem_private_key():
    private, public = ssh_keys.generate("rsa", bits=2048)
    key = ssh_keys.load_private(private)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert filters.ssh_public_key(pem) == public


def test_registered_via_filter_module():
    assert filters.FilterModule().filters()["ssh_public_key"] is filters.ssh_public_key


def _secret_parts(private: bytes) -> list[str]:
    """Every line of the key body (what must never appear in a message)."""
    return [line for line in private.decode().splitlines() if line and not line.startswith("-----")]


@pytest.mark.parametrize("mangle", [
    lambda p: p[: len(p) // 2],                                   # truncated
    lambda p: p.replace(b"OPENSSH PRIVATE KEY", b"SOMETHING ELSE"),  # not a key header
    lambda p: p[:60] + b"!!!!" + p[64:],                          # corrupted body
])
def test_bad_key_error_never_contains_the_key(mangle):
    private, _ = ssh_keys.generate("ed25519")
    bad = mangle(private)
    for value, kw in ((bad.decode(errors="replace"), {}), (base64.b64encode(bad).decode(), {"encoded": True})):
        with pytest.raises(AnsibleFilterError) as err:
            filters.ssh_public_key(value, **kw)
        msg = str(err.value)
        assert msg.startswith("ssh_public_key: ")
        assert not any(part in msg for part in _secret_parts(private))
        assert value not in msg and "PRIVATE KEY" not in msg
        assert err.value.__cause__ is None and err.value.__suppress_context__


@pytest.mark.parametrize("value,kw,expected", [
    (None, {}, "the input is empty"),
    ("", {}, "the input is empty"),
    ("   \n", {}, "the input is empty"),
    (12, {}, "must be a string, not int"),
    ("not base64 at all!", {"encoded": True}, "not base64"),
    ("c3NoLWVkMjU1MTkgQUFBQQ==", {"encoded": True}, "not an unencrypted OpenSSH or PEM private key"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", {},
     "not an unencrypted OpenSSH or PEM private key"),  # a public key is not a private key
])
def test_bad_input(value, kw, expected):
    with pytest.raises(AnsibleFilterError, match=expected) as err:
        filters.ssh_public_key(value, **kw)
    if isinstance(value, str) and value.strip():
        assert value.strip() not in str(err.value)


def test_encrypted_key_is_refused_without_showing_it():
    key = ssh_keys.load_private(ssh_keys.generate("ed25519")[0])
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"pw")).decode()
    assert "ENCRYPTED PRIVATE KEY" in encrypted
    with pytest.raises(AnsibleFilterError, match="not an unencrypted") as err:
        filters.ssh_public_key(encrypted)
    assert not any(part in str(err.value) for part in _secret_parts(encrypted.encode()))
