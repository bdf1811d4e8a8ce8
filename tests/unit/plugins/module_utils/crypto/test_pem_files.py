"""Unit tests of the certificate file helpers (plugins/module_utils/crypto/pem_files.py)."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.crypto import pem_files, pki


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_atomic_creates_every_directory_0700_and_files_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "a" / "b" / "c" / "key.pem"
        pem_files.write_atomic(str(path), b"one", pem_files.KEY_MODE)
    finally:
        os.umask(old)
    assert path.read_bytes() == b"one"
    assert mode(path) == 0o600
    assert [mode(tmp_path / d) for d in ("a", "a/b", "a/b/c")] == [0o700] * 3  # not only the last one
    pem_files.write_atomic(str(path), b"two", pem_files.CERT_MODE)
    assert path.read_bytes() == b"two" and mode(path) == 0o600
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


def test_make_dirs_leaves_existing_directories_alone(tmp_path):
    os.chmod(tmp_path, 0o755)
    (tmp_path / "home").mkdir(mode=0o750)
    os.chmod(tmp_path / "home", 0o750)
    created = pem_files.make_dirs(str(tmp_path / "home" / "clusters" / "c1"))
    assert created == [str(tmp_path / "home" / "clusters"), str(tmp_path / "home" / "clusters" / "c1")]
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "home") == 0o750
    assert mode(tmp_path / "home" / "clusters") == 0o700 and mode(tmp_path / "home" / "clusters" / "c1") == 0o700
    assert pem_files.make_dirs(str(tmp_path / "home" / "clusters" / "c1")) == []


def test_make_dirs_refuses_a_file_on_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OSError):
        pem_files.make_dirs(str(tmp_path / "f" / "d"))
