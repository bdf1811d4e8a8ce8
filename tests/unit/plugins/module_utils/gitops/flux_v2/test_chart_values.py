"""Every shared-service HelmRelease flavour 2 renders installs a pinned upstream chart of ../shared/reference/charts
(maintained repository, release of 2024 or later), and its values pass that chart's values.schema.json (helm
validates the chart's defaults merged with the release's values); a chart without a schema is listed here, and the
keys given to it must exist in its values.yaml. The Tidepool chart 0.26.0 has no schema either: every key the
environment's ``tidepool`` release sets must exist in its values.yaml, a subchart's or a ``global`` section."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
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


def _keycloak_https():
    """test2 with what its qa2 environment may also ask of chart 0.26: Keycloak, PodDisruptionBudgets, HTTPS."""
    values = load_values("test2")
    env = values["environments"]["qa2"]
    env.update(keycloak={"enabled": True}, pdb={"enabled": True})
    env["gateway"] = {"default": {"protocol": "https"}, "http": {"enabled": True, "dnsNames": ["localhost"]},
                      "https": {"enabled": True, "dnsNames": ["qa2.tidepool.example.org"]}}
    return values


HOSTS = {"test2": load_values("test2"), "local": load_values("local"), "all-packages": _all_packages(),
         "keycloak-https": _keycloak_https()}


def _releases():
    """``(shared, tidepool)``: the shared services' releases, ``(host, release)`` each, and the environments'
    ``tidepool`` releases, ``(host, release, directory of the chart's pinned copy)`` each."""
    shared, tidepool = [], []
    for host, values in HOSTS.items():
        flavour = registry.for_values(values)
        for obj in tree.render_tree(values, flavour).values():
            if obj["kind"] != "HelmRelease":
                continue
            if obj["metadata"]["name"] == naming.ENVIRONMENT_RELEASE:
                chart = environments.environment_chart(values, obj["metadata"]["namespace"], flavour)
                tidepool.append((host, obj, CHARTS / chart["name"] / chart["version"]))
            else:
                shared.append((host, obj))
    return shared, tidepool


RELEASES, TIDEPOOL_RELEASES = _releases()
#: Paths of the Tidepool release that chart 0.26.0's templates read with no default in any values.yaml, each with
#: the template reading it (every other key must be in the chart's values: _chart_defaults).
TIDEPOOL_READ_WITHOUT_DEFAULT = (
    # charts/glooingress/templates/3-https-virtual-service.yaml:
    #   secretRef.name: {{ $spec.certificateSecretName | default "https-certificate" }} ($spec: virtualServices.https)
    "glooingress.virtualServices.https.certificateSecretName",
    # charts/{blob,hydrophone,mailer}/templates/1-deployment.yaml:
    #   {{ if .Values.serviceAccount.name }} serviceAccountName: {{ .Values.serviceAccount.name }} (the IRSA account)
    "blob.serviceAccount.name",
    "hydrophone.serviceAccount.name",
    "mailer.serviceAccount.name",
)


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


def _chart_defaults(chart_dir):
    """A chart's values.yaml with its subcharts' (its ``charts/`` directories, vendored or in-tree) as helm coalesces
    them: each subchart's values under its name (or its ``alias`` among Chart.yaml's dependencies), every
    ``global`` section merged into the chart's ``global`` (the chart's own values win)."""
    values_file = chart_dir / "values.yaml"
    values = (yaml.safe_load(values_file.read_text()) if values_file.is_file() else None) or {}
    deps = yaml.safe_load((chart_dir / "Chart.yaml").read_text()).get("dependencies") or []
    subcharts = chart_dir / "charts"
    if not subcharts.is_dir():
        return values
    assert not list(subcharts.glob("*.tgz")), f"{subcharts}: packed subcharts, unpack them to check their values"
    for sub in sorted(d for d in subcharts.iterdir() if (d / "Chart.yaml").is_file()):
        name = yaml.safe_load((sub / "Chart.yaml").read_text())["name"]
        sub_values = _chart_defaults(sub)
        values["global"] = _merge(sub_values.pop("global", None) or {}, values.get("global") or {})
        for key in [d.get("alias") or name for d in deps if d["name"] == name] or [name]:
            values[key] = _merge(sub_values, values.get(key) or {})
    return values


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


def test_every_environment_s_tidepool_release_is_checked():
    """The key check below covers the Tidepool chart each environment of test2 and local installs (0.26.0, no
    values.schema.json: helm checks nothing), with and without Keycloak."""
    assert sorted((h, r["metadata"]["namespace"]) for h, r, _ in TIDEPOOL_RELEASES) == [
        ("all-packages", "qa2"), ("keycloak-https", "qa2"), ("local", "qa1"), ("test2", "qa2")]
    for _host, release, chart_dir in TIDEPOOL_RELEASES:
        assert chart_dir == CHARTS / "tidepool" / "0.26.0"
        assert not (chart_dir / "values.schema.json").exists(), "tidepool has a schema now: validate against it"
    assert {r["spec"]["values"]["keycloak"]["enabled"] for _, r, _ in TIDEPOOL_RELEASES} == {False, True}


@pytest.mark.parametrize("host,release,chart_dir", TIDEPOOL_RELEASES,
                         ids=[f"{h}:{r['metadata']['namespace']}" for h, r, _ in TIDEPOOL_RELEASES])
def test_tidepool_release_values_are_the_chart_s_keys(host, release, chart_dir):
    """A key the chart does not know is ignored by helm without a word (a misspelt ``global.region`` leaves every
    service in us-west-2, a misspelt ``glooingress.virtualServices`` serves the chart's default hosts): each key
    the collection sets is one of the chart's values.yaml, of a subchart's under its name, or of a ``global``."""
    defaults = _chart_defaults(chart_dir)
    assert _unknown_keys(release["spec"]["values"], defaults, TIDEPOOL_READ_WITHOUT_DEFAULT) == []


def test_the_tidepool_key_check_can_fail():
    """A misspelt key is reported, in the chart's values, a subchart's, a vendored dependency's own subchart's
    (keycloak's keycloakx) or ``global``."""
    [(_, release, chart_dir)] = [t for t in TIDEPOOL_RELEASES if t[0] == "test2"]
    defaults = _chart_defaults(chart_dir)
    values = copy.deepcopy(release["spec"]["values"])
    values["glooingress"]["virtualService"] = values["glooingress"].pop("virtualServices")
    values["global"]["regoin"] = values["global"].pop("region")
    values["keycloak"]["keycloakx"] = {"replica": 2}   # keycloakx (keycloak's subchart) says replicas
    values["migrations"] = {"hpa": {"enabled": True}}   # the migrations subchart has no HPA
    assert sorted(_unknown_keys(values, defaults, TIDEPOOL_READ_WITHOUT_DEFAULT)) == [
        "global.regoin", "glooingress.virtualService", "keycloak.keycloakx.replica", "migrations.hpa"]
    # what the check reads: in-tree subcharts, a vendored dependency's own subchart, every global section
    assert defaults["glooingress"]["virtualServices"]["https"]["enabled"] is False
    assert "replicas" in defaults["keycloak"]["keycloakx"]
    assert defaults["global"]["gateway"]["proxy"]["port"] == 80   # glooingress's global, beside the chart's own
    assert defaults["global"]["region"] == "us-west-2"


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
