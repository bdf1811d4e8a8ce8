"""A server a step needs is down: the step fails with one message naming it (URL; kubeconfig and context for
Kubernetes) before it changes anything, and the steps after it do not run."""
from __future__ import annotations

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
    assert "Plan the objects against the cluster: cluster of local" in res.stdout
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
