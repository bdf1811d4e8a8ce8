# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Filters of the config repository: paths that never go through a symbolic link, and its URL's parts.

- C(repo_safe_paths) checks paths of the clone (no symbolic link, nothing outside it).
- C(git_public_url) is a git URL without the C(user:token@) of an http(s) URL: what task names, messages and
  module options show. C(git_userinfo) is that C(user:token) (percent-encoded, "" without): give it to a module
  option that is C(no_log) (C(flux_bootstrap)'s C(git_userinfo)), never to a task name or a command line.
- C(git_url_host) is the host of a git URL (C(scheme://) or scp-like C(user@host:path)), lower case, "" for a
  local path or an C(owner/name); C(git_url_on_github) is true only when that host is exactly github.com (a
  look-alike such as C(github.com.evil.example) is not).
"""
from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials, git_url, safe_path

_USERINFO = re.compile(r"^https?://([^/@]*)@", re.I)


def repo_safe_paths(paths, root):
    """``paths`` (relative to ``root``) unchanged, after checking that none goes through a symbolic link or leaves
    ``root`` (``repository.safe_path.inside``); else one error naming the path and the link."""
    try:
        return [safe_path.inside(str(root), str(p)) and str(p) for p in paths]
    except safe_path.UnsafePathError as exc:
        raise AnsibleFilterError(str(exc)) from None


def git_public_url(url):
    """``url`` without the credentials of an ``http(s)://user:token@host/...`` URL (any other form unchanged)."""
    return credentials.split(str(url or "")).public


def git_userinfo(url):
    """The raw ``user:token`` of an ``http(s)://user:token@host/...`` URL, "" without."""
    match = _USERINFO.match(str(url or ""))
    return match.group(1) if match else ""


def git_url_host(url):
    """Lower-case host of a git URL, "" when it has none. Raises AnsibleFilterError for an ambiguous URL."""
    try:
        return git_url.host(str(url or "")) or ""
    except git_url.GitUrlError as exc:
        raise AnsibleFilterError(str(exc)) from None


def git_url_on_github(url):
    """True when the URL's host is exactly github.com (www., ssh.); an ``owner/name`` short form is not a URL."""
    return git_url.is_github(str(url or ""))


class FilterModule:
    def filters(self):
        return {"repo_safe_paths": repo_safe_paths, "git_public_url": git_public_url, "git_userinfo": git_userinfo,
                "git_url_host": git_url_host, "git_url_on_github": git_url_on_github}
