"""helm_chart_mirror: one setting points every chart source of the render at a mirror (air-gapped clusters)."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import chart_mirror
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values

MIRROR = "http://127.0.0.1:18879"


def _render(values):
    assert validation.validate(values, flavour_of=registry.for_values) == []
    return list(tree.render_tree(values, registry.for_values(values)).values())


def _sources(objs, release):
    ref = release["spec"]["chart"]["spec"]["sourceRef"]
    return [o for o in objs if o["kind"] == ref["kind"] and o["metadata"]["name"] == ref["name"]
            and o["metadata"]["namespace"] == ref["namespace"]]


@pytest.mark.parametrize("mirror,oci", [(MIRROR, False), ("oci://123456789012.dkr.ecr.us-west-2.amazonaws.com/charts", True)])
def test_flavour_2_every_chart_source_points_at_the_mirror(mirror, oci):
    values = load_values("test2")
    values["helm_chart_mirror"] = mirror
    objs = _render(values)
    releases = [o for o in objs if o["kind"] == "HelmRelease"]
    assert len(releases) >= 8
    for release in releases:
        [source] = _sources(objs, release)
        assert source["kind"] == "HelmRepository" and source["spec"]["url"] == mirror, release["metadata"]
        assert (source["spec"].get("type") == "oci") == oci
    # no chart comes from git any more (the only GitRepository left is the config repository's)
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "GitRepository"] in ([], ["flux-system"])
    tidepool = next(o for o in releases if o["metadata"]["name"] == "tidepool")["spec"]["chart"]["spec"]
    assert (tidepool["chart"], tidepool["version"]) == ("tidepool", "0.26.0")
    # without the mirror, nothing points at it
    values.pop("helm_chart_mirror")
    assert mirror not in str(_render(values))


def test_flavour_1_releases_name_the_mirror_and_git_charts_need_a_version():
    values = load_values("test1")
    values["helm_chart_mirror"] = MIRROR
    errors = validation.validate(values, flavour_of=registry.for_values)
    # the guide's reloader comes from git master: nothing tells the mirror which version to serve
    assert errors == [e for e in errors if e.startswith("pkgs.reloader.chart: ")] and len(errors) == 1
    assert "set pkgs.reloader.chart.version" in errors[0]
    values["pkgs"]["reloader"]["chart"] = {"name": "reloader", "version": "2.2.16"}
    objs = _render(values)
    for release in (o for o in objs if o["kind"] == "HelmRelease"):
        assert release["spec"]["chart"]["repository"] == MIRROR, release["metadata"]
    tidepool = next(o for o in objs if o["kind"] == "HelmRelease" and o["metadata"]["name"] == "tidepool")
    assert (tidepool["spec"]["chart"]["name"], tidepool["spec"]["chart"]["version"]) == ("tidepool", "0.1.7")
    values["helm_chart_mirror"] = "oci://registry.example.org/charts"
    assert any(e.startswith("helm_chart_mirror: Flux v1") for e in validation.validate(
        values, flavour_of=registry.for_values))


@pytest.mark.parametrize("url", ["ftp://mirror.example.org", "https://user:pw@mirror.example.org/charts",
                                 "mirror.example.org", "https://mirror.example.org/charts?x=1"])
def test_a_bad_mirror_url_is_one_error_naming_the_key(url):
    values = load_values("test2")
    values["helm_chart_mirror"] = url
    errors = validation.validate(values, flavour_of=registry.for_values)
    assert len(errors) == 1 and errors[0].startswith("helm_chart_mirror"), errors


def test_name_and_version_of_git_charts():
    assert chart_mirror.name_and_version({"git": "g", "path": "charts/tidepool/0.1.7"}) == ("tidepool", "0.1.7")
    assert chart_mirror.name_and_version({"git": "g", "path": "charts/fluxcloud/0.1.0/"}) == ("fluxcloud", "0.1.0")
    assert chart_mirror.name_and_version({"git": "g", "path": "deployments/kubernetes/chart/reloader"}) == (
        "reloader", None)
    assert chart_mirror.mirrored({"repository": "r", "name": "n", "version": "1.0.0"}, None, "x") == {
        "repository": "r", "name": "n", "version": "1.0.0"}
    assert chart_mirror.mirrored({"repository": "r", "name": "n", "version": "1.0.0"}, MIRROR + "/", "x") == {
        "repository": MIRROR, "name": "n", "version": "1.0.0"}
