"""`site.yml -l local` (the README's main command) puts real objects into the local stack: the API server
holds the namespaces, IRSA service accounts, HelmReleases and ClusterIssuers (accepted by the real CRDs), moto
holds the buckets and secrets; a rerun changes nothing and --check changes nothing."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.helpers import recap, run_playbook

pytestmark = pytest.mark.integration


def kget(kube, *args):
    return json.loads(kube.kubectl("get", "-o", "json", *args).stdout)


@pytest.fixture(scope="module")
def site_local(local_stack_env):
    first = run_playbook("site.yml", limit="local", env=local_stack_env)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    return first


def test_objects_in_the_api_server(site_local, kube_stack):
    namespaces = {n["metadata"]["name"] for n in kget(kube_stack, "namespaces")["items"]}
    assert {"qa1", "certmanager", "external-dns", "external-secrets", "gloo-system", "reloader"} <= namespaces
    hr = kget(kube_stack, "helmreleases.helm.fluxcd.io", "tidepool", "-n", "qa1")
    assert hr["spec"]["releaseName"] == "qa1-tidepool"
    assert hr["metadata"]["annotations"]["fluxcd.io/tag.shoreline"] == "glob:develop-*"
    assert hr["spec"]["values"]["blob"]["deployment"]["env"]["bucket"] == "tidepool-local-qa1-data"
    blob = kget(kube_stack, "serviceaccount", "blob", "-n", "qa1")
    # the ClusterConfig's labels, plus those of the apply (who applied it, for which cluster and part)
    assert blob["metadata"]["labels"] == {"aws-usage": "blob-service", "app.kubernetes.io/managed-by": "tidepool.eks",
                                          "tidepool.org/cluster": "local", "tidepool.org/config-part": "cluster"}
    assert kget(kube_stack, "serviceaccount", "external-secrets", "-n", "external-secrets")["metadata"]["name"]
    issuers = {i["metadata"]["name"] for i in kget(kube_stack, "clusterissuers.certmanager.k8s.io")["items"]}
    assert issuers == {"letsencrypt-staging", "letsencrypt-production"}
    es = kget(kube_stack, "externalsecrets.kubernetes-client.io", "auth", "-n", "qa1")
    assert es["spec"]["backendType"] == "secretsManager"
    assert es["spec"]["data"] == [{"key": "local/qa1/auth", "name": "ServiceAuth", "property": "ServiceAuth"}]
    crds = {c["metadata"]["name"] for c in kget(kube_stack, "customresourcedefinitions")["items"]}
    assert "virtualservices.gateway.solo.io" in crds


def test_objects_in_moto(site_local, local_stack_env):
    kw = dict(endpoint_url=local_stack_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    buckets = {b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]}
    assert {"tidepool-local-qa1-data", "tidepool-local-qa1-asset"} <= buckets
    sm = boto3.client("secretsmanager", **kw)
    names = {s["Name"] for s in sm.list_secrets(MaxResults=100)["SecretList"]}
    assert {"local/qa1/auth", "local/qa1/shoreline", "local/flux/ca.pem", "local/flux/ca-key.pem"} <= names


def test_rerun_and_check_change_nothing(site_local, local_stack_env):
    again = run_playbook("site.yml", limit="local", env=local_stack_env)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout)["local"]["changed"] == 0, again.stdout[-6000:]
    check = run_playbook("site.yml", limit="local", env=local_stack_env, check=True, diff=True)
    assert check.returncode == 0, check.stdout[-4000:]
    assert recap(check.stdout)["local"]["changed"] == 0, check.stdout[-6000:]
