"""Teardown playbooks against the local stack: stop_services (Flux suspended, HelmReleases removed, environments
first) and delete_cluster (after stop_services: eksctl delete runs only once no HelmRelease is left), gated by
confirm_delete."""
from __future__ import annotations

import json
import stat
import sys

import boto3
import pytest
import yaml

from helpers import recap, run_playbook

pytestmark = pytest.mark.integration

CLUSTER = "test1"  # the inventory host (cluster_provider eksctl); the kubeconfig points at the local stack
NS = ("tdqa2", "tdshared")
FLUX_NS = "tdflux"


def release(name, ns):
    return {"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease", "metadata": {"name": name, "namespace": ns},
            "spec": {"releaseName": f"{ns}-{name}", "chart": {"repository": "https://charts.example/", "name": name,
                                                               "version": "1.0.0"}}}


@pytest.fixture
def workload(kube_stack):
    """Flux v1 daemon (namespace flux) and HelmReleases in two namespaces of the test's own."""
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in (*NS, FLUX_NS)]
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "flux", "namespace": FLUX_NS},
                 "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "flux"}}, "template": {
                     "metadata": {"labels": {"app": "flux"}},
                     "spec": {"containers": [{"name": "flux", "image": "fluxcd/flux:1.21.1"}]}}}})
    docs += [release("tidepool", NS[0]), release("gloo", NS[1]), release("external-dns", NS[1])]
    kube_stack.kubectl("apply", "--server-side", "--field-manager", "tidepool.eks", "-f", "-",
                       input=yaml.safe_dump_all(docs))
    yield kube_stack
    kube_stack.kubectl("delete", "namespace", *NS, "--ignore-not-found", "--wait=true", "--timeout=120s", check=False)
    kube_stack.kubectl("delete", "namespace", FLUX_NS, "--ignore-not-found", "--wait=true", "--timeout=120s", check=False)


def releases(kube):
    out = json.loads(kube.kubectl("get", "helmreleases.helm.fluxcd.io", "-A", "-o", "json").stdout)["items"]
    return sorted(f"{r['metadata']['namespace']}/{r['metadata']['name']}" for r in out
                  if r["metadata"]["namespace"] in NS)


def flux_replicas(kube):
    return json.loads(kube.kubectl("get", "deployment", "flux", "-n", FLUX_NS, "-o", "json").stdout)["spec"]["replicas"]


def extra(kube, **kw):
    out = {"kubeconfig": str(kube.kubeconfig), "teardown_poll_interval": 1, "teardown_wait_timeout": 60,
           "teardown_flux_namespace": FLUX_NS, "teardown_namespaces": list(NS)}
    out.update(kw)
    return out


def test_stop_services_needs_confirmation(workload):
    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload))
    assert res.returncode != 0 and "confirm_delete: test1" in res.stdout
    assert releases(workload) == sorted([f"{NS[0]}/tidepool", f"{NS[1]}/gloo", f"{NS[1]}/external-dns"])
    wrong = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete="prod"))
    assert wrong.returncode != 0 and flux_replicas(workload) == 1


def test_stop_services_check_then_run(workload):
    checked = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, check=True,
                           extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert recap(checked.stdout)[CLUSTER]["changed"] == 2, checked.stdout[-4000:]  # scale + delete releases
    assert len(releases(workload)) == 3 and flux_replicas(workload) == 1

    res = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert res.returncode == 0, res.stdout[-4000:]
    assert releases(workload) == [] and flux_replicas(workload) == 0
    # Environments first: the tidepool release is deleted before the shared services.
    deletions = [line for line in res.stdout.splitlines() if "helmrelease" in line.lower() or "(item=" in line]
    names = [n for line in deletions for n in (f"{NS[0]}/tidepool", f"{NS[1]}/gloo", f"{NS[1]}/external-dns")
             if f"(item={n})" in line]
    assert names[0] == f"{NS[0]}/tidepool" and set(names) == {f"{NS[0]}/tidepool", f"{NS[1]}/gloo",
                                                              f"{NS[1]}/external-dns"}, names

    again = run_playbook("playbooks/stop_services.yml", limit=CLUSTER, extra_vars=extra(workload, confirm_delete=CLUSTER))
    assert again.returncode == 0 and recap(again.stdout)[CLUSTER]["changed"] == 0, again.stdout[-3000:]


def test_delete_cluster_runs_eksctl_after_the_helmreleases_are_gone(workload, moto_reset, tmp_path):
    # test1's cluster in moto (what eksctl would have left), so the plan is `eksctl delete cluster`.
    boto3.client("eks", region_name="us-west-2", endpoint_url=moto_reset).create_cluster(
        name=CLUSTER, version="1.34", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": []})
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "record.jsonl"
    kubectl = str(workload.kubectl_bin)
    standin = bindir / "eksctl"
    standin.write_text(f"""#!{sys.executable}
import json, subprocess, sys
out = subprocess.run([{kubectl!r}, "--kubeconfig", {str(workload.kubeconfig)!r}, "get", "helmreleases.helm.fluxcd.io",
                      "-A", "-o", "json"], capture_output=True, text=True, check=True).stdout
left = [r["metadata"]["namespace"] + "/" + r["metadata"]["name"] for r in json.loads(out)["items"]
        if r["metadata"]["namespace"] in {list(NS)!r}]
open({str(record)!r}, "a").write(json.dumps({{"argv": sys.argv[1:], "helmreleases_left": left}}) + "\\n")
""")
    standin.chmod(standin.stat().st_mode | stat.S_IXUSR)
    kw = {"region_name": "us-west-2", "endpoint_url": moto_reset}
    s3, sm = boto3.client("s3", **kw), boto3.client("secretsmanager", **kw)
    bucket = "tidepool-test1-qa2-data"  # naming convention of test1's environment qa2
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=bucket, Key="blob/1", Body=b"x")
    sm.create_secret(Name=f"{CLUSTER}/qa2/mongo", SecretString="{}")
    sm.create_secret(Name="other/qa2/mongo", SecretString="{}")
    res = run_playbook("playbooks/delete_cluster.yml", limit=CLUSTER, extra_vars=extra(
        workload, confirm_delete=CLUSTER, aws_endpoint_url=moto_reset, cluster_eksctl_path=str(standin)))
    assert res.returncode == 0, res.stdout[-5000:]
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(calls) == 1
    argv = calls[0]["argv"]
    assert argv[:3] == ["delete", "cluster", "-f"] and argv[4:] == ["--wait", "--timeout=2400s"]
    assert calls[0]["helmreleases_left"] == []  # stop_services ran first
    # Kept without purge flags.
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert "DeletedDate" not in sm.describe_secret(SecretId=f"{CLUSTER}/qa2/mongo")

    purged = run_playbook("playbooks/delete_cluster.yml", limit=CLUSTER, extra_vars=extra(
        workload, confirm_delete=CLUSTER, aws_endpoint_url=moto_reset, cluster_eksctl_path=str(standin),
        purge_buckets=True, purge_secrets=True))
    assert purged.returncode == 0, purged.stdout[-5000:]
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "DeletedDate" in sm.describe_secret(SecretId=f"{CLUSTER}/qa2/mongo")  # 7-day recovery window
    assert "DeletedDate" not in sm.describe_secret(SecretId="other/qa2/mongo")  # another cluster's secret is kept
