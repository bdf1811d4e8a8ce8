# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Certificate and key files on disk: their state, atomic writes, modes and names.

Used by the Tiller CA stores (:mod:`gitops.flux_v1.ca_store`) and the Tiller TLS plan (:mod:`helm_tls`). Keys and certificates
are written ``0600``, and every directory this creates on the way to them ``0700`` (not only the last one: the
PKI is readable by the runner's user alone); directories that exist are left as they are. A write goes through a
temporary file in the same directory, so a reader never sees half a file.
"""
from __future__ import annotations

import os
import stat
import tempfile

from ansible_collections.tidepool.eks.plugins.module_utils.crypto.pki import HelmTLSError

CERT_MODE = 0o600
KEY_MODE = 0o600
DIR_MODE = 0o700

#: File names in every destination directory (Helm 2's default TLS file names).
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"


def file_state(path: str) -> dict:
    """``{"exists": bool, "mode": "0600" | None, "content": bytes | None}`` of a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {"exists": False, "mode": None, "content": None}
    if not stat.S_ISREG(st.st_mode):
        raise HelmTLSError(f"{path} exists and is not a regular file; move it away and run again.")
    with open(path, "rb") as handle:
        content = handle.read()
    return {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "content": content}


def make_dirs(directory: str) -> list[str]:
    """Create ``directory`` and every missing parent, each ``0700`` whatever the umask (``os.makedirs`` gives
    its ``mode`` to the last one only); existing directories keep their mode. Returns the directories created,
    outermost first. Raises OSError (e.g. a component that is a file)."""
    missing = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = []
    for path in reversed(missing):
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
        created.append(path)
    return created


def write_atomic(path: str, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory, born with ``mode``;
    missing directories are created ``0700`` (:func:`make_dirs`)."""
    directory = os.path.dirname(path) or "."
    make_dirs(directory)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def set_mode(path: str, mode: int) -> None:
    os.chmod(path, mode)
