# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The secret manifest files ``tidepool.eks.external_secret`` writes under ``dest``: one
``<dest>/<namespace>/<name>.yaml`` per Secret, planned (what differs), written atomically, shown as a diff.

No file is read, written or removed through a symbolic link: below ``dest``, and, when ``dest`` is inside a git work
tree (the config repository clone), from the top of that work tree down (``repository.safe_path``)."""
from __future__ import annotations

import os
import tempfile

from ansible_collections.tidepool.eks.plugins.module_utils.repository import safe_path

try:
    import yaml
except ImportError:  # pragma: no cover - Ansible itself needs PyYAML
    yaml = None


def manifest_path(dest: str, doc) -> str:
    """``<dest>/<namespace>/<name>.yaml`` of a :class:`secrets.documents.SecretDoc`."""
    return os.path.join(dest, doc.namespace, f"{doc.name}.yaml")


def dump_manifest(manifest: dict) -> str:
    """The file text of one manifest: ``---`` then block-style YAML, keys in the manifest's order."""
    return "---\n" + yaml.safe_dump(manifest, default_flow_style=False, sort_keys=False)


def _refuse_links(path: str, dest: str) -> str:
    top = safe_path.enclosing_worktree(dest) or os.path.abspath(dest)
    safe_path.inside(top, os.path.relpath(path, top))
    return path


def checked_path(dest: str, doc) -> str:
    """:func:`manifest_path`, refusing (:class:`safe_path.UnsafePathError`) a path through a symbolic link below
    ``dest`` or, when ``dest`` is inside a git work tree, below the top of that work tree."""
    return _refuse_links(manifest_path(dest, doc), dest)


def plan_files(docs: list, manifests: list, dest: str, present: bool = True) -> list:
    """-> ``[(path, new_text or None (remove), old_text or None (absent))]`` of files that differ. Raises
    :class:`safe_path.UnsafePathError` (before anything is read) for a path through a symbolic link."""
    paths = [checked_path(dest, doc) for doc in docs]
    out = []
    for path, manifest in zip(paths, manifests):
        old = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        new = dump_manifest(manifest) if present else None
        if old != new:
            out.append((path, new, old))
    return out


def write_files(changes: list, mode: int = 0o644) -> None:
    """Write (atomically) or remove the planned files; each path is checked again for links first."""
    for path, _new, _old in changes:
        _refuse_links(path, os.path.dirname(os.path.dirname(path)))  # <dest>/<namespace>/<name>.yaml
    for path, new, _old in changes:
        if new is None:
            if os.path.exists(path):
                os.unlink(path)
            continue
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(new)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def files_diff(changes: list) -> list:
    return [{"before_header": path, "after_header": path, "before": old or "", "after": new or ""}
            for path, new, old in changes]
