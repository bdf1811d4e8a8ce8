"""A config repository that cannot attack the runner, and two runs at once (issue 17), through the playbooks:
a link committed into the repository, a workdir that is someone's checkout, a token URL at -v, two clusters
sharing one repository (one run with forks > 1, and two processes at once). Config step only, file:// and a
loopback smart-HTTP server with Basic auth: no Kubernetes, no AWS."""
from __future__ import annotations

import base64
import http.server
import os
import shutil
import subprocess
import threading

import pytest
import yaml

from tests.integration.test_config_role import ConfigRepo
from tests.support.git_repos import commit_to, git
from tests.support.helpers import AWS_ENV, REPO, VENV_BIN, ansible_env, recap, run_playbook

pytestmark = pytest.mark.integration


@pytest.fixture()
def repo(tmp_path):
    return ConfigRepo(tmp_path)


def push_files(repo, tmp_path, files: dict):
    commit_to(repo.bare, tmp_path / "other-clone", files)


# --- symbolic links ------------------------------------------------------------------------------

def test_a_link_committed_into_the_repository_never_reaches_outside_the_clone(repo, tmp_path):
    outside = tmp_path / "somewhere"
    (outside / "gloo").mkdir(parents=True)
    (outside / "gloo" / "precious.yaml").write_text("mine\n")
    push_files(repo, tmp_path, {"clusters/test1/flux/shared": ("link", str(outside))})
    head = repo.commits()
    res = repo.run()
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "clusters/test1/flux/shared in " in out and "git rm clusters/test1/flux/shared" in out, out[-3000:]
    assert sorted(p.name for p in outside.rglob("*")) == ["gloo", "precious.yaml"]
    assert (outside / "gloo" / "precious.yaml").read_text() == "mine\n"
    assert repo.commits() == head
    assert not os.path.islink(repo.workdir / "clusters/test1/flux/shared")  # core.symlinks=false


# --- the workdir -----------------------------------------------------------------------------------

@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_a_workdir_that_is_someones_checkout_is_refused_and_left_alone(repo, tmp_path, check):
    push_files(repo, tmp_path, {"README": "x"})
    git("clone", "-q", str(repo.bare), str(repo.workdir))
    (repo.workdir / "README").write_text("my uncommitted work\n")
    (repo.workdir / "notes.txt").write_text("untracked\n")
    res = repo.run(check=check)
    assert res.returncode != 0
    assert f"config_repo_workdir: {repo.workdir} is a git repository the collection did not create" in res.stdout
    assert (repo.workdir / "README").read_text() == "my uncommitted work\n"
    assert (repo.workdir / "notes.txt").exists() and len(repo.commits()) == 1


def test_check_mode_leaves_the_workdir_alone(repo, tmp_path):
    assert repo.run().returncode == 0
    (repo.workdir / "stray.txt").write_text("x")
    before = git("-C", str(repo.workdir), "rev-parse", "HEAD")
    push_files(repo, tmp_path, {"other/file.txt": "o"})
    res = repo.run(check=True, diff=True)
    assert res.returncode == 0, res.stdout[-3000:]
    assert (repo.workdir / "stray.txt").exists()
    assert git("-C", str(repo.workdir), "rev-parse", "HEAD") == before
    assert (tmp_path / "checkout.check/other/file.txt").exists()  # the check clone is at the remote branch


# --- credentials in the URL ------------------------------------------------------------------------

TOKEN = "ghp_SeCrEtToKeN0123456789"


class GitHttp(http.server.BaseHTTPRequestHandler):
    """`git http-backend` behind Basic auth (user `bot`, password TOKEN), for the bare repositories of `root`."""
    root = ""

    def log_message(self, *args):
        pass

    def _serve(self):
        expected = "Basic " + base64.b64encode(f"bot:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = dict(os.environ, GIT_PROJECT_ROOT=self.root, GIT_HTTP_EXPORT_ALL="1", REQUEST_METHOD=self.command,
                   PATH_INFO=path, QUERY_STRING=query, CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_USER="bot", REMOTE_ADDR="127.0.0.1",
                   HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""))
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


def test_a_token_in_the_url_is_never_shown_nor_stored(repo, tmp_path):
    GitHttp.root = str(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GitHttp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        repo.url = f"https://bot:{TOKEN}@127.0.0.1:{server.server_port}/{repo.bare.name}"
        env = {"HOME": str(repo.home), "GIT_SSL_NO_VERIFY": "1"}
        http_url = repo.url.replace("https://", "http://")
        res = run_playbook("site.yml", limit="test1", verbosity=1, env=env, env_remove=AWS_ENV, extra_vars={
            "config_repo_url": http_url, "config_repo_workdir": str(repo.workdir)})
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-3000:]
        assert len(repo.commits()) == 1  # the credentials worked: cloned and pushed
        assert TOKEN not in out
        assert f"http://127.0.0.1:{server.server_port}/{repo.bare.name}" in out
        stored = (repo.workdir / ".git" / "config").read_text()
        assert TOKEN not in stored and "bot@" not in stored
        assert TOKEN not in git("--git-dir", str(repo.bare), "log", "--format=%B", "master")
        # a wrong token: one clear error, still without the token
        bad = http_url.replace(TOKEN, "WrOnG" + TOKEN)
        res = run_playbook("site.yml", limit="test1", verbosity=1, env=env, env_remove=AWS_ENV, extra_vars={
            "config_repo_url": bad, "config_repo_workdir": str(repo.workdir)})
        assert res.returncode != 0 and TOKEN not in res.stdout + res.stderr
        assert "config_repo_url: cannot read http://127.0.0.1" in res.stdout
    finally:
        server.shutdown()


# --- two runs at once ------------------------------------------------------------------------------

def two_cluster_inventory(tmp_path, names=("alpha", "beta")):
    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "group_vars", inv / "group_vars")
    hosts = {"all": {"vars": {"ansible_connection": "local",
                              "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                     "children": {"clusters": {"hosts": {n: {} for n in names}}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    values = yaml.safe_load((REPO / "inventories/values/local.yml").read_text())
    for name in names:
        (inv / "host_vars" / name).mkdir(parents=True)
        v = dict(values, cluster=dict(values["cluster"], metadata=dict(values["cluster"]["metadata"], name=name)))
        v["kubeconfig"] = str(tmp_path / "no-kubeconfig")
        # flavour 1, as these clusters were written: flavour 2 would need host_vars/local's Flux mirror settings,
        # and what is tested here (the lock, the push retries) is the same for both flavours
        v["flux_version"] = 1
        (inv / "values").mkdir(exist_ok=True)
        (inv / "values" / f"{name}.yml").write_text(yaml.safe_dump(v))
        (inv / "host_vars" / name / "main.yml").write_text(yaml.safe_dump({"cluster_provider": "existing"}))
    return inv


def config_cmd(inv, extra, limit=None):
    import json
    cmd = [str(VENV_BIN / "ansible-playbook"), "playbooks/config.yml", "-i", str(inv), "-f", "4",
           "-e", json.dumps(extra)]
    return cmd + (["-l", limit] if limit else [])


def test_two_clusters_of_one_run_both_land_their_commits(repo, tmp_path):
    inv = two_cluster_inventory(tmp_path)
    env = ansible_env({"HOME": str(repo.home)}, AWS_ENV)
    res = subprocess.run(config_cmd(inv, {"config_repo_url": repo.url}), cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    subjects = sorted(c.split(" ", 2)[1] for c in repo.commits())
    assert subjects == ["alpha", "beta"]
    assert {p.split("/")[1] for p in repo.files()} == {"alpha", "beta"}
    again = subprocess.run(config_cmd(inv, {"config_repo_url": repo.url}), cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=600)
    assert all(s["changed"] == 0 for s in recap(again.stdout).values()), again.stdout[-3000:]


def test_two_hosts_of_one_run_sharing_a_workdir_is_one_clear_error(repo, tmp_path):
    inv = two_cluster_inventory(tmp_path)
    env = ansible_env({"HOME": str(repo.home)}, AWS_ENV)
    res = subprocess.run(config_cmd(inv, {"config_repo_url": repo.url, "config_repo_workdir": str(repo.workdir)}),
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0
    assert "two hosts cannot share one clone" in res.stdout, res.stdout[-3000:]


def test_two_processes_at_once_on_one_workdir_both_land_their_commits(repo, tmp_path):
    """Two ansible-playbook processes (clusters alpha and beta) share one explicit workdir: the second waits for
    the lock of the first (saying who holds it), then resets the clone and lands its own commit."""
    inv = two_cluster_inventory(tmp_path)
    env = ansible_env({"HOME": str(repo.home)}, AWS_ENV)
    extra = {"config_repo_url": repo.url, "config_repo_workdir": str(repo.workdir)}
    procs = [subprocess.Popen(config_cmd(inv, extra, limit=name), cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for name in ("alpha", "beta")]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(o[-3000:] for o in outs)
    assert sorted(c.split(" ", 2)[1] for c in repo.commits()) == ["alpha", "beta"]
    assert {p.split("/")[1] for p in repo.files()} == {"alpha", "beta"}
    assert any("is in use by ansible-playbook process" in o for o in outs), outs
