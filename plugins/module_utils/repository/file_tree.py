# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Plan and apply writing a tree of text files under a root directory (the config repo checkout).

``plan(root, files, prune)`` compares ``files`` (``{relative path: text}``) with the disk and returns a
:class:`TreePlan` (paths to create, update, remove, keep); ``apply(plan)`` performs it with atomic writes.
Files under the ``prune`` sub-directories that are not in ``files`` are removed (the directories a renderer
owns entirely). No path goes through a symbolic link or leaves the root (``safe_path.inside``): a link committed
into the config repository is refused by name before anything is read, written or deleted. No network, no Ansible:
unit-tested in tests/unit/plugins/module_utils/repository/test_file_tree.py.
"""
from __future__ import annotations

import fnmatch
import os
import tempfile
from dataclasses import dataclass, field

from ansible_collections.tidepool.eks.plugins.module_utils.common import plan as base
from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.repository import safe_path


class TreeError(TidepoolError, ValueError):
    """Bad input (a path that is absolute, escapes the root, or is not text), or the tree cannot be written."""


@dataclass
class TreePlan(base.Plan):
    root: str
    files: dict
    mode: int = 0o644
    create: list = field(default_factory=list)
    update: list = field(default_factory=list)
    remove: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    before: dict = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.create or self.update or self.remove)

    def diff(self) -> list[dict]:
        """Ansible diff entries (one per changed file)."""
        out = []
        for rel in self.create:
            out.append({"before_header": f"{rel} (absent)", "after_header": rel, "before": "", "after": self.files[rel]})
        for rel in self.update:
            out.append({"before_header": rel, "after_header": rel, "before": self.before[rel], "after": self.files[rel]})
        for rel in self.remove:
            out.append({"before_header": rel, "after_header": f"{rel} (absent)", "before": self.before[rel], "after": ""})
        return out


def _check_rel(rel: str) -> str:
    if not isinstance(rel, str) or not rel or os.path.isabs(rel):
        raise TreeError(f"files: {rel!r} must be a relative path")
    norm = os.path.normpath(rel)
    if norm.startswith("..") or norm != rel.rstrip("/"):
        raise TreeError(f"files: {rel!r} must be a normalised path inside the root (no '..', no '//')")
    return norm


def _read(path: str):
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return "<binary>"


def plan(root: str, files: dict, prune: list | None = None, mode: int = 0o644, keep: list | None = None,
         prune_match: str = "*") -> TreePlan:
    """Compare ``files`` with what is under ``root``. Raises TreeError on bad input and
    :class:`safe_path.UnsafePathError` on a path through a symbolic link (both before any change).

    Under the ``prune`` sub-directories, files whose name matches ``prune_match`` (fnmatch) that are neither in
    ``files`` nor in ``keep`` (relative paths) are removed."""
    root = os.path.abspath(root)
    checked = {}
    for rel, text in files.items():
        norm = _check_rel(rel)
        if not isinstance(text, str):
            raise TreeError(f"files: content of {rel!r} must be text")
        safe_path.inside(root, norm)
        checked[norm] = text
    p = TreePlan(root=root, files=checked, mode=mode)
    for rel in sorted(checked):
        current = _read(os.path.join(root, rel))
        if current is None:
            p.create.append(rel)
        elif current != checked[rel]:
            p.update.append(rel)
            p.before[rel] = current
        else:
            p.unchanged.append(rel)
    kept = set(checked) | {os.path.normpath(k) for k in keep or []}
    for sub in prune or []:
        sub = _check_rel(sub)
        top = safe_path.inside(root, sub)
        for dirpath, dirs, names in os.walk(top):
            for name in dirs + names:  # os.walk lists links to directories among dirs (and does not enter them)
                safe_path.inside(root, os.path.relpath(os.path.join(dirpath, name), root))
            for name in names:
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if rel not in kept and fnmatch.fnmatchcase(name, prune_match):
                    p.remove.append(rel)
                    p.before[rel] = _read(os.path.join(root, rel)) or ""
    p.remove.sort()
    return p


def apply(p: TreePlan) -> None:
    """Write created/updated files atomically (temp file + rename) and delete removed ones. Raises
    :class:`TreeError` ``root: cannot write under <root>: <reason>`` when the disk refuses."""
    try:
        _apply(p)
    except (OSError, safe_path.UnsafePathError) as exc:  # the tree changed since the plan
        raise TreeError(f"root: cannot write under {p.root}: {exc}") from None


def _apply(p: TreePlan) -> None:
    for rel in p.create + p.update + p.remove:  # again: the tree may have changed since the plan
        safe_path.inside(p.root, rel)
    for rel in p.create + p.update:
        path = os.path.join(p.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(p.files[rel])
            os.chmod(tmp, p.mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    for rel in p.remove:
        path = os.path.join(p.root, rel)
        os.unlink(path)
        # Drop directories the removal emptied, up to the root.
        d = os.path.dirname(path)
        while d != p.root and d.startswith(p.root) and not os.listdir(d):
            os.rmdir(d)
            d = os.path.dirname(d)
