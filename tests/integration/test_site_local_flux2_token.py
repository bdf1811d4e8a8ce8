"""Issue 24: a token in an https `config_repo_url` of a flavour-2 host, and no `flux_git_url` of its own, appears
nowhere: not in any file of the config repository's history, not in the run's output at -vvv, not in the
GitRepository object; the Secret flux-system/flux-system holds it (username/password, as `flux bootstrap` writes it),
and Flux fetches with it.

The config repository is served here by the stack's smart-HTTP git (scripts/local_stack/git_http.py) behind HTTP
Basic auth that only accepts the token, on a port of its own: the run's clone and push, the flux step's reads and the
stack's source-controller (through the GitRepository's secretRef) all have to authenticate. At the end Flux's sync
objects are suspended and deleted (stop_flux_v2), as test_site_local_flux2.py does."""
from __future__ import annotations

import base64
import json
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest

from local_stack import git_http

from tests.support.helpers import recap, run_playbook, stop_flux_v2

pytestmark = pytest.mark.integration

TOKEN = "ghp_FluxV2SeCrEtToKeN0123456789"
USER = "x-access-token"


class AuthGit(git_http.Handler):
    """The stack's git over smart HTTP, answering 401 to any request without ``USER:TOKEN`` Basic auth."""

    requests: list = []

    def _backend(self):
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        AuthGit.requests.append((self.command, self.path, self.headers.get("Authorization") == expected,
                                 self.headers.get("User-Agent", "")))
        if self.headers.get("Authorization") != expected:
            self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain"})
            return
        super()._backend()

    do_GET = do_POST = _backend


def kget(kube, *args):
    """None only on NotFound; a kubectl failure fails the test (KubeStack.get)."""
    return kube.get(*args)


@pytest.fixture(scope="module")
def served(gitops_stack, local_stack_env, tmp_path_factory):
    AuthGit.root = str(gitops_stack.git.root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), AuthGit)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    public = f"http://127.0.0.1:{server.server_port}/cluster-local.git"
    try:
        yield {"env": local_stack_env, "kube": gitops_stack.kube, "public": public, "bare": gitops_stack.git.root /
               "cluster-local.git", "url": public.replace("http://", f"http://{USER}:{TOKEN}@"),
               "tmp": tmp_path_factory.mktemp("token")}
    finally:
        stop_flux_v2(gitops_stack.kube)
        server.shutdown()


def site(served, playbook="site.yml", url=None, **kw):
    # flux_git_url as its role default (the config repository's URL): the local host's own setting is dropped. The
    # token comes from a file, as a vaulted variable or an AWX credential brings it (not on the command line).
    varsfile = served["tmp"] / "token-vars.json"
    varsfile.write_text(json.dumps({"config_repo_url": url or served["url"], "flux_git_url": "{{ config_repo_url }}"}))
    return run_playbook(playbook, limit="local", env=served["env"], local_flavour=None, verbosity=3,
                        args=["-e", f"@{varsfile}"], **kw)


def test_the_token_is_in_no_commit_no_output_no_gitrepository_and_flux_reads_it_from_its_secret(served):
    res = site(served)
    out = res.stdout + res.stderr
    assert res.returncode == 0, res.stdout[-8000:] + res.stderr[-2000:]
    assert TOKEN not in out and base64.b64encode(TOKEN.encode()).decode() not in out
    assert served["public"] in out   # the URL is shown, without its credentials

    bare = str(served["bare"])
    history = subprocess.run(["git", "--git-dir", bare, "log", "--all", "-p", "--format=%H%n%B"], check=True,
                             capture_output=True, text=True).stdout
    assert history and TOKEN not in history and USER not in history
    sync = subprocess.run(["git", "--git-dir", bare, "show", "master:clusters/local/flux/flux-system/gotk-sync.yaml"],
                          check=True, capture_output=True, text=True).stdout
    assert f"url: {served['public']}" in sync and "secretRef:" in sync

    kube = served["kube"]
    git = kget(kube, "gitrepository", "flux-system", "-n", "flux-system")
    assert git["spec"]["url"] == served["public"] and git["spec"]["secretRef"] == {"name": "flux-system"}
    assert TOKEN not in json.dumps(git)
    data = kget(kube, "secret", "flux-system", "-n", "flux-system")["data"]
    assert base64.b64decode(data["username"]).decode() == USER and base64.b64decode(data["password"]).decode() == TOKEN

    # Flux fetched through the Basic-auth server with the Secret's credentials and applied the pushed commit
    head = subprocess.run(["git", "--git-dir", bare, "rev-parse", "master"], check=True, capture_output=True,
                          text=True).stdout.strip()
    ks = kget(kube, "kustomization", "flux-system", "-n", "flux-system")
    assert ks["status"]["lastAppliedRevision"] == f"master@sha1:{head}"
    # (and not only the git CLI of the run: an authenticated request of source-controller)
    assert any(ok and not agent.startswith("git/") for _m, _p, ok, agent in AuthGit.requests), AuthGit.requests[-5:]


def test_the_flux_step_alone_reads_the_head_without_the_token_in_argv_or_output(served):
    res = site(served, "playbooks/flux.yml")
    out = res.stdout + res.stderr
    assert res.returncode == 0, res.stdout[-6000:]
    assert recap(res.stdout)["local"]["changed"] == 0, res.stdout[-6000:]
    assert TOKEN not in out and "git ls-remote" not in out

    wrong = "WrOnG" + TOKEN
    res = site(served, "playbooks/flux.yml", url=served["url"].replace(TOKEN, wrong))
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert wrong not in out and TOKEN not in out
    assert f"config_repo_url: cannot read {served['public']}" in " ".join(res.stdout.split()), res.stdout[-4000:]
