"""The Kubernetes API server lost in the middle of `site.yml -l local` (issue 27's uncovered path).

The preflight checks pass (the API server answers), then the session's kube-apiserver is stopped the moment the
cluster step's play starts, while the run goes on. Shown: the run fails at the first task that needs the API server,
with one message naming the server (no traceback, no Python object text), the steps after it never run (the host
is out of the play: failed=1 in the recap, no ExternalSecret manifests stored by the secrets step), and with the API
server back the same command completes.

The API server is restarted on the same port with its etcd data kept (Stack.up), as after an outage."""
from __future__ import annotations

import subprocess

import pytest

from tests.support.helpers import REPO, VENV_BIN, ansible_env, local_flavour_args, recap, run_playbook

pytestmark = pytest.mark.integration

#: The play header of the cluster step (playbooks/cluster.yml): printed once the config and assets steps are done.
CLUSTER_PLAY = "PLAY [The cluster (make_cluster"


def site_losing_the_api_server(env: dict, kube_stack, timeout: float = 900) -> tuple[subprocess.CompletedProcess,
                                                                                     bool]:
    """``site.yml -l local`` (flavour 1, as the other flavour-1 modules run it), with the stack's kube-apiserver
    stopped when :data:`CLUSTER_PLAY` is printed. Returns (the finished run, output in ``stdout``; whether the
    API server was stopped). The API server stays stopped: the caller starts it again."""
    cmd = [str(VENV_BIN / "ansible-playbook"), "site.yml", "-l", "local", *local_flavour_args("local", None, 1)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    lines, stopped = [], False
    try:
        for line in proc.stdout:
            lines.append(line)
            if not stopped and line.startswith(CLUSTER_PLAY):
                kube_stack.stack.down(["kube-apiserver"])
                stopped = True
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(cmd, proc.returncode, "".join(lines), ""), stopped


def test_api_server_lost_mid_run_fails_at_the_next_task_naming_it_and_the_rerun_completes(
        local_stack_env, kube_stack, moto_reset):
    server = kube_stack.server
    try:
        res, stopped = site_losing_the_api_server(local_stack_env, kube_stack)
        assert stopped, res.stdout[-4000:]   # the preflight and the config step ran against a live API server
    finally:
        kube_stack.stack.up(["kube-apiserver"], timeout=120)
    out = res.stdout
    assert res.returncode != 0, out[-4000:]
    assert recap(out)["local"]["failed"] == 1, out[-3000:]
    assert out.count("fatal: [local]") == 1, out[-4000:]
    # the failed task's result (the callback prints it on the lines after "fatal:", up to the next blank line)
    fatal = " ".join(out.split("fatal: [local]", 1)[1].split("\n\n", 1)[0].split())
    # one message naming the API server, without Python's inner text
    assert f"Kubernetes API server {server}" in fatal and "unreachable" in fatal, fatal[:3000]
    assert "Traceback" not in out and "object at 0x" not in out and "Value of unknown type" not in out, out[-4000:]
    # nothing after the failed task ran for local: no play after the cluster step got as far as its tasks
    after = out.split(CLUSTER_PLAY, 1)[1]
    assert "TASK [tidepool.eks.secrets" not in after and "TASK [tidepool.eks.flux" not in after, after[-3000:]

    # the API server back (same port, etcd kept): the same command completes
    kube_stack.kubectl("get", "--raw", "/readyz")
    again = run_playbook("site.yml", limit="local", env=local_stack_env)
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-2000:]
    assert recap(again.stdout)["local"]["failed"] == 0
