"""Inventory validation: valid seed values, and each bad input named by its variable."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.tidepool.eks.plugins.module_utils.config import validation
from tests.support.inventory import load_values


@pytest.fixture()
def values():
    return load_values("test1")


def test_seed_values_are_valid(values):
    assert validation.validate(values) == []


BAD_INPUTS = [
    (lambda v: v["cluster"]["metadata"].update(name="Test_1"), "cluster.metadata.name"),
    (lambda v: v["cluster"]["metadata"].update(name="1test"), "cluster.metadata.name"),
    (lambda v: v["cluster"]["metadata"].update(name="a" * 101), "cluster.metadata.name"),
    (lambda v: v["cluster"]["metadata"].update(region="west"), "cluster.metadata.region"),
    (lambda v: v["cluster"]["metadata"].update(version="1.14"), "cluster.metadata.version"),
    (lambda v: v["cluster"]["vpc"].update(cidr="10.47.0.0/33"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["vpc"].update(cidr="10.47.0.1/16"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["vpc"].update(cidr="10.47.0.0/8"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["vpc"].update(cidr="8.8.0.0/16"), "cluster.vpc.cidr"),
    (lambda v: v["cluster"]["nodeGroups"][0].update(minSize=5, desiredCapacity=4), "cluster.nodeGroups[0]"),
    (lambda v: v["cluster"]["nodeGroups"].append(dict(v["cluster"]["nodeGroups"][0])), "cluster.nodeGroups[1].name"),
    (lambda v: v["aws"].update(accountNumber="1234"), "aws.accountNumber"),
    (lambda v: v.update(email="not-an-email"), "email"),
    (lambda v: v["pkgs"].update(foo={"enabled": True}), "pkgs.foo"),
    (lambda v: v["pkgs"]["gloo"].update(enabled="yes"), "pkgs.gloo.enabled"),
    (lambda v: v["environments"].update(QA_2={}), "environments.QA_2"),
    (lambda v: v["environments"].update({"kube-system": {}}), "environments.kube-system"),
    (lambda v: v["environments"].update({"e" * 50: {}}), "environments." + "e" * 50),
    (lambda v: v["environments"]["qa2"]["buckets"].update(data="Bad_Bucket"), "environments.qa2.buckets.data"),
    (lambda v: v["environments"]["qa2"]["gateway"]["default"].update(protocol="https"), "environments.qa2.gateway.https"),
    (lambda v: v["environments"]["qa2"]["gateway"]["default"].update(protocol="ftp"),
     "environments.qa2.gateway.default.protocol"),
]


@pytest.mark.parametrize("mutate,variable", BAD_INPUTS, ids=[b[1] + f"#{i}" for i, b in enumerate(BAD_INPUTS)])
def test_bad_input_names_the_variable(values, mutate, variable):
    bad = copy.deepcopy(values)
    mutate(bad)
    errors = validation.validate(bad)
    assert len(errors) == 1, errors
    assert errors[0].startswith(variable + ":") or errors[0].startswith(variable + " "), errors
