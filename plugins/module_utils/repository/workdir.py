# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The private clone of the config repository (``config_repo_workdir``): which directories the collection may
reset, and the refresh to the remote branch.

Refreshing resets the clone (``checkout -f``, ``reset --hard``, ``clean -fdx``), so it only ever runs on a
directory the collection made: one holding the marker ``.git/tidepool-eks-workdir`` it writes when it creates the
clone. A clone made by an older version (no marker) is adopted when it lies under the default cache directory
(``~/.cache/tidepool-eks/checkouts``) and its ``origin`` is the configured repository; anything else (someone's
checkout, a ``git worktree``, a non-empty directory that is not a repository) is refused, naming
``config_repo_workdir``. Nothing is ever removed with ``rm -rf``. The clone keeps ``core.symlinks=false``: a link
committed into the repository is checked out as a plain file. Raises :class:`WorkdirError` (one sentence, the URL's
credentials never in it).
"""
from __future__ import annotations

import os
import subprocess

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.repository import credentials
from ansible_collections.tidepool.eks.plugins.module_utils.repository.credentials import Remote

MARKER = "tidepool-eks-workdir"
DEFAULT_CACHE = "~/.cache/tidepool-eks/checkouts"


class WorkdirError(TidepoolError):
    """config_repo_workdir is not the collection's, or the config repository cannot be read."""


def git(wd: str, *args: str, remote: Remote | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``git -C wd [credential options] args`` (text); raises :class:`WorkdirError` on failure when ``check``."""
    env = dict(os.environ, **(remote.env() if remote else {"GIT_TERMINAL_PROMPT": "0"}))
    argv = ["git", "-C", wd, *(remote.git_args() if remote else []), *args]
    res = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if check and res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["exit %d" % res.returncode])[-1]
        raise WorkdirError(f"git {args[0]} in {wd} failed: {(remote or Remote(wd)).redact(last)}")
    return res


def _marker(wd: str) -> str:
    return os.path.join(wd, ".git", MARKER)


def _refuse(wd: str, why: str) -> WorkdirError:
    return WorkdirError(
        f"config_repo_workdir: {wd} {why}; the collection only resets the private clones it created. Point "
        f"config_repo_workdir at a new or empty directory (or leave it at its default under {DEFAULT_CACHE})")


def classify(wd: str, remote: Remote, cache: str = DEFAULT_CACHE) -> str:
    """-> ``"absent"`` (missing or empty: the collection creates the clone), ``"ours"`` (has the marker) or
    ``"adoptable"`` (an older version's clone, see the module docstring). Raises :class:`WorkdirError` otherwise."""
    if not os.path.lexists(wd):
        return "absent"
    if not os.path.isdir(wd):
        raise _refuse(wd, "is not a directory")
    dotgit = os.path.join(wd, ".git")
    if not os.path.lexists(dotgit):
        if os.listdir(wd):
            raise _refuse(wd, "is a non-empty directory that is not a git repository")
        return "absent"
    if not os.path.isdir(dotgit) or os.path.islink(dotgit):
        raise _refuse(wd, "is a git worktree or submodule checkout (its .git is not a directory)")
    if os.path.isfile(_marker(wd)):
        return "ours"
    real_cache = os.path.realpath(os.path.expanduser(cache))
    origin = git(wd, "config", "--get", "remote.origin.url", check=False).stdout.strip()
    under_cache = os.path.realpath(wd).startswith(real_cache + os.sep)
    if under_cache and origin and credentials.split(origin).public == remote.public:
        return "adoptable"
    raise _refuse(wd, "is a git repository the collection did not create (no .git/" + MARKER + ")")


def prepare(wd: str, state: str) -> None:
    """Make ``wd`` (as classified) a marked clone: ``git init`` when absent, the marker when adopted."""
    if state == "absent":
        os.makedirs(wd, exist_ok=True)
        git(wd, "init", "-q")
    if state in ("absent", "adoptable"):
        with open(_marker(wd), "w", encoding="utf-8") as fh:
            fh.write("Private clone of tidepool.eks (config_repo_workdir): reset to the remote branch on every run.\n")


def refresh(wd: str, remote: Remote, branch: str) -> str:
    """Point ``origin`` of the marked clone ``wd`` at the public URL, fetch ``branch`` and reset the clone to it (or
    start the branch from nothing when the remote has none). -> the commit checked out ("" for a new branch)."""
    if not os.path.isfile(_marker(wd)):  # every caller classified first; this guards the reset itself
        raise _refuse(wd, "has no .git/" + MARKER)
    git(wd, "config", "core.symlinks", "false")
    if git(wd, "remote", "get-url", "origin", check=False).returncode == 0:
        git(wd, "remote", "set-url", "origin", remote.public)
    else:
        git(wd, "remote", "add", "origin", remote.public)
    heads = git(wd, "ls-remote", "--heads", "origin", f"refs/heads/{branch}", remote=remote, check=False)
    if heads.returncode != 0:
        last = (heads.stderr.strip().splitlines() or ["git ls-remote failed"])[-1]
        raise WorkdirError(f"config_repo_url: cannot read {remote.public} ({remote.redact(last)}). Check the URL and "
                           f"your git credentials (ssh-agent, credential helper, or https://user:token@ in the URL)")
    if heads.stdout.strip():
        git(wd, "fetch", "-q", "--prune", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}", remote=remote)
        git(wd, "checkout", "-q", "-f", "-B", branch, f"origin/{branch}")
        git(wd, "reset", "-q", "--hard", f"origin/{branch}")
        _unlink_checked_out_links(wd)
    else:
        # A new repository, or one recreated empty while this clone kept the branch from before.
        git(wd, "checkout", "-q", "-f", "--detach", check=False)
        git(wd, "branch", "-q", "-D", branch, check=False)
        git(wd, "checkout", "-q", "-f", "--orphan", branch)
        git(wd, "rm", "-rq", "--cached", "--ignore-unmatch", ".")
    git(wd, "clean", "-qfdx")
    return git(wd, "rev-parse", "-q", "--verify", "HEAD", check=False).stdout.strip()


def _unlink_checked_out_links(wd: str) -> None:
    """Links a clone made before ``core.symlinks=false`` still holds on disk: checked out again as plain files."""
    staged = git(wd, "ls-files", "-s", "-z").stdout.split("\0")
    links = [e.split("\t", 1)[1] for e in staged if e.startswith("120000 ")]
    stale = [p for p in links if os.path.islink(os.path.join(wd, p))]
    for path in stale:
        os.unlink(os.path.join(wd, path))
    if stale:
        git(wd, "checkout", "-q", "-f", "--", *stale)
