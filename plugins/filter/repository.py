# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the config repository clone: paths that never go through a symbolic link."""
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.module_utils.repository import safe_path


def repo_safe_paths(paths, root):
    """``paths`` (relative to ``root``) unchanged, after checking that none goes through a symbolic link or leaves
    ``root`` (``repository.safe_path.inside``); else one error naming the path and the link."""
    try:
        return [safe_path.inside(str(root), str(p)) and str(p) for p in paths]
    except safe_path.UnsafePathError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"repo_safe_paths": repo_safe_paths}
