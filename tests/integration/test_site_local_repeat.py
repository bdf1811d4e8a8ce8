"""What a user hits on the second run of `site.yml -l local` (the README's main command): nothing changes,
the AWS state survives a stack restart byte for byte, the objects are applied by the field manager
`tidepool.eks`, check mode previews a new environment, and a removed one is reported, pruned only on request."""
from __future__ import annotations

import copy
import subprocess

import boto3
import pytest
import yaml

from tests.support.helpers import REPO, recap, run_playbook

pytestmark = pytest.mark.integration
VALUES = yaml.safe_load((REPO / "inventories" / "values" / "local.yml").read_text())


def envs(*names):
    return {"environments": {n: copy.deepcopy(VALUES["environments"]["qa1"]) for n in names}}


def site(env, **kw):
    res = run_playbook("site.yml", limit="local", env=env, **kw)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    return res, recap(res.stdout)["local"]


def secret_values(endpoint):
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    names = [s["Name"] for p in sm.get_paginator("list_secrets").paginate() for s in p["SecretList"]]
    return {n: sm.get_secret_value(SecretId=n)["SecretString"] for n in sorted(names) if n.startswith("local/")}


def buckets(endpoint):
    return {b["Name"] for b in boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_buckets()["Buckets"]}


def head(env):
    out = subprocess.run(["git", "ls-remote", env["TIDEPOOL_GIT_URL"] + "cluster-local.git", "refs/heads/master"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[0]


def kget(kube, *args):
    """None only on NotFound; a kubectl failure fails the test (KubeStack.get)."""
    return kube.get(*args)


@pytest.fixture(scope="module")
def converged(local_stack_env):
    site(local_stack_env)
    return local_stack_env


def test_restart_keeps_every_secret_value_and_the_rerun_changes_nothing(converged, kube_stack):
    before = secret_values(converged["AWS_ENDPOINT_URL"])
    assert "local/qa1/auth" in before and "local/flux/ca-key.pem" in before
    stack = kube_stack.stack
    stack.down(["moto"])
    stack.up(["moto"])
    assert stack.moto_replayed, "moto restarted without replaying its recording"
    assert secret_values(converged["AWS_ENDPOINT_URL"]) == before
    res, stats = site(converged)
    assert stats["changed"] == 0, res.stdout[-6000:]
    assert secret_values(converged["AWS_ENDPOINT_URL"]) == before


def test_objects_are_applied_by_tidepool_eks_and_labelled(converged, kube_stack):
    for args in (["helmreleases.helm.fluxcd.io", "tidepool", "-n", "qa1"], ["serviceaccount", "blob", "-n", "qa1"],
                 ["externalsecrets.kubernetes-client.io", "auth", "-n", "qa1"], ["namespace", "qa1"]):
        obj = kget(kube_stack, *args, "--show-managed-fields")
        appliers = [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]]
        assert ("tidepool.eks", "Apply") in appliers, (args, appliers)
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tidepool.eks"
        assert obj["metadata"]["labels"]["tidepool.org/cluster"] == "local"


def test_check_mode_previews_a_new_environment_and_creates_nothing(converged, kube_stack):
    endpoint = converged["AWS_ENDPOINT_URL"]
    sha, secrets, bkts = head(converged), secret_values(endpoint), buckets(endpoint)
    res = run_playbook("site.yml", limit="local", env=converged, extra_vars=envs("qa1", "zz1"), check=True, diff=True)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert recap(res.stdout)["local"]["changed"] > 0
    out = res.stdout
    for needle in ("tidepool-local-zz1-data: create", "create ServiceAccount zz1/blob", "create HelmRelease zz1/tidepool",
                   "clusters/local/flux/environments/zz1/"):
        assert needle in out, needle
    assert kget(kube_stack, "namespace", "zz1") is None
    assert head(converged) == sha
    assert secret_values(endpoint) == secrets and buckets(endpoint) == bkts


def test_removed_environment_is_reported_every_run_and_pruned_only_on_request(converged, kube_stack, tmp_path):
    site(converged, extra_vars=envs("qa1", "zz2"))
    assert kget(kube_stack, "helmreleases.helm.fluxcd.io", "tidepool", "-n", "zz2")["spec"]["releaseName"] == "zz2-tidepool"
    assert kget(kube_stack, "externalsecrets.kubernetes-client.io", "auth", "-n", "zz2")
    for _ in range(2):  # back to the inventory's qa1 only: reported on every run, nothing deleted
        res, stats = site(converged)
        for needle in ("no longer in the inventory", "Namespace zz2", "HelmRelease zz2/tidepool",
                       "ServiceAccount zz2/blob", "ExternalSecret zz2/auth", "set config_prune: true"):
            assert needle in res.stdout, needle
        assert kget(kube_stack, "namespace", "zz2")["status"]["phase"] == "Active"
    assert stats["changed"] == 0, res.stdout[-6000:]
    # the ExternalSecret manifests of the removed environment left the config repository; its secrets stay stored
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", converged["TIDEPOOL_GIT_URL"] + "cluster-local.git", str(clone)], check=True)
    es_dir = clone / "clusters" / "local" / "flux" / "external-secrets"
    assert (es_dir / "qa1" / "auth.yaml").exists() and not (es_dir / "zz2").exists()
    assert "local/zz2/auth" in secret_values(converged["AWS_ENDPOINT_URL"])

    res, stats = site(converged, extra_vars={"config_prune": True})
    assert "Deleting them (config_prune: true)" in res.stdout
    assert stats["changed"] > 0
    assert kget(kube_stack, "helmreleases.helm.fluxcd.io", "tidepool", "-n", "zz2") is None
    ns = kget(kube_stack, "namespace", "zz2")
    assert ns is None or ns["metadata"].get("deletionTimestamp")
    assert kget(kube_stack, "namespace", "qa1")["status"]["phase"] == "Active"
    res, stats = site(converged)
    assert stats["changed"] == 0 and "no longer in the inventory" not in res.stdout, res.stdout[-6000:]
