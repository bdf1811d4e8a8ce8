# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The host of a git URL, parsed as git reads it, for exact comparisons (never a substring search).

Forms (git-clone(1) "GIT URLS"): ``scheme://[user[:password]@]host[:port]/path`` (``ssh``, ``git``, ``http``,
``https``; parsed with :func:`urllib.parse.urlsplit`) and the scp-like ``[user@]host:path`` (no slash before the
first colon). ``git@github.com.evil.example:o/r.git`` is on ``github.com.evil.example``, not on ``github.com``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

#: scp-like syntax: ``[user@]host:path`` where the path does not start with ``//``.
_SCP_RE = re.compile(r"^(?:(?P<user>[^@/\s:]+)@)?(?P<host>[^@/\s:\[\]]+):(?!//)(?P<path>.*)$")
#: A DNS name or an IPv4 address (letters, digits, ``-`` and ``.``), or a bracketed IPv6 literal.
_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$")

#: The host names of github.com's git service (``ssh.github.com`` is its SSH-over-443 endpoint).
GITHUB_HOSTS = ("github.com", "www.github.com", "ssh.github.com")


class GitUrlError(ValueError):
    """A URL whose host cannot be read unambiguously (the message names the URL without its credentials)."""


def _shown(url: str) -> str:
    return re.sub(r"(//)[^/@\s]*@", r"\1", url)


def host(url: str) -> str | None:
    """Lower-case host of ``url``; None for a URL without one (a local path, ``file://``, an ``owner/name``
    short form). Raises GitUrlError for a URL whose authority holds characters git and HTTP clients read
    differently (a backslash, whitespace) or a host that is not a DNS name / IP literal."""
    text = (url or "").strip()
    if "://" in text:
        if "\\" in text.split("://", 1)[1].split("/", 1)[0] or re.search(r"\s", text):
            raise GitUrlError(f"{_shown(text)!r}: the URL's host cannot be read unambiguously.")
        parts = urlsplit(text)
        if parts.scheme.lower() == "file":
            return None
        name = (parts.hostname or "").lower()
        if parts.netloc.rsplit("@", 1)[-1].startswith("["):
            name = f"[{name}]"
    else:
        match = _SCP_RE.match(text)
        if not match or "/" in text.split(":", 1)[0]:
            return None
        name = match["host"].lower()
    if not _HOST_RE.match(name):
        raise GitUrlError(f"{_shown(text)!r}: {name!r} is not a host name.")
    return name


def is_github(url: str) -> bool:
    """Whether ``url`` is a repository on github.com itself (its host is exactly one of :data:`GITHUB_HOSTS`)."""
    try:
        return host(url) in GITHUB_HOSTS
    except GitUrlError:
        return False


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` has the scheme, host and port of ``base`` (both ``scheme://host[:port]/...``)."""
    a, b = urlsplit(url or ""), urlsplit(base or "")
    if not a.scheme or not a.hostname or "\\" in (a.netloc or "") or "@" in (a.netloc or ""):
        return False
    default = {"http": 80, "https": 443}
    try:
        ports = [p.port or default.get(p.scheme.lower()) for p in (a, b)]
    except ValueError:  # a port that is not a number
        return False
    return (a.scheme.lower(), a.hostname.lower(), ports[0]) == (b.scheme.lower(), (b.hostname or "").lower(), ports[1])
