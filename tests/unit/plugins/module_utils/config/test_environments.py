"""Tidepool environments: the tidepool release (values, image automation) and the environment's objects."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values

FLAVOUR = registry.flavour(1)


@pytest.fixture()
def values():
    return load_values("test1")


def test_tidepool_helmrelease(values):
    hr = environments.tidepool_release(values, "qa2", FLAVOUR)
    assert hr["apiVersion"] == "helm.fluxcd.io/v1" and hr["kind"] == "HelmRelease"
    assert hr["metadata"]["name"] == "tidepool" and hr["metadata"]["namespace"] == "qa2"
    assert hr["spec"]["releaseName"] == "qa2-tidepool"
    assert hr["spec"]["chart"] == {"git": "git@github.com:tidepool-org/development",
                                   "path": "charts/tidepool/0.1.7", "ref": "k8s"}
    ann = hr["metadata"]["annotations"]
    assert ann["fluxcd.io/automated"] == "true"
    tags = {k: v for k, v in ann.items() if k.startswith("fluxcd.io/tag.")}
    assert len(tidepool_chart.SERVICES_0_1) == 19
    assert tags == {f"fluxcd.io/tag.{s}": "glob:develop-*" for s in tidepool_chart.SERVICES_0_1}
    v = hr["spec"]["values"]
    assert v["global"]["cluster"] == {"name": "test1", "region": "us-west-2"}
    assert v["global"]["environment"]["store"] == {"type": "s3"}
    assert v["global"]["environment"]["hpa"] == {"create": True}
    assert v["global"]["environment"]["hosts"] == {
        "default": {"protocol": "http"},
        "http": {"enabled": True, "port": "8080", "dnsNames": ["localhost"]},
        "https": {"enabled": False, "port": "8443", "dnsNames": []},
    }
    assert v["global"]["gateway"]["default"] == {"protocol": "http", "host": "localhost"}
    for svc in ("blob", "image", "jellyfish"):
        assert v[svc]["deployment"]["env"]["bucket"] == "tidepool-test1-qa2-data"
    assert v["hydrophone"]["deployment"]["env"]["bucket"] == "tidepool-test1-qa2-asset"
    assert v["mongodb"] == {"enabled": True}
    assert v["nosqlclient"] == {"enabled": True}
    assert v["gloo"] == {"enabled": False}


def test_gitops_per_service_override_and_hpa_off(values):
    env = values["environments"]["qa2"]
    env["gitops"] = {"branch": "master", "blip": "glob:release-1.23.0*"}
    env["hpa"] = {"enabled": False}
    hr = environments.tidepool_release(values, "qa2", FLAVOUR)
    assert hr["metadata"]["annotations"]["fluxcd.io/tag.blip"] == "glob:release-1.23.0*"
    assert hr["metadata"]["annotations"]["fluxcd.io/tag.auth"] == "glob:master-*"
    assert hr["spec"]["values"]["global"]["environment"]["hpa"] == {"create": False}


def test_shoreline_configmap_only_when_demo_user_set(values):
    kinds = [o["kind"] for o in environments.environment(values, "qa2", FLAVOUR)]
    assert kinds == ["Namespace", "HelmRelease"]
    values["environments"]["qa2"]["clinicDemoUserId"] = "e79b15328a"
    [cm] = [o for o in environments.environment(values, "qa2", FLAVOUR) if o["kind"] == "ConfigMap"]
    assert cm == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shoreline", "namespace": "qa2"},
                  "data": {"ClinicDemoUserId": "e79b15328a"}}


def test_chart_0_26_installs_client_side_because_server_side_apply_refuses_its_auth_deployment(tmp_path):
    # chart 0.26.0's auth Deployment lists TIDEPOOL_AUTH_SERVICE_SECRET twice: helm-controller's default server-side
    # apply fails the install ("duplicate entries for key"), so the release applies client-side, as Helm 3 did
    from tests.support import charts
    manifests = charts.template("tidepool", "0.26.0", {}, tmp_path)
    auth = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "auth")
    names = [e["name"] for e in auth["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert names.count("TIDEPOOL_AUTH_SERVICE_SECRET") == 2
    hr = environments.tidepool_release(load_values("test2"), "qa2", registry.flavour(2))
    assert hr["spec"]["install"] == {"crds": "CreateReplace", "serverSideApply": False}
    assert hr["spec"]["upgrade"] == {"crds": "CreateReplace", "serverSideApply": "disabled"}
    pinned = dict(load_values("test2"))
    pinned["environments"] = {"qa2": {"chart": dict(tidepool_chart.CHART_0_1, version="0.1.7")}}
    hr = environments.tidepool_release(pinned, "qa2", registry.flavour(2))  # chart 0.1.7 applies server-side
    assert hr["spec"]["install"] == {"crds": "CreateReplace"}
