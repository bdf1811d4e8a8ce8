# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The lock on a private clone of the config repository: one ``ansible-playbook`` run at a time.

The lock is a directory ``<parent>/.<name>.lock`` beside the clone (``mkdir`` is atomic on every file system),
holding ``owner``: the process id and start time of the ``ansible-playbook`` process that took it, the machine and the
inventory host. It is held until that process ends: a later step of the same run (secrets after config) finds it its
own; another process waits for it, up to a timeout; a lock whose process is gone (the run ended or was killed) is
taken over. Two hosts of the same run cannot share a clone (their tasks run side by side): that is one clear error.
No Ansible: unit-tested in tests/unit/plugins/module_utils/repository/test_lock.py.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError


class LockError(TidepoolError):
    """The clone is locked by another run past the timeout, or shared by two hosts of this run."""


@dataclass
class Owner:
    pid: int
    started: str
    machine: str
    host: str

    def describe(self) -> str:
        return (f"ansible-playbook process {self.pid} on {self.machine} (inventory host {self.host}, "
                f"since {self.started})")


def _ps(pid: int, *fields: str) -> str:
    """``ps`` columns of ``pid`` without headers ("" when there is no such process)."""
    argv = ["ps", *[a for f in fields for a in ("-o", f"{f}=")], "-p", str(pid)]
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def run_pid() -> int:
    """The ``ansible-playbook`` process this module runs under (the outermost ancestor whose command line names it:
    the workers are its forks); the parent process when there is none (a core called outside Ansible)."""
    pid, found = os.getppid(), None
    for _hop in range(32):
        line = _ps(pid, "ppid", "args")
        if not line:
            break
        ppid, _sep, args = line.partition(" ")
        if "ansible-playbook" in args:
            found = pid
        elif found:
            break
        if not ppid.strip().isdigit() or int(ppid) <= 1:
            break
        pid = int(ppid)
    return found or os.getppid()


def owner_of_this_run(host: str) -> Owner:
    pid = run_pid()
    return Owner(pid=pid, started=_ps(pid, "lstart"), machine=socket.gethostname(), host=host)


def lock_path(workdir: str) -> str:
    workdir = os.path.abspath(workdir)
    return os.path.join(os.path.dirname(workdir), f".{os.path.basename(workdir)}.lock")


def _read(path: str) -> Owner | None:
    try:
        with open(os.path.join(path, "owner"), encoding="utf-8") as fh:
            return Owner(**json.load(fh))
    except (OSError, ValueError, TypeError):
        return None


def _alive(owner: Owner) -> bool:
    if owner.machine != socket.gethostname():
        return True  # another machine's process (a shared disk): never taken over
    if _ps(owner.pid, "stat").startswith("Z"):
        return False  # a zombie: the run has ended, its parent has not reaped it yet
    if owner.started:  # the same pid may have been given to a new process since: compare the start time too
        return _ps(owner.pid, "lstart") == owner.started
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def acquire(workdir: str, me: Owner, wait: float, poll: float = 1.0) -> Owner | None:
    """Take the lock of ``workdir`` for ``me``; -> None when taken (or already ours), else (``wait`` 0) the owner
    holding it. Waits up to ``wait`` seconds for another run; raises :class:`LockError` past it, or at once when a
    different host of the same run holds it. Creates the parent directory."""
    path = lock_path(workdir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            owner = _read(path)
            if owner is None:  # being written by the run that just made it, or left half-made: look again
                if time.monotonic() > deadline + 5:
                    _break(path, None)
                time.sleep(min(poll, 0.2))
                continue
            if (owner.pid, owner.started, owner.machine) == (me.pid, me.started, me.machine):
                if owner.host == me.host:
                    return None
                raise LockError(
                    f"config_repo_workdir: {workdir} is the private clone of inventory host {owner.host} in this same "
                    f"run; two hosts cannot share one clone. Leave config_repo_workdir at its default (one clone per "
                    f"cluster and repository) or give each host its own")
            if not _alive(owner):
                _break(path, owner)
                continue
            if wait <= 0:
                return owner
            if time.monotonic() >= deadline:
                raise LockError(
                    f"config_repo_workdir: {workdir} is still locked by {owner.describe()} after "
                    f"{int(wait)} s (config_repo_lock_timeout). Wait for that run to end and run again; if no such "
                    f"run exists, remove {path}")
            time.sleep(poll)
            continue
        tmp = os.path.join(path, "owner.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(asdict(me), fh)
        os.replace(tmp, os.path.join(path, "owner"))
        return None


def _break(path: str, seen: Owner | None) -> None:
    """Remove an abandoned lock held by ``seen``: renamed first, and put back when another run took it over in
    between (so two runs taking over the same lock never remove each other's new one)."""
    stale = f"{path}.stale-{os.getpid()}"
    try:
        os.rename(path, stale)
    except OSError:
        return
    if _read(stale) != seen:
        try:
            os.rename(stale, path)
            return
        except OSError:
            pass
    shutil.rmtree(stale, ignore_errors=True)
