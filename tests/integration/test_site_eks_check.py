"""`ansible-playbook site.yml -l test1 --check` end to end against the moto server with the test1 inventory
(endpoint overridden): every step predicts its change, nothing changes in AWS, git, the kubeconfig, and eksctl
is never run."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import boto3
import pytest

from tests.support.helpers import moto_aws, run_playbook

pytestmark = pytest.mark.integration

REGION = "us-west-2"


def task_results(stdout: str, host: str = "test1") -> list[tuple[str, dict]]:
    data = json.loads(stdout)
    out = []
    for play in data["plays"]:
        for task in play["tasks"]:
            if host in task["hosts"]:
                out.append((task["task"]["name"], task["hosts"][host]))
    return out


def aws_state(endpoint: str) -> dict:
    kw = {"region_name": REGION, "endpoint_url": endpoint}
    return {
        "buckets": [b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]],
        "secrets": [s["Name"] for s in boto3.client("secretsmanager", **kw).list_secrets()["SecretList"]],
        "stacks": [s["StackName"] for s in boto3.client("cloudformation", **kw).list_stacks()["StackSummaries"]],
        "clusters": boto3.client("eks", **kw).list_clusters()["clusters"],
    }


def test_site_test1_check_predicts_and_changes_nothing(moto_reset, tmp_path):
    repo = tmp_path / "cluster-test1.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "eksctl-calls"
    eksctl = bindir / "eksctl"
    eksctl.write_text(f"#!{sys.executable}\nimport sys\nopen({str(record)!r}, 'a').write(' '.join(sys.argv) + '\\n')\n"
                      "sys.exit(3)\n")
    eksctl.chmod(eksctl.stat().st_mode | stat.S_IXUSR)
    kubeconfig = tmp_path / "kube" / "config"
    # test1 names no aws.hostedZoneIds: the cluster step looks up the hosted zone of its DNS name (localhost).
    zone = boto3.client("route53", region_name=REGION, endpoint_url=moto_reset).create_hosted_zone(
        Name="localhost.", CallerReference="test1")["HostedZone"]["Id"].rsplit("/", 1)[-1]
    before = aws_state(moto_reset)

    res = run_playbook("site.yml", limit="test1", check=True, diff=True, extra_vars={
        "aws_endpoint_url": moto_reset, "config_repo_url": str(repo), "kubeconfig": str(kubeconfig),
        "aws_credentials_required": True, "aws": moto_aws(),
    }, env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    (tmp_path / "out.json").write_text(res.stdout)
    results = task_results(res.stdout)
    assert not [name for name, r in results if r.get("failed")]

    # The cluster step predicts `eksctl create cluster` for test1's ClusterConfig, with the IAM users mapped.
    eks = [r for name, r in results if name.endswith("The EKS cluster of the ClusterConfig (eksctl)")]
    assert len(eks) == 1 and eks[0]["changed"] is True, eks
    (cmd,) = eks[0]["commands"]
    assert cmd[:5] == ["eksctl", "create", "cluster", "-f", cmd[4]] and cmd[5:] == [
        "--kubeconfig", str(kubeconfig), "--timeout=2400s"]
    assert eks[0]["cluster"]["status"] == "absent"
    after = eks[0]["diff"]["after"]
    assert after["metadata"] == {"name": "test1", "version": "1.34"}
    assert [ng["name"] for ng in after["nodeGroups"]] == ["ng"]
    assert "qa2/blob" in after["iam"]["serviceAccounts"]
    # cert-manager's and external-dns's roles only in that zone (the committed file, rendered offline, names every zone)
    given = json.dumps(eks[0]["invocation"]["module_args"]["config"]["iam"])
    assert f"arn:aws:route53:::hostedzone/{zone}" in given and "hostedzone/*" not in given

    # Flux has no API server to dry-run against yet: its install is predicted, not attempted.
    flux = [r for name, r in results if name.startswith("tidepool.eks.flux : Flux would be installed once the cluster")]
    assert len(flux) == 1 and flux[0]["changed"] is True and "does not exist yet" in flux[0]["msg"], flux
    assert not [name for name, r in results if "flux_bootstrap" in str(r.get("invocation", ""))]

    # Other AWS steps predicted their changes too (buckets, secrets).
    changed = [name for name, r in results if r.get("changed")]
    assert any("bucket" in name.lower() for name in changed), changed
    assert any("secret" in name.lower() for name in changed), changed

    # ... and nothing changed anywhere.
    assert aws_state(moto_reset) == before
    assert not record.exists(), record.read_text()
    assert not kubeconfig.exists()
    refs = subprocess.run(["git", "ls-remote", str(repo)], capture_output=True, text=True, check=True).stdout
    assert refs == ""


def test_site_test1_stops_when_no_hosted_zone_holds_its_dns_names(moto_reset, tmp_path):
    """test1 names no aws.hostedZoneIds and the account has no zone for its DNS name: the cluster step stops with one
    error naming it before eksctl runs (cert-manager and external-dns never get every zone of the account)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "eksctl-calls"
    eksctl = bindir / "eksctl"
    eksctl.write_text(f"#!{sys.executable}\nimport sys\nopen({str(record)!r}, 'a').write(' '.join(sys.argv) + '\\n')\n")
    eksctl.chmod(eksctl.stat().st_mode | stat.S_IXUSR)
    boto3.client("route53", region_name=REGION, endpoint_url=moto_reset).create_hosted_zone(
        Name="example.org.", CallerReference="other")
    res = run_playbook("playbooks/cluster.yml", limit="test1", check=True, extra_vars={
        "aws_endpoint_url": moto_reset, "kubeconfig": str(tmp_path / "kube" / "config"), "aws": moto_aws()},
        env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"})
    assert res.returncode != 0
    assert "Route53: no public hosted zone of the account holds localhost" in res.stdout, res.stdout[-4000:]
    assert "Traceback" not in res.stdout + res.stderr
    assert not record.exists()
