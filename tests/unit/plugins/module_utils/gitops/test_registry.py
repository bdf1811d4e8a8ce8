"""The flavour registry: flux_version 1 is Flux v1, 2 is Flux v2."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import registry
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flavour import Flavour
from ansible_collections.tidepool.eks.plugins.module_utils.gitops import bootstrap
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v1.flavour import FluxV1
from ansible_collections.tidepool.eks.plugins.module_utils.gitops.flux_v2.flavour import FluxV2


def test_version_1_is_flux_v1_and_the_default():
    assert isinstance(registry.flavour(1), FluxV1)
    assert registry.flavour("1") is registry.flavour() is registry.flavour(1)
    assert isinstance(registry.flavour(1), Flavour)


def test_version_2_is_flux_v2_whose_bootstrap_needs_its_components():
    assert isinstance(registry.flavour(2), FluxV2) and registry.flavour("2") is registry.flavour(2)
    with pytest.raises(TidepoolError, match="components_path is required"):
        bootstrap.normalize_params({"cluster": "test2", "flux_version": 2, "git_url": "git@github.com:o/r.git",
                                    "git_email": "a@b.c"})
    with pytest.raises(TidepoolError, match="components_path is required for flux_version 2"):
        registry.flavour(2).bootstrap_objects({"state": "present"}, b"", None)


@pytest.mark.parametrize("version", [0, 3, "x"])
def test_unknown_versions_are_refused(version):
    with pytest.raises(TidepoolError, match="is not supported; use 1 or 2"):
        registry.flavour(version)


def test_the_base_class_says_what_a_flavour_must_write():
    base = Flavour()
    assert base.read_tls({}) is None and base.placeholder_tls() is None and base.NEEDS_TILLER_TLS is False
    for call in (lambda: base.helm_release("a", "b", {}, {}), lambda: base.chart_sources("flux", ()),
                 lambda: base.secret_manifest({}, "id", []), lambda: base.release_kind(),
                 lambda: base.deploy_key_secret_ref({}), lambda: base.bootstrap_objects({}, b"", None)):
        with pytest.raises(NotImplementedError):
            call()


def test_the_default_lives_in_the_registry_and_applies_to_values_without_a_version():
    assert registry.for_values({}) is registry.flavour(registry.DEFAULT_VERSION) is registry.for_values(
        {"flux_version": ""})
    assert registry.for_values({"flux_version": "2"}) is registry.flavour(2)
    assert registry.versions() == sorted(registry.FLAVOURS) == [1, 2]


def test_module_argument_specs_take_choices_and_default_from_the_registry():
    import importlib
    for name in ("flux_bootstrap", "external_secret"):
        source = importlib.util.find_spec(f"ansible_collections.tidepool.eks.plugins.modules.{name}").origin
        text = open(source, encoding="utf-8").read()
        assert 'flux_version=dict(type="int", choices=registry.versions(), default=registry.DEFAULT_VERSION)' in text


def test_one_bootstrap_run_looks_the_flavour_up_once(monkeypatch):
    calls = []
    real = registry.flavour

    def counting(version=registry.DEFAULT_VERSION):
        calls.append(version)
        return real(version)

    monkeypatch.setattr(registry, "flavour", counting)

    class NoCluster:
        def get(self, obj):
            return None

    spec = bootstrap.normalize_params({"cluster": "unit1", "state": "absent"})
    bootstrap.run(spec, NoCluster(), check_mode=True)
    assert calls == [registry.DEFAULT_VERSION] and spec["flavour"] is real(1)


def test_the_inventory_schema_accepts_exactly_the_registered_versions():
    from ansible_collections.tidepool.eks.plugins.module_utils.config import values_schema
    enum = values_schema.SCHEMA["properties"]["flux_version"]["enum"]
    assert sorted(v for v in enum if isinstance(v, int)) == registry.versions()
    assert sorted(v for v in enum if isinstance(v, str)) == [str(v) for v in registry.versions()]
