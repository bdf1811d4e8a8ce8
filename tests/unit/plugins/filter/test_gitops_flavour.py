"""The fact inventory_values.gitops (filter gitops_flavour, Flavour.role_facts()): what each flavour decides for the
roles, and that the renderer accepts inventory_values carrying it."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.filter import config as config_filters
from ansible_collections.tidepool.eks.plugins.filter.gitops_flavour import gitops_flavour
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from tests.support.inventory import load_values


def test_flux_v1_is_the_install_guides_stack():
    facts = gitops_flavour(1)
    assert facts["name"] == "Flux v1" and facts["version"] == 1
    assert facts["operator_namespace"] == "flux"
    assert facts["needs_tiller_tls"] and facts["helm_operator"] and facts["pushes_sync_tag"]
    assert not facts["installs_components"] and not facts["reports_applied_revision"] and not facts["migration_target"]
    assert facts["image_overrides"] == ["flux", "helm_operator", "memcached", "tiller"]
    assert facts["image_automation"] == "annotations" and facts["secret_readers"] == "controller"
    assert facts["deploy_key_secret"] == {"namespace": "flux", "name": "flux-git-deploy", "key": "identity"}
    assert facts["release_kind"] == {"api_version": "helm.fluxcd.io/v1", "kind": "HelmRelease"}


def test_flux_v2_is_the_current_stack():
    facts = gitops_flavour("2")
    assert facts["name"] == "Flux v2" and facts["version"] == 2
    assert facts["operator_namespace"] == "flux-system"
    assert facts["installs_components"] and facts["reports_applied_revision"] and facts["migration_target"]
    assert not facts["needs_tiller_tls"] and not facts["helm_operator"] and not facts["pushes_sync_tag"]
    assert facts["image_overrides"] == [] and facts["image_automation"] == "controllers"
    assert facts["secret_readers"] == "namespace"
    assert facts["deploy_key_secret"] == {"namespace": "flux-system", "name": "flux-system", "key": "identity"}
    assert facts["secret_kind"] == {"api_version": "external-secrets.io/v1", "kind": "ExternalSecret"}


def test_every_flavour_answers_the_same_keys_with_plain_data():
    keys = {v: set(f.role_facts()) for v, f in registry.FLAVOURS.items()}
    assert len({frozenset(k) for k in keys.values()}) == 1
    for flavour in registry.FLAVOURS.values():
        facts = flavour.role_facts()
        assert facts["operator_namespace"] == flavour.OPERATOR_NAMESPACE
        assert facts["applied_kinds"] == [f"{k['api_version']}/{k['kind']}"
                                          for k in (facts["release_kind"], facts["secret_kind"])]


def test_no_version_means_the_default_flavour():
    assert gitops_flavour(None) == gitops_flavour(registry.DEFAULT_VERSION) == gitops_flavour()


def test_an_unsupported_version_names_flux_version():
    with pytest.raises(AnsibleFilterError, match="flux_version=3"):
        gitops_flavour(3)


@pytest.mark.parametrize("host", ["test1", "test2"])
def test_the_renderer_accepts_inventory_values_with_the_fact(host):
    values = load_values(host)
    with_fact = {**values, "gitops": gitops_flavour(values.get("flux_version"))}
    assert config_filters.config_errors(with_fact) == []
    assert config_filters.config_tree(with_fact) == config_filters.config_tree(values)
