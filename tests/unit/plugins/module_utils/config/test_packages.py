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
    urls = dict(catalogue.CHART_REPOSITORIES).values()
    releases = [o for objs in packages.shared_services(values, FLAVOUR).values() for o in objs
                if o["kind"] == "HelmRelease"]
    assert len(releases) == len(catalogue.CHARTS)
    for release in releases:
        chart = release["spec"]["chart"]
        assert chart.get("repository") in urls or chart.get("git"), release["metadata"]
    assert len(set(urls)) == len(catalogue.CHART_REPOSITORIES)


def test_flux_package_is_the_namespace_and_the_flavours_chart_sources(values):
    values["pkgs"]["flux"]["enabled"] = True
    ns, secret = packages.shared_services(values, FLAVOUR)["flux"]
    assert ns == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux"}}
    assert secret == FLAVOUR.chart_sources("flux", catalogue.CHART_REPOSITORIES)[0]
    assert "- name: jetstack\n  url: https://charts.jetstack.io\n" in secret["stringData"]["repositories.yaml"]
