"""`scripts/local-stack` as a user runs it: up, status, env, reset, down - and nothing left behind."""
import json
import os
import socket
import subprocess
import sys
import time

import boto3
import pytest

import local_stack
from local_stack import procs

pytestmark = pytest.mark.integration
CLI = local_stack.REPO / "scripts" / "local-stack"
CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture
def cli(tmp_path):
    """Run the CLI on a private state dir and free ports; always `down` at the end."""
    env = dict(os.environ, TIDEPOOL_STACK_DIR=str(tmp_path / "stack"))
    for name, (var, _) in local_stack.DEFAULT_PORTS.items():
        env[var] = str(local_stack.free_port())

    def run(*args, check=True):
        res = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL)
        if check and res.returncode:
            raise AssertionError(f"local-stack {' '.join(args)} -> {res.returncode}\n{res.stdout}\n{res.stderr}")
        return res
    run.env = env
    run.state = tmp_path / "stack"
    yield run
    run("down", check=False)


def _assert_all_gone(pids, ports):
    deadline = time.monotonic() + 10
    while any(procs.alive(p) or procs.group_members(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        assert not procs.alive(pid), f"process {pid} still running after down"
        assert procs.group_members(pid) == [], f"children of {pid} still running after down"
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after down"


def test_up_status_env_reset_down_moto_and_git(cli):
    res = cli("up", "moto", "git")
    assert "moto: ready" in res.stderr and "fake-github: ready" in res.stderr
    status = json.loads(cli("status", "--json", check=False).stdout)
    up = {n for n, s in status.items() if s["healthy"]}
    assert up == {"moto", "git-daemon", "git-http", "fake-github"}
    assert all(status[n]["rss_mib"] > 0 for n in up)
    # idempotent
    assert "already running" in cli("up", "moto", "git").stderr

    env = dict(line[len("export "):].split("=", 1) for line in cli("env").stdout.splitlines())
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{cli.env['TIDEPOOL_STACK_MOTO_PORT']}"
    assert env["GITHUB_TOKEN"] and env["TIDEPOOL_GIT_URL"].startswith("git://127.0.0.1:")
    assert env["TIDEPOOL_GIT_HTTP_URL"] == f"http://127.0.0.1:{cli.env['TIDEPOOL_STACK_GIT_HTTP_PORT']}/"
    saved = json.loads((cli.state / "stack.json").read_text())
    assert saved["env"]["AWS_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL"]
    assert set(saved["components"]) == up

    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="cli-probe")
    cli("reset")
    assert s3.list_buckets()["Buckets"] == []

    pids = [status[n]["pid"] for n in up]
    ports = [status[n]["port"] for n in up]
    res = cli("down")
    assert "moto: stopped" in res.stderr
    _assert_all_gone(pids, ports)
    assert not (cli.state / "stack.json").exists()
    assert cli("status", check=False).returncode == 1


def test_whole_stack_warm_start_and_clean_stop(cli):
    missing = local_stack.Stack.default().missing_binaries(None)  # the whole stack, GitOps controllers included
    if missing:
        if CI:
            pytest.fail("CI=true: control-plane binaries missing: " + ", ".join(missing))
        pytest.skip("control-plane binaries not built (scripts/local-stack build)")
    t0 = time.monotonic()
    cli("up", "--no-build")
    warm = time.monotonic() - t0
    status = json.loads(cli("status", "--json").stdout)
    assert all(s["healthy"] for s in status.values()), status
    total = sum(s["rss_mib"] for s in status.values())
    print(f"\nwarm start of the whole stack: {warm:.1f}s; RSS "
          + ", ".join(f"{n} {s['rss_mib']:.0f} MiB" for n, s in status.items()) + f"; total {total:.0f} MiB")
    kubectl = local_stack.Stack.default().binaries()["kubectl"]
    out = subprocess.run([str(kubectl), "--kubeconfig", str(cli.state / "kubeconfig"), "get", "crd", "-o", "name"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "customresourcedefinition.apiextensions.k8s.io/helmreleases.helm.fluxcd.io" in out.splitlines()
    # The GitOps controllers' own CRDs (ESO's generators are not among the reference ones).
    assert "customresourcedefinition.apiextensions.k8s.io/passwords.generators.external-secrets.io" in out.splitlines()
    # Data survives a restart (etcd data dir and certificates are kept until `down --purge`).
    subprocess.run([str(kubectl), "--kubeconfig", str(cli.state / "kubeconfig"), "create", "namespace", "survivor"],
                   check=True, capture_output=True, timeout=60)
    pids = [s["pid"] for s in status.values()]
    ports = [s["port"] for s in status.values()] + [int(cli.env["TIDEPOOL_STACK_ETCD_PEER_PORT"])]
    cli("down")
    _assert_all_gone(pids, ports)
    cli("up", "--no-build")
    subprocess.run([str(kubectl), "--kubeconfig", str(cli.state / "kubeconfig"), "get", "namespace", "survivor"],
                   check=True, capture_output=True, timeout=60)
    cli("down", "--purge")
    assert not cli.state.exists()


def test_fixture_servers_die_with_a_killed_test_session(tmp_path):
    """Servers started by the fixtures (Stack.ephemeral) go away even if pytest is SIGKILLed."""
    groups = ["moto", "git"] + ([] if local_stack.Stack.default().missing_binaries() else ["kube"])
    script = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from local_stack import Stack\n"
        "s = Stack.ephemeral(%r); s.up(%r)\n"
        "print(' '.join(str(v['pid']) for v in s.status().values() if v['pid']), flush=True)\n"
        "time.sleep(300)\n" % (str(local_stack.REPO / "scripts"), str(tmp_path / "stack"), groups))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 4 + (3 if "kube" in groups else 0)
        assert all(procs.alive(p) for p in pids)
    finally:
        proc.kill()
        proc.wait()
    _assert_all_gone(pids, [])
