"""The private clone: credentials, the marker, the lock, pushes that lose a race (real git, local bare repos)."""
from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.repository import (
    config_repo, credentials, lock, push, workdir)
from tests.support.git_repos import commit_to, git


@pytest.fixture()
def bare(tmp_path):
    path = tmp_path / "repo.git"
    git("init", "-q", "--bare", "--initial-branch", "master", str(path))
    return path


def params(wd, url, **kw):
    remote = credentials.split(url)
    userinfo = f"{remote.username}:{remote.password}" if remote.has_credentials else ""
    return {"url": remote.public, "userinfo": userinfo, "workdir": str(wd), "branch": "master", "host": "h1",
            "wait": 0, "cache": str(wd.parent),
            "retries": 3, "author_name": "t", "author_email": "t@example.com", **kw}


def seed(bare, tmp_path, files: dict, name="seed"):
    """Commit ``files`` to master of ``bare`` (a clone of its own per ``name``)."""
    return commit_to(bare, tmp_path / name, files, name)


# --- credentials -----------------------------------------------------------------------------

def test_https_userinfo_is_split_off_and_redacted():
    r = credentials.split("https://bot:p%40ss@git.example.com/org/repo.git")
    assert r.public == "https://git.example.com/org/repo.git"
    assert (r.username, r.password) == ("bot", "p@ss") and "p@ss" not in repr(r)
    assert r.env()["TIDEPOOL_EKS_GIT_PASSWORD"] == "p@ss" and "p@ss" not in " ".join(r.git_args())
    assert r.redact("fatal: https://bot:p@ss@x/ p@ss") == "fatal: https://***@x/ ***"


@pytest.mark.parametrize("url", ["ssh://git@github.com/org/repo.git", "git@github.com:org/repo.git",
                                 "file:///srv/repo.git", "https://github.com/org/repo.git"])
def test_other_urls_are_used_as_given(url):
    r = credentials.split(url)
    assert r.public == url and not r.has_credentials and r.git_args() == []


# --- the marker ------------------------------------------------------------------------------

def test_the_collection_creates_marks_and_refreshes_its_clone(tmp_path, bare):
    seed(bare, tmp_path, {"a.txt": "a"})
    wd = tmp_path / "cache" / "wd"
    res = config_repo.refresh(params(wd, f"file://{bare}"), check_mode=False)
    assert res["rc"] == 0 and res["workdir_state"] == "absent" and (wd / "a.txt").read_text() == "a"
    assert (wd / ".git" / workdir.MARKER).is_file()
    assert git("-C", str(wd), "config", "core.symlinks").strip() == "false"
    (wd / "stray").write_text("x")
    assert config_repo.refresh(params(wd, f"file://{bare}"), False)["workdir_state"] == "ours"
    assert not (wd / "stray").exists()


@pytest.mark.parametrize("kind", ["someones-clone", "worktree", "non-empty-dir", "clone-elsewhere", "other-origin"])
def test_a_directory_the_collection_did_not_create_is_refused_and_left_alone(tmp_path, bare, kind):
    src = seed(bare, tmp_path, {"a.txt": "a"})
    cache = tmp_path / "cache"
    cache.mkdir()
    if kind == "someones-clone":
        wd = src  # not under the cache
    elif kind == "worktree":
        wd = tmp_path / "wt"
        git("-C", str(src), "worktree", "add", "-q", str(wd))
    elif kind == "non-empty-dir":
        wd = cache / "dir"
        wd.mkdir()
    elif kind == "clone-elsewhere":
        wd = tmp_path / "elsewhere"
        git("clone", "-q", str(bare), str(wd))
    else:
        other = tmp_path / "other.git"
        git("init", "-q", "--bare", str(other))
        wd = cache / "other"
        git("clone", "-q", str(other), str(wd))
    (wd / "work-in-progress").write_text("mine")
    for check_mode in (True, False):
        with pytest.raises(workdir.WorkdirError, match=f"config_repo_workdir: {wd} "):
            config_repo.refresh(params(wd, f"file://{bare}", cache=str(cache)), check_mode)
    assert (wd / "work-in-progress").read_text() == "mine" and not (wd / ".git" / workdir.MARKER).exists()


def test_an_older_clone_under_the_cache_with_the_same_origin_is_adopted(tmp_path, bare):
    seed(bare, tmp_path, {"a.txt": "a"})
    wd = tmp_path / "cache" / "old"
    git("clone", "-q", str(bare), str(wd))
    git("-C", str(wd), "remote", "set-url", "origin", f"file://{bare}")
    res = config_repo.refresh(params(wd, f"file://{bare}"), False)
    assert res["workdir_state"] == "adoptable" and (wd / ".git" / workdir.MARKER).is_file()


def test_check_mode_refreshes_a_second_clone_and_leaves_the_workdir_alone(tmp_path, bare):
    seed(bare, tmp_path, {"a.txt": "a"})
    wd = tmp_path / "cache" / "wd"
    config_repo.refresh(params(wd, f"file://{bare}"), False)
    (wd / "stray").write_text("x")
    seed(bare, tmp_path, {"b.txt": "b"}, name="second")
    res = config_repo.refresh(params(wd, f"file://{bare}"), True)
    assert res["checkout"] == f"{wd}.check" and (tmp_path / "cache/wd.check/b.txt").exists()
    assert (wd / "stray").exists() and not (wd / "b.txt").exists()


def test_a_committed_link_is_checked_out_as_a_plain_file(tmp_path, bare):
    outside = tmp_path / "outside"
    outside.mkdir()
    seed(bare, tmp_path, {"clusters/c/flux/shared": ("link", str(outside))})
    wd = tmp_path / "cache" / "wd"
    config_repo.refresh(params(wd, f"file://{bare}"), False)
    assert not os.path.islink(wd / "clusters/c/flux/shared") and (wd / "clusters/c/flux/shared").is_file()


def test_links_of_a_clone_made_before_are_replaced_by_plain_files(tmp_path, bare):
    outside = tmp_path / "outside"
    outside.mkdir()
    seed(bare, tmp_path, {"clusters/c/flux/shared": ("link", str(outside))})
    wd = tmp_path / "cache" / "wd"
    git("clone", "-q", str(bare), str(wd))  # an older version's clone: links checked out as links
    assert os.path.islink(wd / "clusters/c/flux/shared")
    config_repo.refresh(params(wd, str(bare)), False)
    assert not os.path.islink(wd / "clusters/c/flux/shared")


def test_an_unreadable_repository_names_the_url_without_credentials(tmp_path):
    wd = tmp_path / "cache" / "wd"
    with pytest.raises(workdir.WorkdirError) as info:
        config_repo.refresh(params(wd, "https://bot:SeCrEt@127.0.0.1:9/repo.git"), False)
    assert "config_repo_url: cannot read https://127.0.0.1:9/repo.git" in str(info.value)
    assert "SeCrEt" not in str(info.value)
    assert "SeCrEt" not in (wd / ".git" / "config").read_text()


# --- the lock --------------------------------------------------------------------------------

def me(host="h1", pid=None):
    own = lock.owner_of_this_run(host)
    return lock.Owner(pid=pid or own.pid, started=own.started, machine=own.machine, host=host)


def test_the_lock_is_reentrant_for_the_run_and_host_and_refused_to_another_host_of_the_run(tmp_path):
    wd = tmp_path / "wd"
    assert lock.acquire(str(wd), me(), 0) is None
    assert (tmp_path / ".wd.lock" / "owner").is_file()
    assert lock.acquire(str(wd), me(), 0) is None
    with pytest.raises(lock.LockError, match="private clone of inventory host h1 in this same run"):
        lock.acquire(str(wd), me("h2"), 0)


def test_another_live_run_is_waited_for_then_a_clear_timeout(tmp_path):
    wd = tmp_path / "wd"
    other = subprocess.Popen(["sleep", "30"])
    try:
        started = subprocess.run(["ps", "-o", "lstart=", "-p", str(other.pid)], capture_output=True,
                                 text=True).stdout.strip()
        theirs = lock.Owner(pid=other.pid, started=started, machine=me().machine, host="x")
        assert lock.acquire(str(wd), theirs, 0) is None
        busy = lock.acquire(str(wd), me(), 0)
        assert busy == theirs and f"process {other.pid}" in busy.describe()
        with pytest.raises(lock.LockError, match=r"still locked by .* after 1 s \(config_repo_lock_timeout\)"):
            lock.acquire(str(wd), me(), 1, poll=0.2)
    finally:
        other.kill()
        other.wait()
    # the run ended: its lock is taken over
    assert lock.acquire(str(wd), me(), 0) is None


# --- push ------------------------------------------------------------------------------------

def clone_with_commit(tmp_path, bare, name, rel):
    wd = tmp_path / name
    git("clone", "-q", str(bare), str(wd))
    (wd / rel).parent.mkdir(parents=True, exist_ok=True)
    (wd / rel).write_text(name)
    git("-C", str(wd), "add", "-A")
    git("-C", str(wd), "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", name)
    return wd


def test_a_push_that_lost_the_race_rebases_and_lands(tmp_path, bare):
    seed(bare, tmp_path, {"a.txt": "a"})
    first = clone_with_commit(tmp_path, bare, "alpha", "clusters/alpha/x.yaml")
    second = clone_with_commit(tmp_path, bare, "beta", "clusters/beta/x.yaml")
    remote = credentials.split(str(bare))
    assert push.push(str(first), remote, "master", pause=0)["attempts"] == 1
    done = push.push(str(second), remote, "master", pause=0)
    assert done["attempts"] == 2 and done["rebased"] == 1
    log = git("--git-dir", str(bare), "log", "--format=%s", "master").split()
    assert log == ["beta", "alpha", "seed"]


def test_a_conflicting_change_is_one_clear_error(tmp_path, bare):
    seed(bare, tmp_path, {"a.txt": "a"})
    first = clone_with_commit(tmp_path, bare, "alpha", "same.yaml")
    second = clone_with_commit(tmp_path, bare, "beta", "same.yaml")
    remote = credentials.split(str(bare))
    push.push(str(first), remote, "master", pause=0)
    with pytest.raises(push.PushError, match=r"changed meanwhile in the files this run changed too \(same.yaml\)"):
        push.push(str(second), remote, "master", pause=0)
    assert git("--git-dir", str(bare), "log", "--format=%s", "master").split() == ["alpha", "seed"]


def test_retries_are_bounded(tmp_path, bare, monkeypatch):
    seed(bare, tmp_path, {"a.txt": "a"})
    wd = clone_with_commit(tmp_path, bare, "beta", "clusters/beta/x.yaml")
    real = push.git
    count = {"n": 0}

    def racing_git(wd_, *args, **kw):  # someone else pushes right before each of our pushes
        if args[:1] == ("push",):
            count["n"] += 1
            seed(bare, tmp_path, {f"other{count['n']}.txt": "o"}, name=f"other{count['n']}")
        return real(wd_, *args, **kw)
    monkeypatch.setattr(push, "git", racing_git)
    with pytest.raises(push.PushError, match=r"lost the race with other pushes 3 times \(config_repo_push_retries: 2"):
        push.push(str(wd), credentials.split(str(bare)), "master", retries=2, pause=0)
    assert count["n"] == 3



def test_a_lock_held_by_a_run_that_ended_but_is_not_reaped_yet_is_taken_over():
    """The holder is a zombie (its ansible-playbook exited, its parent has not waited for it yet): the next run
    takes the lock over instead of waiting for lock_timeout (a test once waited 10 minutes for a zombie)."""
    import time
    child = subprocess.Popen(["true"])
    try:
        for _ in range(100):  # until it has exited: a zombie until wait()
            if lock._ps(child.pid, "stat").startswith("Z"):
                break
            time.sleep(0.05)
        own = lock.owner_of_this_run("beta")
        holder = lock.Owner(pid=child.pid, started=lock._ps(child.pid, "lstart"), machine=own.machine, host="beta")
        assert holder.started, "the zombie still has a start time: only its state tells it ended"
        assert not lock._alive(holder)  # so acquire() breaks its lock at once instead of waiting
    finally:
        child.wait()


def test_head_reads_the_remote_branch_without_a_clone(tmp_path, bare):
    seed(bare, tmp_path, {"a.txt": "a"})
    sha = git("--git-dir", str(bare), "rev-parse", "master").strip()
    assert config_repo.head({"url": str(bare), "userinfo": "", "branch": "master"})["head"] == sha
    with pytest.raises(workdir.WorkdirError, match="has no branch 'develop'"):
        config_repo.head({"url": str(bare), "userinfo": "", "branch": "develop"})
    with pytest.raises(workdir.WorkdirError) as info:
        config_repo.head({"url": "https://127.0.0.1:9/repo.git", "userinfo": "bot:SeCrEt", "branch": "master"})
    assert "cannot read https://127.0.0.1:9/repo.git" in str(info.value) and "SeCrEt" not in str(info.value)
