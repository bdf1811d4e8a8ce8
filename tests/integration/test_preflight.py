"""A server a step needs is down: the step fails with one message naming it (URL; kubeconfig and context for
Kubernetes) before it changes anything, and the steps after it do not run."""
from __future__ import annotations

import json
import subprocess
import uuid

import boto3
import pytest
import yaml

import local_stack
from tests.support.helpers import AWS_ENV, recap, run_playbook

pytestmark = pytest.mark.integration


def secret_names(endpoint, prefix="local/"):
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    return sorted(s["Name"] for s in sm.list_secrets(MaxResults=100)["SecretList"] if s["Name"].startswith(prefix))


def dead_kubeconfig(kube_stack, tmp_path):
    """The stack's kubeconfig pointing at a port where no API server listens (the API server "stopped")."""
    port = local_stack.free_port()
    cfg = yaml.safe_load(kube_stack.kubeconfig.read_text())
    for c in cfg["clusters"]:
        c["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return path, f"https://127.0.0.1:{port}"


def assert_one_clear_failure(res, *needles):
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    for needle in needles:
        assert needle in out, out[-4000:]
    assert "Traceback" not in out and "Value of unknown type" not in out, out[-4000:]
    assert "NewConnectionError object at" not in out, out[-4000:]


def test_aws_endpoint_down(local_stack_env, moto_reset):
    dead = f"http://127.0.0.1:{local_stack.free_port()}"
    res = run_playbook("site.yml", limit="local", env={**local_stack_env, "AWS_ENDPOINT_URL": dead})
    assert_one_clear_failure(res, f"AWS endpoint {dead} (region us-east-1) is unreachable",
                             "scripts/local-stack status")
    assert recap(res.stdout)["local"]["failed"] == 1
    # the steps after the failing check changed nothing: no bucket, no secret, nothing in the API server
    assert boto3.client("s3", endpoint_url=moto_reset, region_name="us-east-1").list_buckets()["Buckets"] == []
    assert secret_names(moto_reset) == []
    assert "Apply the" not in res.stdout


def test_api_server_down(local_stack_env, kube_stack, moto_reset, tmp_path):
    path, server = dead_kubeconfig(kube_stack, tmp_path)
    want = f"Kubernetes API server {server} (kubeconfig {path}, context "
    # the secrets step checks the API server before it stores anything (its ExternalSecrets are applied last)
    res = run_playbook("playbooks/secrets.yml", limit="local", env=local_stack_env, extra_vars={"kubeconfig": str(path)})
    assert_one_clear_failure(res, want, "is unreachable")
    assert secret_names(moto_reset) == []
    # site.yml stops at the cluster step, before secrets
    res = run_playbook("site.yml", limit="local", env=local_stack_env, extra_vars={"kubeconfig": str(path)})
    assert_one_clear_failure(res, want)
    # the cluster step's check of the cluster (the config step's own check only warns: config_validate auto)
    assert "Check the kubeconfig and resolve the context once per run of the cluster of local" in res.stdout
    assert "Plan the objects against the cluster" not in res.stdout
    assert secret_names(moto_reset) == []


def test_missing_kubeconfig_is_named(local_stack_env, tmp_path):
    missing = tmp_path / "nope" / "kubeconfig"
    res = run_playbook("playbooks/environments.yml", limit="local", env=local_stack_env,
                       extra_vars={"kubeconfig": str(missing)})
    assert_one_clear_failure(res, f"kubeconfig: {missing} does not exist")


def test_no_aws_credentials_warns_and_ends_the_step_or_fails_when_required(tmp_path):
    """test1 on a machine with no AWS credentials at all: the AWS step ends with a warning naming the host (offline
    rendering), or fails with one message when aws_credentials_required (the AWX job templates) says so."""
    env = {"HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}   # no ~/.aws, no instance role
    res = run_playbook("playbooks/assets.yml", limit="test1", env=env, env_remove=AWS_ENV)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "No AWS credentials are configured for test1 (region us-west-2): the steps that call AWS end here" in out
    assert recap(res.stdout)["test1"]["changed"] == 0 and "Read the current settings" not in res.stdout

    res = run_playbook("playbooks/assets.yml", limit="test1", env=env, env_remove=AWS_ENV,
                       extra_vars={"aws_credentials_required": True})
    assert_one_clear_failure(res, "aws_credentials_required: no AWS credentials are configured for test1 "
                                  "(region us-west-2); configure a profile (aws_profile)")
    assert recap(res.stdout)["test1"]["failed"] == 1


# --- the right account, the right cluster -------------------------------------------------------------------------

def test_wrong_aws_account_stops_before_anything_changes(local_stack_env, moto_reset):
    """The credentials are moto's account 123456789012; the inventory names another: one error naming both."""
    aws = {"accountNumber": "210987654321", "iamUsers": ["local-admin"]}
    res = run_playbook("playbooks/assets.yml", limit="local", env=local_stack_env, extra_vars={"aws": aws})
    assert_one_clear_failure(res, "Wrong AWS account: the credentials are of account 123456789012 (arn:aws:",
                             "but the inventory of local names aws.accountNumber 210987654321")
    assert boto3.client("s3", endpoint_url=moto_reset, region_name="us-east-1").list_buckets()["Buckets"] == []


def test_wrong_api_server_stops_before_anything_changes(local_stack_env, kube_stack, moto_reset):
    """cluster_provider existing with kubernetes_api_server: the kubeconfig's server must be that one."""
    res = run_playbook("playbooks/secrets.yml", limit="local", env=local_stack_env,
                       extra_vars={"kubernetes_api_server": "https://10.0.0.1:6443"})
    assert_one_clear_failure(res, f"Wrong cluster: kubeconfig {kube_stack.kubeconfig}, context tidepool-local points "
                                  f"at the API server {kube_stack.server}, but the inventory names "
                                  "kubernetes_api_server https://10.0.0.1:6443 for local")
    assert secret_names(moto_reset) == []


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=120).stdout


def test_kube_system_uid_recorded_on_the_first_run_and_checked_after(local_stack_env, kube_stack, git_server, tmp_path):
    """cluster_provider existing without kubernetes_api_server: the config step records the kube-system namespace
    UID in clusters/<cluster>/kube-system-uid; a later run against a cluster with another UID stops, naming both."""
    url = git_server.create_repo("cluster-uid" + uuid.uuid4().hex[:8])
    extra = {"config_repo_url": url, "config_repo_workdir": str(tmp_path / "work")}
    uid = json.loads(kube_stack.kubectl("get", "namespace", "kube-system", "-o", "json").stdout)["metadata"]["uid"]
    res = run_playbook("playbooks/config.yml", limit="local", env=local_stack_env, extra_vars=extra)
    assert res.returncode == 0, res.stdout[-4000:]
    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    recorded = clone / "clusters" / "local" / "kube-system-uid"
    assert recorded.read_text() == uid + "\n"

    again = run_playbook("playbooks/config.yml", limit="local", env=local_stack_env, extra_vars=extra)
    assert again.returncode == 0 and recap(again.stdout)["local"]["changed"] == 0, again.stdout[-3000:]

    # the cluster the kubeconfig points at is not the one recorded (here: the record says another cluster's UID)
    recorded.write_text("0a1b2c3d-0000-4000-8000-000000000000\n")
    git("-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "other cluster")
    git("-C", str(clone), "push", "-q", "origin", "HEAD:master")
    head = git("ls-remote", url, "refs/heads/master")
    wrong = run_playbook("playbooks/config.yml", limit="local", env=local_stack_env, extra_vars=extra)
    assert_one_clear_failure(wrong, f"has the kube-system namespace UID {uid}, but the config repository recorded "
                                    "0a1b2c3d-0000-4000-8000-000000000000 for local")
    assert git("ls-remote", url, "refs/heads/master") == head
