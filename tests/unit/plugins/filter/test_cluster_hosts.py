"""The AWX survey's tidepool_cluster names exactly one inventory host; a pattern selects nothing and stops the run."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tidepool.eks.plugins.filter.awx import cluster_hosts

GROUPS = {"all": ["test1", "test2", "local"], "clusters": ["test1", "test2", "local"], "ungrouped": []}


@pytest.mark.parametrize("cluster", [None, "", "  "])
def test_no_cluster_is_every_cluster(cluster):
    assert cluster_hosts(cluster, GROUPS) == "clusters"


def test_one_host():
    assert cluster_hosts("test1", GROUPS) == "clusters:&test1"


@pytest.mark.parametrize("cluster", ["*", "all", "te*", "test?", "test1,test2", "test1:test2", "~te.*", "!test1",
                                     "clusters", "test1&", "test[1]", "prod", "test1 ", "TEST1"])
def test_anything_else_is_refused_naming_the_variable(cluster):
    with pytest.raises(AnsibleFilterError) as err:
        cluster_hosts(cluster, GROUPS)
    assert str(err.value).startswith(f"tidepool_cluster: {cluster!r} must name exactly one inventory host")
    assert "local, test1, test2" in str(err.value)
