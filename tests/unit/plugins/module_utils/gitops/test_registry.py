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
