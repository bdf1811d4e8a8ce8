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
