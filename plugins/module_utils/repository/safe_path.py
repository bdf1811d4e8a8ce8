# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Paths inside a config repository clone that never lead out of it.

A config repository is written by other people (and by Flux's image automation): a committed symbolic link such as
``clusters/<cluster>/flux/shared -> ~/somewhere`` must not make a run read, write or delete files outside the clone.
Every path the collection writes or deletes under a root goes through :func:`inside` first: no component from the
root down may be a symbolic link, and the resolved path must stay under the resolved root. The root itself may be
reached through links (``/tmp -> /private/tmp`` on macOS). No Ansible: unit-tested in
tests/unit/plugins/module_utils/repository/test_safe_path.py.
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError


class UnsafePathError(TidepoolError, ValueError):
    """A path under the root goes through a symbolic link, or resolves outside the root."""


def inside(root: str, rel: str) -> str:
    """-> the absolute path of ``rel`` under ``root`` (``rel`` relative, may be ``"."``), after checking that no
    existing component of it below ``root`` is a symbolic link and that it resolves inside ``root``.

    Components that do not exist yet are fine (they are created as plain directories and files). Raises
    :class:`UnsafePathError` naming the path and the link; nothing is read or written.
    """
    root = os.path.abspath(root)
    path = os.path.normpath(os.path.join(root, rel))
    if path != root and not path.startswith(root + os.sep):
        raise UnsafePathError(f"{rel}: resolves outside {root}; refusing to write or delete it")
    current = root
    parts = [p for p in os.path.relpath(path, root).split(os.sep) if p not in ("", ".")]
    for depth, part in enumerate(parts, 1):
        current = os.path.join(current, part)
        if os.path.islink(current):
            shown = os.path.relpath(current, root)
            raise UnsafePathError(
                f"{rel}: {shown} in {root} is a symbolic link (to {os.readlink(current)}); the collection never writes "
                f"or deletes through links. Remove the link from the repository (git rm {shown}) and run again")
        if not os.path.lexists(current):
            break
        if depth < len(parts) and not os.path.isdir(current):
            shown = os.path.relpath(current, root)
            raise UnsafePathError(
                f"{rel}: {shown} in {root} is a file where a directory is expected (a symbolic link committed into "
                f"the repository is checked out as a file holding its target). Remove it from the repository "
                f"(git rm {shown}) and run again")
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise UnsafePathError(f"{rel}: resolves to {real}, outside {root}; refusing to write or delete it")
    return path


def enclosing_worktree(path: str) -> str | None:
    """-> the nearest directory at or above ``path`` (which may not exist yet) that holds a ``.git``, else None."""
    current = os.path.abspath(path)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
