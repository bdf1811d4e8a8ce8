"""The Flux v1 flavour writes the objects the renderer wrote before the flavour interface existed."""
from __future__ import annotations

from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1.flavour import FluxV1

V1 = FluxV1()
REPOSITORIES_YAML = """apiVersion: v1
repositories:
- name: stable
  url: https://charts.helm.sh/stable
  cache: stable-index.yaml
- name: jetstack
  url: https://charts.jetstack.io
  cache: jetstack-index.yaml
- name: gloo
  url: https://storage.googleapis.com/solo-public-helm
  cache: gloo-index.yaml
- name: stakater
  url: https://stakater.github.io/stakater-charts
  cache: stakater-index.yaml
- name: fluxcd
  url: https://charts.fluxcd.io
  cache: fluxcd-index.yaml
- name: external-secrets
  url: https://external-secrets.github.io/kubernetes-external-secrets/
  cache: external-secrets-index.yaml
"""


def test_helm_release_without_automation():
    chart = {"repository": "https://charts.helm.sh/stable", "name": "datadog", "version": "1.31.11"}
    assert V1.helm_release("datadog-agent", "datadog", chart, {"a": 1}, release_name="datadog") == {
        "apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease",
        "metadata": {"name": "datadog-agent", "namespace": "datadog", "annotations": {"fluxcd.io/automated": "false"}},
        "spec": {"releaseName": "datadog", "chart": chart, "values": {"a": 1}},
    }


def test_helm_release_with_image_policy_keeps_the_service_order():
    release = V1.helm_release("tidepool", "qa2", {}, {}, release_name="qa2-tidepool",
                              image_policy={"blip": "glob:master-*", "auth": "glob:develop-*"})
    assert list(release["metadata"]["annotations"].items()) == [
        ("fluxcd.io/automated", "true"), ("fluxcd.io/tag.blip", "glob:master-*"), ("fluxcd.io/tag.auth", "glob:develop-*")]
    assert release["spec"]["releaseName"] == "qa2-tidepool"
    assert V1.image_update_policy(None) == {"annotations": {"fluxcd.io/automated": "false"}}


def test_repositories_secret():
    [secret] = V1.chart_sources("flux", V1.CHART_REPOSITORIES)
    assert secret == {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": "flux-helm-repositories", "namespace": "flux"},
                      "stringData": {"repositories.yaml": REPOSITORIES_YAML}}


def test_external_secret_manifest_both_formats():
    meta = {"name": "auth", "namespace": "qa1"}
    spec = V1.secret_manifest(meta, "test1/qa1/auth", {"b": "x", "a": "y"}, secret_type="kubernetes.io/tls",
                              region="us-west-2", role_arn="arn:aws:iam::1:role/r")
    assert spec == {"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret", "metadata": meta,
                    "spec": {"backendType": "secretsManager", "region": "us-west-2", "roleArn": "arn:aws:iam::1:role/r",
                             "template": {"type": "kubernetes.io/tls"},
                             "data": [{"key": "test1/qa1/auth", "name": "a", "property": "a"},
                                      {"key": "test1/qa1/auth", "name": "b", "property": "b"}]}}
    assert spec["metadata"] is not meta
    legacy = V1.secret_manifest(meta, "test1/qa1/auth", ["a"], secret_type="kubernetes.io/tls",
                                manifest_format="secretDescriptor")
    assert legacy["secretDescriptor"] == {"backendType": "secretsManager",
                                          "data": [{"key": "test1/qa1/auth", "name": "a", "property": "a"}]}
    assert V1.SECRET_MANIFEST_FORMATS == ("spec", "secretDescriptor")


def test_notifications_are_fluxcloud_values():
    assert V1.notifications({"channel": "#flux-test1", "username": "flux", "secret": "slack", "github_url": ""}) == {
        "slack": {"channel": "#flux-test1", "username": "flux", "secret": "slack"}, "github": {"url": ""}}


def test_needs_and_teardown_facts():
    facts = V1.facts()
    assert facts == {"version": 1, "needs_tiller_tls": True,
                     "release_kind": {"api_version": "helm.fluxcd.io/v1", "kind": "HelmRelease"},
                     "secret_kind": {"api_version": "kubernetes-client.io/v1", "kind": "ExternalSecret"},
                     "applied_kinds": ["helm.fluxcd.io/v1/HelmRelease", "kubernetes-client.io/v1/ExternalSecret"]}
    assert V1.placeholder_tls() == {"ca": b"", "server_cert": b"", "server_key": b"", "client_cert": b"",
                                    "client_key": b""}
