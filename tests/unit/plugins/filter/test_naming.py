"""Unit tests of naming.is_dns_label and the tidepool.eks.not_dns_labels filter (plugins/filter/naming.py)."""
from __future__ import annotations

import pytest

from ansible_collections.tidepool.eks.plugins.filter import naming as filters
from ansible_collections.tidepool.eks.plugins.module_utils.common import naming


@pytest.mark.parametrize("value", ["qa1", "a", "x" * 63, "my-env-2"])
def test_namespace_names_are_dns_labels(value):
    assert naming.is_dns_label(value)


@pytest.mark.parametrize("value", ["QA1", "qa1/", "", "x" * 64, "-qa", "qa-", "qa_1", "qa.1", 7, None])
def test_other_values_are_not(value):
    assert not naming.is_dns_label(value)


def test_filter_lists_the_items_that_are_not_namespace_names_in_input_order():
    assert filters.not_dns_labels(["qa2", "QA2", "x" * 64, 3, "ok"]) == ["QA2", "x" * 64, 3]
    assert filters.not_dns_labels([]) == []


def test_default_helm_home_and_flux_pki_dir_follow_the_environment(monkeypatch):
    from ansible_collections.tidepool.eks.plugins.filter import naming as naming_filters

    monkeypatch.setenv("HOME", "/home/op")
    monkeypatch.delenv("HELM_HOME", raising=False)
    assert naming_filters.default_helm_home() == "~/.helm"
    assert naming_filters.default_flux_pki_dir("test1") == "/home/op/.cache/tidepool-eks/flux-pki/test1"
    monkeypatch.setenv("HELM_HOME", "/srv/helm")
    assert naming_filters.default_helm_home(None) == "/srv/helm"
