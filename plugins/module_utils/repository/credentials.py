# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Credentials of a config repository URL, kept out of sight.

An ``https://user:token@host/org/repo.git`` URL is split into the public URL (what git stores in the clone's
``.git/config`` and what messages show) and the credentials, which reach git only through the environment of its
process: a credential helper given with ``-c`` reads them from ``TIDEPOOL_EKS_GIT_USERNAME`` and
``TIDEPOOL_EKS_GIT_PASSWORD``. Nothing is written to disk and no command line carries the token.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

# Only http(s) URLs carry credentials in their userinfo; in ssh://git@host/... the user is the ssh login.
_USERINFO = re.compile(r"^(?P<scheme>https?://)(?P<userinfo>[^/@]*)@(?P<rest>.*)$", re.S | re.I)

# A credential helper (the `!` form is run by the shell) answering `get` from the environment of the git process.
_HELPER = ('!f() { test "$1" = get || exit 0; printf "username=%s\\npassword=%s\\n" '
           '"$TIDEPOOL_EKS_GIT_USERNAME" "$TIDEPOOL_EKS_GIT_PASSWORD"; }; f')


@dataclass
class Remote:
    """``public``: the URL without userinfo; ``username``/``password``: decoded, None when the URL had none."""
    public: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def has_credentials(self) -> bool:
        return self.username is not None

    def git_args(self) -> list[str]:
        """``-c`` options placed before a git subcommand that talks to the remote (only with credentials: the
        other helpers are reset so the URL's credentials win)."""
        if not self.has_credentials:
            return []
        return ["-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"]

    def env(self) -> dict:
        """Environment of a git process talking to the remote (never prompts)."""
        env = {"GIT_TERMINAL_PROMPT": "0"}
        if self.has_credentials:
            env.update(TIDEPOOL_EKS_GIT_USERNAME=self.username, TIDEPOOL_EKS_GIT_PASSWORD=self.password or "")
        return env

    def redact(self, text: str) -> str:
        """``text`` with any userinfo of a URL, and the password itself, replaced by ``***``."""
        text = text or ""
        secret = self.password or self.username  # https://<token>@host/...: the user name is the token
        if secret:
            text = text.replace(secret, "***")
        return re.sub(r"(//)[^/@\s]+@", r"\1***@", text)


def with_userinfo(public: str, userinfo: str) -> Remote:
    """:class:`Remote` of the public URL ``public`` and the raw ``user[:password]`` of the URL it came from."""
    return split(public.replace("://", f"://{userinfo}@", 1) if userinfo else public)


def split(url: str) -> Remote:
    """-> :class:`Remote` of ``url`` (http(s)://[user[:password]@]host/...; any other form is used as given)."""
    m = _USERINFO.match(url or "")
    if not m:
        return Remote(public=url)
    user, _sep, password = m.group("userinfo").partition(":")
    return Remote(public=m.group("scheme") + m.group("rest"), username=unquote(user), password=unquote(password))
