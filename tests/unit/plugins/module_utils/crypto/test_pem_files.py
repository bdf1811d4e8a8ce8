"""Unit tests of the certificate file helpers (plugins/module_utils/crypto/pem_files.py)."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pem_files, pki


def test_write_atomic_creates_directories_and_sets_the_mode(tmp_path):
    path = tmp_path / "a" / "b" / "key.pem"
    pem_files.write_atomic(str(path), b"one", pem_files.KEY_MODE)
    assert path.read_bytes() == b"one"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    pem_files.write_atomic(str(path), b"two", pem_files.CERT_MODE)
    assert path.read_bytes() == b"two" and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(os.listdir(path.parent)) == ["key.pem"]  # no temporary file left behind


def test_file_state(tmp_path):
    path = tmp_path / "cert.pem"
    assert pem_files.file_state(str(path)) == {"exists": False, "mode": None, "content": None}
    path.write_bytes(b"pem")
    os.chmod(path, 0o640)
    assert pem_files.file_state(str(path)) == {"exists": True, "mode": "0640", "content": b"pem"}


def test_not_a_regular_file(tmp_path):
    (tmp_path / "cert.pem").mkdir()
    with pytest.raises(pki.HelmTLSError, match="not a regular file"):
        pem_files.file_state(str(tmp_path / "cert.pem"))
