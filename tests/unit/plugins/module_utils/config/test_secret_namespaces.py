"""One rule says which namespaces hold secrets (config.inventory.secret_namespaces); the secret stores, namespace
annotations and IRSA readers of both flavours are written for exactly those namespaces, and the secrets catalogue
stores its secrets in no other."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import inventory, irsa, tree
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.secrets import catalogue as secrets_catalogue
from tests.support.inventory import load_values

STORE = "external-secrets.io/v1/SecretStore"
ANNOTATION = "externalsecrets.kubernetes-client.io/permitted-key-name"


def _values(version, **pkgs):
    values = dict(copy.deepcopy(load_values("test1")), flux_version=version)
    for pkg, on in pkgs.items():
        values["pkgs"][pkg.replace("_", "-")] = {"enabled": on}
    return values


def test_environments_and_the_vendor_namespaces_of_enabled_packages():
    values = _values(1, datadog=True, fluxcloud=True, sumologic=False)
    assert inventory.environments(values) == ["qa2"]
    assert inventory.secret_namespaces(values) == {"datadog": "datadog", "flux": "fluxcloud", "qa2": None}
    ids = secrets_catalogue.entries(inventory.environments(values), values["pkgs"])
    assert {sid.split("/")[0] for sid in ids} == set(inventory.secret_namespaces(values))


def test_no_namespace_without_a_secrets_controller():
    assert inventory.secret_namespaces(_values(2, external_secrets=False, datadog=True)) == {}
    assert irsa.secret_reader_accounts(_values(2, external_secrets=False), registry.flavour(2)) == []


@pytest.mark.parametrize("version", [1, 2])
def test_each_flavour_writes_its_objects_for_exactly_those_namespaces(version):
    # datadog has no flux_version 2 release (retired there): flavour 2's vendor namespace is fluxcloud's only
    values = _values(version, datadog=version == 1, fluxcloud=True)
    flavour = registry.for_values(values)
    namespaces = set(inventory.secret_namespaces(values))
    objs = [o for part in ("shared", "environments") for o in tree.objects(values, part, flavour)]
    stores = {o["metadata"]["namespace"] for o in objs if f"{o['apiVersion']}/{o['kind']}" == STORE}
    annotated = {o["metadata"]["name"] for o in objs
                 if o["kind"] == "Namespace" and ANNOTATION in (o["metadata"].get("annotations") or {})}
    readers = irsa.secret_reader_accounts(values, flavour)
    if version == 2:
        assert stores == namespaces and annotated == set()
        assert {r["metadata"]["namespace"] for r in readers} == namespaces
    else:
        assert stores == set() and annotated == namespaces
        # one controller reads them all, except the Tiller CA key
        [reader] = readers
        assert (reader["metadata"]["namespace"], reader["metadata"]["name"]) == ("external-secrets", "external-secrets")
        allow, deny = reader["attachPolicy"]["Statement"]
        assert allow["Resource"].endswith(":secret:test1/*") and deny["Effect"] == "Deny"
        assert deny["Resource"].endswith(":secret:test1/flux/ca-key.pem-*")
