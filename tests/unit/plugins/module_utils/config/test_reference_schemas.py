"""Every object the config role renders validates against the upstream schemas."""
from __future__ import annotations

import pytest

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
TREES = {
    "test1": tree.render_tree(load_values("test1")),
    "local": tree.render_tree(load_values("local")),
    "all-pkgs": tree.render_tree(ALL_PKGS),
}
CASES = [(name, path) for name, tree in TREES.items() for path in tree]


@pytest.mark.parametrize("tree,path", CASES, ids=[f"{n}:{p.split('/', 2)[2]}" for n, p in CASES])
def test_rendered_object_validates(tree, path):
    schemas.validate_object(TREES[tree][path])


def test_helmrelease_schema_is_really_checked():
    hr = environments.tidepool_release(load_values("test1"), "qa2", registry.flavour(1))
    del hr["spec"]["chart"]
    with pytest.raises(Exception, match="chart"):
        schemas.validate_object(hr)


def test_clusterconfig_schema_is_really_checked():
    cfg = cluster_config.cluster_config(load_values("test1"))
    cfg["nodeGroups"][0]["desiredCapacity"] = "four"
    with pytest.raises(AssertionError, match="desiredCapacity"):
        schemas.validate_object(cfg)


def test_core_schema_is_really_checked():
    ns = manifests.namespace("qa2")
    ns["metadata"]["labelz"] = {}
    with pytest.raises(Exception):
        schemas.validate_object(ns)
