"""The secrets contract of Tidepool chart 0.26.0, checked against the chart itself: the pinned copy
(../shared/reference/charts/tidepool/0.26.0) rendered by the real helm with the values tidepool.eks writes.

A Secret or key a workload references that the contract (config/tidepool_chart.py SECRETS_0_26) does not provide
fails here, and so does a generated key the chart would not generate (or the reverse)."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.filter import secrets as secret_filters
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming
from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
from ansible_collections.tidepool.eks.plugins.module_utils.config import irsa
from ansible_collections.tidepool.eks.plugins.module_utils.config import tidepool_chart
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support import charts
from tests.support.inventory import load_values

VERSION = tidepool_chart.CHART_0_26["version"]


def _render(values: dict, env: str, tmp_path, **overrides):
    chart_values = environments.tidepool_values(values, env, tidepool_chart.CHART_0_26)
    for key, value in overrides.items():
        chart_values[key] = {**chart_values.get(key, {}), **value}
    return charts.template("tidepool", VERSION, chart_values, tmp_path, release=f"{env}-tidepool", namespace=env)


@pytest.mark.parametrize("host,env", [("test2", "qa2"), ("local", "qa1")])
@pytest.mark.parametrize("keycloak", [False, True])
def test_every_secret_and_key_the_workloads_reference_is_in_the_contract(host, env, keycloak, tmp_path):
    values = load_values(host)
    objects = _render(values, env, tmp_path, keycloak={"enabled": keycloak})
    refs = charts.secret_references(objects)
    assert len([o for o in objects if o["kind"] == "Deployment"]) == 23
    assert refs, "the render references no Secret: the extraction is broken"
    contract = tidepool_chart.SECRETS_0_26
    # Secrets the release writes itself (keycloak's realm import, with keycloak.enabled) need no contract entry
    own = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    assert own <= {"keycloak-realm"}, own
    missing = sorted(f"{name}/{key} (used by {', '.join(sorted(users))})" for (name, key), users in refs.items()
                     if name not in own and (name not in contract or (key != "*" and key not in contract[name][0])))
    assert not missing, f"chart {VERSION} references Secrets the contract does not provide: {missing}"
    # and what the secrets role stores for the environment covers the same references
    stored = {(doc["metadata"]["name"], key) for doc in secret_filters.secrets_catalogue(
        {env: {}}, values["pkgs"], tidepool_chart=tidepool_chart.CHART_0_26) for key in doc["stringData"]}
    assert {ref for ref in refs if ref[1] != "*"} <= stored
    assert all(doc["metadata"]["namespace"] == env for doc in secret_filters.secrets_catalogue(
        {env: {}}, {}, tidepool_chart=tidepool_chart.CHART_0_26))


def test_generated_keys_are_exactly_those_the_chart_would_generate(tmp_path):
    # Every subchart writing its own Secret (global.secret.generated plus each secret.enabled), rendered twice: the
    # keys whose value changes between the renders are the chart's randAlphaNum ones.
    # (travis, a CI-only subchart no workload references, has an upstream secret template that is not valid YAML)
    subcharts = sorted(p.name for p in (charts.chart_dir("tidepool", VERSION) / "charts").iterdir()
                       if p.is_dir() and p.name != "travis")
    values = {"global": {"secret": {"generated": True}}, **{s: {"secret": {"enabled": True}} for s in subcharts}}

    def secrets():
        return {o["metadata"]["name"]: o.get("data") or {} for o in charts.template(
            "tidepool", VERSION, values, tmp_path, namespace="qa1") if o["kind"] == "Secret"}

    first, second = secrets(), secrets()
    chart_generated = {name: {k for k in data if data[k] != second[name].get(k)} for name, data in first.items()}
    chart_generated = {name: keys for name, keys in chart_generated.items() if keys}
    ours = {name: {k for k, v in keys.items() if v == tidepool_chart.GENERATED}
            for name, (keys, _operator) in tidepool_chart.SECRETS_0_26.items()}
    ours = {name: keys for name, keys in ours.items() if keys}
    assert ours == chart_generated
    # the keys of every Secret the chart can write are provided, with the chart's fixed defaults where it has them
    for name, data in first.items():
        if name in tidepool_chart.SECRETS_0_26:
            assert set(data) <= set(tidepool_chart.SECRETS_0_26[name][0]), name
    mongo = {k: v for k, v in tidepool_chart.SECRETS_0_26["mongo"][0].items() if v}
    assert mongo == {"Scheme": "mongodb", "Addresses": "mongodb", "Database": "admin", "Tls": "false"}


def test_values_reach_the_workloads_buckets_and_irsa_accounts(tmp_path):
    values = load_values("test2")
    objects = {o["metadata"]["name"]: o for o in _render(values, "qa2", tmp_path) if o["kind"] == "Deployment"}
    buckets = naming.bucket_names("test2", "qa2", values["environments"]["qa2"].get("buckets"))

    def env_of(deployment):
        container = objects[deployment]["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e.get("value") for e in container.get("env") or []}

    assert env_of("blob")["TIDEPOOL_BLOB_SERVICE_UNSTRUCTURED_STORE_S3_BUCKET"] == buckets["data"]
    assert env_of("blob")["TIDEPOOL_BLOB_SERVICE_UNSTRUCTURED_STORE_TYPE"] == "s3"
    # each workload with an IRSA service account in the ClusterConfig runs as it
    accounts = {sa["metadata"]["name"] for sa in irsa.irsa_service_accounts(values, registry.flavour(2))
                if sa["metadata"]["namespace"] == "qa2" and sa["metadata"]["name"] in objects}
    assert accounts == set(tidepool_chart.SERVICE_ACCOUNTS["0.26"]) == {"blob", "hydrophone", "mailer"}
    for name in accounts:
        assert objects[name]["spec"]["template"]["spec"].get("serviceAccountName") == name, name
    # Linkerd ServiceProfiles only when the linkerd-crds package is enabled
    kinds = {o["kind"] for o in _render(values, "qa2", tmp_path)}
    assert ("ServiceProfile" in kinds) == ("linkerd-crds" in [p for p, c in values["pkgs"].items()
                                                              if (c or {}).get("enabled")])


def test_chart_0_1_keeps_its_own_contract():
    ids = {doc["metadata"]["name"] for doc in secret_filters.secrets_catalogue(
        {"qa1": {}}, {}, tidepool_chart=tidepool_chart.CHART_0_1)}
    assert {"image", "notification", "user", "carelink", "mailchimp"} <= ids
    assert not ids & {"prescription", "kafka", "oura", "token-signing-key"}
    # an environment pinned to 0.1.7 on flavour 2 gets 0.1.7's contract
    pinned = secret_filters.secrets_catalogue({"qa1": {"chart": {"path": "charts/tidepool/0.1.7"}}}, {},
                                              tidepool_chart=tidepool_chart.CHART_0_26)
    assert "image" in {doc["metadata"]["name"] for doc in pinned}


def test_a_chart_without_a_version_is_one_clear_error():
    with pytest.raises(ValueError, match="names no version"):
        tidepool_chart.generation({"repository": "https://charts.example.org", "name": "tidepool"})
    assert tidepool_chart.generation({"repository": "https://charts.example.org", "version": "0.27.1"}) == "0.26"
    assert tidepool_chart.merge_source(tidepool_chart.CHART_0_26, {"repository": "https://charts.example.org"}) == {
        "repository": "https://charts.example.org", "name": "tidepool", "version": "0.26.0"}
