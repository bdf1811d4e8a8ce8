"""The git part of the local stack: a git daemon with push enabled and the GitHub-compatible
deploy-key API, both over real HTTP/git on loopback."""
import base64
import json
import os
import struct
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.integration


def call(git_server, method, path, body=None, token=True):
    req = urllib.request.Request(git_server.api_url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Accept", "application/vnd.github+json")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {git_server.token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            data = resp.read()
            return resp.status, json.loads(data) if data else None, resp.headers
    except urllib.error.HTTPError as exc:
        data = exc.read()
        return exc.code, json.loads(data) if data else None, exc.headers


def ssh_key(n):
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + n.to_bytes(32, "big")
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


def test_env_exported(git_server):
    assert os.environ["TIDEPOOL_GIT_URL"] == git_server.git_url
    assert os.environ["GITHUB_API_URL"] == git_server.api_url
    assert os.environ["GITHUB_TOKEN"] == git_server.token
    assert git_server.git_url.startswith("git://127.0.0.1:") and git_server.api_url.startswith("http://127.0.0.1:")


def test_clone_push_through_git_daemon(git_server, tmp_path):
    name = f"probe-{uuid.uuid4().hex[:6]}"
    url = git_server.create_repo(name)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@x")
    run = lambda *a, cwd=tmp_path: subprocess.run(a, cwd=cwd, env=env, check=True, capture_output=True, text=True)  # noqa: E731
    run("git", "clone", "-q", url, "work")
    (tmp_path / "work" / "README").write_text("hello\n")
    run("git", "add", "README", cwd=tmp_path / "work")
    run("git", "commit", "-q", "-m", "first", cwd=tmp_path / "work")
    run("git", "push", "-q", "origin", "HEAD:master", cwd=tmp_path / "work")
    refs = run("git", "ls-remote", url).stdout
    assert "refs/heads/master" in refs
    run("git", "clone", "-q", url, "again")
    assert (tmp_path / "again" / "README").read_text() == "hello\n"
    # The config repo of host `local` exists from the start.
    assert run("git", "ls-remote", git_server.git_url + "cluster-local.git").returncode == 0


def test_smart_http_serves_the_same_repositories_fetch_and_push(git_server, tmp_path):
    """git's smart HTTP (what Flux's source-controller speaks): clone, push (receive-pack), a push bigger
    than http.postBuffer (chunked request body), and the result visible through the git daemon."""
    assert os.environ["TIDEPOOL_GIT_HTTP_URL"] == git_server.http_url
    assert git_server.http_url.startswith("http://127.0.0.1:")
    name = f"http-{uuid.uuid4().hex[:6]}"
    git_server.create_repo(name)
    url = f"{git_server.http_url}{name}.git"
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@x", GIT_TERMINAL_PROMPT="0")
    run = lambda *a, cwd=tmp_path: subprocess.run(a, cwd=cwd, env=env, check=True, capture_output=True, text=True)  # noqa: E731
    run("git", "clone", "-q", url, "work")
    work = tmp_path / "work"
    (work / "README").write_text("over http\n")
    (work / "blob.bin").write_bytes(os.urandom(2 * 1024 * 1024))  # > http.postBuffer (1 MiB): chunked
    run("git", "add", ".", cwd=work)
    run("git", "commit", "-q", "-m", "first", cwd=work)
    run("git", "push", "-q", "origin", "HEAD:master", cwd=work)
    head = run("git", "rev-parse", "HEAD", cwd=work).stdout.strip()
    assert f"{head}\trefs/heads/master" in run("git", "ls-remote", git_server.git_url + f"{name}.git").stdout
    run("git", "clone", "-q", url, "again")
    assert (tmp_path / "again" / "README").read_text() == "over http\n"
    assert run("git", "ls-remote", git_server.http_url + "cluster-local.git").returncode == 0


def test_deploy_key_api_over_http(git_server):
    repo = f"keys-{uuid.uuid4().hex[:6]}"
    git_server.create_repo(repo)
    assert call(git_server, "GET", f"/repos/tidepool/{repo}/keys", token=False)[0] == 401
    status, key, headers = call(git_server, "POST", f"/repos/tidepool/{repo}/keys",
                                {"title": "flux key for local", "key": ssh_key(uuid.uuid4().int >> 130), "read_only": False})
    assert status == 201 and key["title"] == "flux key for local" and key["read_only"] is False
    assert headers["Content-Type"].startswith("application/json")
    status, again, _ = call(git_server, "POST", f"/repos/tidepool/{repo}/keys", {"title": "dup", "key": key["key"]})
    assert status == 422 and again["errors"][0]["message"] == "key is already in use"
    status, listed, _ = call(git_server, "GET", f"/repos/tidepool/{repo}/keys?per_page=1")
    assert status == 200 and [k["id"] for k in listed] == [key["id"]]
    assert call(git_server, "DELETE", f"/repos/tidepool/{repo}/keys/{key['id']}")[0] == 204
    assert call(git_server, "GET", f"/repos/tidepool/{repo}/keys/{key['id']}")[0] == 404
    assert call(git_server, "GET", "/repos/tidepool/does-not-exist/keys")[0] == 404
