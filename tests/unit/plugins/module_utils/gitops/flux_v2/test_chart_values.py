"""Every shared-service HelmRelease flavour 2 renders installs a pinned upstream chart of ../shared/reference/charts
(maintained repository, release of 2024 or later), and its values pass that chart's values.schema.json (helm
validates the chart's defaults merged with the release's values); a chart without a schema is listed here, and the
keys given to it must exist in its values.yaml."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support import charts, schemas
from tests.support.inventory import load_values

CHARTS = schemas.REF / "charts"
V2 = registry.flavour(2)
#: Charts that ship no values.schema.json, so helm checks nothing: their values are checked key by key against
#: values.yaml instead, except under the free-form maps listed (argument maps, annotations, labels).
NO_SCHEMA = {
    "cluster-autoscaler": ("extraArgs", "podAnnotations"),
    "gloo": ("gatewayProxies.gatewayProxy.service.extraAnnotations",),
    "kube-prometheus-stack": ("prometheus.prometheusSpec.externalLabels",),
    "linkerd-crds": (),
    "metrics-server": (),
}


def _all_packages():
    values = load_values("test2")
    values["pkgs"] = {pkg: {"enabled": True} for pkg in catalogue.PKGS if pkg not in V2.UNSUPPORTED_PACKAGES}
    values["pkgs"]["external-dns"]["domainFilters"] = ["tidepool.example.org"]
    values["logLevel"] = "warn"   # a level some charts spell otherwise
    return values


HOSTS = {"test2": load_values("test2"), "local": load_values("local"), "all-packages": _all_packages()}


def _releases():
    out = []
    for host, values in HOSTS.items():
        for obj in tree.render_tree(values, registry.for_values(values)).values():
            if obj["kind"] == "HelmRelease" and obj["metadata"]["name"] != "tidepool":
                out.append((host, obj))
    return out


RELEASES = _releases()


def _chart_dir(release):
    spec = release["spec"]["chart"]["spec"]
    return CHARTS / spec["chart"] / spec["version"]


def _merge(defaults, values):
    """Helm's coalescing of a chart's values.yaml with the release's values (a null deletes a default)."""
    out = copy.deepcopy(defaults) if isinstance(defaults, dict) else {}
    for key, value in values.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _unknown_keys(values, defaults, free, path=""):
    out = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if where in free:
            continue
        if not isinstance(defaults, dict) or key not in defaults:
            out.append(where)
        elif isinstance(value, dict) and isinstance(defaults[key], dict) and defaults[key]:
            out += _unknown_keys(value, defaults[key], free, where)
    return out


def test_every_flavour_2_chart_is_a_pinned_reference_chart():
    assert {h for h, _ in RELEASES} == set(HOSTS)
    pinned = {(c["name"], c["version"]) for c in V2.CHARTS.values()}
    rendered = set()
    for host, release in RELEASES:
        spec = release["spec"]["chart"]["spec"]
        rendered.add((spec["chart"], spec["version"]))
        assert (_chart_dir(release) / "Chart.yaml").is_file(), (host, spec)
        chart = yaml.safe_load((_chart_dir(release) / "Chart.yaml").read_text())
        assert (chart["name"], str(chart["version"])) == (spec["chart"], spec["version"])
    assert rendered == pinned   # the all-packages host installs every chart of the catalogue


@pytest.mark.parametrize("host,release", RELEASES,
                         ids=[f"{h}:{r['metadata']['namespace']}/{r['metadata']['name']}" for h, r in RELEASES])
def test_release_values_pass_the_chart_s_schema(host, release):
    chart_dir = _chart_dir(release)
    name = release["spec"]["chart"]["spec"]["chart"]
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    values = release["spec"]["values"]
    schema_file = chart_dir / "values.schema.json"
    if name in NO_SCHEMA:
        assert not schema_file.exists(), f"{name} has a schema now: validate against it"
        assert _unknown_keys(values, defaults, NO_SCHEMA[name]) == []
        return
    schema = json.loads(schema_file.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(_merge(defaults, values)), key=str)
    assert not errors, [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_the_schema_check_can_fail():
    [release] = [r for h, r in RELEASES if h == "test2" and r["metadata"]["name"] == "external-dns"]
    schema = json.loads((_chart_dir(release) / "values.schema.json").read_text())
    defaults = yaml.safe_load((_chart_dir(release) / "values.yaml").read_text())
    bad = _merge(defaults, dict(release["spec"]["values"], logLevel="trace"))   # external-dns knows no trace
    assert list(jsonschema.Draft7Validator(schema).iter_errors(bad))
    assert _unknown_keys({"hostNetwork": {"enabledd": True}}, {"hostNetwork": {"enabled": False}}, ()) == [
        "hostNetwork.enabledd"]


@pytest.mark.parametrize("release", [r for h, r in RELEASES if h == "all-packages"],
                         ids=[r["metadata"]["name"] for h, r in RELEASES if h == "all-packages"])
def test_uninstalling_a_release_keeps_its_crds(release, tmp_path):
    """A CRD a chart renders as a template is deleted by `helm uninstall` (a HelmRelease deleted, or reinstalled
    after a failed upgrade), and with it every object of that kind: every SecretStore and ExternalSecret, and the
    Secrets ESO owns. Each such CRD carries ``helm.sh/resource-policy: keep``, from the release's values or its
    post-renderer (CRDs of a chart's crds/ directory are never deleted by helm; ``helm template`` without
    --include-crds leaves them out)."""
    spec = release["spec"]["chart"]["spec"]
    rendered = charts.template(spec["chart"], spec["version"], release["spec"].get("values"), tmp_path,
                              release=release["spec"].get("releaseName") or release["metadata"]["name"],
                              namespace=release["spec"].get("targetNamespace") or release["metadata"]["namespace"])
    objects = charts.post_render(rendered, release, tmp_path)
    assert len(objects) == len(rendered)
    crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
    unkept = [o["metadata"]["name"] for o in crds
              if (o["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") != "keep"]
    assert unkept == [], f"{spec['chart']} {spec['version']}: CRDs helm would delete on uninstall: {unkept}"
