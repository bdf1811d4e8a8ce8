"""Every object the config role renders validates against the upstream schemas."""
from __future__ import annotations

import kubernetes_validate.utils
import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import catalogue
from ansible_collections.tidepool.eks.plugins.module_utils.config import cluster_config
from ansible_collections.tidepool.eks.plugins.module_utils.config import environments
from ansible_collections.tidepool.eks.plugins.module_utils.config import manifests
from ansible_collections.tidepool.eks.plugins.module_utils.config import tree
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support import schemas
from tests.support.inventory import load_values

ALL_PKGS = load_values("test1")
for _conf in ALL_PKGS["pkgs"].values():
    _conf["enabled"] = True
ALL_PKGS["environments"]["qa2"]["clinicDemoUserId"] = "e79b15328a"
# Flavour 2 with every package, HTTPS (a Certificate), shared certificates and a second environment.
ALL_PKGS_V2 = dict(ALL_PKGS, flux_version=2)
# every package flavour 2 installs (datadog and sumologic are retired there, linkerd-crds is flavour 2's)
ALL_PKGS_V2["pkgs"] = {pkg: {"enabled": True} for pkg in catalogue.PKGS
                       if pkg not in registry.flavour(2).UNSUPPORTED_PACKAGES}
ALL_PKGS_V2["certificates"] = [{"name": "wild", "dnsNames": ["*.example.org"]}]
ALL_PKGS_V2["environments"] = {"qa2": ALL_PKGS["environments"]["qa2"],
                               "prd": {"gateway": {"https": {"enabled": True, "dnsNames": ["app.example.org"]}},
                                       "gitops": {"blip": "semver:~1.2", "auth": "regex:^v(?P<ts>[0-9]+)$"}}}
TREES = {
    "test1": tree.render_tree(load_values("test1"), registry.for_values(load_values("test1"))),
    "local": tree.render_tree(load_values("local"), registry.for_values(load_values("local"))),
    "all-pkgs": tree.render_tree(ALL_PKGS, registry.for_values(ALL_PKGS)),
    "test2": tree.render_tree(load_values("test2"), registry.for_values(load_values("test2"))),
    "all-pkgs-v2": tree.render_tree(ALL_PKGS_V2, registry.for_values(ALL_PKGS_V2)),
}
CASES = [(name, path) for name, tree in TREES.items() for path in tree]


@pytest.mark.parametrize("tree,path", CASES, ids=[f"{n}:{p.split('/', 2)[2]}" for n, p in CASES])
def test_rendered_object_validates(tree, path):
    obj = TREES[tree][path]
    if obj["apiVersion"] == "kustomize.config.k8s.io/v1beta1":  # kustomize's file, not an object of the cluster
        assert path.endswith("/kustomization.yaml") and set(obj) == {"apiVersion", "kind", "resources"}
        return
    schemas.validate_object(obj)


def test_helmrelease_schema_is_really_checked():
    hr = environments.tidepool_release(load_values("test1"), "qa2", registry.flavour(1))
    del hr["spec"]["chart"]
    with pytest.raises(Exception, match="chart"):
        schemas.validate_object(hr)


def test_clusterconfig_schema_is_really_checked():
    cfg = cluster_config.cluster_config(load_values("test1"), registry.for_values(load_values("test1")))
    cfg["nodeGroups"][0]["desiredCapacity"] = "four"
    with pytest.raises(AssertionError, match="desiredCapacity"):
        schemas.validate_object(cfg)


def test_core_schema_is_really_checked():
    ns = manifests.namespace("qa2")
    ns["metadata"]["labelz"] = {}
    with pytest.raises(kubernetes_validate.utils.ValidationError, match="'labelz' was unexpected"):
        schemas.validate_object(ns)


def test_every_flavour_2_kind_is_checked_against_a_reference_crd():
    kinds = {(o["apiVersion"], o["kind"]) for name in ("test2", "all-pkgs-v2") for o in TREES[name].values()}
    custom = {k for k in kinds if "." in k[0].split("/")[0] and k[0] != "apiextensions.k8s.io/v1"
              and not k[0].startswith("rbac.") and k[0] not in ("eksctl.io/v1alpha5", "kustomize.config.k8s.io/v1beta1")}
    assert custom == {("helm.toolkit.fluxcd.io/v2", "HelmRelease"), ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
                      ("source.toolkit.fluxcd.io/v1", "GitRepository"), ("image.toolkit.fluxcd.io/v1", "ImageRepository"),
                      ("image.toolkit.fluxcd.io/v1", "ImagePolicy"),
                      ("image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation"),
                      ("notification.toolkit.fluxcd.io/v1beta3", "Provider"),
                      ("notification.toolkit.fluxcd.io/v1beta3", "Alert"), ("external-secrets.io/v1", "SecretStore"),
                      ("cert-manager.io/v1", "ClusterIssuer"), ("cert-manager.io/v1", "Certificate"),
                      ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")}
    assert custom <= set(schemas.crd_schemas())


def test_flavour_2_external_secret_validates():
    es = registry.flavour(2).secret_manifest({"name": "mongo", "namespace": "qa2"}, "test2/qa2/mongo", ["a", "b"],
                                             secret_type="kubernetes.io/tls")
    schemas.validate_object(es)
    del es["spec"]["data"][0]["remoteRef"]
    with pytest.raises(Exception, match="remoteRef"):
        schemas.validate_object(es)
