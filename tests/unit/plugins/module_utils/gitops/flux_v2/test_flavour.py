"""The Flux v2 flavour: every object kind it renders, the same release names as Flux v1, per-namespace secret
stores and IRSA readers, dependsOn, the image policy translation, and switching flux_version back and forth."""
from __future__ import annotations

import copy
import re

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import images
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2 import releases
from tests.support.inventory import load_values

V2 = registry.flavour(2)


def _values(version=2, **pkgs):
    values = load_values("test1")
    values["flux_version"] = version
    for pkg, enabled in pkgs.items():
        values["pkgs"].setdefault(pkg.replace("_", "-"), {})["enabled"] = enabled
    return values


def _objects(values):
    return list(tree.render_tree(values, registry.for_values(values)).values())


def _by(objs, kind, name=None, ns=None):
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
            and (ns is None or o["metadata"].get("namespace") == ns)]


def test_test2_is_test1_with_flux_version_2():
    test1, test2 = load_values("test1"), load_values("test2")
    assert test2.pop("flux_version") == 2
    test2["cluster"]["metadata"]["name"] = "test1"
    test2["cluster"]["vpc"]["cidr"] = test1["cluster"]["vpc"]["cidr"]
    # and the Linkerd CRDs of the Tidepool chart's ServiceProfiles, a package flux_version 1 has no chart for
    assert test2["pkgs"].pop("linkerd-crds") == {"enabled": True} and "linkerd-crds" in V2.CHARTS
    assert test2 == test1


def test_no_flux_v1_or_kes_kind_and_no_fluxcd_annotation():
    objs = _objects(load_values("test2"))
    kinds = {f"{o['apiVersion']}/{o['kind']}" for o in objs}
    assert not [k for k in kinds if k.startswith(("helm.fluxcd.io/", "kubernetes-client.io/", "certmanager.k8s.io/"))]
    assert {"helm.toolkit.fluxcd.io/v2/HelmRelease", "source.toolkit.fluxcd.io/v1/HelmRepository",
            "source.toolkit.fluxcd.io/v1/GitRepository", "image.toolkit.fluxcd.io/v1/ImageRepository",
            "image.toolkit.fluxcd.io/v1/ImagePolicy", "image.toolkit.fluxcd.io/v1/ImageUpdateAutomation",
            "external-secrets.io/v1/SecretStore", "cert-manager.io/v1/ClusterIssuer"} <= kinds
    for obj in objs:
        for key in (obj.get("metadata") or {}).get("annotations") or {}:
            assert not key.startswith("fluxcd.io/"), (obj["kind"], key)
    assert not _by(objs, "Secret")  # flux-helm-repositories is Flux v1's


def test_releases_have_the_same_names_and_namespaces_as_flux_v1():
    v1 = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
          for o in _by(_objects(_values(1, datadog=True, sumologic=True, fluxcloud=True)), "HelmRelease")}
    v2 = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
          for o in _by(_objects(_values(2, fluxcloud=True, linkerd_crds=True)), "HelmRelease")}
    # fluxcloud becomes a Provider and an Alert; datadog and sumologic (stable charts) have no flux_version 2 release;
    # the cluster autoscaler is a chart instead of a Deployment; the Linkerd CRDs are flavour 2's.
    assert set(v1) - set(v2) == {("flux", "fluxcloud"), ("datadog", "datadog-agent"), ("sumologic", "sumologic-fluentd")}
    assert set(v2) - set(v1) == {("kube-system", "cluster-autoscaler"), ("linkerd", "linkerd-crds")}
    for key in set(v1) & set(v2):
        assert v2[key]["spec"]["releaseName"] == v1[key]["spec"]["releaseName"]
    # each flavour writes its own chart's values: the inventory's settings reach both
    for key in (("external-dns", "external-dns"), ("prometheus-operator", "prometheus-operator")):
        key = (key[0] if key[0] != "prometheus-operator" else "monitoring", key[1])
        for hr in (v1[key], v2[key]):
            assert "test1" in str(hr["spec"]["values"]) and "us-west-2" in str(hr["spec"]["values"]), key
    assert v2[("external-secrets", "external-secrets")]["spec"]["chart"]["spec"]["chart"] == "external-secrets"
    assert v2[("certmanager", "certmanager")]["spec"]["chart"]["spec"]["version"].startswith("v1.")


def test_chart_sources_catalogue_repositories_and_git_charts():
    objs = _objects(load_values("test2"))
    repos = {o["metadata"]["name"]: o for o in _by(objs, "HelmRepository")}
    # helm-controller runs with --no-cross-namespace-refs: every release's source is in the release's namespace
    releases = _by(objs, "HelmRelease")
    for hr in releases:
        ref = hr["spec"]["chart"]["spec"]["sourceRef"]
        assert ref["namespace"] == hr["metadata"]["namespace"], hr["metadata"]
        assert _by(objs, ref["kind"], ref["name"], ref["namespace"]), ref
        assert hr["spec"]["serviceAccountName"] == "helm-release"  # --default-service-account: never `default`
    assert not [o for o in objs if o["kind"] == "HelmRepository" and o["metadata"]["namespace"] == "flux-system"]
    gloo = _by(objs, "HelmRelease", "gloo")[0]["spec"]["chart"]["spec"]
    assert gloo == {"chart": "gloo", "version": "1.22.1",
                    "sourceRef": {"kind": "HelmRepository", "name": "gloo", "namespace": "gloo-system"}}
    assert repos["gloo"]["spec"]["url"] == "https://storage.googleapis.com/solo-public-helm"
    git = _by(objs, "GitRepository", "tidepool-chart", "qa2")[0]
    # chart 0.26.0 at its release tag (Tidepool publishes the chart in git only)
    assert git["spec"]["url"] == "https://github.com/tidepool-org/development"
    assert git["spec"]["ref"] == {"name": "refs/tags/tidepool-0.26.0"}
    spec = _by(objs, "HelmRelease", "tidepool", "qa2")[0]["spec"]["chart"]["spec"]
    assert spec["chart"] == "./charts/tidepool" and spec["sourceRef"]["name"] == "tidepool-chart"


def test_chart_overrides_reach_the_sources():
    values = load_values("test2")
    values["environments"]["qa2"]["chart"] = {"ref": "a" * 40, "path": "charts/tidepool/0.2.0"}
    values["pkgs"]["gloo"]["chart"] = {"repository": "https://charts.example.org"}
    objs = _objects(values)
    assert _by(objs, "GitRepository", "tidepool-chart")[0]["spec"]["ref"] == {"commit": "a" * 40}
    gloo = _by(objs, "HelmRelease", "gloo")[0]["spec"]["chart"]["spec"]["sourceRef"]
    assert gloo == {"kind": "HelmRepository", "name": "gloo-chart", "namespace": "gloo-system"}
    assert _by(objs, "HelmRepository", "gloo-chart", "gloo-system")[0]["spec"]["url"] == "https://charts.example.org"


@pytest.mark.parametrize("url,expected", [
    ("git@github.com:tidepool-org/development", "https://github.com/tidepool-org/development"),
    ("https://example.org/a.git", "https://example.org/a.git"), ("ssh://git@example.org/a", "ssh://git@example.org/a")])
def test_git_urls(url, expected):
    assert releases.git_url(url) == expected


@pytest.mark.parametrize("ref,expected", [("k8s", {"branch": "k8s"}), ("refs/tags/v1", {"name": "refs/tags/v1"}),
                                          ("0123456789abcdef0123456789abcdef01234567",
                                           {"commit": "0123456789abcdef0123456789abcdef01234567"})])
def test_git_refs(ref, expected):
    assert releases.git_ref(ref) == expected


def test_depends_on_gloo_and_certmanager_only_when_enabled():
    hr = _by(_objects(_values(2)), "HelmRelease", "tidepool")[0]
    assert hr["spec"]["dependsOn"] == [{"name": "gloo", "namespace": "gloo-system"},
                                       {"name": "certmanager", "namespace": "certmanager"}]
    values = _values(2, gloo=False)
    values["environments"]["qa2"]["gateway"]["https"]["enabled"] = False
    assert _by(_objects(values), "HelmRelease", "tidepool")[0]["spec"]["dependsOn"] == [
        {"name": "certmanager", "namespace": "certmanager"}]
    assert "dependsOn" not in _by(_objects(_values(2, gloo=False, certmanager=False)), "HelmRelease", "tidepool")[0]["spec"]
    assert "dependsOn" not in _by(_objects(_values(1)), "HelmRelease", "tidepool")[0]["spec"]  # helm-operator has none


@pytest.mark.parametrize("tag_filter,expected", [
    ("glob:develop-*", {"filterTags": {"pattern": "^develop\\-.*$"}, "policy": {"alphabetical": {"order": "asc"}}}),
    ("release-?.x", {"filterTags": {"pattern": "^release\\-.\\.x$"}, "policy": {"alphabetical": {"order": "asc"}}}),
    ("regex:^develop-[a-f0-9]+-(?P<ts>[0-9]+)$",
     {"filterTags": {"pattern": "^develop-[a-f0-9]+-(?P<ts>[0-9]+)$", "extract": "$ts"},
      "policy": {"numerical": {"order": "asc"}}}),
    ("regex:^v1", {"filterTags": {"pattern": "^v1"}, "policy": {"alphabetical": {"order": "asc"}}}),
    ("semver:>=1.2.0 <2", {"policy": {"semver": {"range": ">=1.2.0 <2"}}}),
])
def test_image_policy_translation(tag_filter, expected):
    assert images.policy(tag_filter) == expected


def test_glob_translation_keeps_v1_matches():
    pattern = images.policy("glob:develop-*")["filterTags"]["pattern"]
    assert re.match(pattern, "develop-1a2b3c") and not re.match(pattern, "master-1a2b3c")
    assert not re.match(pattern, "xdevelop-1")
    with pytest.raises(ValueError):
        images.policy("glob:")


def test_image_automation_of_an_environment():
    values = load_values("test2")
    values["environments"]["qa2"]["gitops"] = {"branch": "master", "blip": "semver:~1.0"}
    objs = _objects(values)
    policies = {o["metadata"]["name"]: o for o in _by(objs, "ImagePolicy", ns="qa2")}
    repos = {o["metadata"]["name"]: o for o in _by(objs, "ImageRepository", ns="qa2")}
    # chart 0.26.0's 22 Tidepool services (plotly-orca is not automated)
    assert len(policies) == len(repos) == 22
    assert repos["auth"]["spec"]["image"] == "docker.io/tidepool/platform-auth"
    assert repos["messageapi"]["spec"]["image"] == "docker.io/tidepool/message-api"
    assert repos["blip"]["spec"]["image"] == "docker.io/tidepool/blip"
    assert policies["auth"]["spec"]["filterTags"]["pattern"] == "^master\\-.*$"
    assert policies["blip"]["spec"]["policy"] == {"semver": {"range": "~1.0"}}
    auto = _by(objs, "ImageUpdateAutomation", ns="qa2")[0]["spec"]
    assert auto["sourceRef"] == {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}
    assert auto["update"] == {"path": "./clusters/test2/flux/environments/qa2", "strategy": "Setters"}
    assert auto["git"]["commit"]["author"]["email"] == values["email"]


def test_fluxcloud_becomes_a_provider_and_an_alert():
    values = _values(2, fluxcloud=True)
    values["pkgs"]["fluxcloud"]["channel"] = "#ops"
    objs = tree.render_tree(values, registry.for_values(values))
    provider = objs["clusters/test1/flux/shared/fluxcloud/provider-slack.yaml"]
    alert = objs["clusters/test1/flux/shared/fluxcloud/alert-flux.yaml"]
    assert provider["apiVersion"] == alert["apiVersion"] == "notification.toolkit.fluxcd.io/v1beta3"
    assert provider["spec"] == {"type": "slack", "channel": "#ops", "username": "flux", "secretRef": {"name": "slack"}}
    assert {"kind": "HelmRelease", "name": "*", "namespace": "qa2"} in alert["spec"]["eventSources"]
    assert "clusters/test1/flux/shared/fluxcloud/secretstore-aws-secrets-manager.yaml" in objs  # the Slack Secret's
    assert not [p for p in objs if "helmrelease-fluxcloud" in p]


def test_external_secret_per_secret_reads_the_same_id_and_keys():
    v1 = registry.flavour(1).secret_manifest({"name": "mongo", "namespace": "qa2"}, "test2/qa2/mongo",
                                             ["Password", "Addresses"], secret_type="Opaque")
    v2 = V2.secret_manifest({"name": "mongo", "namespace": "qa2"}, "test2/qa2/mongo", ["Password", "Addresses"],
                            secret_type="kubernetes.io/tls")
    assert v2["apiVersion"] == "external-secrets.io/v1" and v2["kind"] == "ExternalSecret"
    assert [(d["secretKey"], d["remoteRef"]) for d in v2["spec"]["data"]] == [
        (d["name"], {"key": d["key"], "property": d["property"]}) for d in v1["spec"]["data"]]
    assert v2["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": "aws-secrets-manager"}
    assert v2["spec"]["target"]["template"] == {"type": "kubernetes.io/tls"}
    with pytest.raises(TidepoolError, match="role_arn has no flux_version 2 equivalent"):
        V2.secret_manifest({"name": "a", "namespace": "b"}, "c/b/a", ["k"], role_arn="arn:aws:iam::1:role/x")


def test_a_secret_store_and_a_reader_role_per_namespace_scoped_to_it():
    values = _values(2, fluxcloud=True)
    values["environments"]["prd"] = copy.deepcopy(values["environments"]["qa2"])
    objs = _objects(values)
    stores = {o["metadata"]["namespace"]: o for o in _by(objs, "SecretStore")}
    assert sorted(stores) == ["flux", "prd", "qa2"]
    for ns, store in stores.items():
        aws = store["spec"]["provider"]["aws"]
        assert aws["service"] == "SecretsManager" and aws["region"] == "us-west-2"
        assert aws["auth"] == {"jwt": {"serviceAccountRef": {"name": "secret-store"}}}
    accounts = {a["metadata"]["namespace"]: a
                for a in cluster_config.cluster_config(values, registry.for_values(values))["iam"]["serviceAccounts"]
                if a["metadata"]["name"] == "secret-store"}
    assert sorted(accounts) == sorted(stores)
    for ns, acct in accounts.items():
        statement, *deny = acct["attachPolicy"]["Statement"]
        # flux's reader may not read the Tiller CA kept there after a migration (config.irsa)
        assert [d["Effect"] for d in deny] == (["Deny"] if ns == "flux" else [])
        assert statement["Effect"] == "Allow" and statement["Resource"] == (
            f"arn:aws:secretsmanager:us-west-2:118346523422:secret:test1/{ns}/*")
        assert all(a.startswith("secretsmanager:") and "List" not in a for a in statement["Action"])
    # No role that reads the whole cluster (flavour 1's external-secrets controller role).
    names = [(a["metadata"]["namespace"], a["metadata"]["name"]) for a in
             cluster_config.cluster_config(values, registry.for_values(values))["iam"]["serviceAccounts"]]
    assert ("external-secrets", "external-secrets") not in names
    assert ("external-secrets", "external-secrets") in [
        (a["metadata"]["namespace"], a["metadata"]["name"])
        for a in cluster_config.cluster_config(_values(1), registry.for_values(_values(1)))["iam"]["serviceAccounts"]]
    assert not _by(_objects(_values(2, external_secrets=False)), "SecretStore")
    # ESO's controller never takes over flavour 1's reader account (same namespace) and its IRSA role
    [eso] = [o for o in _by(_objects(_values(2)), "HelmRelease") if o["metadata"]["name"] == "external-secrets"]
    assert eso["spec"]["values"]["serviceAccount"] == {"create": True, "name": "external-secrets-operator"}
    assert eso["metadata"]["namespace"] == "external-secrets"


def test_cert_manager_v1_issuers_and_certificates_from_the_same_keys():
    values = load_values("test2")
    values["certificates"] = [{"name": "wild", "dnsNames": ["*.example.org"]}]
    values["environments"]["qa2"]["gateway"]["https"] = {"enabled": True, "dnsNames": ["qa2.example.org"]}
    objs = _objects(values)
    issuer = _by(objs, "ClusterIssuer", "letsencrypt-staging")[0]
    assert issuer["apiVersion"] == "cert-manager.io/v1"
    assert issuer["spec"]["acme"]["solvers"] == [{"dns01": {"route53": {"region": "us-west-2"}}}]
    certs = {o["metadata"]["name"]: o for o in _by(objs, "Certificate")}
    assert certs["qa2.example.org"]["spec"] == {"secretName": "tls-secret", "issuerRef": {
        "name": "letsencrypt-staging", "kind": "ClusterIssuer"}, "commonName": "qa2.example.org",
        "dnsNames": ["qa2.example.org"]}
    assert certs["wild"]["apiVersion"] == "cert-manager.io/v1"
    assert _by(objs, "Namespace", "certmanager")[0]["metadata"]["labels"] == {"cert-manager.io/disable-validation": "true"}


def test_switching_flux_version_renders_the_matching_tree_with_no_other_change():
    values = load_values("test1")
    first = tree.render_tree(values, registry.for_values(values))
    assert tree.render_tree(dict(values, flux_version=1), registry.for_values(dict(values, flux_version=1))) == first
    second = tree.render_tree(dict(values, flux_version=2), registry.for_values(dict(values, flux_version=2)))
    assert second != first and not [o for o in second.values() if o["apiVersion"].startswith("helm.fluxcd.io/")]
    assert tree.render_tree(dict(values, flux_version=1), registry.for_values(dict(values, flux_version=1))) == first
    assert tree.render_tree(dict(values, flux_version=2), registry.for_values(dict(values, flux_version=2))) == second
    assert values == load_values("test1")  # rendering changed nothing in the inventory


@pytest.mark.parametrize("version", [0, 3, "two", True, 1.5])
def test_flux_version_is_validated_by_name(version):
    errors = validation.validate(dict(load_values("test1"), flux_version=version))
    assert errors == [f"flux_version: {version!r} must be one of 1, 2"]


@pytest.mark.parametrize("version", [1, 2, "1", "2"])
def test_flux_version_1_and_2_are_valid(version):
    assert validation.validate(dict(load_values("test1"), flux_version=version)) == []


def test_v1_options_without_v2_equivalent_are_named():
    values = _values(2, fluxcloud=True)
    values["pkgs"]["fluxcloud"].update({"githubUrl": "https://github.com/o/r", "values": {"a": 1}})
    errors = validation.validate(values, flavour_of=registry.for_values)
    assert [e.split(":")[0] for e in errors] == ["pkgs.fluxcloud.githubUrl", "pkgs.fluxcloud.values"]
    assert "no flux_version 2 equivalent" in errors[0]
    values["flux_version"] = 1
    assert validation.validate(values, flavour_of=registry.for_values) == []


def test_facts_name_the_v2_kinds():
    facts = V2.facts()
    assert facts["version"] == 2 and facts["needs_tiller_tls"] is False
    assert facts["applied_kinds"] == ["helm.toolkit.fluxcd.io/v2/HelmRelease", "external-secrets.io/v1/ExternalSecret"]
