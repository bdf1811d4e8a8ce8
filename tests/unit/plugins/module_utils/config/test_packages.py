"""Shared-service packages: overrides merge into the release; chart sources are written once."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import packages
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
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
    """The shared charts and repositories come first and unchanged; a flavour's own charts name its own repositories."""
    flavour = registry.flavour(version)
    shared = catalogue.SHARED_CHART_REPOSITORIES
    assert flavour.CHART_REPOSITORIES[:len(shared)] == shared
    assert {k: flavour.CHARTS[k] for k in catalogue.SHARED_CHARTS} == catalogue.SHARED_CHARTS
    assert set(flavour.CHARTS) == {p for p in catalogue.PKGS if p in flavour.CHARTS} and "certmanager" in flavour.CHARTS
    urls = dict(flavour.CHART_REPOSITORIES).values()
    assert all(c.get("git") or c["repository"] in urls for c in flavour.CHARTS.values())
    chart = flavour.chart("certmanager")
    chart["version"] = "changed"
    assert flavour.chart("certmanager")["version"] != "changed"   # a copy


def test_the_flavours_differ_only_in_their_own_charts():
    v1, v2 = registry.flavour(1), registry.flavour(2)
    assert {p for p in v1.CHARTS if v1.chart(p) != v2.chart(p)} == {"certmanager", "external-secrets"}


def test_flux_package_is_the_namespace_and_the_flavours_chart_sources(values):
    values["pkgs"]["flux"]["enabled"] = True
    ns, secret = packages.shared_services(values, FLAVOUR)["flux"]
    assert ns == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux"}}
    assert secret == FLAVOUR.chart_sources("flux", FLAVOUR.CHART_REPOSITORIES)[0]
    assert "- name: jetstack\n  url: https://charts.jetstack.io\n" in secret["stringData"]["repositories.yaml"]


@pytest.mark.parametrize("version, pkg, key", [(1, "external-secrets", "env"), (2, "external-secrets", "concurrent"),
                                               (1, "certmanager", "securityContext"), (2, "certmanager", "crds")])
def test_the_flavours_own_charts_take_the_flavours_values(values, version, pkg, key):
    values["pkgs"]["certmanager"] = {"enabled": True}
    values["pkgs"]["external-secrets"] = {"enabled": True, "values": {"extra": 1}}
    flavour = registry.flavour(version)
    [release] = [o for o in packages.shared_services(values, flavour)[pkg] if o["kind"] == "HelmRelease"]
    expected = flavour.chart_values(pkg, {"region": "us-west-2", "log_level": values.get("logLevel", "info")})
    assert key in expected
    assert release["spec"]["values"] == (dict(expected, extra=1) if pkg == "external-secrets" else expected)
    with pytest.raises(KeyError):
        flavour.chart_values("gloo", {})
