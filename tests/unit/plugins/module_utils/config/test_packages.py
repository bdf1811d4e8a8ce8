"""Shared-service packages: overrides merge into the release; chart sources are written once."""
from __future__ import annotations

import os

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
from ansible_collections.tidepool.eks.plugins.module_utils.config import packages
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support import schemas
from tests.support.inventory import load_values

FLAVOUR = registry.flavour(1)


@pytest.fixture()
def values():
    return load_values("test1")


def test_package_values_override_merges_into_helmrelease(values):
    values["pkgs"]["external-dns"]["values"] = {"domainFilters": ["tidepool.org"], "aws": {"zoneType": "private"}}
    [hr] = [o for o in packages.shared_services(values, FLAVOUR)["external-dns"] if o["kind"] == "HelmRelease"]
    assert hr["spec"]["values"]["domainFilters"] == ["tidepool.org"]
    assert hr["spec"]["values"]["aws"] == {"zoneType": "private", "region": "us-west-2"}


def test_every_chart_repository_comes_from_the_catalogue(values):
    for conf in values["pkgs"].values():
        conf["enabled"] = True
    urls = dict(FLAVOUR.CHART_REPOSITORIES).values()
    releases = [o for objs in packages.shared_services(values, FLAVOUR).values() for o in objs
                if o["kind"] == "HelmRelease"]
    assert len(releases) == len(FLAVOUR.CHARTS)
    for release in releases:
        chart = release["spec"]["chart"]
        assert chart.get("repository") in urls or chart.get("git"), release["metadata"]
    assert len(set(urls)) == len(FLAVOUR.CHART_REPOSITORIES)


@pytest.mark.parametrize("version", sorted(registry.FLAVOURS))
def test_each_flavour_owns_its_whole_chart_catalogue(version):
    """A flavour's charts are packages of the catalogue, each from one of its repositories, each with its values; a
    package it cannot install has no chart."""
    flavour = registry.flavour(version)
    assert set(flavour.CHARTS) <= set(catalogue.PKGS) and "certmanager" in flavour.CHARTS
    assert not set(flavour.CHARTS) & set(flavour.UNSUPPORTED_PACKAGES)
    assert set(flavour.UNSUPPORTED_PACKAGES) <= set(catalogue.PKGS)
    urls = dict(flavour.CHART_REPOSITORIES).values()
    assert len(set(urls)) == len(flavour.CHART_REPOSITORIES)
    assert all(c.get("git") or c["repository"] in urls for c in flavour.CHARTS.values())
    settings = packages.chart_settings(load_values("test1"), "external-dns")
    for pkg in set(flavour.CHARTS) - {"fluxcloud"}:   # fluxcloud's values are the notification settings
        assert isinstance(flavour.chart_values(pkg, settings), dict), pkg
    chart = flavour.chart("certmanager")
    chart["version"] = "changed"
    assert flavour.chart("certmanager")["version"] != "changed"   # a copy


def test_flavour_2_installs_no_archived_or_pre_2024_chart():
    """No stable repository, no git chart, and the pinned releases of the reference charts (all from 2024 or later)."""
    v2 = registry.flavour(2)
    assert not [c for c in v2.CHARTS.values() if "git" in c]
    assert "https://charts.helm.sh/stable" not in dict(v2.CHART_REPOSITORIES).values()
    assert {pkg: (c["name"], c["version"]) for pkg, c in v2.CHARTS.items()} == {
        "certmanager": ("cert-manager", "v1.21.1"), "cluster-autoscaler": ("cluster-autoscaler", "9.59.0"),
        "external-dns": ("external-dns", "1.21.1"), "external-secrets": ("external-secrets", "2.9.0"),
        "gloo": ("gloo", "1.22.1"), "linkerd-crds": ("linkerd-crds", "2026.8.3"),
        "metrics-server": ("metrics-server", "3.13.1"), "prometheus-operator": ("kube-prometheus-stack", "88.5.3"),
        "reloader": ("reloader", "2.2.16")}
    assert set(v2.UNSUPPORTED_PACKAGES) == {"datadog", "sumologic"} and set(v2.EMPTY_PACKAGES) == {"gloo-crds"}


def test_flavour_1_keeps_the_guide_s_charts():
    v1 = registry.flavour(1)
    assert {pkg: c.get("version", c.get("ref")) for pkg, c in v1.CHARTS.items()} == {
        "certmanager": "v0.10.0", "datadog": "1.31.11", "external-dns": "2.6.1", "external-secrets": "8.5.5",
        "fluxcloud": "k8s", "gloo": "0.18.40", "metrics-server": "2.8.5", "prometheus-operator": "5.1.0",
        "reloader": "master", "sumologic": "1.1.0"}
    assert [name for name, _ in v1.CHART_REPOSITORIES] == ["stable", "jetstack", "gloo", "stakater", "fluxcd",
                                                           "external-secrets"]
    assert v1.UNSUPPORTED_PACKAGES == {} and set(v1.EMPTY_PACKAGES) == {"linkerd-crds"}


def test_flux_package_is_the_namespace_and_the_flavours_chart_sources(values):
    values["pkgs"]["flux"]["enabled"] = True
    ns, secret = packages.shared_services(values, FLAVOUR)["flux"]
    assert ns == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux"}}
    assert secret == FLAVOUR.chart_sources("flux", FLAVOUR.CHART_REPOSITORIES)[0]
    assert "- name: jetstack\n  url: https://charts.jetstack.io\n" in secret["stringData"]["repositories.yaml"]


@pytest.mark.parametrize("version, pkg, key", [(1, "external-secrets", "env"), (2, "external-secrets", "concurrent"),
                                               (1, "certmanager", "securityContext"), (2, "certmanager", "crds"),
                                               (1, "gloo", "crds"), (2, "gloo", "gatewayProxies"),
                                               (2, "cluster-autoscaler", "autoDiscovery")])
def test_the_flavours_charts_take_the_flavours_values(values, version, pkg, key):
    for name in ("certmanager", "gloo", "cluster-autoscaler"):
        values["pkgs"][name] = {"enabled": True}
    values["pkgs"]["external-secrets"] = {"enabled": True, "values": {"extra": 1}}
    values["flux_version"] = version
    for name in registry.flavour(version).UNSUPPORTED_PACKAGES:
        values["pkgs"].pop(name, None)
    flavour = registry.flavour(version)
    [release] = [o for o in packages.shared_services(values, flavour)[pkg] if o["kind"] == "HelmRelease"]
    expected = flavour.chart_values(pkg, packages.chart_settings(values, pkg))
    assert key in expected
    assert release["spec"]["values"] == (dict(expected, extra=1) if pkg == "external-secrets" else expected)
    with pytest.raises(KeyError):
        flavour.chart_values("amazon-cloudwatch", {})


def test_flavour_2_cluster_autoscaler_is_the_chart_for_the_irsa_account_and_the_cluster_version(values):
    values["flux_version"] = 2
    values["pkgs"] = {"cluster-autoscaler": {"enabled": True}}
    [source, release] = packages.shared_services(values, registry.flavour(2))["cluster-autoscaler"]
    assert (release["kind"], release["metadata"]) == ("HelmRelease", {"name": "cluster-autoscaler",
                                                                      "namespace": "kube-system"})
    assert source["spec"]["url"] == "https://kubernetes.github.io/autoscaler"
    v = release["spec"]["values"]
    assert v["autoDiscovery"] == {"clusterName": "test1"} and v["awsRegion"] == "us-west-2"
    assert v["rbac"]["serviceAccount"] == {"create": False, "name": catalogue.PKGS["cluster-autoscaler"]["irsa"]}
    assert v["image"] == {"tag": "v1.34.0"}
    values["pkgs"]["cluster-autoscaler"]["image"] = "registry.example.org/ca:v1.34.2"
    [_, release] = packages.shared_services(values, registry.flavour(2))["cluster-autoscaler"]
    assert release["spec"]["values"]["image"] == {"repository": "registry.example.org/ca", "tag": "v1.34.2"}
    # flavour 1 keeps the guide's Deployment
    values["flux_version"] = 1
    kinds = [o["kind"] for o in packages.shared_services(values, registry.flavour(1))["cluster-autoscaler"]]
    assert "Deployment" in kinds and "HelmRelease" not in kinds


def test_gloo_crds_come_with_the_gloo_chart_in_flavour_2(values):
    values["pkgs"] = {"gloo": {"enabled": True}, "gloo-crds": {"enabled": True}}
    assert packages.shared_services(values, registry.flavour(2))["gloo-crds"] == []
    crds = packages.shared_services(values, registry.flavour(1))["gloo-crds"]
    assert {c["spec"]["names"]["kind"] for c in crds} >= {"VirtualService", "RouteTable", "Upstream"}
    crd_files = os.listdir(schemas.REF / "charts" / "gloo" / "1.22.1" / "crds")
    assert {"gateway.solo.io_v1_VirtualService.yaml", "gateway.solo.io_v1_RouteTable.yaml",
            "gloo.solo.io_v1_Upstream.yaml"} <= set(crd_files)


@pytest.mark.parametrize("version, pkg", [(2, "datadog"), (2, "sumologic")])
def test_a_package_the_flavour_cannot_install_is_one_clear_error(values, version, pkg):
    values["flux_version"] = version
    values["pkgs"] = {pkg: {"enabled": True}}
    errors = validation.flavour_errors(values, registry.flavour(version))
    assert len(errors) == 1 and errors[0].startswith(f"pkgs.{pkg}: has no flux_version {version} equivalent: ")
    with pytest.raises(TidepoolError, match=f"pkgs.{pkg}"):
        packages.shared_services(values, registry.flavour(version))
    values["pkgs"][pkg]["enabled"] = False
    assert validation.flavour_errors(values, registry.flavour(version)) == []


def test_linkerd_crds_render_nothing_in_flavour_1_and_a_release_in_flavour_2(values):
    values["pkgs"] = {"linkerd-crds": {"enabled": True}}
    assert validation.flavour_errors(values, registry.flavour(1)) == []   # one inventory serves both flavours
    assert packages.shared_services(values, registry.flavour(1)) == {"linkerd-crds": []}
    values["flux_version"] = 2
    ns, source, release = packages.shared_services(values, registry.flavour(2))["linkerd-crds"]
    assert ns["metadata"]["name"] == "linkerd" and source["spec"]["url"] == "https://helm.linkerd.io/edge"
    assert release["spec"]["chart"]["spec"]["chart"] == "linkerd-crds" and release["metadata"]["namespace"] == "linkerd"


def test_the_environment_release_waits_for_the_linkerd_crds_in_flavour_2():
    values = load_values("test2")
    deps = environments.dependencies(values)
    assert {"name": "linkerd-crds", "namespace": "linkerd"} in deps
    release = environments.tidepool_release(values, "qa2", registry.flavour(2))
    assert {"name": "linkerd-crds", "namespace": "linkerd"} in release["spec"]["dependsOn"]
    assert not [d for d in environments.dependencies(load_values("test1")) if d["name"] == "linkerd-crds"]
