"""Flavour 1: kubernetes-external-secrets may read, for an ExternalSecret of namespace <ns>, only the keys
``<cluster>/<ns>/...``: each namespace holding secrets carries the ``permitted-key-name`` annotation and the KES
release turns enforcement on (KES then refuses namespaces without it). Flavour 2 needs neither (each namespace's
SecretStore has its own IRSA role)."""
from __future__ import annotations

import copy
import re

from ansible_collections.tidepool.eks.plugins.module_utils.config import environments, packages
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values

ANNOTATION = "externalsecrets.kubernetes-client.io/permitted-key-name"


def namespace_of(objs, name):
    return next(o for o in objs if o["kind"] == "Namespace" and o["metadata"]["name"] == name)


def kes_env(shared):
    release = next(o for o in shared["external-secrets"] if o["kind"] == "HelmRelease")
    return release["spec"]["values"]["env"]


def test_flavour1_environment_namespace_reads_only_its_own_keys():
    values = load_values("test1")
    ns = namespace_of(environments.environment(values, "qa2", registry.flavour(1)), "qa2")
    pattern = ns["metadata"]["annotations"][ANNOTATION]
    assert pattern == "^test1/qa2/.*"
    assert re.search(pattern, "test1/qa2/auth") and not re.search(pattern, "test1/qa3/auth")
    assert not re.search(pattern, "other-test1/qa2/auth") and not re.search(pattern, "test1/flux/ca-key.pem")


def test_flavour1_kes_enforces_the_annotations():
    assert kes_env(packages.shared_services(load_values("test1"), registry.flavour(1)))[
        "ENFORCE_NAMESPACE_ANNOTATIONS"] == "true"


def test_vendor_secret_namespaces_are_annotated_too():
    values = load_values("test1")
    values["pkgs"] = dict(values["pkgs"], datadog={"enabled": True}, fluxcloud={"enabled": True})
    shared = packages.shared_services(values, registry.flavour(1))
    everything = [o for objs in shared.values() for o in objs]
    assert namespace_of(everything, "datadog")["metadata"]["annotations"][ANNOTATION] == "^test1/datadog/.*"
    assert namespace_of(everything, "flux")["metadata"]["annotations"][ANNOTATION] == "^test1/flux/.*"


def test_without_external_secrets_or_with_flavour2_nothing_is_added():
    values = load_values("test1")
    off = copy.deepcopy(values)
    off["pkgs"]["external-secrets"] = {"enabled": False}
    assert "annotations" not in namespace_of(environments.environment(off, "qa2", registry.flavour(1)), "qa2")["metadata"]
    v2 = load_values("test2")
    env = next(iter(v2["environments"]))
    assert "annotations" not in namespace_of(environments.environment(v2, env, registry.flavour(2)), env)["metadata"]
    assert "ENFORCE_NAMESPACE_ANNOTATIONS" not in str(packages.shared_services(v2, registry.flavour(2))["external-secrets"])
