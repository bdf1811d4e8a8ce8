# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""Pushing the collection's commit to the config repository, when other runs push too.

Clusters sharing one repository each commit under their own ``clusters/<cluster>``; when two runs push at once,
one loses (non-fast-forward). The loser fetches the branch, rebases its own commits onto it and pushes again, up to
``retries`` times. A rebase conflict (someone changed the same files) or any other refusal is one
:class:`PushError` naming the branch; the clone is left at the collection's commit (the next run resets it).
"""
from __future__ import annotations

import time

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.repository.credentials import Remote
from ansible_collections.tidepool.eks.plugins.module_utils.repository.workdir import git


class PushError(TidepoolError):
    """The push was refused for another reason than a lost race, or the race was lost ``retries`` times."""


def push(wd: str, remote: Remote, branch: str, retries: int = 3, author: tuple = ("tidepool.eks", ""),
         pause: float = 0.5) -> dict:
    """Push ``HEAD`` of the clone ``wd`` to ``branch`` of origin -> ``{"attempts": n, "rebased": n, "head": sha}``.

    ``author``: (name, email) of the rebased commits' committer. Raises :class:`PushError`."""
    rebased = 0
    for attempt in range(1, retries + 2):
        res = git(wd, "push", "-q", "--porcelain", "origin", f"HEAD:refs/heads/{branch}", remote=remote, check=False)
        if res.returncode == 0:
            head = git(wd, "rev-parse", "HEAD").stdout.strip()
            return {"attempts": attempt, "rebased": rebased, "head": head}
        reason = remote.redact((res.stderr.strip().splitlines() or res.stdout.strip().splitlines() or ["?"])[-1])
        git(wd, "fetch", "-q", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}", remote=remote,
            check=False)
        behind = git(wd, "merge-base", "--is-ancestor", f"origin/{branch}", "HEAD", check=False).returncode != 0
        known = git(wd, "rev-parse", "-q", "--verify", f"origin/{branch}", check=False).returncode == 0
        if not (known and behind):
            raise PushError(f"Pushing to branch {branch} of the config repository {remote.public} was rejected "
                            f"({reason})")
        if attempt > retries:
            break
        name, email = author
        rb = git(wd, "-c", f"user.name={name}", "-c", f"user.email={email}", "rebase", "-q", f"origin/{branch}",
                 check=False)
        if rb.returncode != 0:
            conflicts = git(wd, "diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
            git(wd, "rebase", "--abort", check=False)
            raise PushError(
                f"Branch {branch} of the config repository {remote.public} changed meanwhile in the files this run "
                f"changed too ({', '.join(conflicts) or 'rebase failed'}); nothing was pushed. Run the play again: "
                f"it starts from the remote branch")
        rebased += 1
        time.sleep(pause * attempt)
    raise PushError(f"Pushing to branch {branch} of the config repository {remote.public} lost the race with other "
                    f"pushes {retries + 1} times (config_repo_push_retries: {retries}); run the play again")
