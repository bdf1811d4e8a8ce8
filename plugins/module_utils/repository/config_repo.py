# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The actions of ``tidepool.eks.config_repo_git``: refresh the private clone under its lock, push its commit, read
the remote branch's head.

``params`` is the module's parameter dict (``url`` without credentials, ``userinfo``, ``workdir``, ``branch``,
``host``, ``wait``, ``cache``, ``retries``, ``author_name``, ``author_email``); each function returns the module result. Errors:
:class:`workdir.WorkdirError`, :class:`lock.LockError`, :class:`push.PushError` (all TidepoolError).
"""
from __future__ import annotations

import os

from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials, lock, workdir
from ansible_collections.tidepool.eks.plugins.module_utils.repository import push as pushing

CHECK_SUFFIX = ".check"


def refresh(params: dict, check_mode: bool) -> dict:
    """Lock, classify, (create or adopt), refresh; in check mode the clone refreshed is ``<workdir>.check``."""
    remote = credentials.with_userinfo(params["url"], params["userinfo"])
    wd = params["workdir"]
    busy = lock.acquire(wd, lock.owner_of_this_run(params["host"]), params["wait"])
    if busy is not None:
        return {"changed": False, "busy": busy.describe(), "remote": remote.public}
    state = workdir.classify(wd, remote, params["cache"])
    target = wd
    if check_mode:
        target = wd + CHECK_SUFFIX
        workdir.prepare(target, workdir.classify(target, remote, params["cache"]))
    else:
        workdir.prepare(wd, state)
    head = workdir.refresh(target, remote, params["branch"])
    return {"changed": False, "rc": 0, "busy": "", "checkout": target, "remote": remote.public,
            "workdir_state": state, "head": head}


def push(params: dict, check_mode: bool) -> dict:
    """Push HEAD of ``workdir`` (retrying lost races); nothing in check mode."""
    remote = credentials.with_userinfo(params["url"], params["userinfo"])
    if check_mode:
        return {"changed": False, "remote": remote.public, "attempts": 0}
    done = pushing.push(params["workdir"], remote, params["branch"], params["retries"],
                        (params["author_name"], params["author_email"]))
    return {"changed": True, "remote": remote.public, **done}


def head(params: dict) -> dict:
    """The commit ``branch`` of ``url`` points at (``git ls-remote``, credentials through git's environment only).
    Raises :class:`workdir.WorkdirError` (redacted) when the remote cannot be read or has no such branch."""
    remote = credentials.with_userinfo(params["url"], params["userinfo"])
    ref = f"refs/heads/{params['branch']}"
    out = workdir.git(os.getcwd(), "ls-remote", remote.public, ref, remote=remote, check=False)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["git ls-remote failed"])[-1]
        raise workdir.WorkdirError(f"config_repo_url: cannot read {remote.public} ({remote.redact(last)}).")
    heads = [line.split()[0] for line in out.stdout.splitlines() if line.split()[1:] == [ref]]
    if not heads:
        raise workdir.WorkdirError(f"config_repo_url: {remote.public} has no branch {params['branch']!r}.")
    return {"changed": False, "remote": remote.public, "head": heads[0]}
